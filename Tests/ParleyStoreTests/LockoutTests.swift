import Foundation
import Testing
@testable import ParleyStore

@Suite("Store: PIN lockout")
struct LockoutTests {
    @Test("five wrong PINs lock for 1 min, the next five for 2 min; the lock survives reopening the database; a right PIN resets")
    func backOffPersisted() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let key = StoreFixture.acme1001
        var now = StoreFixture.t0
        do {
            let store = try await f.openWithMailboxes()
            for left in stride(from: 4, through: 1, by: -1) {
                #expect(try await store.verifyPIN("1111", for: key, now: now) == .wrong(attemptsBeforeLockout: left))
            }
            #expect(try await store.verifyPIN("1111", for: key, now: now) == .locked(until: now.addingTimeInterval(60)))
        }
        // A restart: a new process would open the same file.
        let store = try f.open()
        now = now.addingTimeInterval(30)
        // Locked: even the right PIN is not checked, and the attempt is not counted.
        #expect(try await store.verifyPIN("2580", for: key, now: now) == .locked(until: StoreFixture.t0.addingTimeInterval(60)))
        #expect(try await store.database.loginFailures(key) == 5)
        // Lock over: four more failures are allowed, the fifth locks for twice as long.
        now = StoreFixture.t0.addingTimeInterval(61)
        for left in stride(from: 4, through: 1, by: -1) {
            #expect(try await store.verifyPIN("1111", for: key, now: now) == .wrong(attemptsBeforeLockout: left))
        }
        #expect(try await store.verifyPIN("1111", for: key, now: now) == .locked(until: now.addingTimeInterval(120)))
        // Other mailboxes are not affected.
        #expect(try await store.verifyPIN("2580", for: StoreFixture.acme1002, now: now) == .ok)
        // After the lock, the right PIN works and forgets the failures.
        now = now.addingTimeInterval(121)
        #expect(try await store.verifyPIN("2580", for: key, now: now) == .ok)
        #expect(try await store.database.loginFailures(key) == 0)
        #expect(try await store.verifyPIN("1111", for: key, now: now) == .wrong(attemptsBeforeLockout: 4))
    }

    @Test("an operator's set-pin clears a lockout")
    func operatorUnlocks() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        for _ in 0..<5 { _ = try await store.verifyPIN("0000", for: key, now: StoreFixture.t0) }
        #expect(try await store.verifyPIN("2580", for: key, now: StoreFixture.t0) == .locked(until: StoreFixture.t0.addingTimeInterval(60)))
        try await store.setPIN("3691", for: key)
        #expect(try await store.verifyPIN("3691", for: key, now: StoreFixture.t0) == .ok)
    }

    @Test("back-off doubles up to the cap", arguments: [(5, 60.0), (10, 120.0), (15, 240.0), (20, 480.0), (500, 86_400.0)])
    func policy(failures: Int, seconds: Double) {
        #expect(LockoutPolicy().lockout(afterFailures: failures) == seconds)
        #expect(LockoutPolicy().lockout(afterFailures: failures - 1) == nil)
    }

    @Test("an unknown mailbox is an error, not a lockout entry")
    func unknownMailbox() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open()
        await #expect(throws: StoreError.mailboxNotFound(StoreFixture.acme1001)) {
            _ = try await store.verifyPIN("2580", for: StoreFixture.acme1001, now: StoreFixture.t0)
        }
    }
}
