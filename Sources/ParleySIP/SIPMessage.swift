/// A SIP request or response (RFC 3261 §7): start line, ordered headers, body.
///
/// Headers keep their order and repetitions; names are stored in their canonical long
/// form (compact forms such as `i` or `v` are expanded on parse, RFC 3261 §7.3.3).
public struct SIPMessage: Equatable, Sendable {
    public enum StartLine: Equatable, Sendable {
        case request(method: String, uri: String)
        case response(status: Int, reason: String)
    }

    public struct Header: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }

    public var startLine: StartLine
    public var headers: [Header]
    public var body: [UInt8]

    public init(startLine: StartLine, headers: [Header] = [], body: [UInt8] = []) {
        self.startLine = startLine
        self.headers = headers
        self.body = body
    }

    public var isRequest: Bool { if case .request = startLine { return true } else { return false } }

    public var method: String? { if case let .request(m, _) = startLine { return m } else { return nil } }
    public var requestURI: String? { if case let .request(_, u) = startLine { return u } else { return nil } }
    public var status: Int? { if case let .response(s, _) = startLine { return s } else { return nil } }

    /// The first value of a header (case-insensitive name; compact forms accepted).
    public subscript(name: String) -> String? {
        // Stored names are canonical and canonical spelling is idempotent, so a name found
        // as given needs no canonicalizing (which lowercases and looks up two tables): the
        // callers' literals ("Call-ID", "CSeq", "Via") are found on the first scan.
        if let header = headers.first(where: { $0.name == name }) { return header.value }
        let canonical = SIPHeaderName.canonical(name)
        guard canonical != name else { return nil }
        return headers.first { $0.name == canonical }?.value
    }

    /// The top Via (RFC 3261 §8.2.6.2, §17.2.3): the first entry of the Via list, what
    /// `values("Via").first` gives, without splitting every Via into a new array.
    public var topVia: String? {
        for header in headers where header.name == "Via" {
            if let first = SIPHeaderName.firstListElement(header.value) { return first }
        }
        return nil
    }

    /// Every value of a header, splitting comma-separated lists (RFC 3261 §7.3.1).
    public func values(_ name: String) -> [String] {
        let canonical = SIPHeaderName.canonical(name)
        return headers.filter { $0.name == canonical }.flatMap { SIPHeaderName.splitList($0.value) }
    }

    public mutating func append(_ name: String, _ value: String) {
        headers.append(Header(SIPHeaderName.canonical(name), value))
    }

    public mutating func set(_ name: String, _ value: String) {
        let canonical = SIPHeaderName.canonical(name)
        headers.removeAll { $0.name == canonical }
        headers.append(Header(canonical, value))
    }

    public mutating func remove(_ name: String) {
        let canonical = SIPHeaderName.canonical(name)
        headers.removeAll { $0.name == canonical }
    }

    public var callID: String? { self["Call-ID"] }

    /// CSeq as (number, method), nil if absent or malformed.
    public var cseq: (number: UInt32, method: String)? {
        guard let v = self["CSeq"] else { return nil }
        let parts = v.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, let n = UInt32(parts[0]) else { return nil }
        return (n, String(parts[1]))
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Serializes with CRLF line ends and a Content-Length matching the body.
    public func serialized() -> [UInt8] {
        var out = ""
        switch startLine {
        case let .request(method, uri): out += "\(method) \(uri) SIP/2.0\r\n"
        case let .response(status, reason): out += "SIP/2.0 \(status) \(reason)\r\n"
        }
        for h in headers where h.name != "Content-Length" {
            out += "\(h.name): \(h.value)\r\n"
        }
        out += "Content-Length: \(body.count)\r\n\r\n"
        return Array(out.utf8) + body
    }
}

/// Header-name helpers: canonical spelling and compact forms.
public enum SIPHeaderName {
    static let compact: [String: String] = [
        "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
        "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
        "v": "Via", "o": "Event", "r": "Refer-To", "b": "Referred-By", "u": "Allow-Events",
        "x": "Session-Expires", "a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition",
        "y": "Identity", "n": "Identity-Info",
    ]
    static let known: [String: String] = {
        let names = ["Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events",
                     "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition",
                     "Content-Encoding", "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date",
                     "Diversion", "Error-Info", "Event", "Expires", "From", "History-Info", "In-Reply-To", "Max-Forwards",
                     "Min-Expires", "Min-SE", "MIME-Version", "Organization", "P-Asserted-Identity", "Priority",
                     "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route",
                     "Refer-To", "Referred-By", "Reply-To", "Require", "Retry-After", "Route", "RSeq", "Server",
                     "Session-Expires", "Subject", "Subscription-State", "Supported", "Timestamp", "To", "Unsupported",
                     "User-Agent", "Via", "Warning", "WWW-Authenticate"]
        var map: [String: String] = [:]
        for n in names { map[n.lowercased()] = n }
        return map
    }()

    /// The known names as the RFC spells them.
    static let knownSpellings = Set(known.values)

    /// The canonical spelling of a header name: compact forms expanded, known names in
    /// their RFC spelling, others as received.
    public static func canonical(_ name: String) -> String {
        // Most names arrive and are asked for in their RFC spelling: one lookup, no lowercased copy.
        if knownSpellings.contains(name) { return name }
        let lower = name.lowercased()
        if let long = compact[lower] { return long }
        return known[lower] ?? name
    }

    /// The first non-empty element of `splitList(value)`, found without building the rest.
    static func firstListElement(_ value: String) -> String? {
        var inQuotes = false, inAngle = false, escaped = false
        var start = value.startIndex
        var i = value.startIndex
        while i < value.endIndex {
            let ch = value[i]
            if escaped {
                escaped = false
            } else {
                switch ch {
                case "\\" where inQuotes: escaped = true
                case "\"": inQuotes.toggle()
                case "<" where !inQuotes: inAngle = true
                case ">" where !inQuotes: inAngle = false
                case "," where !inQuotes && !inAngle:
                    let element = value[start..<i].trimmingSIPWhitespace()
                    if !element.isEmpty { return element }
                    start = value.index(after: i)
                default: break
                }
            }
            i = value.index(after: i)
        }
        let last = value[start...].trimmingSIPWhitespace()
        return last.isEmpty ? nil : last
    }

    /// Splits a header value on commas that are outside quotes and angle brackets.
    public static func splitList(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inQuotes = false, inAngle = false, escaped = false
        for ch in value {
            if escaped { current.append(ch); escaped = false; continue }
            switch ch {
            case "\\" where inQuotes: escaped = true; current.append(ch)
            case "\"": inQuotes.toggle(); current.append(ch)
            case "<" where !inQuotes: inAngle = true; current.append(ch)
            case ">" where !inQuotes: inAngle = false; current.append(ch)
            case "," where !inQuotes && !inAngle:
                parts.append(current.trimmingSIPWhitespace()); current = ""
            default: current.append(ch)
            }
        }
        let last = current.trimmingSIPWhitespace()
        if !last.isEmpty || parts.isEmpty { parts.append(last) }
        return parts.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    func trimmingSIPWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
