import Foundation

/// Which voicemail a spooled email is about, so delivery can update (or delete) it.
public struct VoicemailReference: Sendable, Equatable {
    public var tenant: String
    public var mailbox: String
    public var messageID: String

    public init(tenant: String, mailbox: String, messageID: String) {
        self.tenant = tenant
        self.mailbox = mailbox
        self.messageID = messageID
    }
}

/// The SMTP envelope and delivery state of one spooled message, kept in the spool file
/// ahead of the message itself (`SpoolFile`).
public struct SpoolEnvelope: Sendable, Equatable {
    public struct Rejection: Sendable, Equatable {
        public var recipient: MailAddress
        /// The server's reply, on one line (`550 5.1.1 no such user`).
        public var reply: String
    }

    public var created: Date
    /// Delivery attempts made so far (each connection that got as far as a reply or failed).
    public var attempts: Int
    /// Not before this time.
    public var nextAttempt: Date
    public var sender: MailAddress
    /// Still to deliver.
    public var recipients: [MailAddress]
    /// Accepted by the relay in an earlier attempt (partial success).
    public var delivered: [MailAddress] = []
    /// Refused for good (5xx) in an earlier attempt.
    public var rejected: [Rejection] = []
    public var voicemail: VoicemailReference?
    /// The last reply or connection error, for `parley mail status` and the logs.
    public var lastReply: String = ""

    public init(created: Date, sender: MailAddress, recipients: [MailAddress], voicemail: VoicemailReference?) {
        self.created = created
        self.attempts = 0
        self.nextAttempt = created
        self.sender = sender
        self.recipients = recipients
        self.voicemail = voicemail
    }
}
