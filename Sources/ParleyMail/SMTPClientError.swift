/// Why an SMTP session ended before every recipient had an answer.
public enum SMTPClientError: Error, Equatable, CustomStringConvertible {
    case connectFailed(String)
    case connectionClosed
    case timeout(String)
    case protocolViolation(String)
    case tlsUnavailable
    case tlsFailed(String)
    case authenticationUnavailable
    /// Credentials are configured but the session is not encrypted (no STARTTLS offered)
    /// and `starttls` is not explicitly `off`: AUTH is not sent.
    case authenticationNeedsTLS
    case unexpectedReply(step: String, reply: SMTPReply)

    public var description: String {
        switch self {
        case let .connectFailed(why): return "cannot connect: \(why)"
        case .connectionClosed: return "the relay closed the connection"
        case let .timeout(step): return "no reply to \(step) in time"
        case let .protocolViolation(why): return "protocol error: \(why)"
        case .tlsUnavailable: return "the relay does not offer STARTTLS (required by mail.starttls)"
        case let .tlsFailed(why): return "TLS failed: \(why)"
        case .authenticationUnavailable: return "the relay offers neither AUTH PLAIN nor AUTH LOGIN"
        case .authenticationNeedsTLS:
            return "the relay does not offer STARTTLS: the username and password are not sent in plain text (set mail.starttls: off to allow it)"
        case let .unexpectedReply(step, reply): return "\(step): \(reply)"
        }
    }
}
