import Foundation
import Testing
@testable import ParleyMail
@testable import ParleyStore

/// Headers of a composed message, unfolded, up to the blank line.
func headerLines(_ message: Data) -> [String] {
    let text = String(decoding: message, as: UTF8.self)
    guard let end = text.range(of: "\r\n\r\n") else { return [] }
    var lines: [String] = []
    for line in text[..<end.lowerBound].components(separatedBy: "\r\n") {
        if line.hasPrefix(" ") || line.hasPrefix("\t"), let last = lines.popLast() { lines.append(last + line) } else { lines.append(line) }
    }
    return lines
}

func sampleMessage(callerName: String, callerNumber: String = "+3225550100", urgent: Bool = false) throws -> VoicemailMessage {
    VoicemailMessage(id: "0b6c1f00-0000-4000-8000-000000000001", mailbox: try MailboxKey(tenant: "acme", number: "100"),
                     folder: .new, urgent: urgent, callerNumber: callerNumber, callerName: callerName,
                     receivedAt: Date(timeIntervalSince1970: 1_795_300_000), durationMilliseconds: 65_400,
                     audioPath: "voicemail/acme/100/x.wav", emailState: .none, damaged: false)
}

func sampleEmail(_ message: VoicemailMessage, recipients: [String] = ["alice@example.com"], template: MailTemplate = .standard,
                 audio: Data? = Data([1, 2, 3, 4])) -> VoicemailEmail {
    VoicemailEmail(message: message, mailboxName: "Sales", from: MailAddress("voicemail@acme.example")!,
                   recipients: recipients.compactMap(MailAddress.init), template: template,
                   timeZone: TimeZone(identifier: "Europe/Brussels")!, audio: audio)
}

/// Decodes RFC 2047 `=?UTF-8?B?…?=` words (the parts a reader would join).
func decodeEncodedWords(_ text: String) -> String {
    var out = ""
    var rest = Substring(text)
    while let start = rest.range(of: "=?UTF-8?B?") {
        out += rest[..<start.lowerBound].trimmingCharacters(in: .whitespaces)
        guard let end = rest[start.upperBound...].range(of: "?=") else { break }
        out += String(decoding: Data(base64Encoded: String(rest[start.upperBound..<end.lowerBound])) ?? Data(), as: UTF8.self)
        rest = rest[end.upperBound...]
    }
    return out + rest
}

@Suite("Composing voicemail emails")
struct MailComposerTests {
    let composer = MailComposer(messageIDDomain: "acme.example", boundarySeed: { "B0UNDARY" })
    let now = Date(timeIntervalSince1970: 1_795_300_100)

    @Test("Given a caller name holding CR/LF and a Bcc line, when composed, then no header is injected")
    func headerInjectionThroughCallerName() throws {
        let evil = "Mallory\r\nBcc: victim@evil.example\r\n\r\nfake body\nX-Injected: yes"
        let subjectTemplate = MailTemplate(subject: "Voicemail from {caller_name} {caller_number}", body: "From {caller}")
        let message = composer.compose(sampleEmail(try sampleMessage(callerName: evil, callerNumber: "1\r\nCc: x@evil.example"),
                                                   template: subjectTemplate), now: now)
        let headers = headerLines(message)
        #expect(!headers.contains { $0.lowercased().hasPrefix("bcc:") })
        #expect(!headers.contains { $0.lowercased().hasPrefix("cc:") })
        #expect(!headers.contains { $0.lowercased().hasPrefix("x-injected:") })
        let subject = try #require(headers.first { $0.hasPrefix("Subject: ") })
        #expect(subject == "Subject: Voicemail from Mallory Bcc: victim@evil.example fake body X-Injected: yes 1 Cc: x@evil.example")
        // Every physical line of the head is a header or a folded continuation.
        let text = String(decoding: message, as: UTF8.self)
        let head = try #require(text.components(separatedBy: "\r\n\r\n").first)
        for line in head.components(separatedBy: "\r\n") {
            #expect(line.hasPrefix(" ") || line.range(of: #"^[A-Za-z-]+: "#, options: .regularExpression) != nil, "\(line)")
        }
        // No bare CR or LF anywhere in the message.
        let bytes = [UInt8](message)
        for (i, b) in bytes.enumerated() where b == 10 { #expect(i > 0 && bytes[i - 1] == 13) }
        for (i, b) in bytes.enumerated() where b == 13 { #expect(i + 1 < bytes.count && bytes[i + 1] == 10) }
    }

    @Test("Given a non-ASCII caller name, when composed, then the subject is RFC 2047 encoded words that decode back")
    func rfc2047() throws {
        let name = "Zoë Müller-Łukasiewicz ☎ 東京オフィスからのとても長い名前のテスト"
        let template = MailTemplate(subject: "Voicemail from {caller_name}", body: "x")
        let message = composer.compose(sampleEmail(try sampleMessage(callerName: name), template: template), now: now)
        let subject = try #require(headerLines(message).first { $0.hasPrefix("Subject: ") })
        #expect(subject.contains("=?UTF-8?B?"))
        #expect(subject.utf8.allSatisfy { $0 < 0x80 })
        // Each encoded word is at most 75 characters (RFC 2047 §2).
        for word in subject.split(separator: " ") where word.hasPrefix("=?") { #expect(word.count <= 75) }
        #expect(decodeEncodedWords(String(subject.dropFirst("Subject: ".count))) == "Voicemail from \(name)")
    }

    @Test("A display name is quoted when ASCII, encoded when not")
    func displayNames() {
        #expect(MIMEEncoding.mailbox(name: "Ann \"The\" Boss", address: MailAddress("a@b.example")!) == "\"Ann \\\"The\\\" Boss\" <a@b.example>")
        #expect(MIMEEncoding.mailbox(name: "Zoë", address: MailAddress("z@b.example")!) == "=?UTF-8?B?Wm/Dqw==?= <z@b.example>")
        #expect(MIMEEncoding.mailbox(name: "", address: MailAddress("z@b.example")!) == "z@b.example")
    }

    @Test("The message has the required headers, a text part from the template and the audio attached")
    func structure() throws {
        let audio = Data((0..<5000).map { UInt8($0 % 251) })
        let message = composer.compose(sampleEmail(try sampleMessage(callerName: "Bob", urgent: true),
                                                   recipients: ["a@x.example", "b@x.example"], audio: audio), now: now)
        let headers = headerLines(message)
        #expect(headers.contains("Auto-Submitted: auto-generated"))
        #expect(headers.contains("Message-ID: <voicemail.0b6c1f00-0000-4000-8000-000000000001@acme.example>"))
        #expect(headers.contains("Date: Sat, 21 Nov 2026 22:28:20 +0000"))
        #expect(headers.contains("To: a@x.example, b@x.example"))
        #expect(headers.contains("From: \"Voicemail\" <voicemail@acme.example>"))
        #expect(headers.contains("Subject: URGENT New voicemail from Bob <+3225550100> (1:05)"))
        #expect(headers.contains("Content-Type: multipart/mixed; boundary=\"=_parley_B0UNDARY\""))
        let text = String(decoding: message, as: UTF8.self)
        let parts = text.components(separatedBy: "--=_parley_B0UNDARY")
        #expect(parts.count == 4)  // preamble, text, audio, "--" epilogue
        let body = try #require(parts[1].components(separatedBy: "\r\n\r\n").last)
        let decoded = String(decoding: Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: "")) ?? Data(), as: UTF8.self)
        #expect(decoded.contains("Received: Saturday, 21 November 2026, 23:26:40 GMT+1"))
        #expect(decoded.contains("urgent voicemail in mailbox 100 Sales"))
        let attachment = try #require(parts[2].components(separatedBy: "\r\n\r\n").last)
        #expect(Data(base64Encoded: attachment.replacingOccurrences(of: "\r\n", with: "")) == audio)
        for line in attachment.components(separatedBy: "\r\n") { #expect(line.count <= 76) }
    }

    @Test("Lines starting with a dot are doubled for DATA, and the data ends with CRLF.CRLF")
    func dotStuffing() {
        let stuffed = SMTPClient.dotStuffed(Data(".a\r\nb\r\n.\r\n..c".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "..a\r\nb\r\n..\r\n...c\r\n.\r\n")
    }

    @Test("Addresses: dot-atoms with a dotted domain only")
    func addresses() {
        for good in ["a@b.example", "first.last+tag@sub.example.com", "x_y-z@a-b.example"] { #expect(MailAddress(good) != nil, "\(good)") }
        for bad in ["", "a", "a@b", "@b.example", "a@@b.example", "a b@c.example", "a@b.example\r\nBcc: x@y.z", "<a@b.example>",
                    "\"a\"@b.example", "a.@b.example", "a..b@c.example", "a@-b.example", "a@b..example", "é@b.example"] {
            #expect(MailAddress(bad) == nil, "\(bad)")
        }
    }

    @Test("Template placeholders: unknown ones are reported, known ones filled")
    func template() {
        #expect(MailTemplate.unknownPlaceholder(in: "{caller} {nope}") == "nope")
        #expect(MailTemplate.unknownPlaceholder(in: MailTemplate.standard.body) == nil)
        #expect(MailTemplate.fill("{a}-{b}-{c", ["a": "1"]) == "1-{b}-{c")
    }
}
