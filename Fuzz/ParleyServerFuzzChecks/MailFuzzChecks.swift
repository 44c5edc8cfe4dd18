import Foundation
import NIOCore
import NIOEmbedded
@testable import ParleyMail
@testable import ParleyStore

/// What the mail fuzz target checks for every input (`scripts/fuzz mail`), shared with the
/// corpus replay test. The same bytes go through the three places where untrusted text
/// meets the mail code:
///
/// - the spool file parser (a file in `new/` may be anything): an accepted file encodes
///   back to a file that is accepted again, and re-encoding that is stable;
/// - the SMTP reply decoder (the relay's bytes), fed in two pieces cut where the first byte
///   says: every reply it emits has a three-digit code, 1-200 lines, no line feed, no line
///   longer than the limit;
/// - the composer, with the bytes as caller name, number, mailbox name, sender name and
///   template: the message is 7-bit, every line ends with CRLF, the head holds exactly the
///   composer's own headers in order (nothing injected), and the body holds exactly the
///   three boundary lines.
public enum MailFuzzChecks {
    /// Runs every check. Returns whether the spool parser accepted the input.
    @discardableResult
    public static func check(_ bytes: [UInt8]) -> Bool {
        let accepted = checkSpoolFile(bytes)
        checkReplies(bytes)
        checkComposed(String(decoding: bytes, as: UTF8.self), urgent: bytes.count % 2 == 1, audio: Data(bytes.prefix(200)))
        return accepted
    }

    static func checkSpoolFile(_ bytes: [UInt8]) -> Bool {
        let data = Data(bytes)
        _ = try? SpoolFile.decodeHead(data)
        guard let (envelope, body) = try? SpoolFile.decode(data) else { return false }
        let encoded = SpoolFile.encode(envelope, body: body)
        guard let (again, againBody) = try? SpoolFile.decode(encoded) else {
            preconditionFailure("an accepted spool file did not survive encode → decode")
        }
        precondition(againBody == body, "the body changed through encode → decode")
        precondition(SpoolFile.encode(again, body: againBody) == encoded, "encoding an envelope is not stable")
        return true
    }

    static func checkReplies(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        let cut = bytes.first.map { Int($0) % (bytes.count + 1) } ?? 0
        var replies: [SMTPReply] = []
        do {
            for chunk in [bytes[..<cut], bytes[cut...]] where !chunk.isEmpty {
                try channel.writeInbound(channel.allocator.buffer(bytes: chunk))
                while let reply = try channel.readInbound(as: SMTPReply.self) { replies.append(reply) }
            }
            _ = try channel.finish()
        } catch {
            // A protocol violation: the client closes the connection. Never a trap.
            _ = try? channel.finish()
        }
        for reply in replies {
            precondition((0...999).contains(reply.code), "reply code \(reply.code) is not three digits")
            precondition((1...SMTPReplyDecoder.maximumLines).contains(reply.lines.count), "reply of \(reply.lines.count) lines")
            for line in reply.lines {
                precondition(line.utf8.count <= SMTPReplyDecoder.maximumLineBytes, "reply line over the limit")
                precondition(!line.utf8.contains(0x0A), "reply line holds a line feed")
            }
            _ = reply.authMechanisms
            _ = reply.offers("STARTTLS")
        }
    }

    static let from = MailAddress("voicemail@acme.example")
    static let to = MailAddress("alice@example.com")

    static func checkComposed(_ text: String, urgent: Bool, audio: Data) {
        _ = MailTemplate.unknownPlaceholder(in: text)
        if let address = MailAddress(text) {
            precondition(!address.address.utf8.contains { $0 <= 0x20 || $0 >= 0x7F || "<>\",".utf8.contains($0) },
                         "an accepted address holds a space, control, bracket, quote or comma")
        }
        guard let from, let to, let key = try? MailboxKey(tenant: "acme", number: "100"),
              let zone = TimeZone(identifier: "UTC") else { preconditionFailure("fixed fuzz inputs refused") }
        let message = VoicemailMessage(id: "0b6c1f00-0000-4000-8000-000000000001", mailbox: key, folder: .new, urgent: urgent,
                                       callerNumber: String(text.prefix(80)), callerName: text,
                                       receivedAt: Date(timeIntervalSince1970: 1_795_300_000), durationMilliseconds: 65_400,
                                       audioPath: "x.wav", emailState: .none, damaged: false)
        let email = VoicemailEmail(message: message, mailboxName: text, from: from, fromName: text, recipients: [to],
                                   template: MailTemplate(subject: "{urgent}\(text) {caller}", body: text), timeZone: zone, audio: audio)
        let composed = [UInt8](MailComposer(messageIDDomain: "acme.example", boundarySeed: { "B0UNDARY" })
            .compose(email, now: Date(timeIntervalSince1970: 1_795_300_100)))
        checkMessageShape(composed, urgent: urgent)
    }

    /// The invariants of a composed message (see the type's documentation).
    static func checkMessageShape(_ bytes: [UInt8], urgent: Bool) {
        precondition(bytes.allSatisfy { $0 < 0x80 && $0 != 0 }, "the message is not 7-bit clean")
        for (i, b) in bytes.enumerated() {
            if b == 0x0A { precondition(i > 0 && bytes[i - 1] == 0x0D, "a bare LF in the message") }
            if b == 0x0D { precondition(i + 1 < bytes.count && bytes[i + 1] == 0x0A, "a bare CR in the message") }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { preconditionFailure("the message has no end of head") }
        var names: [String] = []
        for line in text[..<end.lowerBound].components(separatedBy: "\r\n") {
            precondition(line.utf8.count <= 998, "a header line longer than 998 characters")
            if line.hasPrefix(" ") {
                precondition(!names.isEmpty, "the head starts with a continuation line")
                for word in line.split(separator: " ") where word.hasPrefix("=?") { precondition(word.count <= 75, "encoded word over 75") }
                continue
            }
            guard let colon = line.range(of: ": ") else { preconditionFailure("a head line that is neither a header nor a continuation") }
            names.append(String(line[..<colon.lowerBound]))
        }
        var expected = ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "X-Auto-Response-Suppress"]
        if urgent { expected += ["Importance", "X-Priority"] }
        expected += ["X-Parley-Message", "MIME-Version", "Content-Type"]
        precondition(names == expected, "headers \(names), expected \(expected)")
        let boundaries = text[end.upperBound...].components(separatedBy: "\r\n").filter { $0.hasPrefix("--") }
        precondition(boundaries == ["--=_parley_B0UNDARY", "--=_parley_B0UNDARY", "--=_parley_B0UNDARY--"],
                     "body boundary lines \(boundaries)")
    }
}
