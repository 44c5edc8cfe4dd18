/// A SIP or SIPS URI (RFC 3261 §19.1): `sip:user:password@host:port;params?headers`.
public struct SIPURI: Equatable, Sendable, CustomStringConvertible {
    public var scheme: String
    public var user: String?
    public var password: String?
    /// Host name, IPv4 address, or IPv6 reference without brackets.
    public var host: String
    public var port: Int?
    /// URI parameters in order; a parameter without a value maps to nil.
    public var parameters: [(name: String, value: String?)]
    public var headers: String?

    public init(scheme: String = "sip", user: String? = nil, host: String, port: Int? = nil) {
        self.scheme = scheme
        self.user = user
        self.password = nil
        self.host = host
        self.port = port
        self.parameters = []
        self.headers = nil
    }

    public static func == (a: SIPURI, b: SIPURI) -> Bool {
        a.scheme == b.scheme && a.user == b.user && a.password == b.password && a.host.lowercased() == b.host.lowercased()
            && a.port == b.port && a.headers == b.headers
            && a.parameters.map { "\($0.name.lowercased())=\($0.value ?? "")" } == b.parameters.map { "\($0.name.lowercased())=\($0.value ?? "")" }
    }

    /// A URI parameter's value, names compared case-insensitively after unescaping
    /// (`%6C%72` is `lr`, RFC 4475 §3.1.1.3); the value is returned unescaped.
    /// `.some(nil)` for a parameter without a value, nil when absent.
    public func parameter(_ name: String) -> String?? {
        let wanted = name.lowercased()
        return parameters.first { SIPURI.unescape($0.name).lowercased() == wanted }.map { $0.value.map { SIPURI.unescape($0) } }
    }

    /// Parses a URI; nil when it is not a well-formed sip/sips URI.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon].lowercased()
        guard scheme == "sip" || scheme == "sips" else { return nil }
        self.scheme = scheme
        // '@' cannot appear unescaped after the userinfo (RFC 3261 §25.1: params and headers
        // have no '@'), while the user part may hold ';', '?', '/' and more ("user-unreserved";
        // RFC 4475 §3.1.1.2, §3.1.1.9). So userinfo ends at the first '@', and only the part
        // after it is split into host, parameters and headers.
        var rest = text[text.index(after: colon)...]
        if let at = rest.firstIndex(of: "@") {
            let userinfo = rest[..<at]
            if let pc = userinfo.firstIndex(of: ":") {
                user = SIPURI.unescape(userinfo[..<pc])
                password = String(userinfo[userinfo.index(after: pc)...])
            } else {
                user = SIPURI.unescape(userinfo)
                password = nil
            }
            guard let u = user, !u.isEmpty else { return nil }
            rest = rest[rest.index(after: at)...]
        } else {
            user = nil
            password = nil
        }
        if let q = rest.firstIndex(of: "?") {
            headers = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        } else {
            headers = nil
        }
        var paramsPart: Substring = ""
        if let semi = rest.firstIndex(of: ";") {
            paramsPart = rest[rest.index(after: semi)...]
            rest = rest[..<semi]
        }
        guard let (host, port) = SIPURI.parseHostPort(rest) else { return nil }
        self.host = host
        self.port = port
        parameters = paramsPart.split(separator: ";").map { p in
            if let eq = p.firstIndex(of: "=") {
                return (String(p[..<eq]), String(p[p.index(after: eq)...]))
            }
            return (String(p), nil)
        }
    }

    /// Parses `host[:port]` with IPv6 references in brackets.
    public static func parseHostPort<S: StringProtocol>(_ s: S) -> (String, Int?)? {
        let text = String(s)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            let after = text[text.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.first == ":", let port = Int(after.dropFirst()), (1...65535).contains(port) else { return nil }
            return (host, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let hostPart = parts.first, !hostPart.isEmpty,
              hostPart.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }),
              hostPart.allSatisfy({ $0.isASCII }) else { return nil }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
            return (String(hostPart), port)
        }
        return (String(hostPart), nil)
    }

    static func unescape<S: StringProtocol>(_ s: S) -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2,
               let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v); it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The host as it appears in a URI: IPv6 in brackets.
    public var hostReference: String { host.contains(":") ? "[\(host)]" : host }

    public var description: String {
        var s = scheme + ":"
        if let user { s += user; if let password { s += ":" + password }; s += "@" }
        s += hostReference
        if let port { s += ":\(port)" }
        for p in parameters { s += ";" + p.name + (p.value.map { "=" + $0 } ?? "") }
        if let headers { s += "?" + headers }
        return s
    }
}

/// A name-addr or addr-spec with header parameters, as in From, To and Contact (§20.10).
public struct NameAddress: Equatable, Sendable {
    public var displayName: String?
    public var uri: String
    public var parameters: [(name: String, value: String?)]

    public static func == (a: NameAddress, b: NameAddress) -> Bool {
        a.displayName == b.displayName && a.uri == b.uri && a.parameters.map { $0.name + "=" + ($0.value ?? "") } == b.parameters.map { $0.name + "=" + ($0.value ?? "") }
    }

    public var tag: String? { parameters.first { $0.name.lowercased() == "tag" }?.value }

    public init(displayName: String? = nil, uri: String, parameters: [(name: String, value: String?)] = []) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    /// Parses `"Display" <uri>;tag=x`, `Display <uri>`, or `uri;tag=x` (RFC 3261 §20.10,
    /// §25.1), with linear white space where the grammar allows it (RFC 4475 §3.1.1.1).
    ///
    /// Nil for what RFC 4475 §3.1.2 calls malformed: an unterminated quoted display name,
    /// an unquoted display name with non-token characters (`Bell, Alexander <…>`), white
    /// space inside `<>`, an addr-spec holding `?` or `,` (it must be in `<>`, §20), or an
    /// empty parameter (`;;`).
    public init?(_ text: String) {
        let t = text.trimmingSIPWhitespace()
        var rest: Substring
        if let lt = NameAddress.indexOfUnquoted("<", in: t) {
            var name = t[..<lt].trimmingSIPWhitespace()
            if name.hasPrefix("\"") {
                guard NameAddress.isQuotedString(name) else { return nil }
                name = NameAddress.unquote(name.dropFirst().dropLast())
            } else {
                // *(token LWS). Non-ASCII letters are let through: phones send unquoted UTF-8
                // names, and only ASCII separators (`,` `"` `;` `:` …) make the field ambiguous.
                guard name.allSatisfy({ SIPParser.isTokenCharacter($0) || $0 == " " || $0 == "\t" || !$0.isASCII }) else { return nil }
            }
            displayName = name.isEmpty ? nil : name
            let afterLT = t[t.index(after: lt)...]
            guard let gt = afterLT.firstIndex(of: ">") else { return nil }
            uri = String(afterLT[..<gt])
            rest = afterLT[afterLT.index(after: gt)...]
        } else {
            displayName = nil
            // addr-spec form: URI parameters cannot be told apart from header parameters (§20), so ';' ends the URI.
            if let semi = t.firstIndex(of: ";") {
                uri = t[..<semi].trimmingSIPWhitespace(); rest = t[semi...]
            } else {
                uri = t; rest = ""
            }
            guard !uri.contains(where: { $0 == "?" || $0 == "," }) else { return nil }
        }
        guard !uri.isEmpty, uri.contains(":"),
              !uri.contains(where: { $0 == "\"" || $0 == "<" || $0 == ">" || $0 == " " || $0 == "\t" }) else { return nil }
        let trimmedRest = rest.trimmingSIPWhitespace()
        if trimmedRest.isEmpty {
            parameters = []
            return
        }
        guard trimmedRest.hasPrefix(";") else { return nil }
        guard let params = headerParameters(trimmedRest.dropFirst()) else { return nil }
        parameters = params
    }

    /// True when `s` is exactly one quoted-string: its first unescaped closing quote is its last character.
    static func isQuotedString<S: StringProtocol>(_ s: S) -> Bool {
        guard s.count >= 2, s.first == "\"" else { return false }
        var escaped = false
        var i = s.index(after: s.startIndex)
        while i < s.endIndex {
            let ch = s[i]
            if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { return s.index(after: i) == s.endIndex }
            i = s.index(after: i)
        }
        return false
    }

    static func indexOfUnquoted(_ c: Character, in s: String) -> String.Index? {
        var inQuotes = false, escaped = false
        var i = s.startIndex
        while i < s.endIndex {
            let ch = s[i]
            if escaped { escaped = false } else if ch == "\\" && inQuotes { escaped = true } else if ch == "\"" { inQuotes.toggle() } else if ch == c && !inQuotes { return i }
            i = s.index(after: i)
        }
        return nil
    }

    static func unquote<S: StringProtocol>(_ s: S) -> String {
        var out = ""
        var escaped = false
        for ch in s {
            if escaped { out.append(ch); escaped = false } else if ch == "\\" { escaped = true } else { out.append(ch) }
        }
        return out
    }

    public var description: String {
        var s = ""
        if let displayName {
            let escaped = displayName.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"")
            s += "\"\(escaped)\" "
        }
        s += "<\(uri)>"
        for p in parameters { s += ";" + p.name + (p.value.map { "=" + $0 } ?? "") }
        return s
    }
}

/// One Via header value (§20.42): `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`.
public struct Via: Equatable, Sendable {
    public var transport: String
    public var host: String
    public var port: Int?
    public var parameters: [(name: String, value: String?)]

    public static func == (a: Via, b: Via) -> Bool {
        a.transport == b.transport && a.host == b.host && a.port == b.port && a.parameters.map { $0.name + "=" + ($0.value ?? "") } == b.parameters.map { $0.name + "=" + ($0.value ?? "") }
    }

    /// Parses one via-parm: `SIP / 2.0 / UDP host:port ;name=value…`, allowing linear white
    /// space around `/`, `;` and `=` (RFC 3261 §25.1, RFC 4475 §3.1.1.1). Nil for another
    /// protocol version or an empty parameter (`;;`, RFC 4475 §3.1.2.1).
    public init?(_ text: String) {
        var s = Substring(text.trimmingSIPWhitespace())
        func skipSpace() { while let f = s.first, f == " " || f == "\t" { s.removeFirst() } }
        func token() -> Substring {
            let end = s.firstIndex { !SIPParser.isTokenCharacter($0) } ?? s.endIndex
            defer { s = s[end...] }
            return s[..<end]
        }
        let name = token(); skipSpace()
        guard name.uppercased() == "SIP", s.first == "/" else { return nil }
        s.removeFirst(); skipSpace()
        let version = token(); skipSpace()
        guard version == "2.0", s.first == "/" else { return nil }
        s.removeFirst(); skipSpace()
        let transport = token()
        guard !transport.isEmpty, let f = s.first, f == " " || f == "\t" else { return nil }
        self.transport = transport.uppercased()
        skipSpace()
        var sentBy = s[...]
        var params: Substring = ""
        if let semi = s.firstIndex(of: ";") { params = s[s.index(after: semi)...]; sentBy = s[..<semi] }
        guard let (h, p) = SIPURI.parseHostPort(sentBy.trimmingSIPWhitespace()) else { return nil }
        host = h
        port = p
        if s.contains(";") {
            guard let list = headerParameters(params) else { return nil }
            parameters = list
        } else {
            parameters = []
        }
    }

    /// RFC 3261 §8.1.1.7: a branch starting with the magic cookie `z9hG4bK` marks a sender
    /// that makes branches unique per transaction. The bare cookie carries no identifier
    /// (RFC 4475 §3.2.1), so such a request is matched as an RFC 2543 one.
    public var hasRFC3261Branch: Bool {
        guard let branch else { return false }
        return branch.hasPrefix(Via.magicCookie) && branch.count > Via.magicCookie.count
    }

    public static let magicCookie = "z9hG4bK"

    public var branch: String? { parameters.first { $0.name.lowercased() == "branch" }?.value ?? nil }
    public var hasRPort: Bool { parameters.contains { $0.name.lowercased() == "rport" } }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}

/// Parses `name[=value];name[=value]…` (the part after a header value's first `;`, RFC 3261
/// §25.1 generic-param), with optional whitespace around `;` and `=`. Nil when a name is not a
/// token, a name is empty (`;;`), or a value after `=` is empty.
func headerParameters<S: StringProtocol>(_ text: S) -> [(name: String, value: String?)]? {
    var list: [(name: String, value: String?)] = []
    for p in text.split(separator: ";", omittingEmptySubsequences: false) {
        let s = p.trimmingSIPWhitespace()
        let name: String, value: String?
        if let eq = s.firstIndex(of: "=") {
            name = s[..<eq].trimmingSIPWhitespace()
            value = s[s.index(after: eq)...].trimmingSIPWhitespace()
        } else {
            name = s; value = nil
        }
        guard !name.isEmpty, name.allSatisfy(SIPParser.isTokenCharacter), value.map({ !$0.isEmpty }) ?? true else { return nil }
        list.append((name, value))
    }
    return list
}
