import ParleyTestSupport
import Testing
@testable import ParleySIP

func performServer(_ outputs: [SIPServerTransactionTable<String>.Output]) -> [String] {
    outputs.map {
        switch $0 {
        case let .send(m, destination): return "\(m.status ?? 0) → \(destination)"
        case let .timeout(request): return "timeout \(request.method ?? "")"
        case let .overloaded(request, destination): return "overloaded \(request.method ?? "") ← \(destination)"
        }
    }
}

struct ServerTransactionTableTests {
    let invite = TransactionFixtures.request("INVITE", branch: "z9hG4bK-inv1")

    @Test func givenAFullTableThenANewRequestIsOverloadedButRetransmissionsAndACKsStillWork() {
        var table = SIPServerTransactionTable<String>(capacity: 2)
        let first = TransactionFixtures.request("OPTIONS", branch: "z9hG4bK-o1")
        #expect(table.receive(first, from: "a", transport: .udp, now: 0) == nil)
        #expect(table.receive(invite, from: "b", transport: .udp, now: 0) == nil)
        let third = TransactionFixtures.request("OPTIONS", branch: "z9hG4bK-o3")
        // When: a third transaction would start. Then: none is made; the driver answers 503.
        #expect(table.receive(third, from: "c", transport: .udp, now: 1).map(performServer) == ["overloaded OPTIONS ← c"])
        #expect(table.count == 2)
        // A retransmission of a known request is still answered from its transaction.
        _ = table.respond(TransactionFixtures.response(200, to: first), now: 2)
        #expect(table.receive(first, from: "a", transport: .udp, now: 3).map(performServer) == ["200 → a"])
        // Once a transaction ends, there is room again (non-INVITE over UDP: Timer J, 64*T1).
        _ = table.tick(now: 2 + 32_000)
        #expect(table.receive(third, from: "c", transport: .udp, now: 32_010) == nil)
    }

    @Test func givenManyTransactionsThenTheTimersFireInDeadlineOrderAndOnlyWhenDue() {
        // Seeded: 500 OPTIONS answered at scattered times; each lingers exactly Timer J (32 s).
        var rng = SeededRandom(seed: 42)
        var table = SIPServerTransactionTable<String>()
        var answeredAt: [Int64] = []
        for i in 0..<500 {
            let now = Int64(rng.next() % 10_000)
            let request = TransactionFixtures.request("OPTIONS", branch: "z9hG4bK-m\(i)")
            _ = table.receive(request, from: "p", transport: .udp, now: now)
            _ = table.respond(TransactionFixtures.response(200, to: request), now: now)
            answeredAt.append(now)
        }
        #expect(table.count == 500)
        #expect(table.nextDeadline == answeredAt.min()! + 32_000)
        // Half-way: exactly those whose Timer J has passed are gone.
        let cut: Int64 = 5_000 + 32_000
        _ = table.tick(now: cut)
        #expect(table.count == answeredAt.filter { $0 + 32_000 > cut }.count)
        #expect(table.nextDeadline == answeredAt.filter { $0 + 32_000 > cut }.min().map { $0 + 32_000 })
        _ = table.tick(now: 50_000)
        #expect(table.count == 0 && table.nextDeadline == nil)
    }

    @Test func givenANewRequestThenItGoesToTheTUAndItsRetransmissionIsAnsweredFromTheTransaction() {
        var table = SIPServerTransactionTable<String>()
        #expect(table.receive(invite, from: "caller", transport: .udp, now: 0) == nil)
        #expect(table.respond(TransactionFixtures.response(100, to: invite), now: 1).map(performServer) == ["100 → caller"])
        // A retransmitted INVITE: the last response again, not the TU.
        #expect(table.receive(invite, from: "caller", transport: .udp, now: 500).map(performServer) == ["100 → caller"])
    }

    @Test func givenAFailureToAnINVITEOverUDPThenTimerGResendsItUntilTheACK() {
        var table = SIPServerTransactionTable<String>()
        _ = table.receive(invite, from: "caller", transport: .udp, now: 0)
        let busy = TransactionFixtures.response(486, to: invite)
        #expect(table.respond(busy, now: 0).map(performServer) == ["486 → caller"])
        #expect(performServer(table.tick(now: 499)).isEmpty)
        #expect(performServer(table.tick(now: 500)) == ["486 → caller"])
        #expect(performServer(table.tick(now: 1_500)) == ["486 → caller"])
        let ack = TransactionFixtures.request("ACK", branch: "z9hG4bK-inv1", cseqMethod: "ACK", toTag: "uas1")
        #expect(table.receive(ack, from: "caller", transport: .udp, now: 1_600).map(performServer) == [])
        #expect(performServer(table.tick(now: 3_500)).isEmpty)
        // Timer I (T4) ends it.
        _ = table.tick(now: 6_600)
        #expect(table.count == 0)
    }

    @Test func givenNoACKThenTimerHReportsATimeout() {
        var table = SIPServerTransactionTable<String>()
        _ = table.receive(invite, from: "caller", transport: .tcp, now: 0)
        _ = table.respond(TransactionFixtures.response(404, to: invite), now: 0)
        #expect(performServer(table.tick(now: 31_999)).isEmpty)   // TCP: no Timer G
        #expect(performServer(table.tick(now: 32_000)) == ["timeout INVITE"])
        #expect(table.count == 0)
    }

    @Test func givenAResponseThatNoTransactionSentThenRespondReturnsNil() {
        var table = SIPServerTransactionTable<String>()
        let other = TransactionFixtures.request("BYE", branch: "z9hG4bK-x")
        #expect(table.respond(TransactionFixtures.response(200, to: other), now: 0) == nil)
    }

    @Test func givenA2xxACKThenItIsNotAbsorbedAndStartsNoTransaction() {
        var table = SIPServerTransactionTable<String>()
        _ = table.receive(invite, from: "caller", transport: .udp, now: 0)
        _ = table.respond(TransactionFixtures.response(200, to: invite), now: 0)
        #expect(table.count == 0)   // a 2xx ends the INVITE server transaction
        let ack = TransactionFixtures.request("ACK", branch: "z9hG4bK-ack2", cseqMethod: "ACK", toTag: "uas1")
        #expect(table.receive(ack, from: "caller", transport: .udp, now: 10) == nil)
        #expect(table.count == 0)
    }

    @Test func givenARequestTheTUNeverAnswersThenItIsForgottenAfter64T1() {
        var table = SIPServerTransactionTable<String>()
        let info = TransactionFixtures.request("INFO", branch: "z9hG4bK-info")
        _ = table.receive(info, from: "caller", transport: .udp, now: 0)
        #expect(table.nextDeadline == 32_000)
        _ = table.tick(now: 32_000)
        #expect(table.count == 0)
    }

    @Test func givenANonINVITEThenTheFinalIsResentForRetransmissionsUntilTimerJ() {
        var table = SIPServerTransactionTable<String>()
        let bye = TransactionFixtures.request("BYE", branch: "z9hG4bK-bye", cseq: 2)
        _ = table.receive(bye, from: "caller", transport: .udp, now: 0)
        _ = table.respond(TransactionFixtures.response(200, to: bye), now: 0)
        #expect(table.receive(bye, from: "caller", transport: .udp, now: 1_000).map(performServer) == ["200 → caller"])
        _ = table.tick(now: 32_000)
        #expect(table.count == 0)
        #expect(table.receive(bye, from: "caller", transport: .udp, now: 32_001) == nil)
    }
}
