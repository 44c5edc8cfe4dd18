import _CryptoExtras
import Foundation

/// A PIN stored as a salted scrypt hash (RFC 7914), self-describing so the cost can be
/// raised later without invalidating stored hashes:
/// `scrypt$<log2 N>$<r>$<p>$<salt, base64>$<key, base64>`.
///
/// scrypt rather than PBKDF2: it is memory-hard (16 MiB per check at the default cost),
/// so a stolen database is costlier to brute-force on GPUs. A 4–10 digit PIN remains a
/// small space either way; the lockout is the main defence on the phone, the hash the one
/// against a copied database.
public struct PINHash: Sendable, Equatable {
    public var encoded: String

    /// log2 of scrypt's N (cost); 14 → 16 MiB and tens of ms per check.
    public static let defaultCostLog2 = 14
    static let blockSize = 8
    static let parallelism = 1
    static let saltBytes = 16
    static let keyBytes = 32

    public init(encoded: String) { self.encoded = encoded }

    /// Hashes a PIN with a fresh random salt.
    public static func make(pin: String, costLog2: Int = defaultCostLog2) throws(StoreError) -> PINHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<saltBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = try derive(pin: pin, salt: salt, costLog2: costLog2, r: blockSize, p: parallelism)
        return PINHash(encoded: "scrypt$\(costLog2)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())")
    }

    /// True when `pin` hashes to this value (constant-time comparison of the keys). A
    /// malformed stored value verifies nothing.
    public func verify(pin: String) -> Bool {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt",
              let costLog2 = Int(parts[1]), (10...20).contains(costLog2),
              let r = Int(parts[2]), (1...32).contains(r),
              let p = Int(parts[3]), (1...16).contains(p),
              let salt = Data(base64Encoded: String(parts[4])), !salt.isEmpty,
              let expected = Data(base64Encoded: String(parts[5])), expected.count == Self.keyBytes,
              let key = try? Self.derive(pin: pin, salt: [UInt8](salt), costLog2: costLog2, r: r, p: p) else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(key, expected) { difference |= a ^ b }
        return difference == 0
    }

    static func derive(pin: String, salt: [UInt8], costLog2: Int, r: Int, p: Int) throws(StoreError) -> [UInt8] {
        do {
            let key = try KDF.Scrypt.deriveKey(from: Array(pin.utf8), salt: salt, outputByteCount: keyBytes,
                                               rounds: 1 << costLog2, blockSize: r, parallelism: p)
            return key.withUnsafeBytes { [UInt8]($0) }
        } catch {
            throw .database("scrypt failed: \(error)")
        }
    }
}
