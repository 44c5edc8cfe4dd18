import Foundation

/// Operator functions (the CLI now, the admin HTTP API later): not part of what a call
/// flow may do, so not in `VoicemailStore`.
extension SQLiteVoicemailStore {
    /// Creates a mailbox. The PIN must satisfy `PINPolicy` unless `allowWeakPIN` (then it
    /// must still be 4–10 digits), for PINs provisioned on purpose from a file.
    public func createMailbox(_ mailbox: Mailbox, pin: String, allowWeakPIN: Bool = false, now: Date) async throws(StoreError) {
        if allowWeakPIN { try PINPolicy.checkFormat(pin) } else { try PINPolicy.check(pin, mailboxNumber: mailbox.key.number) }
        try mailbox.validate()
        let hash = try PINHash.make(pin: pin, costLog2: pinCostLog2)
        try await database.createMailbox(mailbox, pinHash: hash, now: now)
        logger.info("voicemail mailbox created", metadata: ["mailbox": "\(mailbox.key)"])
    }

    public func updateMailbox(_ mailbox: Mailbox) async throws(StoreError) {
        try await database.updateMailbox(mailbox)
    }

    /// Sets a PIN by an operator's request; also unlocks the mailbox.
    public func setPIN(_ pin: String, for key: MailboxKey, allowWeakPIN: Bool = false) async throws(StoreError) {
        if allowWeakPIN { try PINPolicy.checkFormat(pin) } else { try PINPolicy.check(pin, mailboxNumber: key.number) }
        let hash = try PINHash.make(pin: pin, costLog2: pinCostLog2)
        try await database.setPINHash(hash, for: key)
        logger.info("voicemail PIN set by operator; lockout cleared", metadata: ["mailbox": "\(key)"])
    }

    /// Removes a mailbox with its messages and greetings: rows first, then files, then its
    /// folder (when empty). Returns how many audio files were removed.
    @discardableResult
    public func removeMailbox(_ key: MailboxKey) async throws(StoreError) -> Int {
        let paths = try await database.removeMailbox(key)
        for path in paths { files.remove(path) }
        _ = rmdir("\(files.dataDirectory)/\(AudioFiles.mailboxFolder(key))")
        logger.info("voicemail mailbox removed", metadata: ["mailbox": "\(key)", "files": "\(paths.count)"])
        return paths.count
    }

    public func mailboxes(tenant: String? = nil) async throws(StoreError) -> [Mailbox] {
        if let tenant { try MailboxKey.validate(tenant, what: "tenant") }
        return try await database.mailboxes(tenant: tenant)
    }

    /// Every message of a mailbox, folder by folder (new, old, saved, deleted).
    public func allMessages(of key: MailboxKey) async throws(StoreError) -> [VoicemailMessage] {
        var out: [VoicemailMessage] = []
        for folder in Folder.allCases { out += try await database.messages(in: folder, of: key) }
        return out
    }
}
