import Foundation
import Testing
@testable import ParleyServer

@Suite("Mail configuration")
struct MailConfigTests {
    static func config(mail: String, tenantMail: String = "") -> String {
        """
        tenants:
          acme:
            domains: [acme.example]
            timezone: Europe/Brussels
        \(tenantMail)
        \(mail)
        """
    }

    /// The load error's text (`ConfigTests`' helper: file p.yaml).
    func error(_ text: String) -> String { ConfigTests().error(text) }

    @Test("A full mail section gives its values; a tenant's from and text override the global ones")
    func valid() throws {
        setenv("PARLEY_TEST_SMTP_PASSWORD", "s3cret", 1)
        let text = Self.config(mail: """
            mail:
              relay: "smtp.example.com:587"
              from: voicemail@example.com
              starttls: required
              username: parley
              password: "${PARLEY_TEST_SMTP_PASSWORD}"
              max_age: 48h
              retry_base: 30s
              attach: wav
            """, tenantMail: """
                mail:
                  from: vm@acme.example
                  subject: "Message from {caller}"
            """)
        let c = try ParleyConfig.parse(text, file: "p.yaml")
        let mail = try #require(c.mail)
        #expect(mail.relayHost == "smtp.example.com" && mail.relayPort == 587)
        #expect(mail.startTLS == .required)
        #expect(mail.password == "s3cret")
        #expect(mail.maxAgeMilliseconds == 48 * 3_600_000)
        #expect(mail.retryBaseMilliseconds == 30_000)
        let tenant = try #require(c.mailSettings(tenant: "acme"))
        #expect(tenant.from.address == "vm@acme.example")
        #expect(tenant.template.subject == "Message from {caller}")
        #expect(tenant.timeZone.identifier == "Europe/Brussels")
        #expect(tenant.attachAudio && tenant.audioFormat == .wav)
    }

    @Test("attach: gsm attaches GSM 6.10; attach: none no audio; another value is refused with its line")
    func attach() throws {
        let gsm = try ParleyConfig.parse(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, attach: gsm }"), file: "p.yaml")
        let settings = try #require(gsm.mailSettings(tenant: "acme"))
        #expect(settings.attachAudio && settings.audioFormat == .gsm)
        let none = try ParleyConfig.parse(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, attach: none }"), file: "p.yaml")
        #expect(none.mailSettings(tenant: "acme")?.attachAudio == false)
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, attach: mp3 }"))
                    == "p.yaml:6: mail.attach: expected wav, gsm or none")
    }

    @Test("Bad values are refused at load with file:line: key: problem")
    func refused() {
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: \"not an address\" }"))
                    .hasPrefix("p.yaml:6: mail.from: 'not an address' is not an email address"))
        #expect(error(Self.config(mail: "mail: { relay: \"h.example\", from: a@b.example }"))
                    == "p.yaml:6: mail.relay: expected host:port (e.g. smtp.example.com:587 or [::1]:25)")
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, starttls: maybe }"))
                    == "p.yaml:6: mail.starttls: expected off, opportunistic or required")
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, username: u, password: \"${PARLEY_TEST_UNSET_VAR}\" }"))
                    == "p.yaml:6: mail.password: environment variable PARLEY_TEST_UNSET_VAR is not set")
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, ca_file: /nonexistent/ca.pem }"))
                    == "p.yaml:6: mail.ca_file: cannot read /nonexistent/ca.pem")
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example, relay_typo: 1 }"))
                    .hasPrefix("p.yaml:6: mail.relay_typo: unknown key"))
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example }",
                                  tenantMail: "    mail: { from: \"x@y.example\\r\\nBcc: z@evil.example\" }"))
                    .hasPrefix("p.yaml:5: tenants.acme.mail.from: "))
        #expect(error(Self.config(mail: "mail: { relay: \"h.example:25\", from: a@b.example }",
                                  tenantMail: "    mail: { template: \"Hello {nobody}\" }"))
                    .hasPrefix("p.yaml:5: tenants.acme.mail.template: unknown placeholder {nobody}"))
        #expect(error(Self.config(mail: "", tenantMail: "    mail: { from: a@b.example }"))
                    == "p.yaml:5: tenants.acme.mail: needs the top-level mail: section (the relay)")
    }
}

@Suite("Mail configuration: mailbox addresses")
struct MailboxAddressConfigTests {
    @Test("An address in a mailbox's email list that SMTP could not carry is refused with its line and index")
    func mailboxEmailList() {
        let text = """
            tenants:
              acme:
                domains: [acme.example]
                mailboxes:
                  "2001":
                    pin: "4711"
                    email: [alice@acme.example, "bob@acme..example"]
            """
        do {
            _ = try ParleyConfig.parse(text, file: "p.yaml")
            Issue.record("accepted")
        } catch {
            #expect("\(error)".hasPrefix("p.yaml:7: tenants.acme.mailboxes.2001.email[1]: 'bob@acme..example' is not an email address"), "\(error)")
        }
    }
}
