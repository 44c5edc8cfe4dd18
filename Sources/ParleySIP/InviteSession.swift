/// The INVITE usage of a dialog we answered (RFC 3261 §13–14): whether our 2xx was
/// acknowledged, and which session change (offer) is in progress, so that only one runs at a
/// time (RFC 3264 §4, RFC 3311 §5.2).
///
/// A value with no I/O: the driver reports what happened, with `now` in milliseconds, and
/// gets back what to do with a request that wants to change the session.
public struct InviteSession: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Our 2xx to the INVITE is out; its ACK has not come.
        case early
        /// ACK received; no change in progress.
        case confirmed
        /// A change in progress since `since` (ms): the peer's re-INVITE or UPDATE being
        /// answered (`remote`), or our own re-INVITE waiting for its final response.
        case changing(remote: Bool, since: Int64)
        case terminated
    }

    /// What to do with a request that would change the session.
    public enum Decision: Sendable, Equatable {
        /// Go ahead; report the outcome with `changeFinished`.
        case proceed
        /// Refuse with this status (491 Request Pending with Retry-After, or 481 once ended).
        case reject(status: Int, reason: String, retryAfterSeconds: Int?)
    }

    /// A change that has not finished after this long (64 × T1, the longest an INVITE
    /// transaction lives) is taken as lost, so the session does not refuse changes for ever.
    public static let changeTimeoutMilliseconds: Int64 = 32_000

    public private(set) var state: State = .early
    /// The ACK for our 2xx came (a change may have started before it: an UPDATE).
    public private(set) var isAcknowledged = false

    public init() {}

    /// The ACK for our 2xx to the INVITE arrived.
    public mutating func acknowledged() {
        isAcknowledged = true
        if state == .early { state = .confirmed }
    }

    /// The peer wants to change the session: `reinvite` true for a re-INVITE (only once
    /// confirmed, §14.2), false for an UPDATE (allowed before the ACK too, RFC 3311 §5.1).
    public mutating func remoteChange(reinvite: Bool, now: Int64) -> Decision {
        expireStaleChange(now: now)
        switch state {
        case .terminated:
            return .reject(status: 481, reason: "Call/Transaction Does Not Exist", retryAfterSeconds: nil)
        case .changing:
            // One offer at a time; a crossing one (glare) is retried by its sender.
            return .reject(status: 491, reason: "Request Pending", retryAfterSeconds: 1)
        case .early where reinvite:
            return .reject(status: 491, reason: "Request Pending", retryAfterSeconds: 1)
        case .early, .confirmed:
            state = .changing(remote: true, since: now)
            return .proceed
        }
    }

    /// We want to change the session (a session-timer re-INVITE): false while another change
    /// runs or before the ACK.
    public mutating func localChange(now: Int64) -> Bool {
        expireStaleChange(now: now)
        guard state == .confirmed else { return false }
        state = .changing(remote: false, since: now)
        return true
    }

    /// The change in progress is over (answered, refused or failed).
    public mutating func changeFinished() {
        if case .changing = state { state = isAcknowledged ? .confirmed : .early }
    }

    public mutating func terminate() { state = .terminated }

    public var isChanging: Bool { if case .changing = state { return true } else { return false } }

    private mutating func expireStaleChange(now: Int64) {
        if case let .changing(_, since) = state, now - since >= InviteSession.changeTimeoutMilliseconds { changeFinished() }
    }
}
