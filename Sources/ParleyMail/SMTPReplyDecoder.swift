import NIOCore

/// Frames SMTP replies from the byte stream (RFC 5321 §4.2.1): lines `250-text` continue a
/// reply, `250 text` (or a bare `250`) ends it. Lines end with CRLF (a lone LF is taken too).
/// A line longer than `maximumLineBytes` or a reply of more than `maximumLines` lines, or a
/// line that does not start with three digits, is an error: the connection is closed.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maximumLineBytes = 4096
    static let maximumLines = 200

    private var lines: [String] = []
    private var code: Int?

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maximumLineBytes { throw SMTPClientError.protocolViolation("reply line too long") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard length <= Self.maximumLineBytes, var bytes = buffer.readBytes(length: length + 1) else {
            throw SMTPClientError.protocolViolation("reply line too long")
        }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-") else {
            throw SMTPClientError.protocolViolation("reply line does not start with a code: \(String(decoding: bytes.prefix(60), as: UTF8.self))")
        }
        let lineCode = Int(bytes[0] - 0x30) * 100 + Int(bytes[1] - 0x30) * 10 + Int(bytes[2] - 0x30)
        if let code, code != lineCode { throw SMTPClientError.protocolViolation("reply lines with different codes") }
        code = lineCode
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        guard lines.count <= Self.maximumLines else { throw SMTPClientError.protocolViolation("reply of too many lines") }
        if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") {
            context.fireChannelRead(wrapInboundOut(SMTPReply(code: lineCode, lines: lines)))
            lines = []
            code = nil
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands replies to whoever waits for the next one (one command at a time, no pipelining).
/// Confined to its channel's event loop: `SMTPConnection` reaches it only through
/// `eventLoop.flatSubmit`, hence `@unchecked Sendable`.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SMTPReply

    private var replies = CircularBuffer<SMTPReply>()
    private var waiters = CircularBuffer<EventLoopPromise<SMTPReply>>()
    private var failure: Error?

    /// Replies received and not yet asked for (STARTTLS: must be none when TLS starts).
    var bufferedReplies: Int { replies.count }

    /// The next reply. Must be called on the channel's event loop.
    func nextReply(on loop: EventLoop) -> EventLoopFuture<SMTPReply> {
        if let reply = replies.popFirst() { return loop.makeSucceededFuture(reply) }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: SMTPReply.self)
        waiters.append(promise)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        if let waiter = waiters.popFirst() { waiter.succeed(reply) } else { replies.append(reply) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(SMTPClientError.connectionClosed)
        context.fireChannelInactive()
    }

    private func failAll(_ error: Error) {
        if failure == nil { failure = error }
        while let waiter = waiters.popFirst() { waiter.fail(error) }
    }
}
