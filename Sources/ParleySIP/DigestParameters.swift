/// The `Digest` scheme's comma-separated `name=value` list, as in `WWW-Authenticate` and
/// `Authorization` (RFC 3261 §25.1 `digest-response`, RFC 7235 §2.1 `auth-param`).
///
/// Values are tokens or quoted strings with backslash escapes. Parsing is bounded: a value
/// longer than `maxLength`, more than `maxParameters` parameters, a parameter given twice,
/// an unterminated quote or a stray character make the whole header unusable (nil), never
/// a crash.
public struct DigestParameters: Sendable, Equatable {
    public static let maxLength = 4096
    public static let maxParameters = 32

    /// The scheme, e.g. `Digest` (compare case-insensitively).
    public var scheme: String
    /// Parameter names lowercased, values unquoted.
    public var values: [String: String]

    public subscript(_ name: String) -> String? { values[name] }

    public init(scheme: String, values: [String: String]) {
        self.scheme = scheme
        self.values = values
    }

    public static func parse(_ header: String) -> DigestParameters? {
        let bytes = Array(header.utf8)
        guard bytes.count <= maxLength else { return nil }
        var i = 0
        func skipSpace() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D || bytes[i] == 0x0A { i += 1 } }
        func token() -> String? {
            let start = i
            while i < bytes.count, isTokenChar(bytes[i]) { i += 1 }
            return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
        }
        skipSpace()
        guard let scheme = token() else { return nil }
        var values: [String: String] = [:]
        while true {
            skipSpace()
            while i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1; skipSpace() }
            if i >= bytes.count { break }
            guard let name = token() else { return nil }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { return nil }
            i += 1
            skipSpace()
            var value: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < bytes.count {
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\") {
                        guard i + 1 < bytes.count else { return nil }
                        value.append(bytes[i + 1]); i += 2
                    } else if c == UInt8(ascii: "\"") {
                        i += 1; closed = true; break
                    } else {
                        value.append(c); i += 1
                    }
                }
                guard closed else { return nil }
            } else {
                guard let t = token() else { return nil }
                value = Array(t.utf8)
            }
            skipSpace()
            guard i >= bytes.count || bytes[i] == UInt8(ascii: ",") else { return nil }
            let key = name.lowercased()
            guard values[key] == nil, values.count < maxParameters else { return nil }
            values[key] = String(decoding: value, as: UTF8.self)
        }
        return DigestParameters(scheme: scheme, values: values)
    }

    /// RFC 3261 §25.1 token characters.
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-.!%*_+`'~".utf8.contains(c)
        }
    }

    /// `"text"` with `"` and `\` escaped (RFC 3261 §25.1 quoted-pair).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for ch in text {
            if ch == "\"" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out + "\""
    }
}
