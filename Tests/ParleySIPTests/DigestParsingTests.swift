import Testing
@testable import ParleySIP

@Suite("Digest challenge and credentials syntax (RFC 3261 §25.1, RFC 7616 §3.3-3.4)")
struct DigestParsingTests {
    @Test("an Authorization with quoted strings, escapes, tokens and odd spacing parses to its meaning")
    func credentials() throws {
        let header = #"Digest username="Mufasa",realm="http-auth@example.org" ,  nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="sip:100@example.org;transport=tcp", response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", algorithm=sha-256, qop=auth, nc=0000000a, cnonce="a \"quoted\", comma", opaque="x\\y""#
        let c = try DigestCredentials.parse(header)
        #expect(c.username == "Mufasa")
        #expect(c.realm == "http-auth@example.org")
        #expect(c.uri == "sip:100@example.org;transport=tcp")
        #expect(c.algorithm == .sha256)
        #expect(c.qop == "auth")
        #expect(c.nonceCount == 10 && c.nonceCountText == "0000000a")
        #expect(c.cnonce == #"a "quoted", comma"#)
        #expect(c.opaque == #"x\y"#)
    }

    @Test("no algorithm means MD5; no qop is an RFC 2069 response")
    func defaults() throws {
        let c = try DigestCredentials.parse(#"Digest username="a", realm="r", nonce="n", uri="sip:x@y", response="00""#)
        #expect(c.algorithm == .md5 && c.qop == nil && c.nonceCount == nil)
    }

    @Test("credentials serialize and parse back to the same value")
    func roundTrip() throws {
        let c = DigestCredentials(username: #"a"b\c"#, realm: "r", nonce: "n", uri: "sip:100@h", response: "ff",
                                  algorithm: .sha256, qop: "auth", nonceCount: 0xFFFF_FFFF, cnonce: "c", opaque: "o")
        #expect(try DigestCredentials.parse(c.headerValue) == c)
    }

    @Test("unusable Authorization headers are errors that say why, never a crash")
    func errors() {
        func error(_ h: String) -> DigestCredentialsError? {
            do { _ = try DigestCredentials.parse(h); return nil } catch { return error }
        }
        let base = #"username="a", realm="r", nonce="n", uri="sip:x@y", response="00""#
        #expect(error("Basic YWxhZGRpbjpvcGVuc2VzYW1l") == .malformed)
        #expect(error("Basic realm=\"x\"") == .notDigest(scheme: "Basic"))
        #expect(error(#"Digest realm="r", nonce="n", uri="u", response="0""#) == .missing("username"))
        #expect(error("Digest \(base), algorithm=SHA-512-256") == .unsupportedAlgorithm("SHA-512-256"))
        #expect(error("Digest \(base), qop=auth-int, nc=00000001, cnonce=\"c\"") == .unsupportedQop("auth-int"))
        #expect(error("Digest \(base), qop=auth, nc=1, cnonce=\"c\"") == .badNonceCount("1"))
        #expect(error("Digest \(base), qop=auth, nc=0000000g, cnonce=\"c\"") == .badNonceCount("0000000g"))
        #expect(error("Digest \(base), qop=auth, cnonce=\"c\"") == .missing("nc"))
        #expect(error("Digest \(base), qop=auth, nc=00000001") == .missing("cnonce"))
        #expect(error("Digest \(base), userhash=true") == .userhash)
        // Syntax: duplicates, unterminated quotes, stray characters, empty values, bombs.
        for bad in ["", "Digest", #"Digest \#(base), realm="again""#, #"Digest username="a"#, #"Digest username="a\"#,
                    "Digest username=", "Digest =x", "Digest username a", "Digest username=\"a\" junk",
                    "Digest " + String(repeating: "a=b,", count: 40),
                    "Digest username=\"" + String(repeating: "x", count: 5000) + "\"",
                    "Digest " + String(repeating: ",", count: 3000), "Digest \u{0}=\u{1}", "Dïgest username=\"ü\""] {
            #expect(error(bad) != nil, "\(bad.prefix(60))")
        }
    }

    @Test("a challenge names realm, nonce, algorithm and qop, quoting what needs quotes, and parses back")
    func challenge() throws {
        let c = DigestChallenge(realm: #"sip "ex""#, nonce: "abc", algorithm: .sha256, stale: true)
        #expect(c.headerValue == #"Digest realm="sip \"ex\"", nonce="abc", algorithm=SHA-256, qop="auth", stale=true"#)
        #expect(DigestChallenge.parse(c.headerValue) == c)
        let md5 = try #require(DigestChallenge.parse(#"Digest realm="r", nonce="n""#))
        #expect(md5.algorithm == .md5 && !md5.stale)
        #expect(DigestChallenge.parse("Digest realm=\"r\"") == nil)
        #expect(DigestChallenge.parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512") == nil)
    }

    @Test("hex comparison ignores case and needs equal lengths")
    func hexCompare() {
        #expect(DigestHex.equal("abcDEF", "ABCdef"))
        #expect(!DigestHex.equal("abc", "abcd"))
        #expect(!DigestHex.equal("abc", "abd"))
        #expect(DigestHex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }
}
