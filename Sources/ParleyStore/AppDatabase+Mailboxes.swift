import Foundation
import GRDB

extension AppDatabase {
    /// Creates a mailbox with its addresses and PIN hash; `.mailboxExists` when the tenant
    /// already has that number.
    public func createMailbox(_ mailbox: Mailbox, pinHash: PINHash, now: Date) async throws(StoreError) {
        try mailbox.validate()
        try await write { db in
            let key = mailbox.key
            if try Int64.fetchOne(db, sql: "SELECT id FROM mailbox WHERE tenant = ? AND number = ?", arguments: [key.tenant, key.number]) != nil {
                throw StoreError.mailboxExists(key)
            }
            var record = MailboxRecord(id: nil, tenant: key.tenant, number: key.number, name: mailbox.name, pinHash: pinHash.encoded,
                                       attachAudio: mailbox.options.attachAudio, deleteAfterEmail: mailbox.options.deleteAfterEmail,
                                       maxMessages: mailbox.options.maxMessages, maxMessageSeconds: mailbox.options.maxMessageSeconds,
                                       createdAt: now)
            try record.insert(db)
            guard let id = record.id else { throw StoreError.database("mailbox insert returned no id") }
            try Self.replaceEmails(db, mailboxID: id, mailbox.emails)
        }
    }

    /// Replaces a mailbox's name, addresses and options (not its PIN).
    public func updateMailbox(_ mailbox: Mailbox) async throws(StoreError) {
        try mailbox.validate()
        try await write { db in
            var record = try Self.mailboxRecord(db, mailbox.key)
            record.name = mailbox.name
            record.attachAudio = mailbox.options.attachAudio
            record.deleteAfterEmail = mailbox.options.deleteAfterEmail
            record.maxMessages = mailbox.options.maxMessages
            record.maxMessageSeconds = mailbox.options.maxMessageSeconds
            try record.update(db)
            guard let id = record.id else { throw StoreError.database("mailbox row without id") }
            try Self.replaceEmails(db, mailboxID: id, mailbox.emails)
        }
    }

    static func replaceEmails(_ db: Database, mailboxID: Int64, _ emails: [String]) throws {
        try db.execute(sql: "DELETE FROM mailbox_email WHERE mailbox_id = ?", arguments: [mailboxID])
        var seen = Set<String>()
        for (i, address) in emails.enumerated() where seen.insert(address.lowercased()).inserted {
            try MailboxEmailRecord(mailboxId: mailboxID, position: i, address: address).insert(db)
        }
    }

    /// Stores a new PIN hash and clears failures and lockouts (a PIN set by the owner or an
    /// operator unlocks the mailbox).
    public func setPINHash(_ hash: PINHash, for key: MailboxKey) async throws(StoreError) {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            try db.execute(sql: "UPDATE mailbox SET pin_hash = ? WHERE id = ?", arguments: [hash.encoded, id])
            try db.execute(sql: "DELETE FROM login_failure WHERE mailbox_id = ?", arguments: [id])
        }
    }

    /// Deletes a mailbox and (by cascade) its messages, greetings and failures; returns the
    /// audio paths those rows held, for the caller to delete after this commit.
    public func removeMailbox(_ key: MailboxKey) async throws(StoreError) -> [String] {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            let paths = try String.fetchAll(db, sql: "SELECT audio_path FROM message WHERE mailbox_id = ? UNION ALL SELECT audio_path FROM greeting WHERE mailbox_id = ?",
                                            arguments: [id, id])
            try db.execute(sql: "DELETE FROM mailbox WHERE id = ?", arguments: [id])
            return paths
        }
    }

    public func mailbox(_ key: MailboxKey) async throws(StoreError) -> Mailbox? {
        try await read { db in
            guard let r = try MailboxRecord.fetchOne(db, sql: "SELECT * FROM mailbox WHERE tenant = ? AND number = ?",
                                                     arguments: [key.tenant, key.number]), let id = r.id else { return nil }
            return Mailbox(key: key, name: r.name, emails: try Self.emails(db, id), options: r.options)
        }
    }

    /// Every mailbox (of one tenant when given), ordered by tenant and number. Rows whose
    /// identifiers the code would refuse are left out.
    public func mailboxes(tenant: String? = nil) async throws(StoreError) -> [Mailbox] {
        try await read { db in
            let records: [MailboxRecord]
            if let tenant {
                records = try MailboxRecord.fetchAll(db, sql: "SELECT * FROM mailbox WHERE tenant = ? ORDER BY number", arguments: [tenant])
            } else {
                records = try MailboxRecord.fetchAll(db, sql: "SELECT * FROM mailbox ORDER BY tenant, number")
            }
            return try records.compactMap { r -> Mailbox? in
                guard let key = r.key, let id = r.id else { return nil }
                return Mailbox(key: key, name: r.name, emails: try Self.emails(db, id), options: r.options)
            }
        }
    }

    static func emails(_ db: Database, _ mailboxID: Int64) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT address FROM mailbox_email WHERE mailbox_id = ? ORDER BY position", arguments: [mailboxID])
    }
}
