/// One SMTP reply (RFC 5321 §4.2): a three-digit code and one or more lines of text.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTransient: Bool { (400..<500).contains(code) }
    public var isPermanent: Bool { code >= 500 }

    /// `250 first line` followed by the other lines joined with ` | `.
    public var description: String { "\(code) " + lines.joined(separator: " | ") }

    /// EHLO keywords (the lines after the first), upper-cased: `STARTTLS`, `AUTH PLAIN LOGIN`, …
    var extensions: [String] { lines.dropFirst().map { $0.uppercased() } }

    func offers(_ keyword: String) -> Bool { extensions.contains { $0 == keyword || $0.hasPrefix(keyword + " ") } }

    var authMechanisms: [String] {
        for e in extensions where e.hasPrefix("AUTH ") || e.hasPrefix("AUTH=") { return e.dropFirst(5).split(separator: " ").map(String.init) }
        return []
    }
}
