import ParleyTestSupport
import Foundation
import Testing
@testable import ParleySIP

/// The RFC 4475 torture messages, as files under `Tests/Fixtures/rfc4475/{valid,invalid}`
/// (the RFC's `<hex>` and `<repeat>` notations already expanded to wire bytes; CRLF line ends).
enum TortureFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rfc4475")

    static func bytes(_ kind: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(kind).appendingPathComponent(name + ".sip")))
    }

    static func names(_ kind: String) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(kind).path)
            .filter { $0.hasSuffix(".sip") }.map { String($0.dropLast(4)) })
    }

    /// What RFC 4475 says a UAS does with each "invalid" message: the status it answers
    /// with, or nil when the message must be dropped (a response cannot be answered).
    static let invalid: [String: Int?] = [
        "badinv01": 400,   // §3.1.2.1  empty Via and Contact parameters
        "clerr": 400,      // §3.1.2.2  Content-Length larger than the message
        "ncl": 400,        // §3.1.2.3  negative Content-Length
        "scalar02": 400,   // §3.1.2.4  CSeq 2**65, Max-Forwards 300, Expires 10**100
        "scalarlg": nil,   // §3.1.2.5  response with overlarge CSeq: dropped
        "quotbal": 400,    // §3.1.2.6  unterminated quoted display name
        "ltgtruri": 400,   // §3.1.2.7  Request-URI in <>
        "lwsruri": 400,    // §3.1.2.8  LWS inside the Request-URI
        "lwsstart": 400,   // §3.1.2.9  several SP between request-line elements
        "trws": 400,       // §3.1.2.10 SP after SIP/2.0
        "escruri": 400,    // §3.1.2.11 headers in the Request-URI
        "baddate": 400,    // §3.1.2.12 Date not in GMT
        "regbadct": 400,   // §3.1.2.13 addr-spec with '?' outside <>
        "badaspec": 400,   // §3.1.2.14 spaces inside <>
        "baddn": 400,      // §3.1.2.15 unquoted display name with a comma
        "badvers": 505,    // §3.1.2.16 SIP/7.0
        "mismatch01": 400, // §3.1.2.17 CSeq method differs from the request's
        "mismatch02": 400, // §3.1.2.18 unknown method and CSeq mismatch: RFC prefers 501, allows 400
        "bigcode": nil,    // §3.1.2.19 response code 4294967301: dropped
        "insuf": 400,      // §3.3.1    no To, From, Call-ID, Max-Forwards
        "unkscm": 416,     // §3.3.2    Request-URI with an unknown scheme
        "novelsc": 416,    // §3.3.3    Request-URI with a scheme we do not serve
        "bext01": 420,     // §3.3.5    Require with unknown option tags
        "multi01": 400,    // §3.3.8    two Call-ID, CSeq, To, From, Max-Forwards, Contact
        "mcl01": 400,      // §3.3.9    two Content-Length values
    ]

    static let valid: Set<String> = [
        "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri",
        "transports", "unreason", "noreason", "badbranch", "zeromf", "cparam01", "cparam02", "regescrt",
    ]
}

@Suite("RFC 4475 torture messages")
struct RFC4475Tests {
    let validator = SIPRequestValidator()

    func accepted(_ name: String) throws -> SIPMessage {
        let verdict = validator.classify(try TortureFixtures.bytes("valid", name))
        guard case let .accept(m) = verdict else {
            Issue.record("\(name): \(verdict)")
            throw CancellationError()
        }
        return m
    }

    @Test("every fixture file has a stated outcome, and every outcome a file")
    func inventory() throws {
        #expect(try TortureFixtures.names("valid") == TortureFixtures.valid)
        #expect(try TortureFixtures.names("invalid") == Set(TortureFixtures.invalid.keys))
    }

    @Test("each invalid message is answered with the RFC's status, or dropped", arguments: TortureFixtures.invalid.keys.sorted())
    func invalid(_ name: String) throws {
        let expected = try #require(TortureFixtures.invalid[name])
        let verdict = validator.classify(try TortureFixtures.bytes("invalid", name))
        switch (verdict, expected) {
        case let (.reject(rejection, _), status?):
            #expect(rejection.status == status, "\(name): \(rejection)")
        case (.drop, nil):
            break
        default:
            Issue.record("\(name): expected \(expected.map(String.init) ?? "drop"), got \(verdict)")
        }
    }

    @Test("each valid message is accepted", arguments: TortureFixtures.valid.sorted())
    func valid(_ name: String) throws {
        _ = try accepted(name)
    }

    @Test("§3.1.1.1 wsinv: white space and folding everywhere the grammar allows it")
    func wsinv() throws {
        let m = try accepted("wsinv")
        #expect(m.method == "INVITE")
        #expect(m.requestURI == "sip:vivekg@chair-dnrc.example.com;unknownparam")
        #expect(SIPURI(m.requestURI ?? "")?.parameter("unknownparam") == .some(nil))
        let to = try #require(m["To"].flatMap(NameAddress.init))
        #expect(to.uri == "sip:vivekg@chair-dnrc.example.com" && to.tag == "1918181833n")
        let from = try #require(m["From"].flatMap(NameAddress.init))
        #expect(from.displayName == "J Rosenberg \\\"" && from.uri == "sip:jdrosen@example.com" && from.tag == "98asjd8")
        #expect(m["Max-Forwards"] == "0068")
        #expect(m.cseq?.number == 9 && m.cseq?.method == "INVITE")
        let vias = m.values("Via").compactMap(Via.init)
        #expect(vias.count == 3)
        #expect(vias.map(\.transport) == ["UDP", "TCP", "UDP"])
        #expect(vias.map(\.host) == ["192.0.2.2", "spindle.example.com", "192.168.255.111"])
        #expect(vias.map(\.branch) == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"])
        #expect(m["Subject"] == "")
        #expect(m["NewFangledHeader"] == "newfangled value continued newfangled value")
        #expect(m["UnknownHeaderWithUnusualValue"] == ";;,,;;,;")
        #expect(m["Route"] == "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>")
        let contact = try #require(m["Contact"].flatMap(NameAddress.init))
        #expect(contact.displayName == "Quoted string \"\"")
        #expect(contact.parameters.map(\.name) == ["newparam", "secondparam", "q"])
        #expect(contact.parameters.map(\.value) == ["newvalue", nil, "0.33"])
        #expect(m.body.count == 150 && m.bodyText.hasPrefix("v=0\r\n") && m.bodyText.hasSuffix("a=rtpmap:31 LPC\r\n"))
    }

    @Test("§3.1.1.2 intmeth: an unknown method of every token character, and unusual bytes")
    func intmeth() throws {
        let m = try accepted("intmeth")
        let method = "!interesting-Method0123456789_*+`.%indeed'~"
        #expect(m.method == method && m.cseq?.method == method && m.cseq?.number == 139_122_385)
        let uri = try #require(SIPURI(m.requestURI ?? ""))
        #expect(uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(uri.host == "example.com" && uri.parameters.isEmpty && uri.headers == nil)
        let to = try #require(m["To"].flatMap(NameAddress.init))
        #expect(to.displayName == "BEL:\u{07} NUL:\u{00} DEL:\u{7F}")
        #expect(SIPURI(to.uri)?.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        let from = try #require(m["From"].flatMap(NameAddress.init))
        #expect(from.displayName == "token1~` token2'+_ token3*%!.-")
        #expect(from.parameters.first?.name == "fromParam''~+*_!.-%")
        #expect(from.parameters.first?.value == "\"работающий\"")
        #expect(from.tag == "_token~1'+`*%!-.")
        #expect(m.callID == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        #expect(m["extensionHeader-!.%*+_`'~"] == "\u{FEFF}大停電")
        #expect(Via(m["Via"] ?? "")?.branch == "z9hG4bK-.!%66*_+`'~")
        #expect(m["Max-Forwards"] == "255" && m.body.isEmpty)
    }

    @Test("§3.1.1.3 esc01: escapes in user parts and URI parameters mean their characters")
    func esc01() throws {
        let m = try accepted("esc01")
        let ruri = try #require(SIPURI(m.requestURI ?? ""))
        #expect(ruri.user == "sips:user@example.com" && ruri.host == "example.net")
        #expect(m["To"].flatMap(NameAddress.init).flatMap { SIPURI($0.uri) }?.user == "user")
        #expect(m["From"].flatMap(NameAddress.init).flatMap { SIPURI($0.uri) }?.user == "I have spaces")
        let contact = try #require(m["Contact"].flatMap(NameAddress.init).flatMap { SIPURI($0.uri) })
        #expect(contact.user == "caller" && contact.host == "host5.example.net")
        #expect(contact.parameter("lr") == .some(nil))
        #expect(contact.parameter("name") == .some("value%41"))
        #expect(m["Content-Type"] == "application/sdp" && m.callID == "esc01.239409asdfakjkn23onasd0-3234")
        #expect(m.body.count == 150)
    }

    @Test("§3.1.1.4 escnull: an escaped NUL is a user part character")
    func escnull() throws {
        let m = try accepted("escnull")
        #expect(m.method == "REGISTER")
        #expect(m["To"].flatMap { SIPURI($0) }?.user == "null-\u{00}-null")
        let contacts = m.values("Contact").compactMap(NameAddress.init).compactMap { SIPURI($0.uri) }
        #expect(contacts.map(\.user) == ["\u{00}", "\u{00}\u{00}"])
        #expect(m["Content-Length"] == "0" && m.body.isEmpty)
    }

    @Test("§3.1.1.5 esc02: escapes in method and header names are not decoded")
    func esc02() throws {
        let m = try accepted("esc02")
        #expect(m.method == "RE%47IST%45R" && m.cseq?.method == "RE%47IST%45R")
        #expect(m.values("Contact").count == 2)
        #expect(m["C%6Fntact"] == "<sip:alias2@host2.example.com>")
        #expect(m["To"].flatMap(NameAddress.init)?.displayName == "%Z%45")
        #expect(Via(m["Via"] ?? "")?.branch == "z9hG4bK209%fzsnel234")
    }

    @Test("§3.1.1.6 lwsdisp: no space between display name and <")
    func lwsdisp() throws {
        let from = try #require(try accepted("lwsdisp")["From"].flatMap(NameAddress.init))
        #expect(from.displayName == "caller" && from.uri == "sip:caller@example.com" && from.tag == "323")
    }

    @Test("§3.1.1.7 longreq: long values and 34 Via headers in every spelling")
    func longreq() throws {
        let m = try accepted("longreq")
        #expect(m.values("Via").count == 34)
        #expect(m.values("Via").allSatisfy { Via($0) != nil })
        let to = try #require(m["To"].flatMap(NameAddress.init))
        #expect(to.displayName == "I have a user name of " + String(repeating: "extreme", count: 10) + " proportion")
        let toURI = try #require(SIPURI(to.uri))
        #expect(toURI.port == 6000 && toURI.parameter("unknownparam1") == .some("very" + String(repeating: "long", count: 20) + "value"))
        let from = try #require(m["From"].flatMap(NameAddress.init))
        #expect(from.tag == "12" + String(repeating: "982", count: 50) + "424")
        #expect(m.callID == "longreq.one" + String(repeating: "really", count: 20) + "longcallid")
        #expect(m.body.count == 150)
    }

    @Test("§3.1.1.8 dblreq: over UDP only the first request counts; the rest of the datagram is ignored")
    func dblreq() throws {
        let m = try accepted("dblreq")
        #expect(m.method == "REGISTER" && m.body.isEmpty && m.cseq?.method == "REGISTER")
        #expect(m.callID == "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
    }

    @Test("§3.1.1.9 semiuri: ';' in the user part is not a parameter")
    func semiuri() throws {
        let m = try accepted("semiuri")
        let uri = try #require(SIPURI(m.requestURI ?? ""))
        #expect(uri.user == "user;par=u@example.net" && uri.host == "example.com" && uri.parameters.isEmpty)
        #expect(m.values("Accept") == ["application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed",
                                        "message/sip", "message/sipfrag"])
    }

    @Test("§3.1.1.10 transports: unknown transports in Via are kept")
    func transports() throws {
        let vias = try accepted("transports").values("Via").compactMap(Via.init)
        #expect(vias.map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
    }

    @Test("§3.1.1.12 unreason: a UTF-8 reason phrase; §3.1.1.13 noreason: an empty one")
    func reasons() throws {
        let unreason = try accepted("unreason")
        #expect(unreason.startLine == .response(status: 200, reason: "= 2**3 * 5**2 но сто девяносто девять - простое"))
        #expect(unreason.body.count == 154)
        let noreason = try accepted("noreason")
        #expect(noreason.startLine == .response(status: 100, reason: ""))
    }

    @Test("§3.2.1 badbranch: a bare magic cookie is no RFC 3261 branch")
    func badbranch() throws {
        let via = try #require(Via(try accepted("badbranch")["Via"] ?? ""))
        #expect(via.branch == "z9hG4bK" && !via.hasRFC3261Branch)
    }

    @Test("§3.3.11 zeromf: an endpoint processes Max-Forwards 0; a proxy answers 483")
    func zeromf() throws {
        let m = try accepted("zeromf")
        #expect(m["Max-Forwards"] == "0")
        #expect(SIPRequestValidator(role: .proxy).validate(m)?.status == 483)
    }

    @Test("§3.3.12–14 cparam01, cparam02, regescrt: where Contact parameters and headers belong")
    func contactParameters() throws {
        // Without <>, ';unknownparam' is a Contact parameter, not part of the URI.
        let c1 = try #require(try accepted("cparam01")["Contact"].flatMap(NameAddress.init))
        #expect(c1.uri == "sip:+19725552222@gw1.example.net" && c1.parameters.map(\.name) == ["unknownparam"])
        // Inside <>, it is a URI parameter.
        let c2 = try #require(try accepted("cparam02")["Contact"].flatMap(NameAddress.init))
        #expect(c2.parameters.isEmpty && SIPURI(c2.uri)?.parameter("unknownparam") == .some(nil))
        // Inside <>, an escaped header is the URI's.
        let c3 = try #require(try accepted("regescrt")["Contact"].flatMap(NameAddress.init))
        #expect(SIPURI(c3.uri)?.headers == "Route=%3Csip:sip.example.com%3E")
    }

    @Test("§3.3.5 bext01: 420 lists the unsupported Require tags, not Proxy-Require's")
    func bext01() throws {
        guard case let .reject(r, head) = validator.classify(try TortureFixtures.bytes("invalid", "bext01")) else {
            Issue.record("not rejected"); return
        }
        #expect(r.status == 420 && r.unsupported == ["nothingSupportsThis", "nothingSupportsThisEither"])
        #expect(head?.callID == "bext01.0ha0isndaksdj")
        #expect(SIPRequestValidator(supportedExtensions: ["nothingSupportsThis", "nothingSupportsThisEither"]).validate(try #require(head)) == nil)
    }

    @Test("rejected requests keep the head a response needs (§8.2.6.2)", arguments: ["clerr", "ncl", "mismatch01", "quotbal", "escruri"])
    func rejectionHead(_ name: String) throws {
        guard case let .reject(_, head) = validator.classify(try TortureFixtures.bytes("invalid", name)) else {
            Issue.record("not rejected"); return
        }
        #expect(head?["Via"] != nil && head?.callID?.hasPrefix(name) == true)
    }
}

@Suite("Robustness on mutated torture messages")
struct TortureMutationTests {
    @Test("random byte mutations of every fixture never trap the parser, framer, validator or header parsers")
    func mutations() throws {
        let parser = SIPParser()
        let validator = SIPRequestValidator()
        var inputs: [[UInt8]] = []
        for kind in ["valid", "invalid"] {
            for name in try TortureFixtures.names(kind).sorted() { inputs.append(try TortureFixtures.bytes(kind, name)) }
        }
        // A fixed seed, so a failure can be replayed.
        var rng = SeededRandom(seed: 4475)
        for round in 0..<4_000 {
            var b = inputs[round % inputs.count]
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: b.remove(at: i)
                case 2: b.insert([13, 10, 32, 9, 59, 44, 58, 60, 62, 34, 92, 64, 63, 37][Int.random(in: 0..<14, using: &rng)], at: i)
                default: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
                if b.isEmpty { b = [0] }
            }
            _ = validator.classify(b, parser: parser)
            _ = try? parser.frame(b)
            if let head = parser.parseHeadLeniently(b) {
                _ = SIPRequestValidator(role: .proxy).validate(head)
                _ = SIPTransactionKey(request: head)
                _ = SIPTransactionKey(response: head)
                for h in head.headers {
                    _ = Via(h.value)
                    _ = NameAddress(h.value)
                    _ = SIPURI(h.value)
                }
                if let uri = head.requestURI { _ = SIPURI(uri) }
            }
        }
    }
}

