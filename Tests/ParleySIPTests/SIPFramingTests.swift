import Testing
@testable import ParleySIP

@Suite("Stream framing for TCP (RFC 3261 §18.3)")
struct SIPFramingTests {
    let parser = SIPParser()

    static func options(_ n: Int, body: String) -> [UInt8] {
        Array(("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK\(n)\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\n"
            + "Call-ID: c\(n)\r\nCSeq: \(n) OPTIONS\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }

    /// Frames everything in `buffer` the way a TCP handler does: frame, drop the consumed bytes, repeat.
    func drain(_ buffer: inout [UInt8]) throws -> [SIPMessage] {
        var out: [SIPMessage] = []
        while let (message, consumed) = try parser.frame(buffer) {
            out.append(message)
            buffer.removeFirst(consumed)
        }
        return out
    }

    @Test("Given several messages and CRLF keep-alives in one read, each is framed in order")
    func several() throws {
        var buffer = SIPFramingTests.options(1, body: "one") + Array("\r\n\r\n".utf8) + SIPFramingTests.options(2, body: "")
            + SIPFramingTests.options(3, body: "three\r\n")
        let messages = try drain(&buffer)
        #expect(messages.map(\.callID) == ["c1", "c2", "c3"])
        #expect(messages.map(\.bodyText) == ["one", "", "three\r\n"])
        #expect(buffer.isEmpty)
    }

    @Test("RFC 4475 dblreq on a stream: the REGISTER ends at Content-Length 0 and the INVITE follows")
    func dblreq() throws {
        var buffer = try TortureFixtures.bytes("valid", "dblreq")
        let messages = try drain(&buffer)
        #expect(messages.map(\.method) == ["REGISTER", "INVITE"])
        // The INVITE says Content-Length 150 for 152 bytes of SDP: the framer takes 150, and the
        // 2 bytes left over (a CRLF) are what a keep-alive looks like: nothing more is framed.
        #expect(messages.last?.body.count == 150 && buffer == [13, 10])
    }

    @Test("A message split across reads at any byte is framed only when complete, and identically")
    func split() throws {
        let whole = SIPFramingTests.options(7, body: "v=0\r\n")
        let expected = try #require(try parser.frame(whole))
        for cut in 0..<whole.count {
            #expect(try parser.frame(Array(whole[..<cut])) == nil, "framed at \(cut) of \(whole.count)")
        }
        var buffer: [UInt8] = []
        var framed: [SIPMessage] = []
        for chunk in stride(from: 0, to: whole.count, by: 13) {
            buffer += whole[chunk..<min(chunk + 13, whole.count)]
            framed += try drain(&buffer)
        }
        #expect(framed == [expected.message] && expected.consumed == whole.count)
    }

    @Test("Without Content-Length the end of a message on a stream is unknown: an error")
    func missingContentLength() {
        let text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\nbody"
        #expect(throws: SIPParseError.badContentLength("absent")) { try parser.frame(Array(text.utf8)) }
    }

    @Test("An absurd Content-Length is refused at once, before any of the body is awaited", arguments: [
        "70000", "9223372036854775807", "65536",
    ])
    func absurdContentLength(_ value: String) {
        var head = SIPFramingTests.options(1, body: "")
        head = Array(String(decoding: head, as: UTF8.self).replacingAll("Content-Length: 0", with: "Content-Length: \(value)").utf8)
        #expect(throws: SIPParseError.tooLarge(limit: 65_535)) { try parser.frame(head) }
    }

    @Test("A Content-Length that is no number, negative or given twice is an error", arguments: [
        "99999999999999999999999", "-1", "0x10", "5, 5",
    ])
    func badContentLength(_ value: String) {
        let text = String(decoding: SIPFramingTests.options(1, body: ""), as: UTF8.self)
            .replacingAll("Content-Length: 0", with: value == "5, 5" ? "Content-Length: 5\r\nContent-Length: 5" : "Content-Length: \(value)")
        #expect(throws: SIPParseError.self) { try parser.frame(Array(text.utf8)) }
    }

    @Test("A head that never ends is refused once it passes the size limit")
    func endlessHead() throws {
        var bytes = Array("OPTIONS sip:a@b SIP/2.0\r\n".utf8)
        #expect(try parser.frame(bytes) == nil)
        bytes += [UInt8](repeating: UInt8(ascii: "a"), count: 70_000)
        #expect(throws: SIPParseError.tooLarge(limit: 65_535)) { try parser.frame(bytes) }
    }
}
