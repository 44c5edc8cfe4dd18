import Foundation
import NIOConcurrencyHelpers
import ParleyServer

/// The live event streams open on the admin API: each is an `EventLog` subscription feeding
/// a bounded buffer (a slow reader loses the oldest events, never the server's memory).
/// `finishAll` ends them at shutdown, so the HTTP server's graceful stop does not wait on
/// streams that never end by themselves.
final class EventStreams: Sendable {
    /// Events held for one slow reader before the oldest are dropped.
    static let bufferLimit = 4096
    private let open = NIOLockedValueBox<[UInt64: AsyncStream<String?>.Continuation]>([:])
    private let events: EventLog

    init(events: EventLog) { self.events = events }

    /// A stream of rendered events (nil elements are keep-alive ticks every `keepAlive`).
    func stream(render: @escaping @Sendable (CallEvent) -> String, keepAlive: Duration = .seconds(15)) -> AsyncStream<String?> {
        let (stream, continuation) = AsyncStream<String?>.makeStream(bufferingPolicy: .bufferingNewest(EventStreams.bufferLimit))
        let token = events.subscribe { event in continuation.yield(render(event)) }
        open.withLockedValue { $0[token] = continuation }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                continuation.yield(nil)
            }
        }
        let events = self.events, open = self.open
        continuation.onTermination = { _ in
            events.unsubscribe(token)
            ticker.cancel()
            _ = open.withLockedValue { $0.removeValue(forKey: token) }
        }
        return stream
    }

    func finishAll() {
        let all = open.withLockedValue { Array($0.values) }
        for c in all { c.finish() }
    }

    var count: Int { open.withLockedValue { $0.count } }
}
