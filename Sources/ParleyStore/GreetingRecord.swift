import Foundation
import GRDB

/// A row of `greeting`: at most one per mailbox and kind.
struct GreetingRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "greeting"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var mailboxId: Int64
    var kind: String
    var audioPath: String
    var durationMs: Int
    var recordedAt: Date
    var damaged: Bool

    var greeting: Greeting? {
        guard let k = GreetingKind(rawValue: kind), !damaged else { return nil }
        return Greeting(kind: k, audioPath: audioPath, durationMilliseconds: durationMs, recordedAt: recordedAt)
    }
}
