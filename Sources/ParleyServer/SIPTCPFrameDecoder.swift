import NIOCore
import ParleySIP

/// What a SIP stream yields: a message, a keep-alive, or bytes that cannot be framed.
enum SIPTCPFrame {
    case message(SIPMessage)
    /// A run of CR/LF between messages, as many bytes as found in one read: the RFC 5626
    /// §3.5.1 ping (CRLFCRLF) or pong (CRLF). A peer sends one every 30 s or more, so a long
    /// run is a flood: `SIPTCPHandler` charges the rate limit for every four bytes.
    case keepAlive(bytes: Int)
    /// The stream cannot be framed from here on (no or bad Content-Length, a message over
    /// the size limit, a head that does not parse): what was buffered, and why.
    case malformed([UInt8], SIPParseError)
}

/// Frames SIP messages on a stream by Content-Length (RFC 3261 §18.3) for NIO's
/// `ByteToMessageHandler`, which keeps the bytes in one buffer and moves a read index: a
/// flood of CRLFs or a message arriving a byte at a time costs time linear in its size.
///
/// The end of the head is searched only in bytes not yet searched; once it is found the
/// message's full length is known from its Content-Length and nothing is parsed again until
/// that many bytes are in. A message is at most `parser.maxMessageSize` bytes (64 KiB by
/// default): beyond that, or on any framing error, the decoder yields `.malformed` once and
/// discards everything after (the connection is closed by `SIPTCPHandler`).
///
/// Runs on the connection's event loop (the SIP loop).
struct SIPTCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = SIPTCPFrame

    let parser: SIPParser
    /// Readable bytes already searched for the end of the head (none of them ends it).
    private var searched = 0
    /// The whole message's length, once its head has been read.
    private var messageLength: Int?
    private var failed = false

    init(parser: SIPParser = SIPParser()) { self.parser = parser }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial message at the end of the stream is abandoned.
        while let frame = nextFrame(&buffer) { context.fireChannelRead(wrapInboundOut(frame)) }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }

    /// The next frame in `buffer`, consuming its bytes; nil when more bytes are needed.
    /// Separate from `decode` so tests can drive it without a channel.
    mutating func nextFrame(_ buffer: inout ByteBuffer) -> SIPTCPFrame? {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        if messageLength == nil {
            // Keep-alives between messages.
            let run = buffer.withUnsafeReadableBytes { bytes in
                var n = 0
                while n < bytes.count, bytes[n] == 13 || bytes[n] == 10 { n += 1 }
                return n
            }
            if run > 0 {
                buffer.moveReaderIndex(forwardBy: run)
                searched = 0
                return .keepAlive(bytes: run)
            }
        }
        guard buffer.readableBytes > 0 else { return nil }
        if messageLength == nil {
            guard let bodyStart = findHeadEnd(buffer.readableBytesView) else {
                searched = buffer.readableBytes
                if buffer.readableBytes > parser.maxMessageSize { return fail(&buffer, .tooLarge(limit: parser.maxMessageSize)) }
                return nil
            }
            let head = Array(buffer.readableBytesView.prefix(bodyStart))
            do {
                if let (message, consumed) = try parser.frame(head) {
                    // No body (Content-Length: 0).
                    buffer.moveReaderIndex(forwardBy: consumed)
                    searched = 0
                    return .message(message)
                }
                // The head is whole and frames (Content-Length present and within the
                // limit), so parsing it as a datagram reports the body's length as missing.
                do {
                    _ = try parser.parse(head)
                    return fail(&buffer, .incomplete)
                } catch {
                    guard case let .bodyTruncated(expected, _) = error else { return fail(&buffer, error) }
                    messageLength = bodyStart + expected
                }
            } catch {
                return fail(&buffer, error)
            }
        }
        guard let length = messageLength, buffer.readableBytes >= length else { return nil }
        do {
            guard let (message, consumed) = try parser.frame(Array(buffer.readableBytesView.prefix(length))) else {
                return fail(&buffer, .incomplete)
            }
            buffer.moveReaderIndex(forwardBy: consumed)
            messageLength = nil
            searched = 0
            return .message(message)
        } catch {
            return fail(&buffer, error)
        }
    }

    /// Where the body starts: after CRLFCRLF, or LFLF from lenient peers (as `SIPParser`),
    /// searching only what was not searched before (less three bytes of overlap).
    private func findHeadEnd(_ view: ByteBufferView) -> Int? {
        var i = view.startIndex + max(0, searched - 3)
        let end = view.endIndex
        while i + 1 < end {
            if view[i] == 10 {
                if view[i + 1] == 10 { return i + 2 - view.startIndex }
                if view[i + 1] == 13, i + 2 < end, view[i + 2] == 10 { return i + 3 - view.startIndex }
            }
            i += 1
        }
        return nil
    }

    private mutating func fail(_ buffer: inout ByteBuffer, _ error: SIPParseError) -> SIPTCPFrame {
        failed = true
        let bytes = Array(buffer.readableBytesView.prefix(parser.maxMessageSize))
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .malformed(bytes, error)
    }
}
