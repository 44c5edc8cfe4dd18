import Testing
@testable import ParleySIP

@Suite("SDP answer: comfort noise (RFC 3389) kept when offered with an 8 kHz codec")
struct OfferAnswerComfortNoiseTests {
    func answer(_ formats: String, _ rtpmaps: String = "") throws -> (text: String, negotiated: NegotiatedAudio) {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP \(formats)\r\n"
            + "a=rtpmap:101 telephone-event/8000\r\n\(rtpmaps)"
        let (answer, n) = try OfferAnswer().answer(offer: SessionDescription.parse(text), localAddress: "198.51.100.1",
                                                   localPort: 20000, sessionID: 3)
        return (answer.serialized(), n)
    }

    @Test("static 13 offered with PCMU: answered after telephone-event, with its rtpmap; the answer parses back")
    func staticPayloadType() throws {
        let (text, n) = try answer("0 13 101")
        #expect(n.comfortNoisePayloadType == 13)
        #expect(text.contains("m=audio 20000 RTP/AVP 0 101 13\r\n"))
        #expect(text.contains("a=rtpmap:13 CN/8000\r\n"))
        #expect(try SessionDescription.parse(text).media.first?.formats == ["0", "101", "13"])
    }

    @Test("a dynamic payload type mapped to CN/8000 is taken by name; CN at another rate is not")
    func dynamicPayloadType() throws {
        let (text, n) = try answer("8 118 101", "a=rtpmap:118 CN/8000\r\n")
        #expect(n.codec == .pcma && n.comfortNoisePayloadType == 118)
        #expect(text.contains("a=rtpmap:118 CN/8000\r\n"))
        let wide = try answer("0 119 101", "a=rtpmap:119 CN/16000\r\n")
        #expect(wide.negotiated.comfortNoisePayloadType == nil)
        #expect(!wide.text.contains("CN/"))
    }

    @Test("no CN offered, or the codec is Opus (48 kHz): none in the answer")
    func notKept() throws {
        let plain = try answer("0 101")
        #expect(plain.negotiated.comfortNoisePayloadType == nil && !plain.text.contains("CN/"))
        let opus = try answer("111 13 101", "a=rtpmap:111 opus/48000/2\r\n")
        #expect(opus.negotiated.codec == .opus && opus.negotiated.comfortNoisePayloadType == nil)
        #expect(!opus.text.contains("CN/") && opus.text.contains("RTP/AVP 111"))
    }
}
