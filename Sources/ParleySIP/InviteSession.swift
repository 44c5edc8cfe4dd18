/// The INVITE usage of a dialog we answered (RFC 3261 §13–14): whether our 2xx was
/// acknowledged, which session change (offer) is in progress, so that only one runs at a
/// time (RFC 3264 §4, RFC 3311 §5.2), and its timers: the session timer (RFC 4028) and the
/// hold limit.
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

    /// Who refreshes the session (RFC 4028 §9): the peer (`refresher=uac`, we watch the
    /// expiry) or we (`refresher=uas`, the peer lacks timer support).
    public enum Refresher: Sendable, Equatable { case peer, us }

    /// The session timer agreed in our last 2xx: the interval in seconds and who refreshes.
    public struct SessionTimer: Sendable, Equatable {
        public var interval: Int
        public var refresher: Refresher
        public init(interval: Int, refresher: Refresher) { self.interval = interval; self.refresher = refresher }
    }

    /// What a timer that came due asks of the driver.
    public enum TimerAction: Sendable, Equatable {
        /// Send our session refresh (UPDATE or re-INVITE) now.
        case refresh
        /// The peer did not refresh in time (RFC 4028 §10): BYE, the session is over.
        case sessionExpired
        /// On hold longer than the hold limit, with no session timer to prove the peer alive.
        case holdLimitReached
    }

    public private(set) var state: State = .early
    /// The ACK for our 2xx came (a change may have started before it: an UPDATE).
    public private(set) var isAcknowledged = false
    public private(set) var sessionTimer: SessionTimer?
    /// When the session timer is next due (our refresh, or the peer's refresh deadline), ms.
    private var sessionTimerDue: Int64?
    /// Since when the media is on hold (either side `sendonly`/`inactive`), ms; nil when not.
    public private(set) var heldSince: Int64?
    /// How long a hold may last without session timers, in ms; nil: for ever.
    public let maxHoldMilliseconds: Int64?

    public init(maxHoldMilliseconds: Int64? = nil) { self.maxHoldMilliseconds = maxHoldMilliseconds }

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

    public mutating func terminate() {
        state = .terminated
        sessionTimerDue = nil
        heldSince = nil
    }

    // MARK: Timers (RFC 4028 session timers, the hold limit)

    /// Our 2xx to the INVITE or to a refresh carried `timer` (nil: none): the timer restarts.
    public mutating func sessionTimerAgreed(_ timer: SessionTimer?, now: Int64) {
        sessionTimer = timer
        sessionRefreshed(now: now)
    }

    /// The session was refreshed (a 2xx to a re-INVITE or UPDATE either way): our next
    /// refresh is due at half the interval (§7.1); the peer's must come before the interval
    /// minus the lesser of 32 s and a third of it (§10).
    public mutating func sessionRefreshed(now: Int64) {
        guard let timer = sessionTimer else { sessionTimerDue = nil; return }
        switch timer.refresher {
        case .us: sessionTimerDue = now + Int64(timer.interval) * 500
        case .peer: sessionTimerDue = now + Int64(timer.interval - min(32, timer.interval / 3)) * 1000
        }
    }

    /// Our refresh could not go now (glare, or the peer's change in progress): try at `at`.
    public mutating func retryRefresh(at: Int64) {
        if sessionTimer?.refresher == .us { sessionTimerDue = at }
    }

    /// The media went on hold (`held`) or off it, as answered in a session change.
    public mutating func holdChanged(held: Bool, now: Int64) {
        heldSince = held ? (heldSince ?? now) : nil
    }

    /// When the driver should next call `due(now:)`, in ms; nil: no timer runs.
    public var nextDeadline: Int64? {
        guard state != .terminated else { return nil }
        return [sessionTimerDue, holdDeadline].compactMap { $0 }.min()
    }

    /// A hold is limited only while no session timer runs: refreshes prove the peer alive.
    private var holdDeadline: Int64? {
        guard sessionTimer == nil, let since = heldSince, let limit = maxHoldMilliseconds else { return nil }
        return since + limit
    }

    /// The timer that is due by `now`, if any, taken off (the driver performs it and asks
    /// again until nil). Nothing is due once terminated.
    public mutating func due(now: Int64) -> TimerAction? {
        guard state != .terminated else { return nil }
        if let hold = holdDeadline, hold <= now {
            heldSince = nil
            return .holdLimitReached
        }
        guard let due = sessionTimerDue, due <= now, let timer = sessionTimer else { return nil }
        sessionTimerDue = nil
        return timer.refresher == .us ? .refresh : .sessionExpired
    }

    public var isChanging: Bool { if case .changing = state { return true } else { return false } }

    private mutating func expireStaleChange(now: Int64) {
        if case let .changing(_, since) = state, now - since >= InviteSession.changeTimeoutMilliseconds { changeFinished() }
    }
}
