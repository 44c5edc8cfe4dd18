import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ParleySIP

/// One UDP socket for a SIP user agent client (`TestCaller`): messages out, parsed
/// messages in, read one at a time with a deadline. Datagrams that do not parse are dropped.
final class SIPDatagramInbox: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private struct State {
        var queue: [(SIPMessage, SocketAddress)] = []
        var waiter: CheckedContinuation<(SIPMessage, SocketAddress)?, Never>?
        /// Which `next` call the waiter belongs to, so an old call's timer never ends a newer wait.
        var generation = 0
        var closed = false
    }
    private let state = NIOLockedValueBox(State())
    private let parser = SIPParser()
    private(set) var channel: Channel?

    /// Binds `host:0` on `group`.
    static func bind(host: String, group: EventLoopGroup) async throws -> SIPDatagramInbox {
        let inbox = SIPDatagramInbox()
        inbox.channel = try await DatagramBootstrap(group: group)
            .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { $0.pipeline.addHandler(inbox) }
            .bind(host: host, port: 0).get()
        return inbox
    }

    var localPort: Int { channel?.localAddress?.port ?? 0 }

    func send(_ message: SIPMessage, to address: SocketAddress) {
        guard let channel else { return }
        let bytes = message.serialized()
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let message = try? parser.parse(Array(envelope.data.readableBytesView)) else { return }
        let waiter = state.withLockedValue { s -> CheckedContinuation<(SIPMessage, SocketAddress)?, Never>? in
            if let w = s.waiter { s.waiter = nil; return w }
            s.queue.append((message, envelope.remoteAddress))
            return nil
        }
        waiter?.resume(returning: (message, envelope.remoteAddress))
    }

    /// The next message, or nil once `milliseconds` have passed without one.
    func next(withinMilliseconds milliseconds: Int64) async -> (SIPMessage, SocketAddress)? {
        guard let loop = channel?.eventLoop else { return nil }
        return await withCheckedContinuation { (c: CheckedContinuation<(SIPMessage, SocketAddress)?, Never>) in
            let (ready, generation) = state.withLockedValue { s -> ((SIPMessage, SocketAddress)??, Int) in
                if !s.queue.isEmpty { return (.some(s.queue.removeFirst()), 0) }
                if s.closed { return (.some(nil), 0) }
                s.waiter = c
                s.generation += 1
                return (nil, s.generation)
            }
            if let ready { return c.resume(returning: ready) }
            loop.scheduleTask(in: .milliseconds(max(0, milliseconds))) { [state] in
                let w = state.withLockedValue { s -> CheckedContinuation<(SIPMessage, SocketAddress)?, Never>? in
                    guard s.generation == generation else { return nil }
                    defer { s.waiter = nil }
                    return s.waiter
                }
                w?.resume(returning: nil)
            }
        }
    }

    func close() async {
        let w = state.withLockedValue { s -> CheckedContinuation<(SIPMessage, SocketAddress)?, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: nil)
        try? await channel?.close()
    }
}
