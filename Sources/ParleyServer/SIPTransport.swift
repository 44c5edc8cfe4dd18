import Logging
import NIOCore
import ParleySIP

/// The UDP side of SIP: turns datagrams into messages for the controller and sends
/// what it answers. Runs on the SIP channel's event loop.
final class SIPUDPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let controller: CallController
    let parser = SIPParser()

    init(controller: CallController) { self.controller = controller }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        controller.attach(send: { message, destination in
            var buffer = channel.allocator.buffer(capacity: 1024)
            buffer.writeBytes(message.serialized())
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
        })
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        // Keep-alive CRLFs (RFC 5626 §3.5.1) carry no message.
        if bytes.allSatisfy({ $0 == 13 || $0 == 10 }) { return }
        do {
            let message = try parser.parse(bytes)
            controller.handle(message, from: envelope.remoteAddress)
        } catch {
            controller.handleMalformed(bytes, error: error, from: envelope.remoteAddress)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors for earlier sends surface here on UDP; the listener keeps going.
        controller.logger.debug("SIP socket error: \(error)")
    }
}
