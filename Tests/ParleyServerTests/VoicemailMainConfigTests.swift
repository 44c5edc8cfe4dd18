import Foundation
import ParleyApps
import Testing
@testable import ParleyServer

@Suite("Configuration: voicemail retrieval (voicemail_main)")
struct VoicemailMainConfigTests {
    static func config(number: String = "{ voicemail_main: true }", option: String = "voicemail_main") -> String {
        """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [acme.example]
            timezone: America/New_York
            numbers:
              "100": { menu: main }
              "1099": \(number)
            menus:
              main:
                greeting: acme/open
                options: { "8": \(option) }
            mailboxes:
              "1001": { name: Alice, pin: "2580" }
        """
    }

    @Test("a number and a menu option lead to retrieval; the retrieval prompts are checked with the tenant's voicemail prompts")
    func valid() throws {
        let c = try ParleyConfig.parse(Self.config(), file: "p.yaml")
        let acme = try #require(c.tenants.first)
        #expect(acme.numbers["1099"]?.target == .voicemailMain)
        #expect(acme.attendant.menus["main"]?.options["8"] == .voicemailMain)
        #expect(acme.attendant.extensions["1099"] == .voicemailMain)
        let prompts = Set(c.voicemailPrompts.map(\.prompt))
        #expect(prompts.isSuperset(of: ["vm-main-menu", "vm-message-menu", "vm-options-menu", "say-received", "ord-31", "digit-0"]))
    }

    @Test("voicemail_main takes true only, and not beside another target")
    func invalid() {
        #expect(ConfigTests().error(Self.config(number: "{ voicemail_main: false }")).contains("voicemail_main can only be true"))
        #expect(ConfigTests().error(Self.config(number: "{ voicemail_main: true, menu: main }")).contains("needs exactly one target"))
        #expect(ConfigTests().error(Self.config(number: "{ voicemail_main: yes please }")).contains("p.yaml:"))
    }
}
