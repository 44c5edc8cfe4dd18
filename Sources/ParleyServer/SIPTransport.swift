import Logging
import NIOCore
import ParleySIP

/// Where a SIP message came from and how to answer it: a UDP address, or a TCP connection
/// (responses on a stream go back on the same connection, RFC 3261 §18.2.2).
struct SIPPeer: CustomStringConvertible {
    let address: SocketAddress
    let connection: Channel?

    init(address: SocketAddress, connection: Channel? = nil) {
        self.address = address
        self.connection = connection
    }

    /// The Via transport token.
    var transport: String { connection == nil ? "UDP" : "TCP" }
    var description: String { "\(transport.lowercased()):\(address)" }
}

/// The UDP side of SIP: turns datagrams into messages for the controller. Runs on the SIP
/// channel's event loop.
///
/// Every datagram first takes a token of its source's rate (`CallController.admit`), before
/// it is copied or parsed; then `SIPRequestValidator` decides: accept, answer statelessly
/// (400, 416, 420, 505 … with a Warning) or drop.
final class SIPUDPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let controller: CallController
    let parser = SIPParser()

    init(controller: CallController) { self.controller = controller }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let peer = SIPPeer(address: envelope.remoteAddress)
        guard controller.admit(peer) else { return }
        // Keep-alive CRLFs (RFC 5626 §3.5.1) carry no message.
        if envelope.data.readableBytesView.allSatisfy({ $0 == 13 || $0 == 10 }) { return }
        let bytes = Array(envelope.data.readableBytesView)
        controller.receive(controller.validator.classify(bytes, parser: parser), from: peer)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors for earlier sends surface here on UDP; the listener keeps going.
        controller.logger.debug("SIP socket error: \(error)")
    }
}

/// The SIP TCP listener's admission: counts connections per source and in all
/// (`sip.tcp.max_connections`, `max_connections_per_source`) and builds each accepted
/// connection's pipeline. Confined to the SIP loop, like the listener and its connections.
final class SIPConnectionGate: @unchecked Sendable {
    let controller: CallController
    let settings: ParleyConfig.TCP
    private(set) var limits: SIPConnectionLimits
    private var refusedSinceLog = 0
    private var lastRefusalLog: NIODeadline = .uptimeNanoseconds(0)

    init(controller: CallController, settings: ParleyConfig.TCP) {
        self.controller = controller
        self.settings = settings
        limits = SIPConnectionLimits(maxConnections: settings.maxConnections, maxPerSource: settings.maxConnectionsPerSource)
    }

    /// For `ServerBootstrap.childChannelInitializer`: a connection over a cap fails here and
    /// NIO closes it before its first read; the others get the decoder, the idle timer and
    /// the handler. Runs on the SIP loop.
    func initialize(_ channel: Channel) -> EventLoopFuture<Void> {
        let source = channel.remoteAddress?.ipAddress ?? ""
        if let refusal = limits.accept(source) {
            ParleyMetrics.sipTCPRefused(cap: refusal.rawValue)
            refusedSinceLog += 1
            let now = NIODeadline.now()
            if now - lastRefusalLog >= .seconds(10) {
                lastRefusalLog = now
                controller.logger.warning("SIP TCP connections refused over a cap", metadata: [
                    "cap": "\(refusal.rawValue)", "from": "\(source)", "refused": "\(refusedSinceLog)",
                    "open": "\(limits.open)", "max": "\(refusal == .total ? settings.maxConnections : settings.maxConnectionsPerSource)"])
                refusedSinceLog = 0
            }
            return channel.eventLoop.makeFailedFuture(ChannelError.inputClosed)
        }
        ParleyMetrics.sipTCPConnections(limits.open)
        channel.closeFuture.whenComplete { [self] _ in
            limits.closed(source)
            ParleyMetrics.sipTCPConnections(limits.open)
        }
        // Unsent output beyond the high mark makes the channel unwritable; SIPTCPHandler then
        // closes it (a peer that does not read must not hold our memory).
        let high = settings.maxPendingOutputBytes
        let marks = ChannelOptions.Types.WriteBufferWaterMark(low: high / 2, high: high)
        return channel.setOption(ChannelOptions.writeBufferWaterMark, value: marks).flatMapThrowing {
            let idle = TimeAmount.milliseconds(self.settings.idleTimeoutMilliseconds)
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(SIPTCPFrameDecoder(parser: SIPParser())),
                IdleStateHandler(readTimeout: idle),
                SIPTCPHandler(controller: self.controller),
            ])
        }
    }
}

/// One SIP-over-TCP connection, behind `SIPTCPFrameDecoder` (framing by Content-Length, RFC
/// 3261 §18.3) and an `IdleStateHandler`. Runs on the SIP loop (child channels share it), so
/// the controller stays confined to one loop.
///
/// - Every frame takes a token of the source's rate (`CallController.admit`), a run of
///   keep-alive CRLFs one per four bytes. Keep-alives over the rate close the connection:
///   CRLFs are activity for the idle timer only up to the rate limit, so a CRLF flood can
///   neither burn the loop nor keep a connection open.
/// - A message that cannot be framed (no or bad Content-Length, over 64 KiB) leaves the stream
///   with no way to find the next message: answered with 400 when it is a request, then closed.
/// - Nothing framed for `sip.tcp.idle_timeout` (partial messages do not count) closes the
///   connection, unless a call in progress uses it (our BYE would have no way back).
/// - Output the peer does not take beyond `sip.tcp.max_pending_output` closes it.
final class SIPTCPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SIPTCPFrame

    let controller: CallController

    init(controller: CallController) { self.controller = controller }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let remote = context.channel.remoteAddress else { return }
        let peer = SIPPeer(address: remote, connection: context.channel)
        switch unwrapInboundIn(data) {
        case let .keepAlive(bytes):
            // One token per ping (CRLFCRLF) in the run: a megabyte of CRLF is a quarter of a
            // million keep-alives, far over any rate.
            if !controller.admit(peer, tokens: max(1, (bytes + 3) / 4)) { close(context, reason: "keepalive_flood") }
        case let .message(message):
            controller.handle(message, from: peer)
        case let .malformed(bytes, error):
            controller.handleMalformed(bytes, error: error, from: peer)
            close(context, reason: "malformed")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            return context.fireUserInboundEventTriggered(event)
        }
        let channel = context.channel
        if controller.calls.values.contains(where: { $0.state != .ended && $0.source.connection === channel }) { return }
        close(context, reason: "idle")
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable { close(context, reason: "slow_reader") }
        context.fireChannelWritabilityChanged()
    }

    private func close(_ context: ChannelHandlerContext, reason: String) {
        guard context.channel.isActive else { return }
        ParleyMetrics.sipTCPClosed(reason: reason)
        controller.logger.debug("closing SIP TCP connection", metadata: ["reason": "\(reason)", "peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        controller.logger.debug("SIP TCP connection error: \(error)")
        context.close(promise: nil)
    }
}
