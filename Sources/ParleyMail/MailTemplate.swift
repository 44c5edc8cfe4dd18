import Foundation

/// A tenant's subject and body text, with `{placeholders}` filled from the message:
/// `{caller_name}`, `{caller_number}`, `{caller}` (name and number, or "an unknown caller"),
/// `{mailbox}`, `{mailbox_name}`, `{tenant}`, `{duration}` (m:ss), `{seconds}`,
/// `{received}` (in the tenant's time zone), `{urgency}` ("urgent" or "normal"),
/// `{urgent}` ("URGENT " or nothing), `{message_id}`.
public struct MailTemplate: Sendable, Equatable {
    public var subject: String
    public var body: String

    public static let placeholders: Set<String> = ["caller_name", "caller_number", "caller", "mailbox", "mailbox_name", "tenant",
                                                   "duration", "seconds", "received", "urgency", "urgent", "message_id"]

    public static let standard = MailTemplate(
        subject: "{urgent}New voicemail from {caller} ({duration})",
        body: """
        You have a new {urgency} voicemail in mailbox {mailbox} {mailbox_name}.

        From:     {caller}
        Received: {received}
        Length:   {duration}

        The recording is attached.
        """)

    public init(subject: String, body: String) {
        self.subject = subject
        self.body = body
    }

    /// The first placeholder in `text` that is not one of `placeholders`, or nil.
    public static func unknownPlaceholder(in text: String) -> String? {
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return nil }
            let name = String(rest[rest.index(after: open)..<close])
            if !placeholders.contains(name) { return name }
            rest = rest[rest.index(after: close)...]
        }
        return nil
    }

    /// Replaces every known placeholder; unknown ones stay as they are.
    static func fill(_ text: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                rest = rest[open...]
                break
            }
            let name = String(rest[rest.index(after: open)..<close])
            if let value = values[name] { out += value } else { out += rest[open...close] }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }
}
