import Testing
@testable import ParleySIP

/// The shortcuts of header lookup (the top Via without splitting every Via, names found as
/// given before canonicalizing) answer exactly what the general forms answer.
@Suite("SIP header lookup shortcuts")
struct SIPMessageLookupTests {
    func message(_ headers: [(String, String)]) -> SIPMessage {
        var m = SIPMessage(startLine: .request(method: "INVITE", uri: "sip:100@127.0.0.1"))
        for (name, value) in headers { m.append(name, value) }
        return m
    }

    @Test("topVia is values(\"Via\").first, whatever the list looks like", arguments: [
        ["SIP/2.0/UDP a:5060;branch=z9hG4bK1"],
        ["SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2", "SIP/2.0/UDP c"],
        [" , ,SIP/2.0/UDP a;branch=z9hG4bK1 ,", "SIP/2.0/UDP c"],
        ["", "SIP/2.0/TCP c;received=\"x,y\""],
        ["SIP/2.0/UDP a;x=\"q\\\",r\";branch=z9hG4bK1, SIP/2.0/UDP b"],
        ["SIP/2.0/UDP a;x=<u,v>, SIP/2.0/UDP b"],
        [",", " "],
        [],
    ])
    func topVia(_ vias: [String]) {
        let m = message(vias.map { ("v", $0) } + [("Call-ID", "c")])
        #expect(m.topVia == m.values("Via").first)
    }

    @Test("a name as given, a compact form and another case find the same header")
    func lookupSpellings() {
        let m = message([("i", "call-1"), ("CSEQ", "1 INVITE"), ("X-Custom", "v")])
        #expect(m["Call-ID"] == "call-1")
        #expect(m["call-id"] == "call-1")
        #expect(m["i"] == "call-1")
        #expect(m["CSeq"] == "1 INVITE")
        #expect(m["cseq"] == "1 INVITE")
        #expect(m["X-Custom"] == "v")
        #expect(m["x-custom"] == nil)  // unknown names keep their spelling, as before
        #expect(m["Via"] == nil)
        #expect(SIPHeaderName.canonical("Call-ID") == "Call-ID")
        #expect(SIPHeaderName.canonical("CALL-ID") == "Call-ID")
        #expect(SIPHeaderName.canonical("WWW-Authenticate") == "WWW-Authenticate")
        #expect(SIPHeaderName.canonical("v") == "Via")
    }
}
