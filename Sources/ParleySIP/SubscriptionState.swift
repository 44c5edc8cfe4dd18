/// The `Subscription-State` header (RFC 6665 §8.2.3): `active;expires=3600`,
/// `terminated;reason=timeout`, `pending`. Sent in every NOTIFY; read from the NOTIFYs of a
/// REFER's implicit subscription (RFC 3515 §2.4.5).
public struct SubscriptionState: Sendable, Equatable, CustomStringConvertible {
    public enum Value: Sendable, Equatable {
        case active, pending, terminated
        /// An extension value; RFC 6665 §8.2.3 says to treat it as `active`… unless the
        /// subscriber knows it; we keep its name.
        case other(String)
    }

    public var value: Value
    /// Seconds left, for active and pending subscriptions.
    public var expires: Int?
    /// Why a subscription ended (`timeout`, `noresource`, `deactivated`…).
    public var reason: String?

    public init(_ value: Value, expires: Int? = nil, reason: String? = nil) {
        self.value = value; self.expires = expires; self.reason = reason
    }

    /// Nil for an empty value or malformed parameters.
    public init?(_ text: String) {
        let parts = text.split(separator: ";", maxSplits: 1).map(String.init)
        guard let first = parts.first?.trimmingSIPWhitespace().lowercased(), !first.isEmpty else { return nil }
        switch first {
        case "active": value = .active
        case "pending": value = .pending
        case "terminated": value = .terminated
        default: value = .other(first)
        }
        if parts.count == 2 {
            guard let parameters = headerParameters(parts[1]) else { return nil }
            for (name, v) in parameters {
                switch name.lowercased() {
                case "expires": expires = v.flatMap { Int($0) }
                case "reason": reason = v
                default: break
                }
            }
        }
    }

    public var description: String {
        var text: String
        switch value {
        case .active: text = "active"
        case .pending: text = "pending"
        case .terminated: text = "terminated"
        case let .other(name): text = name
        }
        if let expires { text += ";expires=\(expires)" }
        if let reason { text += ";reason=\(reason)" }
        return text
    }
}
