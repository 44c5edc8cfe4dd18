import NIOCore

/// Monotonic milliseconds for media timing. A protocol so tests can drive time.
public protocol MediaClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// The system's monotonic clock (NIODeadline, i.e. CLOCK_MONOTONIC).
public struct MonotonicMediaClock: MediaClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }
}

/// How late media ticks ran, in a fixed-bucket histogram (microseconds).
public struct TickLateness: Sendable, Equatable {
    /// Upper bounds of the buckets in microseconds; the last bucket is open-ended.
    public static let bounds: [Int64] = [50, 100, 250, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, 20_000]
    public var counts = [Int](repeating: 0, count: TickLateness.bounds.count + 1)
    public var ticks = 0
    public var maxMicroseconds: Int64 = 0
    /// Sum of every tick's lateness (a Prometheus histogram's `_sum`).
    public var sumMicroseconds: Int64 = 0

    public init() {}

    public mutating func record(microseconds: Int64) {
        ticks += 1
        sumMicroseconds &+= microseconds
        maxMicroseconds = max(maxMicroseconds, microseconds)
        let i = TickLateness.bounds.firstIndex { microseconds <= $0 } ?? TickLateness.bounds.count
        counts[i] += 1
    }

    /// Adds another histogram's ticks (several threads' lateness as one).
    public mutating func merge(_ other: TickLateness) {
        ticks += other.ticks
        sumMicroseconds &+= other.sumMicroseconds
        maxMicroseconds = max(maxMicroseconds, other.maxMicroseconds)
        for i in 0..<min(counts.count, other.counts.count) { counts[i] += other.counts[i] }
    }

    /// The bucket bound at or below which `fraction` of the ticks fall (an upper estimate).
    public func percentileMicroseconds(_ fraction: Double) -> Int64 {
        guard ticks > 0 else { return 0 }
        let target = Int((Double(ticks) * fraction).rounded(.up))
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= target { return i < TickLateness.bounds.count ? TickLateness.bounds[i] : maxMicroseconds }
        }
        return maxMicroseconds
    }
}
