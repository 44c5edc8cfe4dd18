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
    /// Streams being opened or open: the bound is taken before the subscription is made.
    private let reserved = NIOLockedValueBox(0)
    private let events: EventLog
    /// Streams open at once (`admin.max_event_streams`); `stream` refuses more.
    let limit: Int

    init(events: EventLog, limit: Int = 32) { self.events = events; self.limit = limit }

    /// A stream of rendered events (nil elements are keep-alive ticks every `keepAlive`), or
    /// nil when `limit` streams are open already.
    func stream(render: @escaping @Sendable (CallEvent) -> String, keepAlive: Duration = .seconds(15)) -> AsyncStream<String?>? {
        let limit = self.limit
        let admitted = reserved.withLockedValue { n -> Bool in
            guard n < limit else { return false }
            n += 1
            return true
        }
        guard admitted else { return nil }
        let (stream, continuation) = AsyncStream<String?>.makeStream(bufferingPolicy: .bufferingNewest(EventStreams.bufferLimit))
        let token = events.subscribe { event in continuation.yield(render(event)) }
        open.withLockedValue { $0[token] = continuation }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                continuation.yield(nil)
            }
        }
        let events = self.events, open = self.open, reserved = self.reserved
        continuation.onTermination = { _ in
            events.unsubscribe(token)
            ticker.cancel()
            _ = open.withLockedValue { $0.removeValue(forKey: token) }
            reserved.withLockedValue { $0 -= 1 }
        }
        return stream
    }

    func finishAll() {
        let all = open.withLockedValue { Array($0.values) }
        for c in all { c.finish() }
    }

    var count: Int { open.withLockedValue { $0.count } }
}
