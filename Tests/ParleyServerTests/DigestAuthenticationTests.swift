import Foundation
import Logging
import NIOCore
import Testing
@testable import ParleyServer
import ParleySIP

@Suite("Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760)")
struct DigestAuthenticationTests {
    let hasher = CryptoDigestHashing()

    // MARK: Response computation against the RFCs' examples

    @Test("RFC 7616 §3.9.1: the SHA-256 and MD5 responses of the example")
    func rfc7616Example() {
        for (algorithm, expected) in [(DigestAlgorithm.sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
                                      (.md5, "8ca523f5e9506fed4657c9700eebdbec")] {
            let response = DigestResponse.compute(
                using: hasher, algorithm: algorithm, username: "Mufasa", realm: "http-auth@example.org", password: "Circle of Life",
                method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", qop: "auth",
                nonceCount: "00000001", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
            #expect(response == expected, "\(algorithm)")
        }
    }

    @Test("RFC 2617 §3.5: the MD5 example, parsed from its Authorization header and verified")
    func rfc2617Example() throws {
        let header = #"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
        let c = try DigestCredentials.parse(header)
        #expect(DigestResponse.verify(c, method: "GET", password: "Circle Of Life", using: hasher))
        #expect(!DigestResponse.verify(c, method: "GET", password: "Circle of Life", using: hasher))
        #expect(!DigestResponse.verify(c, method: "POST", password: "Circle Of Life", using: hasher))
    }

    @Test("SHA-256 of the empty string and MD5 of 'abc' (FIPS 180-4, RFC 1321 test suite)")
    func hashes() {
        #expect(hasher.hexDigest(.sha256, "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hasher.hexDigest(.md5, "abc") == "900150983cd24fb0d6963f7d28e17f72")
    }

    // MARK: Nonces

    @Test("a nonce is valid for its lifetime and algorithm, then expired; altered or foreign ones are invalid")
    func nonces() {
        let nonces = DigestNonces(lifetimeMilliseconds: 10_000)
        let n = nonces.make(now: 5_000, algorithm: .sha256)
        #expect(n.utf8.count == DigestNonces.length)
        #expect(nonces.check(n, algorithm: .sha256, now: 5_000) == .valid)
        #expect(nonces.check(n, algorithm: .sha256, now: 15_000) == .valid)
        #expect(nonces.check(n, algorithm: .sha256, now: 15_001) == .expired)
        #expect(nonces.check(n, algorithm: .md5, now: 5_000) == .invalid)
        #expect(DigestNonces(lifetimeMilliseconds: 10_000).check(n, algorithm: .sha256, now: 5_000) == .invalid)   // another process
        var tampered = Array(n.utf8)
        tampered[15] = tampered[15] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")   // the timestamp
        #expect(nonces.check(String(decoding: tampered, as: UTF8.self), algorithm: .sha256, now: 5_000) == .invalid)
        #expect(nonces.check(nonces.make(now: 9_000, algorithm: .md5), algorithm: .md5, now: 5_000) == .invalid)   // from the future
        for bad in ["", "x", String(repeating: "f", count: 64), String(repeating: "ü", count: 64), String(repeating: "0", count: 10_000)] {
            #expect(nonces.check(bad, algorithm: .md5, now: 0) == .invalid)
        }
    }

    // MARK: The authenticator

    static let config = """
        sip:
          trusted: ["10.0.0.0/8"]
          auth:
            realm: parley.test
            nonce_lifetime: 30s
            users:
              alice: { password: wonderland, tenants: [demo] }
              bob: { password: builder, tenants: [other] }
        tenants:
          demo:
            domains: [127.0.0.1]
            numbers: { "100": { play: welcome } }
          other:
            domains: [other.test]
            numbers: { "200": { play: welcome } }
        """

    final class Clock: @unchecked Sendable { var now: Int64 = 1_000 }

    func authenticator(_ text: String = DigestAuthenticationTests.config, clock: Clock = Clock()) throws -> DigestAuthenticator {
        DigestAuthenticator(config: try ParleyConfig.parse(text, file: "t.yaml"), logger: Logger(label: "test"), clock: { clock.now })
    }

    func peer(_ ip: String) throws -> SIPPeer { SIPPeer(address: try SocketAddress(ipAddress: ip, port: 5060)) }

    func invite(_ uri: String = "sip:100@127.0.0.1", cseq: Int = 1, authorization: [String] = []) -> SIPMessage {
        var m = SIPMessage(startLine: .request(method: "INVITE", uri: uri))
        m.append("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK\(cseq)")
        m.append("From", "<sip:alice@192.0.2.1>;tag=a")
        m.append("To", "<\(uri)>")
        m.append("Call-ID", "c1")
        m.append("CSeq", "\(cseq) INVITE")
        for a in authorization { m.append("Authorization", a) }
        return m
    }

    /// The 401's challenges, or the refusal's status.
    func challenges(_ d: DigestAuthenticator.Decision) -> [DigestChallenge] {
        guard case let .refuse(r, _) = d, r.status == 401 else { return [] }
        return r.headers.filter { $0.name == "WWW-Authenticate" }.compactMap { DigestChallenge.parse($0.value) }
    }

    func status(_ d: DigestAuthenticator.Decision) -> Int? {
        if case let .refuse(r, _) = d { return r.status } else { return nil }
    }

    func answer(_ c: DigestChallenge, user: String = "alice", password: String = "wonderland", uri: String = "sip:100@127.0.0.1",
                nc: UInt32 = 1) -> String {
        DigestCredentials.answering(c, username: user, password: password, method: "INVITE", uri: uri, cnonce: "cn", nonceCount: nc,
                                    using: hasher).headerValue
    }

    @Test("an untrusted INVITE without credentials gets 401 with SHA-256 then MD5; either answer is admitted")
    func challengeAndAnswer() throws {
        let auth = try authenticator()
        let untrusted = try peer("192.0.2.1")
        let first = challenges(auth.admit(invite(), from: untrusted))
        #expect(first.map(\.algorithm) == [.sha256, .md5])
        #expect(first.allSatisfy { $0.realm == "parley.test" && $0.qop == "auth" && !$0.stale })
        #expect(Set(first.map(\.nonce)).count == 2)
        for c in first {
            guard case let .admit(user) = auth.admit(invite(cseq: 2, authorization: [answer(c)]), from: untrusted) else {
                Issue.record("\(c.algorithm) answer refused"); continue
            }
            #expect(user == "alice")
        }
        // Trusted sources are not challenged (challenge: untrusted is the default).
        guard case .admit(nil) = auth.admit(invite(), from: try peer("10.1.2.3")) else { Issue.record("trusted source challenged"); return }
    }

    @Test("wrong password, unknown user, another URI and another tenant get 403; credentials for another realm a challenge")
    func refusals() throws {
        let auth = try authenticator()
        let untrusted = try peer("192.0.2.1")
        let c = try #require(challenges(auth.admit(invite(), from: untrusted)).first)
        #expect(status(auth.admit(invite(authorization: [answer(c, password: "wrong")]), from: untrusted)) == 403)
        #expect(status(auth.admit(invite(authorization: [answer(c, user: "mallory")]), from: untrusted)) == 403)
        #expect(status(auth.admit(invite(authorization: [answer(c, uri: "sip:999@127.0.0.1")]), from: untrusted)) == 403)
        // bob may call tenant "other" only
        let bob = answer(c, user: "bob", password: "builder")
        #expect(status(auth.admit(invite(authorization: [bob]), from: untrusted)) == 403)
        let bobOther = answer(c, user: "bob", password: "builder", uri: "sip:200@other.test", nc: 2)
        guard case .admit("bob") = auth.admit(invite("sip:200@other.test", authorization: [bobOther]), from: untrusted) else {
            Issue.record("bob refused for his own tenant"); return
        }
        var foreign = c
        foreign.realm = "elsewhere"
        #expect(challenges(auth.admit(invite(authorization: [answer(foreign)]), from: untrusted)).count == 2)
        // A forged nonce is no better than none.
        var forged = c
        forged.nonce = String(repeating: "0", count: DigestNonces.length)
        #expect(challenges(auth.admit(invite(authorization: [answer(forged)]), from: untrusted)).count == 2)
        #expect(DigestAuthenticator.printable("ali\r\nce\u{7}ü") == "ali??ce??")
        #expect(DigestAuthenticator.printable(String(repeating: "x", count: 500)).count == 64)
        // Garbage gets 403, not a crash.
        for bad in ["Digest", "Digest username=\"" + String(repeating: "x", count: 100_000), "Basic abc", "\u{0}\u{1}"] {
            #expect(status(auth.admit(invite(authorization: [bad]), from: untrusted)) == 403)
        }
    }

    @Test("an expired nonce with the right response earns stale=true; a replayed nc a new challenge")
    func staleAndReplay() throws {
        let clock = Clock()
        let auth = try authenticator(clock: clock)
        let untrusted = try peer("192.0.2.1")
        let c = try #require(challenges(auth.admit(invite(), from: untrusted)).first)
        let once = answer(c)
        guard case .admit = auth.admit(invite(authorization: [once]), from: untrusted) else { Issue.record("refused"); return }
        let replay = challenges(auth.admit(invite(authorization: [once]), from: untrusted))
        #expect(replay.count == 2 && replay.allSatisfy(\.stale))
        guard case .admit = auth.admit(invite(authorization: [answer(c, nc: 2)]), from: untrusted) else { Issue.record("nc 2 refused"); return }
        #expect(auth.trackedNonceCount == 1)
        clock.now += 30_001
        let stale = challenges(auth.admit(invite(authorization: [answer(c, nc: 3)]), from: untrusted))
        #expect(stale.count == 2 && stale.allSatisfy(\.stale))
        // ... but a wrong password on an expired nonce is still 403, not a hint.
        #expect(status(auth.admit(invite(authorization: [answer(c, password: "x", nc: 4)]), from: untrusted)) == 403)
    }

    @Test("challenge: all challenges trusted sources too; without auth, untrusted ones get 403 as before")
    func scopes() throws {
        let all = try authenticator(DigestAuthenticationTests.config.replacingOccurrences(of: "nonce_lifetime: 30s", with: "challenge: all"))
        #expect(challenges(all.admit(invite(), from: try peer("10.0.0.1"))).count == 2)
        let none = try authenticator("""
            sip: { trusted: ["10.0.0.0/8"] }
            tenants: { demo: { domains: [127.0.0.1] } }
            """)
        #expect(status(none.admit(invite(), from: try peer("192.0.2.1"))) == 403)
        guard case .admit(nil) = none.admit(invite(), from: try peer("10.0.0.1")) else { Issue.record("trusted refused"); return }
    }

    // MARK: Configuration

    func configError(_ auth: String) -> String {
        let text = "sip:\n  auth:\n" + auth + "tenants:\n  demo:\n    domains: [127.0.0.1]\n"
        do { _ = try ParleyConfig.parse(text, file: "p.yaml"); return "no error" } catch { return "\(error)" }
    }

    @Test("sip.auth: passwords from the file or the environment; mistakes name the line and key, never the password")
    func configuration() throws {
        setenv("PARLEY_TEST_DIGEST_PW", "s3cret", 1)
        let text = """
            sip:
              auth:
                realm: example.com
                algorithms: [MD5]
                users:
                  alice: { password_env: PARLEY_TEST_DIGEST_PW, tenants: [demo] }
            tenants:
              demo: { domains: [127.0.0.1] }
            """
        let auth = try #require(try ParleyConfig.parse(text, file: "p.yaml").sip.auth)
        #expect(auth.users["alice"]?.password == "s3cret")
        #expect(auth.algorithms == [.md5] && auth.challenge == .untrusted && auth.nonceLifetimeMilliseconds == 300_000)
        #expect(!"\(auth)".contains("s3cret"))

        #expect(configError("    users: { a: { password: x, tenants: [demo] } }\n").contains("sip.auth.realm: is required"))
        #expect(configError("    realm: r\n    users: { a: { password: x, tenants: [nope] } }\n").contains("no tenant named 'nope'"))
        #expect(configError("    realm: r\n    users: { a: { password_env: PARLEY_UNSET_VARIABLE_X, tenants: [demo] } }\n")
            .contains("PARLEY_UNSET_VARIABLE_X is not set"))
        let both = configError("    realm: r\n    users: { a: { password: hunter2, password_env: X, tenants: [demo] } }\n")
        #expect(both.contains("exactly one of password or password_env") && !both.contains("hunter2"))
        #expect(configError("    realm: r\n    algorithms: [SHA-1]\n    users: { a: { password: x, tenants: [demo] } }\n").contains("unknown algorithm"))
        #expect(configError("    realm: r\n    challenge: some\n    users: { a: { password: x, tenants: [demo] } }\n").contains("untrusted or all"))
        #expect(configError("    realm: r\n    users: { a: { password: x, tenants: [demo], pin: 1 } }\n").contains("p.yaml:4: sip.auth.users.a.pin: unknown key"))
        #expect(configError("    realm: \"a\\\"b\"\n    users: { a: { password: x, tenants: [demo] } }\n").contains("sip.auth.realm"))
    }
}
