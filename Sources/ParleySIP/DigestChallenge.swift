/// A `WWW-Authenticate: Digest …` challenge (RFC 3261 §22.4, RFC 7616 §3.3, RFC 8760 §2.4).
///
/// A UAS sends one challenge per algorithm, the preferred (SHA-256) first; each carries its
/// own nonce. `stale=true` tells the client that its response was right but the nonce has
/// expired, so it may retry without asking its user again.
public struct DigestChallenge: Sendable, Equatable {
    public var realm: String
    public var nonce: String
    public var algorithm: DigestAlgorithm
    /// Always `auth` from us: integrity of the body (`auth-int`) is not offered.
    public var qop: String
    public var opaque: String?
    public var stale: Bool

    public init(realm: String, nonce: String, algorithm: DigestAlgorithm, qop: String = "auth", opaque: String? = nil, stale: Bool = false) {
        self.realm = realm; self.nonce = nonce; self.algorithm = algorithm
        self.qop = qop; self.opaque = opaque; self.stale = stale
    }

    /// The header value: `Digest realm="…", nonce="…", algorithm=SHA-256, qop="auth"`.
    public var headerValue: String {
        var parts = ["realm=\(DigestParameters.quoted(realm))", "nonce=\(DigestParameters.quoted(nonce))",
                     "algorithm=\(algorithm.rawValue)", "qop=\(DigestParameters.quoted(qop))"]
        if let opaque { parts.append("opaque=\(DigestParameters.quoted(opaque))") }
        if stale { parts.append("stale=true") }
        return "Digest " + parts.joined(separator: ", ")
    }

    /// Reads a challenge (what a UAC does with our 401); nil when it is not a usable Digest
    /// challenge. `algorithm` absent means MD5 (RFC 7616 §3.3).
    public static func parse(_ header: String) -> DigestChallenge? {
        guard let p = DigestParameters.parse(header), p.scheme.lowercased() == "digest",
              let realm = p["realm"], let nonce = p["nonce"] else { return nil }
        guard let algorithm = DigestAlgorithm(token: p["algorithm"] ?? "MD5") else { return nil }
        return DigestChallenge(realm: realm, nonce: nonce, algorithm: algorithm, qop: p["qop"] ?? "auth",
                               opaque: p["opaque"], stale: p["stale"]?.lowercased() == "true")
    }
}
