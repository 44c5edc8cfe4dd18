/// Why bytes are not an acceptable SIP message. `isRespondable` tells whether enough was
/// understood to send a 400 (a request with the headers a response needs).
public enum SIPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case incomplete
    case tooLarge(limit: Int)
    case badStartLine(String)
    case badHeader(String)
    case tooManyHeaders(limit: Int)
    case badContentLength(String)
    case bodyTruncated(expected: Int, got: Int)
    case missingHeader(String)
    case badCSeq(String)
    case cseqMethodMismatch(request: String, cseq: String)

    public var description: String {
        switch self {
        case .incomplete: return "incomplete message"
        case let .tooLarge(limit): return "message larger than \(limit) bytes"
        case let .badStartLine(l): return "malformed start line: \(l.prefix(80))"
        case let .badHeader(h): return "malformed header line: \(h.prefix(80))"
        case let .tooManyHeaders(limit): return "more than \(limit) header lines"
        case let .badContentLength(v): return "malformed Content-Length: \(v.prefix(40))"
        case let .bodyTruncated(e, g): return "Content-Length \(e) but only \(g) body bytes"
        case let .missingHeader(h): return "missing mandatory header \(h)"
        case let .badCSeq(v): return "malformed CSeq: \(v.prefix(40))"
        case let .cseqMethodMismatch(r, c): return "CSeq method \(c) does not match request method \(r)"
        }
    }
}

/// Parses SIP messages from datagrams (RFC 3261 §7) and frames them on streams (§18.3).
public struct SIPParser: Sendable {
    public var maxMessageSize: Int
    public var maxHeaders: Int

    public init(maxMessageSize: Int = 65_535, maxHeaders: Int = 256) {
        self.maxMessageSize = maxMessageSize
        self.maxHeaders = maxHeaders
    }

    /// Parses one whole datagram. The body is limited by Content-Length when present
    /// (extra bytes are discarded, as §18.3 allows over UDP; fewer is an error).
    public func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        guard bytes.count <= maxMessageSize else { throw .tooLarge(limit: maxMessageSize) }
        var start = 0
        // Tolerate leading CRLFs (keep-alives, §7.5).
        while start < bytes.count, bytes[start] == 13 || bytes[start] == 10 { start += 1 }
        guard let (headEnd, bodyStart) = SIPParser.findHeaderEnd(bytes, from: start) else { throw .incomplete }
        var message = try parseHead(bytes[start..<headEnd])
        let available = bytes.count - bodyStart
        if let cl = try SIPParser.contentLength(of: message) {
            guard let n = Int(cl.trimmingSIPWhitespace()), n >= 0 else { throw .badContentLength(cl) }
            guard n <= available else { throw .bodyTruncated(expected: n, got: available) }
            message.body = Array(bytes[bodyStart..<(bodyStart + n)])
        } else {
            message.body = Array(bytes[bodyStart...])
        }
        try validate(message)
        return message
    }

    /// Stream framing: returns the first complete message and how many bytes it used, or
    /// nil when more bytes are needed. Content-Length is mandatory on streams.
    public func frame(_ bytes: [UInt8]) throws(SIPParseError) -> (message: SIPMessage, consumed: Int)? {
        var start = 0
        while start < bytes.count, bytes[start] == 13 || bytes[start] == 10 { start += 1 }
        guard let (headEnd, bodyStart) = SIPParser.findHeaderEnd(bytes, from: start) else {
            if bytes.count > maxMessageSize { throw .tooLarge(limit: maxMessageSize) }
            return nil
        }
        var message = try parseHead(bytes[start..<headEnd])
        guard let cl = try SIPParser.contentLength(of: message), let n = Int(cl.trimmingSIPWhitespace()), n >= 0 else {
            throw .badContentLength(message["Content-Length"] ?? "absent")
        }
        // Compared without adding, so an absurd Content-Length (Int.max) cannot overflow; it is
        // refused before any of its body is awaited or allocated.
        guard n <= maxMessageSize - bodyStart else { throw .tooLarge(limit: maxMessageSize) }
        guard bytes.count >= bodyStart + n else { return nil }
        message.body = Array(bytes[bodyStart..<(bodyStart + n)])
        try validate(message)
        return (message, bodyStart + n)
    }

    /// The one Content-Length value; two of them leave the body's length unknown (RFC 4475
    /// §3.3.9), which is an error even when they agree.
    static func contentLength(of m: SIPMessage) throws(SIPParseError) -> String? {
        let values = m.headers.filter { $0.name == "Content-Length" }
        guard values.count <= 1 else { throw .badContentLength(values.map(\.value).joined(separator: ", ")) }
        return values.first?.value
    }

    /// Finds the blank line ending the head: CRLFCRLF, or LFLF from lenient peers.
    static func findHeaderEnd(_ b: [UInt8], from: Int) -> (headEnd: Int, bodyStart: Int)? {
        var i = from
        while i + 1 < b.count {
            if b[i] == 10 {
                if b[i + 1] == 10 { return (i, i + 2) }
                if b[i + 1] == 13, i + 2 < b.count, b[i + 2] == 10 { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }

    func parseHead(_ head: ArraySlice<UInt8>) throws(SIPParseError) -> SIPMessage {
        // Split into lines on LF, dropping a trailing CR; unfold continuation lines (§7.3.1).
        var lines: [String] = []
        for raw in head.split(separator: 10, omittingEmptySubsequences: false) {
            var line = raw
            if line.last == 13 { line = line.dropLast() }
            guard let text = String(validating: line, as: UTF8.self) else { throw .badHeader("invalid UTF-8") }
            if let first = text.first, first == " " || first == "\t" {
                guard !lines.isEmpty, lines.count > 1 else { throw .badHeader(text) }
                lines[lines.count - 1] += " " + text.trimmingSIPWhitespace()
            } else {
                lines.append(text)
            }
        }
        guard let first = lines.first else { throw .badStartLine("") }
        guard lines.count - 1 <= maxHeaders else { throw .tooManyHeaders(limit: maxHeaders) }
        let startLine = try SIPParser.parseStartLine(first)
        var headers: [SIPMessage.Header] = []
        headers.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .badHeader(line) }
            let name = line[..<colon].trimmingSIPWhitespace()
            guard !name.isEmpty, name.allSatisfy(SIPParser.isTokenCharacter) else { throw .badHeader(line) }
            let value = line[line.index(after: colon)...].trimmingSIPWhitespace()
            headers.append(.init(SIPHeaderName.canonical(name), value))
        }
        return SIPMessage(startLine: startLine, headers: headers)
    }

    static func parseStartLine(_ line: String) throws(SIPParseError) -> SIPMessage.StartLine {
        if line.hasPrefix("SIP/") {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0] == "SIP/2.0", parts[1].count == 3,
                  let code = Int(parts[1]), (100...699).contains(code) else { throw .badStartLine(line) }
            return .response(status: code, reason: parts.count == 3 ? String(parts[2]) : "")
        }
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter),
              isAbsoluteURI(parts[1]), parts[2] == "SIP/2.0" else { throw .badStartLine(line) }
        return .request(method: String(parts[0]), uri: String(parts[1]))
    }

    func validate(_ m: SIPMessage) throws(SIPParseError) {
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] where m[name] == nil {
            throw .missingHeader(name)
        }
        guard let cseq = m.cseq else { throw .badCSeq(m["CSeq"] ?? "") }
        if let method = m.method, method != cseq.method {
            throw .cseqMethodMismatch(request: method, cseq: cseq.method)
        }
    }

    /// A Request-URI is an absoluteURI (RFC 3261 §25.1, RFC 3986 §3.1): a scheme
    /// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, a colon, and something after it.
    /// `<sip:…>` is not one (RFC 4475 §3.1.2.7); an unknown scheme is, and earns a 416 later.
    static func isAbsoluteURI<S: StringProtocol>(_ s: S) -> Bool {
        guard let colon = s.firstIndex(of: ":"), colon != s.startIndex, s.index(after: colon) != s.endIndex,
              let first = s.first, first.isASCII, first.isLetter else { return false }
        return s[..<colon].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }
            && !s.contains { $0 == "<" || $0 == ">" || $0 == "\"" || $0 == " " || $0 == "\t" }
    }

    /// RFC 3261 §25.1 `token` characters.
    static func isTokenCharacter(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        switch a {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "-.!%*_+`'~".utf8.contains(a)
        }
    }
}

extension SIPParser {
    /// The head of a message that failed validation, parsed without the validation step,
    /// so a 400 can still copy Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2).
    /// Nil when not even the start line and header lines can be read.
    public func parseHeadLeniently(_ bytes: [UInt8]) -> SIPMessage? {
        guard bytes.count <= maxMessageSize else { return nil }
        var start = 0
        while start < bytes.count, bytes[start] == 13 || bytes[start] == 10 { start += 1 }
        let end = SIPParser.findHeaderEnd(bytes, from: start)?.headEnd ?? bytes.count
        guard start < end else { return nil }
        return try? parseHead(bytes[start..<end])
    }
}
