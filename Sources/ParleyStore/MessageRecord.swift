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
