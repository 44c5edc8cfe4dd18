import Foundation
import GRDB

/// A row of `mailbox`.
struct MailboxRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "mailbox"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var id: Int64?
    var tenant: String
    var number: String
    var name: String
    var pinHash: String
    var attachAudio: Bool
    var deleteAfterEmail: Bool
    var maxMessages: Int
    var maxMessageSeconds: Int
    var createdAt: Date

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The row's key, or nil when a row holds an identifier the code would refuse (written
    /// by hand or by another program): such a row is skipped, never trusted.
    var key: MailboxKey? { try? MailboxKey(tenant: tenant, number: number) }

    var options: MailboxOptions {
        MailboxOptions(attachAudio: attachAudio, deleteAfterEmail: deleteAfterEmail, maxMessages: maxMessages, maxMessageSeconds: maxMessageSeconds)
    }
}

/// A row of `mailbox_email`.
struct MailboxEmailRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "mailbox_email"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var mailboxId: Int64
    var position: Int
    var address: String
}
