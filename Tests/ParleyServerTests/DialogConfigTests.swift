import Testing
@testable import ParleyServer

@Suite("Configuration: transfer targets, MWI targets, session interval")
struct DialogConfigTests {
    func config(_ numbers: String, tenantExtra: String = "", sipExtra: String = "") throws -> ParleyConfig {
        try ParleyConfig.parse("""
            sip:
              listen: ["udp:127.0.0.1:5060"]
            \(sipExtra)
            prompts: /srv/prompts
            tenants:
              acme:
                domains: [acme.example]
                numbers:
                  \(numbers)
            \(tenantExtra)
            """, file: "p.yaml")
    }

    func error(_ body: () throws -> ParleyConfig) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    @Test("valid values")
    func valid() throws {
        let c = try config(#""300": { transfer: "<sip:sales@192.0.2.7:5060>" }"#,
                           tenantExtra: #"    mwi: { "1001": "sip:1001@192.0.2.10" }"#, sipExtra: "  session_expires: 1800s\n  transfer_timeout: 20s")
        #expect(c.tenants.first?.numbers["300"]?.target == .transfer("sip:sales@192.0.2.7:5060"))
        #expect(c.tenants.first?.messageWaitingTargets == ["1001": "sip:1001@192.0.2.10"])
        #expect(c.sip.sessionExpires == 1800)
        #expect(c.sip.transferTimeoutMilliseconds == 20_000)
        #expect(try config(#""100": { play: welcome }"#).sip.transferTimeoutMilliseconds == 30_000)
    }

    @Test("mistakes name the line and key")
    func errors() {
        #expect(error { try config(#""300": { transfer: "tel:+1555" }"#) }.contains("tenants.acme.numbers.300.transfer"))
        #expect(error { try config(#""300": { transfer: "sip:a@b", play: welcome }"#) }.contains("one target"))
        #expect(error { try config(#""100": { play: welcome }"#, tenantExtra: #"    mwi: { "1001": "mailto:x@y" }"#) }.contains("not a SIP URI"))
        #expect(error { try config(#""100": { play: welcome }"#, tenantExtra: #"    mwi: { "10 01": "sip:a@b" }"#) }.contains("mailbox"))
    }
}
