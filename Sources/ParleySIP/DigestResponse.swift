/// The digest computation (RFC 7616 §3.4.1, RFC 3261 §22.4 with RFC 2617 §3.2.2):
///
///     A1 = username ":" realm ":" password          HA1 = H(A1)
///     A2 = method ":" digest-uri                      HA2 = H(A2)
///     response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)    (qop=auth)
///     response = H(HA1 ":" nonce ":" HA2)                              (no qop, RFC 2069)
///
/// with H the algorithm's hash in lowercase hex.
public enum DigestResponse {
    public static func compute(using hasher: some DigestHashing, algorithm: DigestAlgorithm, username: String, realm: String,
                               password: String, method: String, uri: String, nonce: String,
                               qop: String?, nonceCount: String?, cnonce: String?) -> String {
        let ha1 = hasher.hexDigest(algorithm, "\(username):\(realm):\(password)")
        return compute(using: hasher, algorithm: algorithm, ha1: ha1, method: method, uri: uri, nonce: nonce,
                       qop: qop, nonceCount: nonceCount, cnonce: cnonce)
    }

    /// The same from a stored HA1, so a password need not be kept in the clear.
    public static func compute(using hasher: some DigestHashing, algorithm: DigestAlgorithm, ha1: String, method: String, uri: String,
                               nonce: String, qop: String?, nonceCount: String?, cnonce: String?) -> String {
        let ha2 = hasher.hexDigest(algorithm, "\(method):\(uri)")
        if let qop, let nonceCount, let cnonce {
            return hasher.hexDigest(algorithm, "\(ha1):\(nonce):\(nonceCount):\(cnonce):\(qop):\(ha2)")
        }
        return hasher.hexDigest(algorithm, "\(ha1):\(nonce):\(ha2)")
    }

    /// Whether the credentials' response is the one `password` gives for `method`
    /// (compared without early exit). Realm, nonce and URI checks are the caller's.
    public static func verify(_ credentials: DigestCredentials, method: String, password: String, using hasher: some DigestHashing) -> Bool {
        let expected = compute(using: hasher, algorithm: credentials.algorithm, username: credentials.username, realm: credentials.realm,
                               password: password, method: method, uri: credentials.uri, nonce: credentials.nonce,
                               qop: credentials.qop, nonceCount: credentials.nonceCountText, cnonce: credentials.cnonce)
        return DigestHex.equal(expected, credentials.response)
    }
}
