import Foundation
import GRDB
import Testing
@testable import ParleyStore

@Suite("Store: PINs")
struct PINTests {
    @Test("the same PIN in two mailboxes is stored as two different salted scrypt hashes, and verifies in both")
    func saltedHashes() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open(pinCostLog2: PINHash.defaultCostLog2)
        for key in [StoreFixture.acme1001, StoreFixture.acme1002] {
            try await store.createMailbox(Mailbox(key: key, name: ""), pin: "2580", now: StoreFixture.t0)
        }
        let hashes = try await store.database.writer.read { db in try String.fetchAll(db, sql: "SELECT pin_hash FROM mailbox ORDER BY number") }
        #expect(hashes.count == 2)
        #expect(hashes[0] != hashes[1])
        #expect(hashes.allSatisfy { $0.hasPrefix("scrypt$14$8$1$") && !$0.contains("2580") })
        #expect(try await store.verifyPIN("2580", for: StoreFixture.acme1001, now: StoreFixture.t0) == .ok)
        #expect(try await store.verifyPIN("2580", for: StoreFixture.acme1002, now: StoreFixture.t0) == .ok)
        #expect(try await store.verifyPIN("2581", for: StoreFixture.acme1002, now: StoreFixture.t0) == .wrong(attemptsBeforeLockout: 4))
        // The database file itself never holds the PIN in clear.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(f.dataDirectory)/parley.sqlite"))
        #expect(bytes.range(of: Data("2580".utf8)) == nil)
    }

    @Test("a malformed stored hash verifies nothing")
    func malformedHash() {
        #expect(!PINHash(encoded: "").verify(pin: "2580"))
        #expect(!PINHash(encoded: "scrypt$99$8$1$AAAA$AAAA").verify(pin: "2580"))
        #expect(!PINHash(encoded: "plain$2580").verify(pin: "2580"))
    }

    @Test("PIN policy: 4 to 10 digits, no repeated digit, no ascending or descending run, not the mailbox number",
          arguments: [("2580", true), ("13579", true), ("0000", false), ("1234", false), ("6543", false), ("7890", false),
                      ("2109", false), ("123", false), ("12345678901", false), ("12a4", false), ("", false), ("1001", false), ("258 0", false)])
    func policy(pin: String, accepted: Bool) {
        let ok = (try? PINPolicy.check(pin, mailboxNumber: "1001")) != nil
        #expect(ok == accepted, "\(pin)")
    }

    @Test("changing the PIN by phone applies the policy; the old PIN stops working")
    func changePIN() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        await #expect(throws: StoreError.pinPolicy("an ascending run of digits")) { try await store.changePIN("4567", for: key) }
        try await store.changePIN("9371", for: key)
        #expect(try await store.verifyPIN("9371", for: key, now: StoreFixture.t0) == .ok)
        #expect(try await store.verifyPIN("2580", for: key, now: StoreFixture.t0) == .wrong(attemptsBeforeLockout: 4))
    }
}
