import Testing
@testable import ParleySIP

/// Collects what the table reports to the transaction user.
final class EventRecorder: @unchecked Sendable {
    var events: [SIPClientTransactionTable<String>.Event] = []
    var handler: SIPClientTransactionTable<String>.Handler { { self.events.append($0) } }
}

/// Performs outputs like the driver: returns what was sent where, reports to the TU.
func perform(_ outputs: [SIPClientTransactionTable<String>.Output]) -> [String] {
    var sent: [String] = []
    for output in outputs {
        switch output {
        case let .send(m, destination): sent.append("\(m.method ?? "\(m.status ?? 0)") → \(destination)")
        case let .report(handler, event): handler(event)
        }
    }
    return sent
}

struct ClientTransactionTableTests {
    let bye = TransactionFixtures.request("BYE", branch: "z9hG4bK-bye1", cseq: 2)

    @Test func givenABYEOverUDPWhenNoAnswerComesThenTimerERetransmitsAndTimerFReportsTimeout() {
        var table = SIPClientTransactionTable<String>()
        let tu = EventRecorder()
        #expect(perform(table.start(bye, to: "caller", transport: .udp, now: 0, handler: tu.handler)) == ["BYE → caller"])
        var sendTimes: [Int64] = []
        while let at = table.nextDeadline, at <= 40_000 {
            #expect(perform(table.tick(now: at - 1)).isEmpty)
            sendTimes += perform(table.tick(now: at)).map { _ in at }
        }
        // §17.1.2.2: 500, 1000, 2000, then every T2 (4 s) until Timer F at 64 × T1.
        #expect(sendTimes == [500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500])
        #expect(tu.events == [.timeout])
        #expect(table.count == 0)
        #expect(tu.events.first?.finalStatus == 408)
    }

    @Test func givenABYEOverTCPThenNothingIsRetransmitted() {
        var table = SIPClientTransactionTable<String>()
        let tu = EventRecorder()
        _ = perform(table.start(bye, to: "caller", transport: .tcp, now: 0, handler: tu.handler))
        #expect(table.nextDeadline == 32_000)
        #expect(perform(table.tick(now: 31_999)).isEmpty)
        #expect(perform(table.tick(now: 32_000)).isEmpty)
        #expect(tu.events == [.timeout])
    }

    @Test func givenABYEWhenTheResponseMatchesItsBranchThenTheTUHearsItOnceAndRetransmissionsStop() {
        var table = SIPClientTransactionTable<String>()
        let tu = EventRecorder()
        _ = perform(table.start(bye, to: "caller", transport: .udp, now: 0, handler: tu.handler))
        let ok = TransactionFixtures.response(200, to: bye)
        #expect(table.receive(ok, now: 100).map(perform) == [])
        #expect(table.receive(ok, now: 200).map(perform) == [])   // retransmitted 200: absorbed
        #expect(tu.events == [.final(ok)])
        // Timer K (T4) then ends it; no retransmission of the BYE in between.
        #expect(perform(table.tick(now: 5_100)).isEmpty)
        #expect(table.count == 0)
    }

    @Test func givenAResponseWithAnotherBranchOrMethodThenItMatchesNothing() {
        var table = SIPClientTransactionTable<String>()
        _ = perform(table.start(bye, to: "caller", transport: .udp, now: 0, handler: nil))
        let other = TransactionFixtures.request("BYE", branch: "z9hG4bK-other", cseq: 2)
        #expect(table.receive(TransactionFixtures.response(200, to: other), now: 10) == nil)
        let sameBranchOtherMethod = TransactionFixtures.request("BYE", branch: "z9hG4bK-bye1", cseq: 2, cseqMethod: "INFO")
        #expect(table.receive(TransactionFixtures.response(200, to: sameBranchOtherMethod), now: 10) == nil)
        #expect(table.count == 1)
    }

    @Test func givenARefusedINVITEThenTheTableACKsItAndReportsTheFailure() {
        var table = SIPClientTransactionTable<String>()
        let tu = EventRecorder()
        let invite = TransactionFixtures.request("INVITE", branch: "z9hG4bK-re1", cseq: 3)
        _ = perform(table.start(invite, to: "caller", transport: .udp, now: 0, handler: tu.handler))
        let busy = TransactionFixtures.response(486, to: invite)
        #expect(table.receive(busy, now: 50).map(perform) == ["ACK → caller"])
        #expect(tu.events == [.final(busy)])
        #expect(tu.events.first?.finalStatus == 486)
    }

    @Test func givenTwoTransactionsThenEachResponseReachesItsOwnHandler() {
        var table = SIPClientTransactionTable<String>()
        let first = EventRecorder(), second = EventRecorder()
        let refer = TransactionFixtures.request("REFER", branch: "z9hG4bK-refer", cseq: 3)
        _ = perform(table.start(bye, to: "a", transport: .udp, now: 0, handler: first.handler))
        _ = perform(table.start(refer, to: "b", transport: .udp, now: 0, handler: second.handler))
        let accepted = TransactionFixtures.response(202, to: refer)
        _ = table.receive(accepted, now: 10).map(perform)
        #expect(first.events.isEmpty)
        #expect(second.events == [.final(accepted)])
        // The BYE still retransmits to its own destination.
        #expect(perform(table.tick(now: 500)) == ["BYE → a"])
    }
}
