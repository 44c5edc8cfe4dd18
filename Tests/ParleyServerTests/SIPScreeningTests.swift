import Foundation
import NIOCore
import ParleySIP
import Testing
@testable import ParleyServer

/// What every received datagram goes through before a transaction sees it: the per-source
/// rate limit (malformed bytes included) and `SIPRequestValidator` with stateless answers.
@Suite("SIP screening: rate limit and validator")
struct SIPScreeningTests {
    static let yaml = """
    sip:
      listen: ["udp:127.0.0.1:5060"]
      rate_limit: { requests_per_second: 1, burst: 3 }
    prompts: /nonexistent
    tenants:
      demo:
        domains: [127.0.0.1]
        numbers:
          "100": { play: welcome }
    """

    static func options(_ n: Int, extra: String = "") -> [UInt8] {
        Array(("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKs\(n)\r\nMax-Forwards: 70\r\n"
            + "From: <sip:p@127.0.0.1>;tag=p\(n)\r\nTo: <sip:127.0.0.1>\r\nCall-ID: s\(n)@test\r\nCSeq: 1 OPTIONS\r\n\(extra)"
            + "Content-Length: 0\r\n\r\n").utf8)
    }

    @Test("given a burst of 3, then the fourth malformed datagram is dropped by the rate limit, unanswered")
    func malformedCountsAgainstTheRate() throws {
        let h = try ControllerHarness(Self.yaml)
        let bad = Array(String(decoding: Self.options(1), as: UTF8.self).replacingOccurrences(of: "CSeq: 1 OPTIONS", with: "CSeq: one OPTIONS").utf8)
        for _ in 0..<5 { h.controller.handleMalformed(bad, error: .badCSeq("one OPTIONS"), from: h.phone) }
        let answers = h.drain()
        #expect(answers.map(\.status) == [400, 400, 400])
        #expect(answers.first?["Warning"]?.contains("CSeq") == true)
        #expect(h.controller.rateLimitedCount == 2)
    }

    @Test("given Require: foo, then the validator's 420 lists it in Unsupported, statelessly")
    func requireGets420() throws {
        let h = try ControllerHarness(Self.yaml)
        let message = try SIPParser().parse(Self.options(2, extra: "Require: foo, timer\r\n"))
        h.receive(message)
        let answers = h.drain()
        #expect(answers.map(\.status) == [420])
        #expect(answers.first?["Unsupported"] == "foo")
        #expect(h.controller.serverTransactions.count == 0)
    }

    @Test("given an ACK that fails validation, then nothing is answered")
    func invalidAckIsDropped() throws {
        let h = try ControllerHarness(Self.yaml)
        let ack = Array(String(decoding: Self.options(3), as: UTF8.self).replacingOccurrences(of: "OPTIONS", with: "ACK")
            .replacingOccurrences(of: "To: <sip:127.0.0.1>", with: "To: <sip:127.0.0.1").utf8)
        h.controller.receive(h.controller.validator.classify(ack), from: h.phone)
        #expect(h.drain().isEmpty)
    }

    @Test("given a cost of several tokens, then it is taken whole, and refused it spends what the bucket held like single calls")
    func rateLimiterCost() {
        var bulk = RateLimiter(requestsPerSecond: 1, burst: 10)
        var single = RateLimiter(requestsPerSecond: 1, burst: 10)
        let bulkFirst = bulk.allow("a", now: 0, cost: 4)
        let singleFirst = (0..<4).map { _ in single.allow("a", now: 0) }
        #expect(bulkFirst && singleFirst.allSatisfy { $0 })
        // 6 tokens left: a cost of 8 is refused; one token at a time, the 7th call is.
        let bulkOver = bulk.allow("a", now: 0, cost: 8)
        let singleOver = (0..<7).map { _ in single.allow("a", now: 0) }
        #expect(!bulkOver)
        #expect(singleOver == [true, true, true, true, true, true, false])
        // Both buckets are empty now and refill alike: one token after a second.
        let refilled = [bulk.allow("a", now: 1_000), single.allow("a", now: 1_000)]
        let emptyAgain = [bulk.allow("a", now: 1_000), single.allow("a", now: 1_000)]
        #expect(refilled == [true, true])
        #expect(emptyAgain == [false, false])
    }

    @Test("given a table of 3 sources, then a fourth is let through untracked and the table stays at 3")
    func rateLimiterTableIsBounded() {
        var limiter = RateLimiter(requestsPerSecond: 1, burst: 1, maxSources: 3)
        let first = ["a", "b", "c"].map { limiter.allow($0, now: 0) }
        let aAgain = limiter.allow("a", now: 0)
        let untracked = (0..<5).map { _ in limiter.allow("d", now: 0) }
        #expect(first == [true, true, true])
        #expect(!aAgain)
        #expect(untracked.allSatisfy { $0 })
        #expect(limiter.trackedSources == 3)
        // After the sweep (10 s idle) there is room again and a new source is tracked.
        let eFirst = limiter.allow("e", now: 20_000)
        let eSecond = limiter.allow("e", now: 20_000)
        #expect(eFirst)
        #expect(!eSecond)
    }
}
