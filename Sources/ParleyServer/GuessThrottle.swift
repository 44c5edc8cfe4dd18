/// Counts wrong guesses (conference PINs, digest credentials) per key — a room, a source
/// address, a user — and says when the next guess may come: the first `freeFailures`
/// wrong guesses cost nothing, each further one makes the next wait `firstDelay`, then
/// twice as long each time up to `maxDelay`; `lockoutAfter` wrong guesses within `window`
/// lock the key for `lockout`. A right guess forgets the key.
///
/// A value with no clock of its own: every call takes `now` in milliseconds on a monotonic
/// clock, so tests advance time instead of sleeping. Not thread-safe: the owner confines it
/// (the SIP loop for digest, the registry's lock for rooms).
///
/// Bounded: at most `capacity` keys; when a new key arrives at a full table, entries whose
/// back-off and lock are over go first, then the oldest eighth by last failure, so a flood
/// of new keys costs amortized O(log n) each and never grows the table.
struct GuessThrottle<Key: Hashable> {
    struct Policy: Sendable, Equatable {
        /// Wrong guesses within `window` that lock the key (0: never locks).
        var lockoutAfter: Int
        /// Milliseconds: failures older than this (counted from the streak's first) are forgotten.
        var windowMilliseconds: Int64
        /// Milliseconds the key stays locked.
        var lockoutMilliseconds: Int64
        /// Wrong guesses that cost no delay.
        var freeFailures: Int
        /// Milliseconds the first delayed guess waits; doubles with each further failure.
        var firstDelayMilliseconds: Int64
        var maxDelayMilliseconds: Int64

        /// The wait after the `failures`-th failure of a streak, in ms.
        func delay(afterFailures failures: Int) -> Int64 {
            guard failures > freeFailures, firstDelayMilliseconds > 0 else { return 0 }
            let doublings = min(failures - freeFailures - 1, 40)
            let delay = firstDelayMilliseconds.multipliedReportingOverflow(by: Int64(1) << doublings)
            return delay.overflow ? maxDelayMilliseconds : min(delay.partialValue, maxDelayMilliseconds)
        }
    }

    /// What a guess may do now.
    enum Verdict: Equatable {
        case allowed
        /// Too soon after the last wrong guess: the next may come at this time (ms).
        case backOff(until: Int64)
        /// Locked until this time (ms).
        case locked(until: Int64)
    }

    /// What a wrong guess led to.
    enum Failure: Equatable {
        /// Counted; the next guess may come at `retryAt` (ms; `now` when free).
        case counted(failures: Int, retryAt: Int64)
        /// This guess locked the key until then (ms): report it once.
        case lockedOut(failures: Int, until: Int64)
    }

    struct Entry {
        var failures: Int
        var firstFailure: Int64
        var lastFailure: Int64
        var retryAt: Int64
        var lockedUntil: Int64?
    }

    let capacity: Int
    private(set) var entries: [Key: Entry] = [:]
    /// Keys dropped to make room, since start.
    private(set) var evicted = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// Whether a guess for `key` may be checked at `now`. Nothing is counted.
    func verdict(_ key: Key, now: Int64) -> Verdict {
        guard let e = entries[key] else { return .allowed }
        if let until = e.lockedUntil, until > now { return .locked(until: until) }
        if e.lockedUntil == nil, e.retryAt > now { return .backOff(until: e.retryAt) }
        return .allowed
    }

    /// Counts a wrong guess for `key` at `now`.
    mutating func recordFailure(_ key: Key, now: Int64, policy: Policy) -> Failure {
        var e: Entry
        if let old = entries[key], !Self.expired(old, now: now, policy: policy) {
            e = old
        } else {
            if entries[key] == nil { makeRoom(now: now, policy: policy) }
            e = Entry(failures: 0, firstFailure: now, lastFailure: now, retryAt: now, lockedUntil: nil)
        }
        e.failures += 1
        e.lastFailure = now
        e.retryAt = now + policy.delay(afterFailures: e.failures)
        if policy.lockoutAfter > 0, e.failures >= policy.lockoutAfter {
            let until = now + policy.lockoutMilliseconds
            e.lockedUntil = until
            entries[key] = e
            return .lockedOut(failures: e.failures, until: until)
        }
        entries[key] = e
        return .counted(failures: e.failures, retryAt: e.retryAt)
    }

    /// A right guess: the key's failures are forgotten.
    mutating func recordSuccess(_ key: Key) {
        entries[key] = nil
    }

    /// A streak is over when its lock has run out, or, unlocked, when its window has passed
    /// and its back-off too.
    static func expired(_ e: Entry, now: Int64, policy: Policy) -> Bool {
        if let until = e.lockedUntil { return until <= now }
        return now - e.firstFailure >= policy.windowMilliseconds && e.retryAt <= now
    }

    private mutating func makeRoom(now: Int64, policy: Policy) {
        guard entries.count >= capacity else { return }
        entries = entries.filter { !Self.expired($0.value, now: now, policy: policy) }
        guard entries.count >= capacity else { return }
        let drop = max(1, capacity / 8)
        let oldest = entries.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(drop).map(\.key)
        for k in oldest { entries[k] = nil }
        evicted += oldest.count
    }
}
