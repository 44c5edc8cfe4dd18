import NIOConcurrencyHelpers

/// Hands out even RTP ports from a configured range (RTCP takes port + 1, RFC 3550 §11).
///
/// A port is drawn at random among the free ones, so a stranger cannot guess the next call's
/// port from the last one (RFC 3550 §9.1 and RFC 8445's advice against predictable ports;
/// media from strangers is dropped anyway, `RTPSourceLatch`). A port is never handed out twice
/// while in use; exhaustion is a clean `nil`. Thread-safe: legs are opened from the SIP loop
/// and closed from media loops.
public final class PortAllocator: @unchecked Sendable {
    public let range: ClosedRange<Int>
    private let state: NIOLockedValueBox<State>

    struct State {
        var inUse: Set<Int> = []
        var random: PortRandom
    }

    /// - Parameter seed: draws from a fixed sequence (tests); nil draws from the system's generator.
    public init(range: ClosedRange<Int>, seed: UInt64? = nil) {
        let first = range.lowerBound % 2 == 0 ? range.lowerBound : range.lowerBound + 1
        self.range = first...max(first, range.upperBound)
        state = NIOLockedValueBox(State(random: PortRandom(state: seed)))
    }

    /// Number of even ports the range holds.
    public var capacity: Int { max(0, (range.upperBound - range.lowerBound) / 2 + 1) }

    public var inUseCount: Int { state.withLockedValue { $0.inUse.count } }

    /// Reserves a free even port drawn at random: a random start, then the next free one.
    public func allocate() -> Int? {
        let count = capacity
        let lower = range.lowerBound
        return state.withLockedValue { s in
            guard count > 0, s.inUse.count < count else { return nil }
            let start = Int.random(in: 0..<count, using: &s.random)
            for step in 0..<count {
                let port = lower + 2 * ((start + step) % count)
                if !s.inUse.contains(port) {
                    s.inUse.insert(port)
                    return port
                }
            }
            return nil
        }
    }

    public func release(_ port: Int) {
        _ = state.withLockedValue { $0.inUse.remove(port) }
    }
}

/// SplitMix64 when seeded (reproducible tests), else the system's generator.
struct PortRandom: RandomNumberGenerator {
    var state: UInt64?

    mutating func next() -> UInt64 {
        guard var s = state else {
            var system = SystemRandomNumberGenerator()
            return system.next()
        }
        s &+= 0x9E37_79B9_7F4A_7C15
        state = s
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
