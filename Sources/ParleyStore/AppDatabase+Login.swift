import Foundation
import GRDB

extension AppDatabase {
    /// What a PIN check needs: the stored hash and, when the mailbox is locked at `now`,
    /// until when.
    func loginState(_ key: MailboxKey, now: Date) async throws(StoreError) -> (hash: PINHash, lockedUntil: Date?) {
        try await read { db in
            let r = try Self.mailboxRecord(db, key)
            let until = try Date.fetchOne(db, sql: "SELECT locked_until FROM login_failure WHERE mailbox_id = ?", arguments: [r.id])
            return (PINHash(encoded: r.pinHash), until.flatMap { $0 > now ? $0 : nil })
        }
    }

    /// Counts one wrong PIN and locks the mailbox when the policy says so, in one
    /// transaction (concurrent attempts each count). Returns the answer for the caller.
    func recordLoginFailure(_ key: MailboxKey, now: Date, policy: LockoutPolicy) async throws(StoreError) -> PINVerification {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            var record = try LoginFailureRecord.fetchOne(db, sql: "SELECT * FROM login_failure WHERE mailbox_id = ?", arguments: [id])
                ?? LoginFailureRecord(mailboxId: id, failures: 0, lockedUntil: nil, lastFailureAt: now)
            if let until = record.lockedUntil, until > now { return .locked(until: until) }
            record.failures += 1
            record.lastFailureAt = now
            if let seconds = policy.lockout(afterFailures: record.failures) {
                record.lockedUntil = now.addingTimeInterval(seconds)
            }
            try record.save(db)
            if let until = record.lockedUntil, until > now { return .locked(until: until) }
            return .wrong(attemptsBeforeLockout: policy.attemptsBeforeLockout(failures: record.failures))
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
