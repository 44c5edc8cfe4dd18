import Foundation
import ParleyApps
import ParleyStore
import Testing
@testable import ParleyServer

@Suite("Configuration: mailboxes, voicemail targets and options")
struct VoicemailConfigTests {
    static func config(mailboxes: String = "\"2001\": { name: Alice Martin, pin: \"4711\", email: [alice@acme.example], max_messages: 20, max_message_length: 2m }",
                       number: String = "{ voicemail: \"2001\" }", option: String = "{ voicemail: \"2001\" }", extra: String = "") -> String {
        """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [acme.example]
            numbers:
              "300": \(number)
              "100": { menu: main }
            mailboxes:
              \(mailboxes)
            menus:
              main:
                greeting: welcome
                options:
                  "5": \(option)
        \(extra)
        """
    }

    func error(_ text: String) -> String { ConfigTests().error(text) }

    @Test("mailboxes, a voicemail number and a voicemail menu option parse; options default sensibly")
    func valid() throws {
        let c = try ParleyConfig.parse(Self.config(extra: "    voicemail: { login_from_greeting: true, minimum_message: 2s, silence_timeout: 3s }"), file: "p.yaml")
        let t = try #require(c.tenants.first)
        #expect(t.numbers["300"]?.target == .voicemail("2001"))
        #expect(t.attendant.menus["main"]?.options["5"] == .voicemail("2001"))
        #expect(t.attendant.extensions["300"] == .voicemail("2001"))
        let m = try #require(t.mailboxes["2001"])
        #expect(m.name == "Alice Martin" && m.pin == "4711" && m.emails == ["alice@acme.example"])
        #expect(m.options == MailboxOptions(attachAudio: true, deleteAfterEmail: false, maxMessages: 20, maxMessageSeconds: 120))
        #expect(t.voicemail == ParleyConfig.VoicemailSettings(loginFromGreeting: true, minimumMessageMilliseconds: 2000, silenceTimeoutMilliseconds: 3000))
        #expect(ParleyConfig.VoicemailSettings().loginFromGreeting == false)
        #expect(c.voicemailPrompts.contains { $0.prompt == "vm-review" })
    }

    @Test("a voicemail reference to a mailbox the tenant does not have is an error naming file, line and key")
    func unknownMailbox() {
        #expect(error(Self.config(number: "{ voicemail: \"2002\" }")) == "p.yaml:8: tenants.acme.numbers.300.voicemail: no mailbox '2002' in this tenant's mailboxes (known: 2001)")
        #expect(error(Self.config(option: "{ voicemail: \"9\" }")) == "p.yaml:16: tenants.acme.menus.main.options.5.voicemail: no mailbox '9' in this tenant's mailboxes (known: 2001)")
    }

    @Test("mailbox numbers and names with SQL or path tricks are refused with a clear error")
    func hostile() {
        let cases: [(String, String)] = [
            ("\"../../etc\": { pin: \"4711\" }", "invalid mailbox number '../../etc': only ASCII letters and digits are allowed"),
            ("\"1; DROP TABLE mailbox\": { pin: \"4711\" }", "only ASCII letters and digits are allowed"),
            ("\"20%2F01\": { pin: \"4711\" }", "only ASCII letters and digits are allowed"),
            ("\"\(String(repeating: "9", count: 40))\": { pin: \"4711\" }", "longer than 32 characters"),
            ("\"2001\": { name: \"Bob\\u0000\\n'); DROP TABLE message;--\", pin: \"4711\" }", "holds control characters"),
            ("\"2001\": { pin: \"47a1\" }", "the PIN must be 4 to 10 digits"),
            ("\"2001\": { pin: \"12\" }", "the PIN must be 4 to 10 digits"),
            ("\"2001\": { pin: \"4711\", email: [\"a@b.example>, evil@x.example\"] }", "is not an email address"),
            ("\"2001\": { pin: \"4711\", max_messages: 0 }", "expected a whole number from 1 to 10000"),
            ("\"2001\": { pin: \"4711\", max_message_length: 2h }", "expected whole seconds from 1s to 60m"),
            ("\"2001\": { pin: \"4711\", pin_env: X }", "needs exactly one of pin or pin_env"),
            ("\"2001\": { pin: \"4711\", greeting: x }", "unknown key"),
        ]
        for (mailboxes, expected) in cases {
            let e = error(Self.config(mailboxes: mailboxes, number: "{ play: welcome }", option: "hangup"))
            #expect(e.contains(expected) && e.hasPrefix("p.yaml:"), "\(mailboxes) → \(e)")
        }
    }

    @Test("pin_env reads the PIN from the environment at load; a missing variable is an error")
    func pinFromEnvironment() throws {
        setenv("PARLEY_TEST_VM_PIN", "80554", 1)
        let c = try ParleyConfig.parse(Self.config(mailboxes: "\"2001\": { pin_env: PARLEY_TEST_VM_PIN }"), file: "p.yaml")
        #expect(c.tenants.first?.mailboxes["2001"]?.pin == "80554")
        #expect(error(Self.config(mailboxes: "\"2001\": { pin_env: PARLEY_TEST_VM_UNSET_PIN }")).contains("environment variable PARLEY_TEST_VM_UNSET_PIN is not set"))
    }
}
