import Testing
@testable import ParleyServer

@Suite("Admission: trusted networks and rate limiting")
struct AdmissionTests {
    @Test("CIDR networks match the addresses inside them, IPv4 and IPv6")
    func networks() throws {
        let lo = try #require(IPNetwork("127.0.0.0/8"))
        #expect(lo.contains("127.0.0.1") && lo.contains("127.255.1.2"))
        #expect(!lo.contains("128.0.0.1") && !lo.contains("::1"))
        #expect(lo.contains("::ffff:127.0.0.5"))
        let net = try #require(IPNetwork("192.0.2.64/26"))
        #expect(net.contains("192.0.2.64") && net.contains("192.0.2.127"))
        #expect(!net.contains("192.0.2.128") && !net.contains("192.0.2.63"))
        let v6 = try #require(IPNetwork("2001:db8::/32"))
        #expect(v6.contains("2001:db8:1::5") && !v6.contains("2001:db9::1"))
        #expect(IPNetwork("10.0.0.1")?.prefixLength == 32)
        #expect(IPNetwork("0.0.0.0/0")?.contains("203.0.113.9") == true)
        for bad in ["", "10.0.0.0/33", "::/129", "300.1.1.1", "10.0.0.0/x", "host.example", "1.2.3.4/8/9"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
        #expect(IPNetwork("192.0.2.64/26")?.description == "192.0.2.64/26")
    }

    @Test("a source gets its burst, then its rate; other sources are unaffected")
    func tokenBucket() {
        var limiter = RateLimiter(requestsPerSecond: 10, burst: 5)
        var allowed = 0
        for _ in 0..<20 where limiter.allow("a", now: 0) { allowed += 1 }
        #expect(allowed == 5)
        let otherSource = limiter.allow("b", now: 0)
        let afterHalfToken = limiter.allow("a", now: 50)
        let afterOneToken = limiter.allow("a", now: 100)   // one token after 100 ms at 10/s
        #expect(otherSource)
        #expect(!afterHalfToken)
        #expect(afterOneToken)
        allowed = 0
        for t in stride(from: Int64(200), to: 10_200, by: 10) where limiter.allow("a", now: t) { allowed += 1 }
        #expect(allowed >= 99 && allowed <= 101)   // 10 s at 10/s
        // Idle sources are forgotten.
        _ = limiter.allow("c", now: 30_000)
        #expect(limiter.trackedSources == 1)
    }
}
