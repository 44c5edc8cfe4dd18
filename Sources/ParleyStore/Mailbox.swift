/// Per-mailbox options.
public struct MailboxOptions: Sendable, Equatable {
    /// Attach the audio to the notification email.
    public var attachAudio: Bool
    /// Delete the message once its email was accepted by the mail server.
    public var deleteAfterEmail: Bool
    /// Messages kept (new + old + saved) before the mailbox is full.
    public var maxMessages: Int
    /// Longest recording accepted, in seconds.
    public var maxMessageSeconds: Int

    public static let maxMessagesRange = 1...10_000
    public static let maxMessageSecondsRange = 1...3600

    public init(attachAudio: Bool = true, deleteAfterEmail: Bool = false, maxMessages: Int = 100, maxMessageSeconds: Int = 180) {
        self.attachAudio = attachAudio
        self.deleteAfterEmail = deleteAfterEmail
        self.maxMessages = maxMessages
        self.maxMessageSeconds = maxMessageSeconds
    }

    func validate() throws(StoreError) {
        guard Self.maxMessagesRange.contains(maxMessages) else {
            throw .invalidArgument("max messages \(maxMessages) is outside \(Self.maxMessagesRange)")
        }
        guard Self.maxMessageSecondsRange.contains(maxMessageSeconds) else {
            throw .invalidArgument("max message length \(maxMessageSeconds) s is outside \(Self.maxMessageSecondsRange)")
        }
    }
}

/// A mailbox as the voicemail app sees it. The PIN hash never leaves the store.
public struct Mailbox: Sendable, Equatable {
    public var key: MailboxKey
    /// The owner's name as shown in lists ("Alice Martin"); may be empty.
    public var name: String
    public var emails: [String]
    public var options: MailboxOptions

    public init(key: MailboxKey, name: String, emails: [String] = [], options: MailboxOptions = MailboxOptions()) {
        self.key = key
        self.name = name
        self.emails = emails
        self.options = options
    }

    static let maximumNameLength = 100
    static let maximumEmails = 10

    /// Names are free text but bounded and without control characters; addresses are
    /// checked for one `@` and no spaces, quotes or angle brackets (they end up in mail headers).
    public func validate() throws(StoreError) {
        guard name.count <= Self.maximumNameLength,
              !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidArgument("name \(StoreError.quoted(name)) is longer than \(Self.maximumNameLength) characters or holds control characters")
        }
        guard emails.count <= Self.maximumEmails else { throw .invalidArgument("at most \(Self.maximumEmails) email addresses") }
        for address in emails {
            let parts = address.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), address.utf8.count <= 254,
                  address.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && !"<>\"'(),;:\\[]".unicodeScalars.contains($0) }) else {
                throw .invalidArgument("\(StoreError.quoted(address)) is not an email address")
            }
        }
        try options.validate()
    }
}
