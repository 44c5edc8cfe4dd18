import Crypto
import ParleySIP

/// Stateless nonces for digest challenges (RFC 7616 §3.3 suggests this form):
///
///     nonce = hex(time) hex(random) hex(HMAC-SHA-256(secret, time ":" random ":" algorithm)[0..<16])
///
/// `time` is milliseconds on the process's monotonic clock (16 hex digits), the secret is
/// drawn at start, so the server keeps nothing per challenge and a restart invalidates
/// every nonce it gave. A nonce is bound to the algorithm it was offered with.
struct DigestNonces {
    enum Check: Equatable { case valid, expired, invalid }

    private let key: SymmetricKey
    let lifetimeMilliseconds: Int64
    /// A nonce stamped this far in the future (clock trouble) is still taken.
    static let allowedSkewMilliseconds: Int64 = 1_000
    static let length = 16 + 16 + 32

    init(lifetimeMilliseconds: Int64, key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.lifetimeMilliseconds = lifetimeMilliseconds
        self.key = key
    }

    /// The same secret with another lifetime (a reload), so nonces already given stay ours.
    func withLifetime(_ milliseconds: Int64) -> DigestNonces {
        DigestNonces(lifetimeMilliseconds: milliseconds, key: key)
    }

    func make(now: Int64, algorithm: DigestAlgorithm) -> String {
        let time = hex16(UInt64(max(0, now)))
        let random = hex16(UInt64.random(in: .min ... .max))
        return time + random + mac(time: time, random: random, algorithm: algorithm)
    }

    func check(_ nonce: String, algorithm: DigestAlgorithm, now: Int64) -> Check {
        let bytes = Array(nonce.utf8)
        guard bytes.count == DigestNonces.length else { return .invalid }
        let time = String(decoding: bytes[0..<16], as: UTF8.self)
        let random = String(decoding: bytes[16..<32], as: UTF8.self)
        let tag = String(decoding: bytes[32...], as: UTF8.self)
        guard let stamp = UInt64(time, radix: 16), stamp <= UInt64(Int64.max),
              DigestHex.equal(mac(time: time, random: random, algorithm: algorithm), tag) else { return .invalid }
        let issued = Int64(stamp)
        guard issued <= now + DigestNonces.allowedSkewMilliseconds else { return .invalid }
        return now - issued > lifetimeMilliseconds ? .expired : .valid
    }

    /// When a nonce stops being valid, for the replay table; nil for a malformed one.
    func expiry(of nonce: String) -> Int64? {
        let bytes = Array(nonce.utf8)
        guard bytes.count == DigestNonces.length, let stamp = UInt64(String(decoding: bytes[0..<16], as: UTF8.self), radix: 16),
              stamp <= UInt64(Int64.max / 2) else { return nil }
        return Int64(stamp) + lifetimeMilliseconds
    }

    private func mac(time: String, random: String, algorithm: DigestAlgorithm) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("\(time):\(random):\(algorithm.rawValue)".utf8), using: key)
        return DigestHex.encode(Array(Array(code).prefix(16)))
    }

    private func hex16(_ v: UInt64) -> String {
        let hex = String(v, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
