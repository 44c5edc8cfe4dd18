import Foundation
import ParleyStore

/// Builds the RFC 5322 / MIME message for a voicemail: `multipart/mixed` with a UTF-8 text
/// part from the tenant's template and the recording as an `audio/wav` attachment.
///
/// Caller-supplied text (caller ID name and number) reaches the headers only through
/// `MIMEEncoding` (one line, control characters removed, RFC 2047 when not ASCII) and the
/// body only base64-encoded, so it can never start a header, a MIME part or end the DATA.
public struct MailComposer: Sendable {
    /// The domain used in `Message-ID` (right of the `@`).
    public var messageIDDomain: String
    /// The boundary's random part comes from here (tests fix it).
    public var boundarySeed: @Sendable () -> String

    public init(messageIDDomain: String, boundarySeed: @escaping @Sendable () -> String = { UUID().uuidString }) {
        self.messageIDDomain = messageIDDomain
        self.boundarySeed = boundarySeed
    }

    /// The placeholder values for one message, as the template sees them.
    public static func values(for email: VoicemailEmail) -> [String: String] {
        let m = email.message
        let name = MIMEEncoding.singleLine(m.callerName, limit: 120)
        let number = MIMEEncoding.singleLine(m.callerNumber, limit: 64)
        let caller: String
        switch (name.isEmpty, number.isEmpty) {
        case (false, false): caller = "\(name) <\(number)>"
        case (false, true): caller = name
        case (true, false): caller = number
        case (true, true): caller = "an unknown caller"
        }
        let seconds = (m.durationMilliseconds + 500) / 1000
        let received = DateFormatter()
        received.locale = Locale(identifier: "en_US_POSIX")
        received.timeZone = email.timeZone
        received.dateFormat = "EEEE, d MMMM yyyy, HH:mm:ss"
        let zone = email.timeZone.abbreviation(for: m.receivedAt) ?? email.timeZone.identifier
        return [
            "caller_name": name.isEmpty ? "unknown" : name,
            "caller_number": number.isEmpty ? "unknown" : number,
            "caller": caller,
            "mailbox": m.mailbox.number,
            "mailbox_name": MIMEEncoding.singleLine(email.mailboxName, limit: 120),
            "tenant": m.mailbox.tenant,
            "duration": "\(seconds / 60):\(String(format: "%02d", seconds % 60))",
            "seconds": "\(seconds)",
            "received": "\(received.string(from: m.receivedAt)) \(zone)",
            "urgency": m.urgent ? "urgent" : "normal",
            "urgent": m.urgent ? "URGENT " : "",
            "message_id": m.id,
        ]
    }

    /// The whole message, CRLF line ends, 7-bit clean.
    public func compose(_ email: VoicemailEmail, now: Date) -> Data {
        let values = Self.values(for: email)
        let m = email.message
        let boundary = "=_parley_\(boundarySeed().filter { $0.isLetter || $0.isNumber })"
        var h: [String] = []
        h.append("From: \(MIMEEncoding.mailbox(name: email.fromName, address: email.from))")
        h.append("To: " + email.recipients.map(\.address).joined(separator: ",\r\n "))
        h.append("Subject: \(MIMEEncoding.unstructured(MailTemplate.fill(email.template.subject, values)))")
        h.append("Date: \(Self.rfc5322Date(now))")
        // Stable per voicemail: a duplicate after a crash carries the same Message-ID.
        h.append("Message-ID: <voicemail.\(m.id)@\(messageIDDomain)>")
        h.append("Auto-Submitted: auto-generated")
        h.append("X-Auto-Response-Suppress: All")
        if m.urgent {
            h.append("Importance: high")
            h.append("X-Priority: 1")
        }
        h.append("X-Parley-Message: \(m.mailbox.tenant)/\(m.mailbox.number)/\(m.id)")
        h.append("MIME-Version: 1.0")
        h.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
        var out = h.joined(separator: "\r\n") + "\r\n\r\n"
        out += "This is a MIME message.\r\n"
        out += "--\(boundary)\r\n"
        out += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        out += MIMEEncoding.textBody(MailTemplate.fill(email.template.body, values) + "\n")
        if let audio = email.audio {
            let file = "voicemail-\(m.mailbox.number)-\(Self.fileStamp(m.receivedAt, email.timeZone)).wav"
            out += "--\(boundary)\r\n"
            out += "Content-Type: audio/wav; name=\"\(file)\"\r\nContent-Transfer-Encoding: base64\r\n"
            out += "Content-Disposition: attachment; filename=\"\(file)\"\r\n\r\n"
            out += MIMEEncoding.base64Lines(audio)
        }
        out += "--\(boundary)--\r\n"
        return Data(out.utf8)
    }

    /// RFC 5322 §3.3 date-time, in UTC (`Sat, 21 Nov 2026 21:40:00 +0000`).
    static func rfc5322Date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: date)
    }

    static func fileStamp(_ date: Date, _ zone: TimeZone) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: date)
    }
}
