/// A request refused before it reaches a transaction user: the response status to send
/// and why (RFC 3261 §8.2, §16.3).
public struct SIPRejection: Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var reason: String
    /// What was wrong, for a Warning header and the log.
    public var detail: String
    /// For 420: the option tags to list in Unsupported (§8.2.2.3).
    public var unsupported: [String]

    public init(status: Int, reason: String, detail: String, unsupported: [String] = []) {
        self.status = status; self.reason = reason; self.detail = detail; self.unsupported = unsupported
    }

    static func badRequest(_ detail: String) -> SIPRejection { .init(status: 400, reason: "Bad Request", detail: detail) }

    public var description: String { "\(status) \(reason): \(detail)" }
}

/// What to do with received bytes: hand the message on, answer it with an error, or drop it.
public enum SIPVerdict: Equatable, Sendable {
    case accept(SIPMessage)
    /// A request that must be answered with `rejection.status`. `head` is what could be read
    /// of it (for copying Via, From, To, Call-ID, CSeq), nil when not even that parsed.
    case reject(SIPRejection, head: SIPMessage?)
    /// Nothing can be answered: a malformed response, or bytes that are no request at all.
    case drop(String)
}

/// The checks a UAS (or, with `.proxy`, a proxy) makes on a request that parsed, beyond
/// the parser's own (RFC 3261 §8.2.1–§8.2.2, §16.3), and the status each failure earns.
/// The RFC 4475 torture tests (`Tests/Fixtures/rfc4475`) are its specification.
///
/// Pure: no I/O; safe on any bytes.
public struct SIPRequestValidator: Sendable {
    public enum Role: Sendable { case userAgentServer, proxy }

    public var role: Role
    /// Request-URI schemes we serve; others get 416 (§8.2.2.1).
    public var schemes: Set<String>
    /// Option tags we support; a Require naming another gets 420 (§8.2.2.3).
    public var supportedExtensions: Set<String>

    public init(role: Role = .userAgentServer, schemes: Set<String> = ["sip", "sips"], supportedExtensions: Set<String> = []) {
        self.role = role
        self.schemes = schemes
        self.supportedExtensions = supportedExtensions
    }

    /// Headers that may appear at most once (RFC 3261 §7.3, §20): two values leave the
    /// request ambiguous (RFC 4475 §3.3.8).
    static let singleValued = ["Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length", "Content-Type", "Expires", "Date"]

    /// Nil when the request may go on to transaction matching and the TU.
    public func validate(_ request: SIPMessage) -> SIPRejection? {
        guard let method = request.method, let uriText = request.requestURI else {
            return .badRequest("not a request")
        }
        for name in SIPRequestValidator.singleValued where request.headers.count(where: { $0.name == name }) > 1 {
            return .badRequest("more than one \(name) header")
        }
        for via in request.values("Via") where Via(via) == nil {
            return .badRequest("malformed Via: \(via.prefix(60))")
        }
        for name in ["From", "To"] {
            guard let value = request[name], NameAddress(value) != nil else {
                return .badRequest("malformed \(name): \((request[name] ?? "").prefix(60))")
            }
        }
        for contact in request.values("Contact") where contact != "*" && NameAddress(contact) == nil {
            return .badRequest("malformed Contact: \(contact.prefix(60))")
        }
        if let cseq = request.cseq, cseq.number >= 1 << 31 {
            // §8.1.1.5: the sequence number is less than 2**31.
            return .badRequest("CSeq number \(cseq.number) not below 2**31")
        }
        var maxForwards: Int?
        if let mf = request["Max-Forwards"] {
            // §20.22: 1*DIGIT, and §8.1.1.6 values are 0–255 in practice; 300 is malformed (RFC 4475 §3.1.2.4).
            guard !mf.isEmpty, mf.count <= 9, mf.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(mf), n <= 255 else {
                return .badRequest("malformed Max-Forwards: \(mf.prefix(20))")
            }
            maxForwards = n
        }
        if let expires = request["Expires"] {
            // delta-seconds fit in 32 bits (§20.19, §25.1).
            guard !expires.isEmpty, expires.allSatisfy({ $0.isASCII && $0.isNumber }), UInt32(expires) != nil else {
                return .badRequest("malformed Expires: \(expires.prefix(20))")
            }
        }
        if let date = request["Date"], !SIPRequestValidator.isRFC1123GMT(date) {
            // §20.17: always GMT (RFC 4475 §3.1.2.12).
            return .badRequest("Date not in RFC 1123 GMT form: \(date.prefix(40))")
        }

        // §8.2.2.1: the Request-URI's scheme, then its form.
        let scheme = uriText.prefix { $0 != ":" }.lowercased()
        guard schemes.contains(scheme) else {
            return SIPRejection(status: 416, reason: "Unsupported URI Scheme", detail: "scheme \(scheme.prefix(30))")
        }
        if scheme == "sip" || scheme == "sips" {
            guard let uri = SIPURI(uriText) else { return .badRequest("malformed Request-URI") }
            // Table 1 of §19.1.1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
            if uri.headers != nil { return .badRequest("Request-URI carries headers") }
        }

        // §16.3 item 2: a proxy does not forward with Max-Forwards 0. An endpoint processes
        // the request (RFC 4475 §3.3.11).
        if role == .proxy, maxForwards == 0 {
            return SIPRejection(status: 483, reason: "Too Many Hops", detail: "Max-Forwards is 0")
        }

        // §8.2.2.3: Require is ignored on ACK and CANCEL; Proxy-Require is for proxies.
        if method != "ACK" && method != "CANCEL" {
            let headers = role == .proxy ? ["Require", "Proxy-Require"] : ["Require"]
            let unknown = headers.flatMap { request.values($0) }.filter { !supportedExtensions.contains($0) }
            if !unknown.isEmpty {
                return SIPRejection(status: 420, reason: "Bad Extension", detail: "unsupported \(unknown.joined(separator: ", "))",
                                    unsupported: unknown)
            }
        }
        return nil
    }

    /// The response a request that failed to parse earns: 505 for another SIP version
    /// (§21.5.26, RFC 4475 §3.1.2.16), else 400 (§8.2.6.2, RFC 4475 §3.1.2).
    public func rejection(for error: SIPParseError) -> SIPRejection {
        if case let .badStartLine(line) = error, let version = SIPRequestValidator.requestVersion(line), version != "SIP/2.0" {
            return SIPRejection(status: 505, reason: "Version Not Supported", detail: "\(version.prefix(20))")
        }
        return .badRequest(error.description)
    }

    /// Parses and checks one datagram (RFC 3261 §18.3): what to do with it.
    public func classify(_ bytes: [UInt8], parser: SIPParser = SIPParser()) -> SIPVerdict {
        do {
            return verdict(for: try parser.parse(bytes))
        } catch {
            return verdict(for: error, bytes: bytes, parser: parser)
        }
    }

    /// The verdict on a message that parsed (a datagram, or one framed on a stream, §18.3):
    /// responses go on to their transactions, requests must pass `validate`.
    public func verdict(for message: SIPMessage) -> SIPVerdict {
        guard message.isRequest else { return .accept(message) }
        if let rejection = validate(message) { return .reject(rejection, head: message) }
        return .accept(message)
    }

    /// The verdict on bytes that failed to parse with `error`: a request whose head can be
    /// read far enough to carry a Via is answered (400, or 505 for another version);
    /// responses and anything without a Via are dropped, there being nowhere to answer
    /// (§18.2.2).
    public func verdict(for error: SIPParseError, bytes: [UInt8], parser: SIPParser = SIPParser()) -> SIPVerdict {
        guard SIPRequestValidator.looksLikeRequest(bytes) else { return .drop(error.description) }
        let head = parser.parseHeadLeniently(bytes)
        if head != nil && head?["Via"] == nil { return .drop(error.description) }
        return .reject(rejection(for: error), head: head)
    }

    /// The version field of a request line `METHOD SP URI SP SIP/x.y`, if it has that shape.
    static func requestVersion(_ line: String) -> Substring? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("SIP/"),
              parts[2].dropFirst(4).allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "." }) else { return nil }
        return parts[2]
    }

    /// A response's start line begins with `SIP/`; a request's with a method token.
    static func looksLikeRequest(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count, bytes[i] == 13 || bytes[i] == 10 { i += 1 }
        guard i < bytes.count else { return false }
        return !bytes[i...].starts(with: Array("SIP/".utf8))
    }

    /// `wkday "," SP date1 SP time SP "GMT"` (§25.1 rfc1123-date), checked by shape.
    static func isRFC1123GMT(_ s: String) -> Bool {
        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), parts[5] == "GMT",
              parts[1].count == 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              parts[2].count == 3, parts[3].count == 4, parts[3].allSatisfy({ $0.isASCII && $0.isNumber }),
              parts[4].count == 8 else { return false }
        return true
    }
}
