import Foundation

/// PIN lockout: every `failuresPerLockout` consecutive failures lock the mailbox, first for
/// `firstLockout`, then twice as long each time, up to `longestLockout`. A correct PIN
/// resets everything. The state lives in the database, so it survives restarts and holds
/// across calls.
public struct LockoutPolicy: Sendable, Equatable {
    public var failuresPerLockout: Int
    /// Seconds.
    public var firstLockout: TimeInterval
    /// Seconds.
    public var longestLockout: TimeInterval

    public init(failuresPerLockout: Int = 5, firstLockout: TimeInterval = 60, longestLockout: TimeInterval = 24 * 3600) {
        self.failuresPerLockout = max(1, failuresPerLockout)
        self.firstLockout = firstLockout
        self.longestLockout = longestLockout
    }

    /// The lock that follows the `failures`-th consecutive failure, if it triggers one.
    /// The n-th lockout lasts `firstLockout × 2^(n-1)`, capped.
    public func lockout(afterFailures failures: Int) -> TimeInterval? {
        guard failures > 0, failures % failuresPerLockout == 0 else { return nil }
        let n = failures / failuresPerLockout
        let doubled = firstLockout * pow(2, Double(min(n - 1, 30)))
        return min(doubled, longestLockout)
    }

    /// Failures left before the next lockout.
    public func attemptsBeforeLockout(failures: Int) -> Int {
        failuresPerLockout - failures % failuresPerLockout
    }
}
