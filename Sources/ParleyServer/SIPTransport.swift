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
final class SIPUDPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let controller: CallController
    let parser = SIPParser()

    init(controller: CallController) { self.controller = controller }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        let peer = SIPPeer(address: envelope.remoteAddress)
        // Keep-alive CRLFs (RFC 5626 §3.5.1) carry no message.
        if bytes.allSatisfy({ $0 == 13 || $0 == 10 }) { return }
        do {
            let message = try parser.parse(bytes)
            controller.handle(message, from: peer)
        } catch {
            controller.handleMalformed(bytes, error: error, from: peer)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors for earlier sends surface here on UDP; the listener keeps going.
        controller.logger.debug("SIP socket error: \(error)")
    }
}

/// One SIP-over-TCP connection: frames messages by Content-Length (RFC 3261 §18.3) and
/// hands them to the controller. Runs on the SIP loop (child channels share it), so the
/// controller stays confined to one loop.
///
/// A message that cannot be framed (no or absurd Content-Length, a head larger than the
/// limit) leaves the stream with no way to find the next message: it is answered with 400
/// when it is a request, and the connection is closed.
final class SIPTCPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let controller: CallController
    let parser = SIPParser()
    private var pending: [UInt8] = []

    init(controller: CallController) { self.controller = controller }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        pending.append(contentsOf: buffer.readableBytesView)
        guard let remote = context.channel.remoteAddress else { return }
        let peer = SIPPeer(address: remote, connection: context.channel)
        while true {
            // Keep-alives between messages (RFC 5626 §3.5.1: CRLFCRLF ping, CRLF pong).
            while let first = pending.first, first == 13 || first == 10 { pending.removeFirst() }
            if pending.isEmpty { return }
            do {
                guard let (message, consumed) = try parser.frame(pending) else {
                    if pending.count > parser.maxMessageSize { throw SIPParseError.tooLarge(limit: parser.maxMessageSize) }
                    return
                }
                pending.removeFirst(consumed)
                controller.handle(message, from: peer)
            } catch {
                controller.handleMalformed(pending, error: (error as? SIPParseError) ?? .tooLarge(limit: parser.maxMessageSize), from: peer)
                pending.removeAll()
                context.close(promise: nil)
                return
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        controller.logger.debug("SIP TCP connection error: \(error)")
        context.close(promise: nil)
    }
}
