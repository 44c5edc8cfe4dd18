/// Why an `Authorization` header cannot be used.
public enum DigestCredentialsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a parameter list (see `DigestParameters.parse`), or too long.
    case malformed
    case notDigest(scheme: String)
    case missing(String)
    case unsupportedAlgorithm(String)
    case unsupportedQop(String)
    /// `nc` must be exactly 8 hex digits (RFC 7616 §3.4).
    case badNonceCount(String)
    /// `userhash=true`: we never offer it (RFC 7616 §3.4.4).
    case userhash

    public var description: String {
        switch self {
        case .malformed: return "malformed Authorization header"
        case let .notDigest(scheme): return "scheme '\(scheme.prefix(32))' is not Digest"
        case let .missing(name): return "Authorization lacks \(name)"
        case let .unsupportedAlgorithm(a): return "algorithm '\(a.prefix(32))' is not supported"
        case let .unsupportedQop(q): return "qop '\(q.prefix(32))' is not supported"
        case let .badNonceCount(nc): return "nc '\(nc.prefix(32))' is not 8 hex digits"
        case .userhash: return "userhash was not offered"
        }
    }
}

/// The `Authorization: Digest …` a client sends in answer to a challenge (RFC 3261 §22.4,
/// RFC 7616 §3.4).
public struct DigestCredentials: Sendable, Equatable {
    public var username: String
    public var realm: String
    public var nonce: String
    /// `digest-uri`: the Request-URI the response was computed over.
    public var uri: String
    /// The client's `request-digest`, hex.
    public var response: String
    /// MD5 when the client names none (RFC 7616 §3.3).
    public var algorithm: DigestAlgorithm
    /// `auth`, or nil for an RFC 2069 response without qop.
    public var qop: String?
    /// `nc`, as sent (8 hex digits) and as a number.
    public var nonceCountText: String?
    public var nonceCount: UInt32?
    public var cnonce: String?
    public var opaque: String?

    public init(username: String, realm: String, nonce: String, uri: String, response: String, algorithm: DigestAlgorithm,
                qop: String?, nonceCount: UInt32?, cnonce: String?, opaque: String? = nil) {
        self.username = username; self.realm = realm; self.nonce = nonce; self.uri = uri; self.response = response
        self.algorithm = algorithm; self.qop = qop; self.cnonce = cnonce; self.opaque = opaque
        self.nonceCount = nonceCount
        self.nonceCountText = nonceCount.map(DigestCredentials.nonceCountText)
    }

    /// `nc` as 8 lowercase hex digits.
    public static func nonceCountText(_ n: UInt32) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }

    /// Parses an `Authorization` (or `Proxy-Authorization`) header value.
    public static func parse(_ header: String) throws(DigestCredentialsError) -> DigestCredentials {
        guard let p = DigestParameters.parse(header) else { throw .malformed }
        guard p.scheme.lowercased() == "digest" else { throw .notDigest(scheme: p.scheme) }
        if p["userhash"]?.lowercased() == "true" { throw .userhash }
        func required(_ name: String) throws(DigestCredentialsError) -> String {
            guard let v = p[name] else { throw .missing(name) }
            return v
        }
        let algorithmName = p["algorithm"] ?? "MD5"
        guard let algorithm = DigestAlgorithm(token: algorithmName) else { throw .unsupportedAlgorithm(algorithmName) }
        var credentials = DigestCredentials(username: try required("username"), realm: try required("realm"),
                                            nonce: try required("nonce"), uri: try required("uri"),
                                            response: try required("response"), algorithm: algorithm,
                                            qop: nil, nonceCount: nil, cnonce: p["cnonce"], opaque: p["opaque"])
        if let qop = p["qop"] {
            guard qop.lowercased() == "auth" else { throw .unsupportedQop(qop) }
            credentials.qop = "auth"
            let nc = try required("nc")
            guard nc.utf8.count == 8, let n = UInt32(nc, radix: 16) else { throw .badNonceCount(nc) }
            credentials.nonceCount = n
            credentials.nonceCountText = nc
            guard credentials.cnonce != nil else { throw .missing("cnonce") }
        }
        return credentials
    }

    /// The header value, as a client sends it.
    public var headerValue: String {
        var parts = ["username=\(DigestParameters.quoted(username))", "realm=\(DigestParameters.quoted(realm))",
                     "nonce=\(DigestParameters.quoted(nonce))", "uri=\(DigestParameters.quoted(uri))",
                     "response=\(DigestParameters.quoted(response))", "algorithm=\(algorithm.rawValue)"]
        if let cnonce { parts.append("cnonce=\(DigestParameters.quoted(cnonce))") }
        if let opaque { parts.append("opaque=\(DigestParameters.quoted(opaque))") }
        if let qop, let nc = nonceCountText { parts += ["qop=\(qop)", "nc=\(nc)"] }
        return "Digest " + parts.joined(separator: ", ")
    }

    /// What a client answers to `challenge` (qop=auth): used by tests, benchmarks and any
    /// future UAC role.
    public static func answering(_ challenge: DigestChallenge, username: String, password: String, method: String, uri: String,
                                 cnonce: String, nonceCount: UInt32 = 1, using hasher: some DigestHashing) -> DigestCredentials {
        let nc = nonceCountText(nonceCount)
        let response = DigestResponse.compute(using: hasher, algorithm: challenge.algorithm, username: username,
                                              realm: challenge.realm, password: password, method: method, uri: uri,
                                              nonce: challenge.nonce, qop: "auth", nonceCount: nc, cnonce: cnonce)
        return DigestCredentials(username: username, realm: challenge.realm, nonce: challenge.nonce, uri: uri, response: response,
                                 algorithm: challenge.algorithm, qop: "auth", nonceCount: nonceCount, cnonce: cnonce,
                                 opaque: challenge.opaque)
    }
}
