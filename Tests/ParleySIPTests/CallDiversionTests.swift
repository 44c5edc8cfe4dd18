import Testing
@testable import ParleySIP

@Suite("Call diversion: why a call reached voicemail")
struct CallDiversionTests {
    @Test("Request-URI cause (RFC 4458) wins; then the top Diversion reason (RFC 5806); then the last History-Info cause (RFC 7044/4244)")
    func sources() {
        #expect(CallDiversion.cause(requestURI: "sip:vm@pbx;target=sip:2001%40pbx;cause=486", diversion: ["<sip:2001@pbx>;reason=no-answer"], historyInfo: []) == .busy)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: ["<sip:2001@pbx>;reason=user-busy;counter=1", "<sip:1@pbx>;reason=no-answer"], historyInfo: []) == .busy)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: ["\"Alice\" <sip:2001@pbx>;reason=\"no-answer\""], historyInfo: []) == .noAnswer)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: ["<sip:2001@pbx>;reason=unconditional"], historyInfo: []) == .other)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: [], historyInfo: [
            "<sip:alice@pbx>;index=1", "<sip:2001@pbx?Reason=SIP%3Bcause%3D486%3Btext%3D%22Busy%20Here%22>;index=1.1",
        ]) == .busy)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: [], historyInfo: ["<sip:2001@pbx;cause=408>;index=1.1;mp=1"]) == .noAnswer)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: [], historyInfo: ["<sip:2001@pbx;cause=480>;index=1.1"]) == .unavailable)
        #expect(CallDiversion.cause(requestURI: "sip:2001@pbx", diversion: [], historyInfo: []) == nil)
    }

    @Test("from a parsed INVITE; junk is ignored, never a crash")
    func fromMessage() throws {
        let text = "INVITE sip:2001@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:2001@pbx>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nDiversion: <sip:2001@pbx>;reason=user-busy\r\nContent-Length: 0\r\n\r\n"
        let invite = try SIPParser().parse(Array(text.utf8))
        #expect(CallDiversion.cause(of: invite) == .busy)
        for junk in ["", ";", ">;reason", "<<>>;reason=;=", "cause%3d", "cause=99999999999999999999", "<sip:x;cause=abc>"] {
            _ = CallDiversion.cause(requestURI: junk, diversion: [junk], historyInfo: [junk])
        }
    }
}
