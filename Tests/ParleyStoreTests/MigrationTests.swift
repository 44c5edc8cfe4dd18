import Foundation
import GRDB
import Testing
@testable import ParleyStore

@Suite("Store: migrations")
struct MigrationTests {
    @Test("an empty data directory gets the whole schema, in WAL mode, with its constraints")
    func emptyDatabase() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open()
        #expect(try await store.database.appliedMigrations() == ["v1: mailboxes, messages, greetings, login failures",
                                                                "v2: PINs provisioned from the configuration"])
        let (tables, journal, foreignKeys) = try await store.database.writer.read { db in
            (try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name"),
             try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
             try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false)
        }
        #expect(tables == ["greeting", "login_failure", "mailbox", "mailbox_email", "message", "provisioned_pin"])
        #expect(journal == "wal")
        #expect(foreignKeys)
        // Constraints hold even against SQL that bypasses the code.
        await #expect(throws: DatabaseError.self) {
            try await store.database.writer.write { db in
                try db.execute(sql: "INSERT INTO mailbox (tenant, number, name, pin_hash, created_at) VALUES ('acme', '../x', '', 'scrypt$', '2026-01-01')")
            }
        }
        await #expect(throws: DatabaseError.self) {
            try await store.database.writer.write { db in
                try db.execute(sql: "INSERT INTO message (id, mailbox_id, folder, received_at, duration_ms, audio_path) VALUES ('123456789012345678901234567890123456', 999, 'new', '2026-01-01', 1, 'x')")
            }
        }
    }

    @Test("an existing database is opened as is: data kept, no migration run twice, unique (tenant, number) enforced")
    func existingDatabase() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        do {
            let store = try await f.openWithMailboxes()
            _ = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
        }
        let reopened = try f.open()
        #expect(try await reopened.database.appliedMigrations().count == 2)
        #expect(try await reopened.mailboxes().map(\.key) == [StoreFixture.acme1001, StoreFixture.acme1002, StoreFixture.globex1001])
        #expect(try await reopened.counts(StoreFixture.acme1001).new == 1)
        await #expect(throws: StoreError.mailboxExists(StoreFixture.acme1001)) {
            try await reopened.createMailbox(Mailbox(key: StoreFixture.acme1001, name: "again"), pin: "2580", now: StoreFixture.t0)
        }
        await #expect(throws: DatabaseError.self) {
            try await reopened.database.writer.write { db in
                try db.execute(sql: "INSERT INTO mailbox (tenant, number, name, pin_hash, created_at) VALUES ('acme', '1001', '', 'scrypt$x', '2026-01-01')")
            }
        }
    }

    @Test("a database in memory runs through the same code path")
    func inMemory() async throws {
        let db = try AppDatabase.inMemory()
        let key = StoreFixture.acme1001
        try await db.createMailbox(Mailbox(key: key, name: "A"), pinHash: try PINHash.make(pin: "2580", costLog2: 10), now: StoreFixture.t0)
        #expect(try await db.mailbox(key)?.name == "A")
    }
}
