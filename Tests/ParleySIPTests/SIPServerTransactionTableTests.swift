import Testing
@testable import ParleySIP

func performServer(_ outputs: [SIPServerTransactionTable<String>.Output]) -> [String] {
    outputs.map {
        switch $0 {
        case let .send(m, destination): return "\(m.status ?? 0) → \(destination)"
        case let .timeout(request): return "timeout \(request.method ?? "")"
        }
    }
}

struct ServerTransactionTableTests {
    let invite = TransactionFixtures.request("INVITE", branch: "z9hG4bK-inv1")

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
