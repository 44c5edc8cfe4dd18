import Foundation
import GRDB

extension AppDatabase {
    /// Sets (or replaces) a greeting whose file is in place; returns the replaced file's
    /// path, for the caller to delete after this commit.
    func setGreeting(_ greeting: Greeting, for key: MailboxKey) async throws(StoreError) -> String? {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            let old = try String.fetchOne(db, sql: "SELECT audio_path FROM greeting WHERE mailbox_id = ? AND kind = ?", arguments: [id, greeting.kind.rawValue])
            try GreetingRecord(mailboxId: id, kind: greeting.kind.rawValue, audioPath: greeting.audioPath, durationMs: greeting.durationMilliseconds,
                               recordedAt: greeting.recordedAt, damaged: false).save(db)
            return old
        }
    }

    /// Removes a greeting's row; returns its file's path.
    func clearGreeting(_ kind: GreetingKind, for key: MailboxKey) async throws(StoreError) -> String? {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            let old = try String.fetchOne(db, sql: "SELECT audio_path FROM greeting WHERE mailbox_id = ? AND kind = ?", arguments: [id, kind.rawValue])
            try db.execute(sql: "DELETE FROM greeting WHERE mailbox_id = ? AND kind = ?", arguments: [id, kind.rawValue])
            return old
        }
    }

    /// The greeting of that kind, unless absent or flagged damaged.
    public func greeting(_ kind: GreetingKind, for key: MailboxKey) async throws(StoreError) -> Greeting? {
        try await read { db in
            let id = try Self.mailboxID(db, key)
            return try GreetingRecord.fetchOne(db, sql: "SELECT * FROM greeting WHERE mailbox_id = ? AND kind = ?", arguments: [id, kind.rawValue])?.greeting
        }
    }
}
