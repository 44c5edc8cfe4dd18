/// Where a blind transfer stands, from the referrer's side (RFC 3515): our REFER, its
/// response, then the NOTIFYs whose `message/sipfrag` bodies report the transferee's INVITE
/// to the target. A pure state machine with injected time (ms): the driver feeds it the
/// REFER's final response, each NOTIFY and its clock, and acts on the result it returns once.
///
/// - REFER answered ≥ 300 (or timed out): failed, with that status.
/// - A NOTIFY with 1xx: progress, nothing to do.
/// - A NOTIFY with 2xx: succeeded — the transferee reached the target.
/// - A NOTIFY with ≥ 300: failed with that status (the target refused).
/// - `Subscription-State: terminated` without a final status, or no final NOTIFY by the
///   deadline: failed without a status.
///
/// NOTIFYs may overtake the 202 (they travel in their own transactions), so they count in
/// either order.
public struct ReferProgress: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        case succeeded(status: Int)
        case failed(status: Int?, reason: String)
    }

    public enum State: Sendable, Equatable { case referring, accepted, finished }

    public private(set) var state: State = .referring
    /// When we give up waiting for a final NOTIFY, in ms.
    public let deadline: Int64
    /// The last progress reported (1xx), for logs.
    public private(set) var lastProvisional: Int?

    /// `timeout`: how long the whole transfer may take, from the REFER to the final NOTIFY (ms).
    public init(now: Int64, timeout: Int64) { deadline = now + timeout }

    /// The REFER's final response (408 for a transaction timeout).
    public mutating func referAnswered(status: Int) -> Result? {
        guard state != .finished else { return nil }
        if (200..<300).contains(status) {
            if state == .referring { state = .accepted }
            return nil
        }
        guard status >= 300 else { return nil }
        return finish(.failed(status: status, reason: "REFER rejected with \(status)"))
    }

    /// A NOTIFY of the REFER's subscription: its sipfrag (nil when absent or unreadable) and state.
    public mutating func notified(_ fragment: SIPFrag?, subscription: SubscriptionState?) -> Result? {
        guard state != .finished else { return nil }
        if let fragment {
            switch fragment.status {
            case 100..<200: lastProvisional = fragment.status
            case 200..<300: return finish(.succeeded(status: fragment.status))
            default:
                let reason = fragment.reason.isEmpty ? "\(fragment.status)" : "\(fragment.status) \(fragment.reason)"
                return finish(.failed(status: fragment.status, reason: "transfer target answered \(reason)"))
            }
        }
        if subscription?.value == .terminated {
            return finish(.failed(status: nil, reason: "subscription terminated (\(subscription?.reason ?? "no reason")) without a final status"))
        }
        return nil
    }

    /// Fails the transfer once the deadline has passed.
    public mutating func tick(now: Int64) -> Result? {
        guard state != .finished, now >= deadline else { return nil }
        return finish(.failed(status: nil, reason: "no final NOTIFY in time" + (lastProvisional.map { " (last progress \($0))" } ?? "")))
    }

    private mutating func finish(_ result: Result) -> Result {
        state = .finished
        return result
    }
}
