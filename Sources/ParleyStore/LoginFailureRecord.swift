import Foundation
import GRDB

/// A row of `login_failure`: consecutive wrong PINs of one mailbox and the lock they earned.
/// Absent when the last attempt succeeded.
struct LoginFailureRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "login_failure"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var mailboxId: Int64
    var failures: Int
    var lockedUntil: Date?
    var lastFailureAt: Date
}
