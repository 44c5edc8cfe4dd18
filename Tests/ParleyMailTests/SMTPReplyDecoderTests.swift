import NIOCore
import NIOEmbedded
import Testing
@testable import ParleyMail

/// The relay's bytes are untrusted: replies are framed exactly, and anything malformed is an
/// error that closes the session, never a crash.
@Suite("SMTP reply framing")
struct SMTPReplyDecoderTests {
    func decode(_ chunks: [String]) throws -> [SMTPReply] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        var out: [SMTPReply] = []
        for chunk in chunks {
            try channel.writeInbound(channel.allocator.buffer(string: chunk))
            while let reply = try channel.readInbound(as: SMTPReply.self) { out.append(reply) }
        }
        _ = try? channel.finish()
        return out
    }

    @Test("A multi-line EHLO reply split anywhere is one reply with its extensions")
    func multiline() throws {
        let text = "220 relay ESMTP\r\n250-relay.example\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1000\r\n"
        for cut in 1..<text.utf8.count {
            let bytes = Array(text.utf8)
            let replies = try decode([String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)])
            #expect(replies.count == 2)
            #expect(replies.last?.code == 250 && replies.last?.offers("STARTTLS") == true)
            #expect(replies.last?.authMechanisms == ["PLAIN", "LOGIN"])
        }
        #expect(try decode(["354\n"]).first?.code == 354)  // bare code, lone LF
    }

    @Test("Malformed replies are errors: no code, mixed codes, an endless line")
    func malformed() {
        #expect(throws: SMTPClientError.self) { try decode(["hello\r\n"]) }
        #expect(throws: SMTPClientError.self) { try decode(["25x ok\r\n"]) }
        #expect(throws: SMTPClientError.self) { try decode(["250-a\r\n451 b\r\n"]) }
        #expect(throws: SMTPClientError.self) { try decode([String(repeating: "2", count: 5000)]) }
        #expect(throws: SMTPClientError.self) { try decode([String(repeating: "250-x\r\n", count: 300)]) }
    }

    @Test("Reply classes")
    func classes() {
        #expect(SMTPReply(code: 250, lines: []).isPositive && SMTPReply(code: 354, lines: []).isPositive)
        #expect(SMTPReply(code: 451, lines: []).isTransient && SMTPReply(code: 550, lines: []).isPermanent)
    }
}
