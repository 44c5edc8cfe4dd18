import Crypto
import Foundation

/// The spool file format, version 1: a text head, a blank line, then the message.
///
/// ```
/// PARLEY-MAIL-SPOOL 1
/// created: 1795297200123          (ms since 1970)
/// attempts: 0
/// next-attempt: 1795297200123
/// from: voicemail@example.com
/// to: alice@example.com           (one line per recipient still to deliver)
/// delivered: bob@example.com      (accepted in an earlier attempt)
/// rejected: carol@example.com 550 5.1.1 unknown user
/// voicemail: acme 100 0b6c…-uuid  (tenant, mailbox, message id; optional)
/// last-reply: 451 4.3.0 try later (optional)
/// body-length: 123456
/// body-sha256: 9f86d0…
///
/// <body-length bytes of RFC 5322 message, CRLF line ends>
/// ```
///
/// A file whose first line is not the magic of a known version is not ours; one whose
/// body is shorter or longer than declared, or whose digest differs, was truncated or
/// damaged. Both are refused with `SpoolFileError` and moved aside by the spool, so they
/// never block the queue. Values are single lines; the parser never traps on any input.
public enum SpoolFile {
    public static let magic = "PARLEY-MAIL-SPOOL 1"
    /// The head is small; anything longer is not ours.
    static let maximumHeadBytes = 64 * 1024

    public static func encode(_ e: SpoolEnvelope, body: Data) -> Data {
        var head = "\(magic)\n"
        head += "created: \(milliseconds(e.created))\n"
        head += "attempts: \(e.attempts)\n"
        head += "next-attempt: \(milliseconds(e.nextAttempt))\n"
        head += "from: \(e.sender.address)\n"
        for r in e.recipients { head += "to: \(r.address)\n" }
        for r in e.delivered { head += "delivered: \(r.address)\n" }
        for r in e.rejected { head += "rejected: \(r.recipient.address) \(oneLine(r.reply))\n" }
        if let v = e.voicemail { head += "voicemail: \(v.tenant) \(v.mailbox) \(v.messageID)\n" }
        if !e.lastReply.isEmpty { head += "last-reply: \(oneLine(e.lastReply))\n" }
        head += "body-length: \(body.count)\n"
        head += "body-sha256: \(digest(body))\n\n"
        var out = Data(head.utf8)
        out.append(body)
        return out
    }

    /// Parses only the head (for status listings); the body is not checked.
    public static func decodeHead(_ data: Data) throws(SpoolFileError) -> (SpoolEnvelope, bodyOffset: Int, length: Int, sha256: String) {
        let bytes = [UInt8](data.prefix(maximumHeadBytes))
        guard bytes.starts(with: Array("\(magic)\n".utf8)) else {
            if bytes.starts(with: Array("PARLEY-MAIL-SPOOL ".utf8)) { throw .unsupportedVersion }
            throw .notASpoolFile
        }
        guard let end = findBlankLine(bytes) else { throw .truncated("the head has no end") }
        // The encoder never writes a CR in the head; one there (Swift reads "\r\n" as a single
        // Character) would merge two lines when the envelope is written back.
        guard !bytes[..<end].contains(0x0D) else { throw .damaged("a carriage return in the head") }
        guard let head = String(bytes: bytes[..<end], encoding: .utf8) else { throw .damaged("the head is not UTF-8") }
        var created: Date?, attempts: Int?, next: Date?, sender: MailAddress?, length: Int?, sha: String?
        var to: [MailAddress] = [], delivered: [MailAddress] = [], rejected: [SpoolEnvelope.Rejection] = []
        var voicemail: VoicemailReference?
        var lastReply = ""
        for line in head.split(separator: "\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw .damaged("line without a key: \(line.prefix(80))") }
            let key = line[..<colon]
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            switch key {
            case "created": created = try date(value, key)
            case "attempts":
                guard let n = Int(value), n >= 0 else { throw .damaged("attempts: \(value.prefix(40))") }
                attempts = n
            case "next-attempt": next = try date(value, key)
            case "from": sender = try address(value, key)
            case "to": to.append(try address(value, key))
            case "delivered": delivered.append(try address(value, key))
            case "rejected":
                let parts = value.split(separator: " ", maxSplits: 1)
                guard let first = parts.first else { throw .damaged("rejected: empty") }
                rejected.append(.init(recipient: try address(first, key), reply: parts.count > 1 ? String(parts[1]) : ""))
            case "voicemail":
                let parts = value.split(separator: " ")
                guard parts.count == 3 else { throw .damaged("voicemail: expected tenant, mailbox and message id") }
                voicemail = VoicemailReference(tenant: String(parts[0]), mailbox: String(parts[1]), messageID: String(parts[2]))
            case "last-reply": lastReply = String(value)
            case "body-length":
                guard let n = Int(value), n >= 0 else { throw .damaged("body-length: \(value.prefix(40))") }
                length = n
            case "body-sha256":
                guard value.utf8.count == 64 else { throw .damaged("body-sha256 is not 64 hex digits") }
                sha = String(value)
            default:
                throw .damaged("unknown key \(key.prefix(40))")
            }
        }
        guard let created, let attempts, let next, let sender, let length, let sha else {
            throw .damaged("a required key is missing (created, attempts, next-attempt, from, body-length, body-sha256)")
        }
        var envelope = SpoolEnvelope(created: created, sender: sender, recipients: to, voicemail: voicemail)
        envelope.attempts = attempts
        envelope.nextAttempt = next
        envelope.delivered = delivered
        envelope.rejected = rejected
        envelope.lastReply = lastReply
        return (envelope, end + 2, length, sha)
    }

    /// Parses and checks the whole file: head, body length, body digest.
    public static func decode(_ data: Data) throws(SpoolFileError) -> (SpoolEnvelope, body: Data) {
        let (envelope, offset, length, sha) = try decodeHead(data)
        let available = data.count - offset
        guard available == length else {
            if available < length { throw .truncated("body is \(available) of \(length) bytes") }
            throw .damaged("\(available - length) bytes after the body")
        }
        let body = data.subdata(in: data.startIndex + offset ..< data.startIndex + offset + length)
        guard digest(body) == sha else { throw .damaged("body digest differs") }
        guard !envelope.recipients.isEmpty || !envelope.delivered.isEmpty || !envelope.rejected.isEmpty else {
            throw .damaged("no recipients")
        }
        return (envelope, body)
    }

    static func findBlankLine(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    static func digest(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func milliseconds(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }

    static func date(_ value: Substring, _ key: Substring) throws(SpoolFileError) -> Date {
        guard let ms = Int64(value), ms >= 0, ms < 32_503_680_000_000 else { throw .damaged("\(key): not a time") }
        return Date(timeIntervalSince1970: Double(ms) / 1000)
    }

    static func address(_ value: Substring, _ key: Substring) throws(SpoolFileError) -> MailAddress {
        guard let a = MailAddress(String(value)) else { throw .damaged("\(key): not an address") }
        return a
    }

    static func oneLine(_ text: String) -> String { MIMEEncoding.singleLine(text, limit: 500) }
}

/// Why a spool file was refused.
public enum SpoolFileError: Error, Equatable, CustomStringConvertible {
    case notASpoolFile
    case unsupportedVersion
    case truncated(String)
    case damaged(String)

    public var description: String {
        switch self {
        case .notASpoolFile: return "not a spool file (no \(SpoolFile.magic) line)"
        case .unsupportedVersion: return "a spool file of a version this program does not read"
        case let .truncated(why): return "truncated: \(why)"
        case let .damaged(why): return "damaged: \(why)"
        }
    }
}
