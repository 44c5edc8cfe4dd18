import Crypto
import ParleySIP

/// ParleySIP's digest hashes, from swift-crypto (BoringSSL on Linux, CryptoKit on Apple's).
struct CryptoDigestHashing: DigestHashing {
    func digest(_ algorithm: DigestAlgorithm, _ input: [UInt8]) -> [UInt8] {
        switch algorithm {
        case .md5: return Array(Insecure.MD5.hash(data: input))
        case .sha256: return Array(SHA256.hash(data: input))
        }
    }
}
