/// A `message/sipfrag` body (RFC 3420) as the NOTIFYs of a REFER carry it (RFC 3515 §2.4.5):
/// the status line of the response the transferee got from the refer target, e.g.
/// `SIP/2.0 180 Ringing`, optionally followed by headers, which we ignore.
public struct SIPFrag: Sendable, Equatable {
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) { self.status = status; self.reason = reason }

    /// Nil unless the first line is a SIP/2.0 status line with a three-digit code.
    public init?(_ body: String) {
        let line = body.split(whereSeparator: { $0.isNewline }).first.map(String.init) ?? ""
        let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count >= 2, parts[0].uppercased() == "SIP/2.0", parts[1].count == 3,
              let status = Int(parts[1]), (100...699).contains(status) else { return nil }
        self.status = status
        self.reason = parts.count == 3 ? parts[2].trimmingSIPWhitespace() : ""
    }

    /// The body to send: the status line and CRLF.
    public var serialized: String { "SIP/2.0 \(status) \(reason)\r\n" }
}
