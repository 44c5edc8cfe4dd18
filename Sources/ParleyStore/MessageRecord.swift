import Foundation
import GRDB

/// A row of `message`.
struct MessageRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "message"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var id: String
    var mailboxId: Int64
    var folder: String
    /// The folder a deleted-pending message returns to on undelete.
    var folderBeforeDelete: String?
    var urgent: Bool
    var callerNumber: String
    var callerName: String
    var receivedAt: Date
    var durationMs: Int
    var audioPath: String
    var emailState: String
    var damaged: Bool

    /// Decodes by column position, in the order of the `message` table (later migrations
    /// may only append columns): listing 1,000 messages measured 20× faster than through
    /// `Decodable` (StoreBenchmarks). A value of the wrong type (a row edited by hand)
    /// throws; it never traps. Queries that use it select `*` from `message`.
    init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        mailboxId = try row.decode(atIndex: 1)
        folder = try row.decode(atIndex: 2)
        folderBeforeDelete = try row.decode(atIndex: 3)
        urgent = try row.decode(atIndex: 4)
        callerNumber = try row.decode(atIndex: 5)
        callerName = try row.decode(atIndex: 6)
        receivedAt = try row.decode(atIndex: 7)
        durationMs = try row.decode(atIndex: 8)
        audioPath = try row.decode(atIndex: 9)
        emailState = try row.decode(atIndex: 10)
        damaged = try row.decode(atIndex: 11)
    }

    init(id: String, mailboxId: Int64, folder: String, folderBeforeDelete: String?, urgent: Bool, callerNumber: String,
         callerName: String, receivedAt: Date, durationMs: Int, audioPath: String, emailState: String, damaged: Bool) {
        self.id = id
        self.mailboxId = mailboxId
        self.folder = folder
        self.folderBeforeDelete = folderBeforeDelete
        self.urgent = urgent
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.receivedAt = receivedAt
        self.durationMs = durationMs
        self.audioPath = audioPath
        self.emailState = emailState
        self.damaged = damaged
    }

    /// The value the app sees; a folder or email state the code does not know (a row
    /// edited by hand) reads as `damaged` rather than crashing.
    func message(in key: MailboxKey) -> VoicemailMessage {
        let f = Folder(rawValue: folder)
        return VoicemailMessage(id: id, mailbox: key, folder: f ?? .saved, urgent: urgent, callerNumber: callerNumber,
                                callerName: callerName, receivedAt: receivedAt, durationMilliseconds: durationMs,
                                audioPath: audioPath, emailState: EmailState(rawValue: emailState) ?? .none,
                                damaged: damaged || f == nil)
    }
}
