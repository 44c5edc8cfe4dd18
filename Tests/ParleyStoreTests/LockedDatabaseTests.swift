import Foundation
import Testing
@testable import ParleyStore

/// Another process (python3's sqlite3 module) holds `BEGIN EXCLUSIVE` on the database.
@Suite("Store: database locked by another process")
struct LockedDatabaseTests {
    final class LockHolder {
        let process = Process()
        let input = Pipe()
        let output = Pipe()

        init(database: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1], isolation_level=None)
                c.execute("BEGIN EXCLUSIVE")
                c.execute("INSERT INTO mailbox (tenant, number, name, pin_hash, created_at) VALUES ('held', '1', '', 'scrypt$x', '2026-01-01')")
                print("locked", flush=True)
                sys.stdin.readline()
                c.execute(sys.argv[2])
                print("released", flush=True)
                """, database, "COMMIT"]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            try expectLine("locked")
        }

        func expectLine(_ text: String) throws {
            var seen = ""
            while !seen.contains(text) {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { throw StoreError.invalidArgument("lock holder ended early (python3 with sqlite3 needed); got: \(seen)") }
                seen += String(decoding: data, as: UTF8.self)
            }
        }

        func release() throws {
            input.fileHandleForWriting.write(Data("go\n".utf8))
            try expectLine("released")
            process.waitUntilExit()
        }
    }

    @Test("writes wait up to the busy timeout, then fail clearly with nothing changed; reads go on; after the lock all works")
    func lockedByAnotherProcess() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let key = StoreFixture.acme1001
        let store = try await f.openWithMailboxes()
        let first = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        let impatient = try f.open(busyTimeout: 0.3)

        let holder = try LockHolder(database: "\(f.dataDirectory)/parley.sqlite")
        await #expect(throws: StoreError.databaseBusy(path: "\(f.dataDirectory)/parley.sqlite", waitedMilliseconds: 300)) {
            _ = try await impatient.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        }
        // The audio written for the refused deposit is gone: no orphan, no half message.
        #expect(f.files(in: key) == ["\(first.id).wav"])
        await #expect(throws: StoreError.self) {
            try await impatient.createMailbox(Mailbox(key: try MailboxKey(tenant: "acme", number: "1003"), name: ""), pin: "2580", now: StoreFixture.t0)
        }
        // A PIN failure cannot be recorded either: it is an error, not an "ok".
        await #expect(throws: StoreError.self) { _ = try await impatient.verifyPIN("0000", for: key, now: StoreFixture.t0) }
        // Readers are not blocked in WAL mode.
        #expect(try await impatient.counts(key).new == 1)

        // The CLI says so and exits 3.
        let cli = try runProcess(parleyBinary(), ["mailbox", "add", "--data-dir", f.dataDirectory, "--busy-timeout", "0.2", "acme", "1004", "--pin", "2580"])
        #expect(cli.status == 3, "\(cli.stderr)")
        #expect(cli.stderr.contains("database is locked by another connection or process"))

        try holder.release()
        _ = try await impatient.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        #expect(try await store.counts(key).new == 2)
        #expect(try await store.mailbox(try MailboxKey(tenant: "held", number: "1")) != nil)
    }
}
