import Foundation
import Testing
@testable import ParleyStore

@Suite("Store: parallel PIN attempts cannot race past the lockout")
struct LoginRaceTests {
    @Test("Given 40 wrong PINs at once on a real SQLite file, when they race, then at most 5 hashes are checked and every other attempt is locked")
    func parallelWrongPINs() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        let checks = CheckCounter()
        let policy = store.lockout
        let answers = try await withThrowingTaskGroup(of: PINVerification.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await store.database.verifyPIN(key, now: StoreFixture.t0, policy: policy) { hash in
                        checks.increment()
                        return hash.verify(pin: "0000")
                    }
                }
            }
            var all: [PINVerification] = []
            for try await a in group { all.append(a) }
            return all
        }
        let until = StoreFixture.t0.addingTimeInterval(60)
        #expect(checks.value == policy.failuresPerLockout)
        #expect(answers.filter { if case .wrong = $0 { true } else { false } }.count == policy.failuresPerLockout - 1)
        #expect(answers.filter { $0 == .locked(until: until) }.count == 40 - (policy.failuresPerLockout - 1))
        #expect(try await store.database.loginFailures(key) == policy.failuresPerLockout)
        // While locked, the right PIN is refused without a hash check.
        #expect(try await store.verifyPIN("2580", for: key, now: StoreFixture.t0.addingTimeInterval(30)) == .locked(until: until))
        #expect(try await store.verifyPIN("2580", for: key, now: until.addingTimeInterval(1)) == .ok)
    }

    @Test("Given 4 wrong PINs racing the right one, when the right one is among the first five, then it logs in and failures are forgotten")
    func rightPINAmongParallelWrongOnes() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        let answers = try await withThrowingTaskGroup(of: PINVerification.self) { group in
            for i in 0..<5 {
                group.addTask { try await store.verifyPIN(i == 2 ? "2580" : "0000", for: key, now: StoreFixture.t0) }
            }
            var all: [PINVerification] = []
            for try await a in group { all.append(a) }
            return all
        }
        #expect(answers.contains(.ok))
        #expect(answers.count == 5)
    }

    @Test("Given separate stores on one file (two processes), when 30 wrong PINs race, then at most 5 hashes are checked")
    func parallelAcrossConnections() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let first = try await f.openWithMailboxes()
        let second = try f.open()
        let key = StoreFixture.acme1001
        let checks = CheckCounter()
        let policy = first.lockout
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<30 {
                let db = i % 2 == 0 ? first.database : second.database
                group.addTask {
                    _ = try await db.verifyPIN(key, now: StoreFixture.t0, policy: policy) { hash in
                        checks.increment()
                        return hash.verify(pin: "0000")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(checks.value == policy.failuresPerLockout)
    }
}

/// Hash checks made, from any task.
final class CheckCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
