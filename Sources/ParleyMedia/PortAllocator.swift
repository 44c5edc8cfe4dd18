import NIOConcurrencyHelpers

/// Hands out even RTP ports from a configured range (RTCP takes port + 1, RFC 3550 §11).
///
/// A port is never handed out twice while in use; exhaustion is a clean `nil`.
/// Thread-safe: legs are opened from the SIP loop and closed from media loops.
public final class PortAllocator: @unchecked Sendable {
    public let range: ClosedRange<Int>
    private let state: NIOLockedValueBox<State>

    struct State {
        var inUse: Set<Int> = []
        var next: Int
    }

    public init(range: ClosedRange<Int>) {
        let first = range.lowerBound % 2 == 0 ? range.lowerBound : range.lowerBound + 1
        self.range = first...range.upperBound
        state = NIOLockedValueBox(State(next: first))
    }

    /// Number of even ports the range holds.
    public var capacity: Int { max(0, (range.upperBound - range.lowerBound) / 2 + 1) }

    public var inUseCount: Int { state.withLockedValue { $0.inUse.count } }

    /// Reserves the next free even port (round robin, so a just-freed port rests a while).
    public func allocate() -> Int? {
        state.withLockedValue { s in
            let count = capacity
            guard s.inUse.count < count else { return nil }
            for _ in 0..<count {
                let port = s.next
                s.next += 2
                if s.next > range.upperBound { s.next = range.lowerBound }
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
