/// How to reach the relay.
public struct SMTPSettings: Sendable, Equatable {
    public enum StartTLS: String, Sendable, Equatable {
        /// Never: plain SMTP (a relay on loopback or a trusted network). The only mode in
        /// which a username and password may cross the wire in plain text.
        case off
        /// When the relay offers it; otherwise plain, but without AUTH: with credentials
        /// configured, a relay that offers no STARTTLS is a deferral.
        case opportunistic
        /// Always: a relay that does not offer it is a deferral, never a plain-text send.
        case required
    }

    public var host: String
    public var port: Int
    public var startTLS: StartTLS
    public var username: String?
    public var password: String?
    /// PEM file of the certificate authorities trusted for the relay's certificate (a private
    /// relay); nil: the system's trust store.
    public var caFile: String?
    /// Our name in EHLO.
    public var heloName: String
    /// Seconds to connect, and to wait for each reply (RFC 5321 §4.5.3.2 suggests minutes;
    /// a relay is close by).
    public var connectTimeoutSeconds: Int64 = 30
    public var replyTimeoutSeconds: Int64 = 120

    public init(host: String, port: Int, startTLS: StartTLS = .opportunistic, username: String? = nil, password: String? = nil,
                heloName: String) {
        self.host = host
        self.port = port
        self.startTLS = startTLS
        self.username = username
        self.password = password
        self.heloName = heloName
    }
}
