import Benchmark
import Crypto
import ParleySIP

/// The cost of admitting one digest-authenticated INVITE (RFC 8760): parsing its
/// Authorization, checking the nonce's HMAC, and recomputing the response (three hashes:
/// HA1, HA2, response), for SHA-256 and MD5. One verification per sample.
func registerDigestBenchmarks() {
    struct Hashing: DigestHashing {   // as ParleyServer's CryptoDigestHashing
        func digest(_ algorithm: DigestAlgorithm, _ input: [UInt8]) -> [UInt8] {
            switch algorithm {
            case .md5: return Array(Insecure.MD5.hash(data: input))
            case .sha256: return Array(SHA256.hash(data: input))
            }
        }
    }
    let perVerification = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one,
                                                  maxDuration: .seconds(2), maxIterations: 200_000)
    let hasher = Hashing()
    let nonce = "0000000000ad5bd30aa3426cb00d6b3630586f8c5b28182b608270c1ea090cc4"
    for algorithm in DigestAlgorithm.allCases {
        let challenge = DigestChallenge(realm: "sip.acme.example", nonce: nonce, algorithm: algorithm)
        let header = DigestCredentials.answering(challenge, username: "alice", password: "correct horse battery",
                                                 method: "INVITE", uri: "sip:100@pbx.acme.example", cnonce: "6b8b4567",
                                                 using: hasher).headerValue
        Benchmark("Digest parse Authorization + verify, \(algorithm.rawValue)", configuration: perVerification) { benchmark in
            for _ in benchmark.scaledIterations {
                guard let c = try? DigestCredentials.parse(header) else { continue }
                blackHole(DigestResponse.verify(c, method: "INVITE", password: "correct horse battery", using: hasher))
            }
        }
    }
    let key = SymmetricKey(size: .bits256)
    Benchmark("Digest nonce HMAC-SHA-256 check", configuration: perVerification) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(HMAC<SHA256>.authenticationCode(for: Array("0000000000ad5bd3:0aa3426cb00d6b36:SHA-256".utf8), using: key))
        }
    }
}
