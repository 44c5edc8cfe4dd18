import Foundation
import GRDB

/// What `beginLoginAttempt` decided before any hash is checked.
enum LoginAttempt: Sendable, Equatable {
    /// The attempt is counted; check this hash. `failures` includes this attempt.
    case check(PINHash, failures: Int, lockedUntil: Date?)
    /// Locked at `now`: no hash is checked and nothing is counted.
    case locked(until: Date)
}

extension AppDatabase {
    /// One PIN login: the attempt is counted (and the lock it earns set) inside one write
    /// transaction *before* the hash is checked, outside any transaction (scrypt takes tens
    /// of ms and must not hold the writer). Concurrent calls serialize on the writer, so at
    /// most `policy.failuresPerLockout` hash checks can start before the lock: the check
    /// cannot be raced past the limit. A right PIN then forgets the failures (and the lock
    /// its own attempt may have set). A crash between the two steps leaves the attempt
    /// counted as a failure, the safe side.
    ///
    /// `check` is the hash comparison (tests count it).
    func verifyPIN(_ key: MailboxKey, now: Date, policy: LockoutPolicy,
                   check: @Sendable (PINHash) -> Bool) async throws(StoreError) -> PINVerification {
        switch try await beginLoginAttempt(key, now: now, policy: policy) {
        case let .locked(until):
            return .locked(until: until)
        case let .check(hash, failures, lockedUntil):
            if check(hash) {
                try await clearLoginFailures(key)
                return .ok
            }
            if let lockedUntil { return .locked(until: lockedUntil) }
            return .wrong(attemptsBeforeLockout: policy.attemptsBeforeLockout(failures: failures))
        }
    }

    /// Counts one attempt as a failure in advance and locks the mailbox when the policy says
    /// so, in one transaction; or refuses it when the mailbox is locked at `now`.
    func beginLoginAttempt(_ key: MailboxKey, now: Date, policy: LockoutPolicy) async throws(StoreError) -> LoginAttempt {
        try await write { db in
            let r = try Self.mailboxRecord(db, key)
            guard let id = r.id else { throw StoreError.mailboxNotFound(key) }
            var record = try LoginFailureRecord.fetchOne(db, sql: "SELECT * FROM login_failure WHERE mailbox_id = ?", arguments: [id])
                ?? LoginFailureRecord(mailboxId: id, failures: 0, lockedUntil: nil, lastFailureAt: now)
            if let until = record.lockedUntil, until > now { return .locked(until: until) }
            record.failures += 1
            record.lastFailureAt = now
            if let seconds = policy.lockout(afterFailures: record.failures) {
                record.lockedUntil = now.addingTimeInterval(seconds)
            }
            try record.save(db)
            return .check(PINHash(encoded: r.pinHash), failures: record.failures,
                          lockedUntil: record.lockedUntil.flatMap { $0 > now ? $0 : nil })
        }
    }

    /// A correct PIN: failures and lockouts are forgotten.
    func clearLoginFailures(_ key: MailboxKey) async throws(StoreError) {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            try db.execute(sql: "DELETE FROM login_failure WHERE mailbox_id = ?", arguments: [id])
        }
    }

    /// Consecutive failures recorded for a mailbox (0 after a success).
    public func loginFailures(_ key: MailboxKey) async throws(StoreError) -> Int {
        try await read { db in
            let id = try Self.mailboxID(db, key)
            return try Int.fetchOne(db, sql: "SELECT failures FROM login_failure WHERE mailbox_id = ?", arguments: [id]) ?? 0
        }
    }
}

/// Whether a login's hash was checked (the log tells a checked wrong PIN from a refusal).
final class PINCheckFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var checked = false
    func set() { lock.lock(); checked = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return checked }
}
