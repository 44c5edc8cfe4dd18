import Foundation
import GRDB

extension AppDatabase {
    /// The hash of the PIN the configuration file last provisioned for each mailbox, so a
    /// restart or reload can tell "the file's PIN changed" (apply it) from "the owner changed
    /// the PIN by phone" (keep the owner's). Never the mailbox's PIN itself.
    static func provisionedPINMigration(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE provisioned_pin (
              mailbox_id INTEGER PRIMARY KEY NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
              pin_hash TEXT NOT NULL CHECK (pin_hash LIKE 'scrypt$%')
            );
            """)
    }

    /// The hash of the PIN last provisioned from the configuration, if any.
    public func provisionedPINHash(_ key: MailboxKey) async throws(StoreError) -> PINHash? {
        try await read { db in
            let id = try Self.mailboxID(db, key)
            return try String.fetchOne(db, sql: "SELECT pin_hash FROM provisioned_pin WHERE mailbox_id = ?", arguments: [id]).map(PINHash.init)
        }
    }

    /// Records `provisioned` as the configuration's PIN; with `applying`, also makes it the
    /// mailbox's PIN and clears failures and lockouts, in the same transaction.
    public func setProvisionedPIN(_ provisioned: PINHash, for key: MailboxKey, applying: Bool) async throws(StoreError) {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            try db.execute(sql: "INSERT INTO provisioned_pin (mailbox_id, pin_hash) VALUES (?, ?) ON CONFLICT(mailbox_id) DO UPDATE SET pin_hash = excluded.pin_hash",
                           arguments: [id, provisioned.encoded])
            if applying {
                try db.execute(sql: "UPDATE mailbox SET pin_hash = ? WHERE id = ?", arguments: [provisioned.encoded, id])
                try db.execute(sql: "DELETE FROM login_failure WHERE mailbox_id = ?", arguments: [id])
            }
        }
    }
}
