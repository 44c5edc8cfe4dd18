import NIOCore
import ParleySIP
import Testing
@testable import ParleyServer

/// `SIPTCPFrameDecoder`: SIP framing on a stream by Content-Length (RFC 3261 §18.3), with
/// keep-alives between messages (RFC 5626 §3.5.1) and a size limit.
@Suite("SIP TCP framing")
struct SIPTCPFrameDecoderTests {
    static func options(_ n: Int, body: String = "") -> String {
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKf\(n)\r\nMax-Forwards: 70\r\n"
            + "From: <sip:t@127.0.0.1>;tag=t\(n)\r\nTo: <sip:127.0.0.1>\r\nCall-ID: f\(n)@test\r\nCSeq: \(n) OPTIONS\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    /// Feeds `chunks` one at a time, as reads would arrive, and collects every frame.
    static func frames(_ chunks: [String], parser: SIPParser = SIPParser()) -> (frames: [SIPTCPFrame], left: Int) {
        var decoder = SIPTCPFrameDecoder(parser: parser)
        var buffer = ByteBuffer()
        var out: [SIPTCPFrame] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while let frame = decoder.nextFrame(&buffer) { out.append(frame) }
        }
        return (out, buffer.readableBytes)
    }

    static func callIDs(_ frames: [SIPTCPFrame]) -> [String] {
        frames.compactMap { if case let .message(m) = $0 { return m.callID } else { return nil } }
    }

    @Test("given two messages in one read and one split in three, then three messages in order")
    func framesByContentLength() {
        let third = Self.options(3, body: "v=0\r\n")
        let (frames, left) = Self.frames([Self.options(1) + Self.options(2), String(third.prefix(10)),
                                          String(third.dropFirst(10).prefix(200)), String(third.dropFirst(210))])
        #expect(Self.callIDs(frames) == ["f1@test", "f2@test", "f3@test"])
        #expect(left == 0)
        if case let .message(m) = frames.last { #expect(m.bodyText == "v=0\r\n") }
    }

    @Test("given CRLF keep-alives between messages, then one keep-alive frame per run and the messages intact")
    func keepAlives() {
        let (frames, _) = Self.frames(["\r\n\r\n", Self.options(1) + "\r\n", "\r\n\r\n" + Self.options(2)])
        let kinds = frames.map { frame -> String in
            switch frame {
            case let .keepAlive(bytes): return "ka\(bytes)"
            case .message: return "m"
            case .malformed: return "bad"
            }
        }
        #expect(kinds == ["ka4", "m", "ka2", "ka4", "m"])
    }

    @Test("given a megabyte of CRLF in one read, then it is consumed as one keep-alive frame of its length")
    func crlfFlood() {
        let (frames, left) = Self.frames([String(repeating: "\r\n", count: 500_000)])
        guard frames.count == 1, case let .keepAlive(bytes) = frames[0] else { Issue.record("\(frames)"); return }
        #expect(bytes == 1_000_000)
        #expect(left == 0)
    }

    @Test("given a head that never ends beyond the size limit, then malformed once and everything after discarded")
    func oversizeHead() {
        let parser = SIPParser(maxMessageSize: 1024)
        let (frames, left) = Self.frames(["OPTIONS sip:x SIP/2.0\r\n", String(repeating: "X-Pad: 1\r\n", count: 200), Self.options(9)],
                                         parser: parser)
        #expect(frames.count == 1)
        if case let .malformed(_, error) = frames.first { #expect(error == .tooLarge(limit: 1024)) } else { Issue.record("not malformed: \(frames)") }
        #expect(left == 0)
    }

    @Test("given a Content-Length beyond the limit, then malformed before any body is awaited")
    func oversizeBody() {
        let head = Self.options(1).replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 9999999")
        let (frames, _) = Self.frames([head])
        if case let .malformed(_, error) = frames.first { #expect(error == .tooLarge(limit: 65_535)) } else { Issue.record("not malformed: \(frames)") }
    }

    @Test("given a message without Content-Length, then malformed with the bytes for a 400")
    func noContentLength() {
        let head = Self.options(1).replacingOccurrences(of: "Content-Length: 0\r\n", with: "")
        let (frames, _) = Self.frames([head])
        guard case let .malformed(bytes, error) = frames.first else { Issue.record("not malformed: \(frames)"); return }
        #expect(error == .badContentLength("absent"))
        #expect(SIPParser().parseHeadLeniently(bytes)?.callID == "f1@test")
    }

    @Test("given a body arriving a byte at a time, then one message when the last byte comes")
    func bodyByteByByte() {
        let body = String(repeating: "a", count: 300)
        let text = Self.options(4, body: body)
        let (frames, left) = Self.frames(text.map { String($0) })
        #expect(Self.callIDs(frames) == ["f4@test"])
        #expect(left == 0)
    }
}

/// `SIPConnectionLimits`: the counts behind `sip.tcp.max_connections` and
/// `max_connections_per_source`.
@Suite("SIP connection caps")
struct SIPConnectionLimitsTests {
    @Test("given a per-source cap of 2, then a third connection from one address is refused and others still fit")
    func perSource() {
        var limits = SIPConnectionLimits(maxConnections: 10, maxPerSource: 2)
        #expect(limits.accept("127.0.0.66") == nil)
        #expect(limits.accept("127.0.0.66") == nil)
        #expect(limits.accept("127.0.0.66") == .perSource)
        #expect(limits.accept("127.0.0.1") == nil)
        #expect(limits.open == 3)
        limits.closed("127.0.0.66")
        #expect(limits.accept("127.0.0.66") == nil)
    }

    @Test("given a global cap of 3, then a fourth connection is refused until one closes, and closed sources are forgotten")
    func total() {
        var limits = SIPConnectionLimits(maxConnections: 3, maxPerSource: 64)
        for source in ["a", "b", "c"] { #expect(limits.accept(source) == nil) }
        #expect(limits.accept("d") == .total)
        limits.closed("b")
        #expect(limits.accept("d") == nil)
        for source in ["a", "c", "d"] { limits.closed(source) }
        #expect(limits.open == 0)
        #expect(limits.sources == 0)
        // A close never counted does not go below zero.
        limits.closed("zzz")
        #expect(limits.open == 0)
    }
}
