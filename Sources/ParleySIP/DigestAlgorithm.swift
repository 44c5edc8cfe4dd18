/// A digest algorithm for SIP authentication (RFC 8760 §2.1, RFC 7616 §3.3).
///
/// MD5 is kept for the many peers that know nothing else; SHA-256 is preferred and offered
/// first. The `-sess` variants and SHA-512-256 are not offered, so they are never accepted.
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha256 = "SHA-256"
    case md5 = "MD5"

    /// The algorithm named by a challenge or credentials token (case-insensitive, RFC 7616 §3.3).
    public init?(token: String) {
        switch token.lowercased() {
        case "sha-256": self = .sha256
        case "md5": self = .md5
        default: return nil
        }
    }

    /// Length of the hash in bytes (so of its hex form, twice that).
    public var digestLength: Int {
        switch self {
        case .sha256: return 32
        case .md5: return 16
        }
    }
}

/// The hash functions behind digest authentication, supplied by the layer that links a
/// crypto library (ParleySIP stays free of Foundation and of any crypto dependency).
public protocol DigestHashing {
    /// `H(input)` for the algorithm, as raw bytes (`algorithm.digestLength` of them).
    func digest(_ algorithm: DigestAlgorithm, _ input: [UInt8]) -> [UInt8]
}

extension DigestHashing {
    /// `H(text)` in lowercase hex, the form every digest computation uses (RFC 7616 §3.4.1).
    public func hexDigest(_ algorithm: DigestAlgorithm, _ text: String) -> String {
        DigestHex.encode(digest(algorithm, Array(text.utf8)))
    }
}

/// Lowercase hex encoding and comparison without early exit.
public enum DigestHex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares two strings in time that depends on their lengths only, so a response's
    /// correct prefix cannot be found by timing. Hex is compared case-insensitively.
    public static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= lower(x[i]) ^ lower(y[i]) }
        return diff == 0
    }

    private static func lower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c | 0x20 : c }
}
