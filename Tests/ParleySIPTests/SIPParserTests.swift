import Testing
@testable import ParleySIP

@Suite("SIP message parsing (RFC 3261 §7)")
struct SIPParserTests {
    let parser = SIPParser()

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let invite = """
        INVITE sip:100@127.0.0.1:5060 SIP/2.0\r
        Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport\r
        v: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-0\r
        Max-Forwards: 70\r
        f: "Alice \\"A\\" Martin" <sip:alice@127.0.0.1>;tag=abc\r
        t: <sip:100@127.0.0.1>\r
        i: call-1@127.0.0.1\r
        CSeq: 1 INVITE\r
        m: <sip:alice@127.0.0.1:5061>\r
        Subject: a folded\r
          subject line\r
        c: application/sdp\r
        l: 4\r
        \r
        v=0\r\nEXTRA
        """

    @Test("a request with compact forms, two Vias, a quoted display name and a folded header")
    func parseInvite() throws {
        let m = try parser.parse(bytes(SIPParserTests.invite))
        #expect(m.method == "INVITE")
        #expect(m.requestURI == "sip:100@127.0.0.1:5060")
        #expect(m.callID == "call-1@127.0.0.1")
        #expect(m.values("Via").count == 2)
        #expect(m["Subject"] == "a folded subject line")
        #expect(m.cseq?.number == 1 && m.cseq?.method == "INVITE")
        // Content-Length limits the body; extra bytes on UDP are discarded (§18.3).
        #expect(m.bodyText == "v=0\r")
        let from = try #require(m["From"].flatMap(NameAddress.init))
        #expect(from.displayName == "Alice \"A\" Martin")
        #expect(from.tag == "abc")
        #expect(from.uri == "sip:alice@127.0.0.1")
        let via = try #require(Via(m.values("Via")[0]))
        #expect(via.transport == "UDP" && via.host == "127.0.0.1" && via.port == 5061 && via.branch == "z9hG4bK-1" && via.hasRPort)
    }

    @Test("serialize then parse gives the same message")
    func roundTrip() throws {
        let m = try parser.parse(bytes(SIPParserTests.invite))
        let again = try parser.parse(m.serialized())
        #expect(again == m)
    }

    @Test("missing mandatory headers, CSeq mismatch, bad Content-Length and bad start lines are refused")
    func invalid() {
        let base = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"
        #expect(throws: SIPParseError.missingHeader("Call-ID")) { try parser.parse(bytes(base.replacingAll("Call-ID: c\r\n", with: "") + "\r\n")) }
        #expect(throws: SIPParseError.cseqMethodMismatch(request: "OPTIONS", cseq: "INVITE")) {
            try parser.parse(bytes(base.replacingAll("1 OPTIONS", with: "1 INVITE") + "\r\n"))
        }
        #expect(throws: SIPParseError.badCSeq("x OPTIONS")) { try parser.parse(bytes(base.replacingAll("1 OPTIONS", with: "x OPTIONS") + "\r\n")) }
        #expect(throws: SIPParseError.bodyTruncated(expected: 50, got: 2)) { try parser.parse(bytes(base + "Content-Length: 50\r\n\r\nab")) }
        #expect(throws: SIPParseError.badContentLength("-1")) { try parser.parse(bytes(base + "Content-Length: -1\r\n\r\n")) }
        #expect(throws: SIPParseError.badStartLine("OPTIONS sip:a@b SIP/3.0")) { try parser.parse(bytes(base.replacingAll("SIP/2.0\r\nVia", with: "SIP/3.0\r\nVia") + "\r\n")) }
        #expect(throws: SIPParseError.badHeader("NoColonHere")) { try parser.parse(bytes(base + "NoColonHere\r\n\r\n")) }
        #expect(throws: SIPParseError.incomplete) { try parser.parse(bytes(base)) }
    }

    @Test("a request that fails validation still yields its head for a 400")
    func lenientHead() {
        let text = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n"
        let head = parser.parseHeadLeniently(bytes(text))
        #expect(head?.method == "INVITE")
        #expect(head?["Via"] != nil)
        #expect(parser.parseHeadLeniently([0xFF, 0xFE, 0x00]) == nil)
    }

    @Test("stream framing waits for the whole body and needs Content-Length")
    func framing() throws {
        let msg = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc"
        #expect(try parser.frame(bytes(String(msg.dropLast(2)))) == nil)
        let framed = try #require(try parser.frame(bytes(msg + "OPTIONS")))
        #expect(framed.consumed == msg.utf8.count)
        #expect(framed.message.bodyText == "abc")
    }

    @Test("oversized messages and header bombs are refused")
    func limits() {
        let big = [UInt8](repeating: 65, count: 70_000)
        #expect(throws: SIPParseError.tooLarge(limit: 65_535)) { try parser.parse(big) }
        var bomb = "OPTIONS sip:a@b SIP/2.0\r\n"
        for i in 0..<300 { bomb += "X-\(i): y\r\n" }
        #expect(throws: SIPParseError.tooManyHeaders(limit: 256)) { try parser.parse(bytes(bomb + "\r\n")) }
    }

    @Test("random mutations of a valid request never trap")
    func mutations() {
        let original = bytes(SIPParserTests.invite)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            var b = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: b.remove(at: i)
                default: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
                if b.isEmpty { b = [0] }
            }
            _ = try? parser.parse(b)
            _ = parser.parseHeadLeniently(b)
        }
    }
}

@Suite("URIs and addresses (RFC 3261 §19, §20)")
struct SIPURITests {
    @Test("sip URIs with user, password, IPv6 host, port, parameters and headers")
    func uris() throws {
        let u = try #require(SIPURI("sip:alice:secret@[2001:db8::1]:5070;transport=udp;lr?subject=hi"))
        #expect(u.user == "alice" && u.password == "secret" && u.host == "2001:db8::1" && u.port == 5070)
        #expect(u.parameter("transport") == .some("udp"))
        #expect(u.parameter("lr") == .some(nil))
        #expect(u.headers == "subject=hi")
        #expect(u.description == "sip:alice:secret@[2001:db8::1]:5070;transport=udp;lr?subject=hi")
        #expect(SIPURI("sip:%31%30%30@example.com")?.user == "100")
        #expect(SIPURI("tel:+3212345") == nil)
        #expect(SIPURI("sip:a@host:99999") == nil)
        #expect(SIPURI("sip:@host") == nil)
        #expect(SIPURI("sip:a@[zz::1]") == nil)
    }

    @Test("name-addr forms")
    func nameAddr() {
        #expect(NameAddress("<sip:a@b>;tag=1")?.tag == "1")
        #expect(NameAddress("sip:a@b;tag=2")?.uri == "sip:a@b")
        #expect(NameAddress("sip:a@b;tag=2")?.tag == "2")
        #expect(NameAddress("Bob <sip:bob@b>")?.displayName == "Bob")
        #expect(NameAddress("\"a<b\" <sip:x@y>")?.displayName == "a<b")
        #expect(NameAddress("\"unterminated <sip:x@y>") == nil)
        #expect(NameAddress("<sip:x@y") == nil)
        // Unquoted: tokens and spaces, and (leniently) non-ASCII letters; never ASCII separators.
        #expect(NameAddress("Bob Smith <sip:bob@b>")?.displayName == "Bob Smith")
        #expect(NameAddress("Jörg Müller <sip:j@b>")?.displayName == "Jörg Müller")
        #expect(NameAddress("Smith, Bob <sip:bob@b>") == nil)
        // Empty parameters and junk after '>' are refused.
        #expect(NameAddress("<sip:a@b>;;tag=1") == nil)
        #expect(NameAddress("<sip:a@b> junk") == nil)
        #expect(NameAddress("<sip:a@b> ; tag = 1")?.tag == "1")
    }
}
