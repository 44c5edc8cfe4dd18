/// An email address (RFC 5321 §4.1.2 `Mailbox`, restricted to what a voicemail platform
/// needs): a dot-atom local part of printable ASCII, `@`, a domain of dot-separated labels.
/// Quoted local parts, address literals and non-ASCII addresses are refused, so an address
/// can be put into `MAIL FROM:<…>`, `RCPT TO:<…>` and a header as is: it holds no space,
/// CR, LF, angle bracket, quote or comma.
public struct MailAddress: Hashable, Sendable, CustomStringConvertible {
    public let address: String

    public init?(_ text: String) {
        guard Self.problem(text) == nil else { return nil }
        address = text
    }

    public var description: String { address }

    /// The domain part (after the `@`).
    public var domain: Substring { address[address.index(after: address.lastIndex(of: "@") ?? address.startIndex)...] }

    /// Why `text` is not an acceptable address, or nil when it is.
    public static func problem(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return "empty address" }
        guard bytes.count <= 254 else { return "longer than 254 characters" }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")), bytes.firstIndex(of: UInt8(ascii: "@")) == at else {
            return "needs exactly one @"
        }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        guard !local.isEmpty, local.count <= 64 else { return "the part before @ must be 1-64 characters" }
        guard local.allSatisfy(isAtextOrDot), local.first != UInt8(ascii: "."), local.last != UInt8(ascii: "."),
              !zip(local, local.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }) else {
            return "the part before @ may hold only letters, digits, . and !#$%&'*+/=?^_`{|}~- (no leading, trailing or double dot)"
        }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return "the domain needs at least one dot" }
        for label in labels {
            guard !label.isEmpty, label.count <= 63, label.allSatisfy(isLetterDigitHyphen),
                  label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
                return "the domain must be dot-separated labels of letters, digits and inner hyphens"
            }
        }
        return nil
    }

    static func isLetterDigitHyphen(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-")
    }

    /// RFC 5322 §3.2.3 atext, plus the dot of a dot-atom.
    static func isAtextOrDot(_ b: UInt8) -> Bool {
        isLetterDigitHyphen(b) || b == UInt8(ascii: ".") || "!#$%&'*+/=?^_`{|}~".utf8.contains(b)
    }
}
