import Foundation
import Testing
@testable import ParleyServer
import ParleySIP

@Suite("Configuration loading")
struct ConfigTests {
    static let valid = """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        rtp:
          bind: 127.0.0.1
          ports: 30000-30099
          media_timeout: 1500ms
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [Acme.Example, 127.0.0.1]
            numbers:
              "100": { play: welcome }
              "101": { play: acme/closed, answer_after: 2s }
        """

    @Test("a valid file gives the values it states, with defaults for the rest")
    func valid() throws {
        let c = try ParleyConfig.parse(ConfigTests.valid, file: "/etc/parley.yaml")
        #expect(c.sip.listen.first?.description == "udp:127.0.0.1:5070")
        #expect(c.rtp.ports == 30000...30099)
        #expect(c.rtp.mediaTimeoutMilliseconds == 1500)
        #expect(c.rtp.advertise == "127.0.0.1")
        #expect(c.rtp.inbandDTMF == .auto)
        #expect(c.prompts == "/srv/prompts")
        #expect(c.tenant(forHost: "acme.example")?.name == "acme")
        #expect(c.tenant(forHost: "other.example") == nil)
        #expect(c.tenants.first?.numbers["101"] == .init(target: .play(prompt: "acme/closed"), answerAfterMilliseconds: 2000))
    }

    func error(_ text: String) -> String {
        do {
            _ = try ParleyConfig.parse(text, file: "p.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("each mistake is one line naming the file, the line, the key and the problem")
    func errors() {
        #expect(error(ConfigTests.valid.replacingOccurrences(of: "media_timeout", with: "media_timout"))
            == "p.yaml:6: rtp.media_timout: unknown key (expected one of: advertise, bind, codecs, inband_dtmf, latch, media_timeout, ports, symmetric)")
        #expect(error(ConfigTests.valid.replacingOccurrences(of: "30000-30099", with: "30099-30000"))
            == "p.yaml:5: rtp.ports: expected a range like 20000-29999 within 1024-65534")
        #expect(error(ConfigTests.valid.replacingOccurrences(of: "1500ms", with: "soon"))
            == "p.yaml:6: rtp.media_timeout: expected a duration such as 500ms, 30s or 2m")
        #expect(error(ConfigTests.valid.replacingOccurrences(of: "udp:127.0.0.1:5070", with: "udp:127.0.0.1"))
            == "p.yaml:2: sip.listen[0]: 'udp:127.0.0.1' is not transport:host:port (e.g. udp:0.0.0.0:5060)")
        #expect(error(ConfigTests.valid.replacingOccurrences(of: "play: welcome", with: "play: ../../etc/passwd"))
            == "p.yaml:12: tenants.acme.numbers.100.play: '../../etc/passwd' is not a valid prompt name")
        #expect(error("sip: {}\n") == "p.yaml:1: tenants: is required")
        #expect(error("") == "p.yaml: the file is empty")
        #expect(error("a: [unclosed\n").hasPrefix("p.yaml:2: invalid YAML:"))
        let twoTenants = ConfigTests.valid + "\n  other:\n    domains: [acme.example]\n"
        #expect(error(twoTenants) == "p.yaml:15: tenants.other.domains: domain 'acme.example' already belongs to tenant 'acme'")
    }

    @Test("an unreadable file names the file")
    func unreadable() {
        #expect(throws: ConfigError.self) { try ParleyConfig.load(path: "/nonexistent/parley.yaml") }
    }
}

@Suite("Event log lines")
struct EventLogTests {
    @Test("events are one JSON object per line, with escapes")
    func json() throws {
        let e = CallEvent("dtmf", callID: "a\"b", [("digit", "#"), ("n", 3), ("name", "x\ny\u{1}")],
                          timestamp: Date(timeIntervalSince1970: 1_700_000_000.123))
        #expect(e.jsonLine == ##"{"ts":"2023-11-14T22:13:20.123Z","event":"dtmf","call_id":"a\"b","digit":"#","n":3,"name":"x\ny\u0001"}"##)
        let parsed = try JSONSerialization.jsonObject(with: Data(e.jsonLine.utf8)) as? [String: Any]
        #expect(parsed?["name"] as? String == "x\ny\u{1}")
    }
}

@Suite("Warning headers")
struct WarningHeaderTests {
    @Test("text with quotes and backslashes still gives one well-formed quoted string")
    func escaping() throws {
        var m = SIPMessage(startLine: .response(status: 488, reason: "Not Acceptable Here"))
        m.appendWarning(305, #"no common codec (offered "G729", \x)"#)
        #expect(m["Warning"] == #"305 parley "no common codec (offered 'G729', /x)""#)
        let text = try #require(m["Warning"])
        #expect(text.filter { $0 == "\"" }.count == 2)
    }
}
