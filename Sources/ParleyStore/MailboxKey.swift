/// A mailbox's address: its tenant and its number within the tenant. Both parts are
/// validated on construction (ASCII letters and digits only, 1–32 characters), so a key
/// can be put into a path or a log line as is; SQL always takes them as arguments.
public struct MailboxKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let tenant: String
    public let number: String

    /// Longest tenant or mailbox identifier accepted, in characters.
    public static let maximumLength = 32

    public init(tenant: String, number: String) throws(StoreError) {
        try Self.validate(tenant, what: "tenant")
        try Self.validate(number, what: "mailbox number")
        self.tenant = tenant
        self.number = number
    }

    public var description: String { "\(tenant)/\(number)" }

    public static func < (a: MailboxKey, b: MailboxKey) -> Bool {
        (a.tenant, a.number) < (b.tenant, b.number)
    }

    /// Accepts only ASCII letters and digits: no dot, slash, NUL, quote or space can reach
    /// a file name or a log line through an identifier.
    public static func validate(_ value: String, what: String) throws(StoreError) {
        guard !value.isEmpty else { throw .invalidIdentifier(what: what, value: value, reason: "empty") }
        guard value.utf8.count <= maximumLength else {
            throw .invalidIdentifier(what: what, value: value, reason: "longer than \(maximumLength) characters")
        }
        guard value.utf8.allSatisfy(isIdentifierByte) else {
            throw .invalidIdentifier(what: what, value: value, reason: "only ASCII letters and digits are allowed")
        }
    }

    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
}

/// Message ids are lowercase UUIDs generated here; ids coming back from a caller (CLI, API)
/// are checked against that shape before use.
enum MessageID {
    static func make() -> String { UUID().uuidString.lowercased() }

    static func validate(_ id: String) throws(StoreError) {
        let ok = id.utf8.count == 36 && id.utf8.enumerated().allSatisfy { i, b in
            [8, 13, 18, 23].contains(i) ? b == UInt8(ascii: "-") : ((b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66))
        }
        guard ok else { throw .invalidIdentifier(what: "message id", value: id, reason: "not a message id (lowercase UUID)") }
    }
}

import Foundation
