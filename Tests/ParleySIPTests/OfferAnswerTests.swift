import Testing
@testable import ParleySIP

@Suite("SDP offer/answer (RFC 3264, RFC 4566)")
struct OfferAnswerTests {
    func offer(_ formats: String, extra: String = "", connection: String = "c=IN IP4 192.0.2.5\r\n") -> SessionDescription {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\n\(connection)t=0 0\r\nm=audio 40000 RTP/AVP \(formats)\r\n"
            + "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\(extra)"
        return try! SessionDescription.parse(text)
    }

    @Test("the offerer's first supported codec wins, with telephone-event")
    func preference() throws {
        let (answer, n) = try OfferAnswer().answer(offer: offer("8 0 101"), localAddress: "198.51.100.1", localPort: 20000, sessionID: 7)
        #expect(n.codec == .pcma && n.payloadType == 8 && n.telephoneEventPayloadType == 101)
        #expect(n.remoteAddress == "192.0.2.5" && n.remotePort == 40000 && n.direction == .sendrecv)
        let text = answer.serialized()
        #expect(text.contains("m=audio 20000 RTP/AVP 8 101\r\n"))
        #expect(text.contains("c=IN IP4 198.51.100.1\r\n"))
        #expect(text.contains("a=rtpmap:101 telephone-event/8000\r\n"))
        // The answer parses back.
        #expect(try SessionDescription.parse(text).media.first?.formats == ["8", "101"])
    }

    @Test("a dynamic payload type mapped to PCMU is accepted by name")
    func dynamicMapping() throws {
        let o = offer("96 101", extra: "a=rtpmap:96 PCMU/8000\r\n")
        let n = try OfferAnswer().answer(offer: o, localAddress: "127.0.0.1", localPort: 20000, sessionID: 1).negotiated
        #expect(n.codec == .pcmu && n.payloadType == 96)
    }

    @Test("no common codec is an error naming what was offered")
    func noCommon() {
        #expect(throws: OfferAnswerError.noCommonCodec(offered: ["18", "telephone-event"])) {
            try OfferAnswer().answer(offer: self.offer("18 101"), localAddress: "127.0.0.1", localPort: 1, sessionID: 1)
        }
    }

    @Test("direction is mirrored and media-level c= wins; extra streams are declined")
    func direction() throws {
        let text = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=video 5000 RTP/AVP 31\r\nm=audio 40000 RTP/AVP 0\r\nc=IN IP6 2001:db8::2\r\na=sendonly\r\n"
        let (answer, n) = try OfferAnswer().answer(offer: SessionDescription.parse(text), localAddress: "127.0.0.1", localPort: 20002, sessionID: 1)
        #expect(n.direction == .recvonly)
        #expect(n.remoteAddress == "2001:db8::2")
        #expect(answer.media.count == 2 && answer.media[0].port == 0)
    }

    @Test("malformed SDP is refused with the line")
    func malformed() {
        #expect(throws: SDPError.badMedia("audio x RTP/AVP 0")) { try SessionDescription.parse("v=0\r\nm=audio x RTP/AVP 0\r\n") }
        #expect(throws: SDPError.badConnection("IN IP9 x")) { try SessionDescription.parse("v=0\r\nc=IN IP9 x\r\n") }
        #expect(throws: SDPError.missingField("v=")) { try SessionDescription.parse("o=x\r\n") }
        #expect(throws: SDPError.malformedLine("garbage")) { try SessionDescription.parse("v=0\r\ngarbage\r\n") }
    }
}

@Suite("Our own offer, for offerless INVITEs (RFC 3261 §13.2.1)")
struct OwnOfferTests {
    @Test("the offer lists our codecs and telephone-event; an answer picks the codec it kept first")
    func offerAndAnswer() throws {
        let oa = OfferAnswer()
        let offer = oa.offer(localAddress: "198.51.100.1", localPort: 20000, sessionID: 5)
        let text = offer.serialized()
        #expect(text.contains("m=audio 20000 RTP/AVP 0 8 111 101\r\n"))
        #expect(text.contains("a=rtpmap:111 opus/48000/2\r\n"))
        let answer = try SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")
        let n = try oa.accept(answer: answer, to: offer)
        #expect(n.codec == .pcma && n.payloadType == 8 && n.telephoneEventPayloadType == 101)
        #expect(n.remoteAddress == "192.0.2.7" && n.remotePort == 4000)
        let bad = try SessionDescription.parse("v=0\r\nc=IN IP4 192.0.2.7\r\nm=audio 4000 RTP/AVP 18\r\n")
        #expect(throws: OfferAnswerError.answerNotOffered(payloadType: "18")) { try oa.accept(answer: bad, to: offer) }
    }
}
