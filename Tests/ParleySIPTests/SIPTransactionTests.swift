import Testing
@testable import ParleySIP

/// Messages for the transaction specifications.
enum TransactionFixtures {
    static func request(_ method: String, branch: String = "z9hG4bK-t1", sentBy: String = "192.0.2.1:5060",
                        cseq: UInt32 = 1, cseqMethod: String? = nil, toTag: String? = nil, via: String? = nil) -> SIPMessage {
        var m = SIPMessage(startLine: .request(method: method, uri: "sip:100@198.51.100.1"))
        m.append("Via", via ?? "SIP/2.0/UDP \(sentBy);branch=\(branch)")
        m.append("Max-Forwards", "70")
        m.append("From", "<sip:alice@192.0.2.1>;tag=from1")
        m.append("To", "<sip:100@198.51.100.1>" + (toTag.map { ";tag=\($0)" } ?? ""))
        m.append("Call-ID", "call-1@192.0.2.1")
        m.append("CSeq", "\(cseq) \(cseqMethod ?? method)")
        m.append("Route", "<sip:proxy.example.com;lr>")
        return m
    }

    static func response(_ status: Int, to request: SIPMessage, toTag: String? = "uas1") -> SIPMessage {
        var r = SIPMessage.transactionResponse(to: request, status: status, reason: "R")
        if let toTag, status > 100 { r.set("To", (request["To"] ?? "") + ";tag=\(toTag)") }
        return r
    }
}

/// Something with timers and the tick/deadline shape, driven like the real driver does.
protocol TimedTransaction {
    var nextDeadline: Int64? { get }
    mutating func tick(now: Int64) -> [SIPTransactionAction]
}

extension SIPServerInviteTransaction: TimedTransaction {}
extension SIPServerNonInviteTransaction: TimedTransaction {}
extension SIPClientInviteTransaction: TimedTransaction {}
extension SIPClientNonInviteTransaction: TimedTransaction {}
extension SIP2xxRetransmitter: TimedTransaction {}

extension TimedTransaction {
    /// Advances the clock from deadline to deadline up to `end` (inclusive), first checking
    /// that one millisecond before each deadline nothing happens. Returns what fired when.
    mutating func run(until end: Int64) -> [(at: Int64, action: SIPTransactionAction)] {
        var log: [(at: Int64, action: SIPTransactionAction)] = []
        while let at = nextDeadline, at <= end {
            let early = tick(now: at - 1)
            #expect(early.isEmpty, "fired before its deadline \(at)")
            log += tick(now: at).map { (at: at, action: $0) }
        }
        return log
    }
}

func sendTimes(_ log: [(at: Int64, action: SIPTransactionAction)]) -> [Int64] {
    log.compactMap { if case .send = $0.action { return $0.at } else { return nil } }
}

func kinds(_ actions: [SIPTransactionAction]) -> [String] {
    actions.map {
        switch $0 {
        case let .send(m): return "send \(m.status.map(String.init) ?? m.method ?? "")"
        case let .passToTU(m): return "tu \(m.status.map(String.init) ?? m.method ?? "")"
        case .timeout: return "timeout"
        case .transportError: return "transport error"
        case .terminated: return "terminated"
        }
    }
}

@Suite("INVITE server transaction (RFC 3261 §17.2.1)")
struct ServerInviteTransactionTests {
    let invite = TransactionFixtures.request("INVITE")

    @Test("Given a silent TU, 100 Trying goes out after 200 ms; a TU that answers first prevents it")
    func trying() {
        var t = SIPServerInviteTransaction(request: invite, transport: .udp, now: 1_000)
        #expect(t.tick(now: 1_199).isEmpty)
        #expect(kinds(t.tick(now: 1_200)) == ["send 100"])

        var quick = SIPServerInviteTransaction(request: invite, transport: .udp, now: 1_000)
        #expect(kinds(quick.respond(TransactionFixtures.response(180, to: invite), now: 1_050)) == ["send 180"])
        #expect(quick.tick(now: 1_200).isEmpty)
        // An INVITE retransmission in Proceeding is answered with the last provisional.
        #expect(kinds(quick.receive(invite, now: 1_300)) == ["send 180"])
    }

    @Test("When the TU sends a 2xx, it is sent and the transaction ends: retransmitting it is the TU's job")
    func success() {
        var t = SIPServerInviteTransaction(request: invite, transport: .udp, now: 0)
        #expect(kinds(t.respond(TransactionFixtures.response(200, to: invite), now: 10)) == ["send 200", "terminated"])
        #expect(t.state == .terminated && t.nextDeadline == nil)
        #expect(t.receive(invite, now: 20).isEmpty)
    }

    @Test("Over UDP a final failure is resent by Timer G at T1, 2T1, 4T1, then every T2, until Timer H at 64×T1")
    func timerGAndH() {
        var t = SIPServerInviteTransaction(request: invite, transport: .udp, now: 0)
        _ = t.respond(TransactionFixtures.response(486, to: invite), now: 1_000)
        #expect(t.state == .completed)
        #expect(t.deadline(of: .g) == 1_500 && t.deadline(of: .h) == 33_000)
        let log = t.run(until: 40_000)
        #expect(sendTimes(log) == [1_500, 2_500, 4_500, 8_500, 12_500, 16_500, 20_500, 24_500, 28_500, 32_500])
        #expect(kinds(log.filter { $0.at == 33_000 }.map(\.action)) == ["timeout", "terminated"])
        #expect(t.state == .terminated)
    }

    @Test("A retransmitted INVITE in Completed gets the final response again")
    func retransmissionInCompleted() {
        var t = SIPServerInviteTransaction(request: invite, transport: .udp, now: 0)
        _ = t.respond(TransactionFixtures.response(486, to: invite), now: 0)
        #expect(kinds(t.receive(invite, now: 100)) == ["send 486"])
    }

    @Test("The ACK moves it to Confirmed: Timer G and H stop, ACKs are absorbed, Timer I (T4) ends it")
    func confirmed() {
        var t = SIPServerInviteTransaction(request: invite, transport: .udp, now: 0)
        _ = t.respond(TransactionFixtures.response(486, to: invite), now: 0)
        _ = t.tick(now: 500)
        let ack = TransactionFixtures.request("ACK", cseqMethod: "ACK", toTag: "uas1")
        #expect(t.receive(ack, now: 700).isEmpty)
        #expect(t.state == .confirmed && t.deadline(of: .g) == nil && t.deadline(of: .h) == nil)
        #expect(t.deadline(of: .i) == 5_700)
        #expect(t.receive(ack, now: 800).isEmpty && t.receive(invite, now: 900).isEmpty)
        let log = t.run(until: 10_000)
        #expect(log.map(\.at) == [5_700] && kinds(log.map(\.action)) == ["terminated"])
    }

    @Test("Over TCP nothing is retransmitted, Timer H still runs, and Timer I is zero")
    func reliable() {
        var t = SIPServerInviteTransaction(request: invite, transport: .tcp, now: 0)
        _ = t.respond(TransactionFixtures.response(603, to: invite), now: 0)
        #expect(t.deadline(of: .g) == nil && t.deadline(of: .h) == 32_000)
        let ack = TransactionFixtures.request("ACK", cseqMethod: "ACK", toTag: "uas1")
        #expect(kinds(t.receive(ack, now: 100)) == ["terminated"])

        var lost = SIPServerInviteTransaction(request: invite, transport: .tcp, now: 0)
        _ = lost.respond(TransactionFixtures.response(603, to: invite), now: 0)
        let log = lost.run(until: 40_000)
        #expect(log.map(\.at) == [32_000, 32_000] && kinds(log.map(\.action)) == ["timeout", "terminated"])
    }
}

@Suite("CANCEL and transport errors (RFC 3261 §9.2, §17.1.4, §17.2.4)")
struct CancelAndTransportErrorTests {
    typealias F = TransactionFixtures

    @Test("Given an INVITE in Proceeding, a CANCEL finds it; the 487 goes through the INVITE transaction and the ACK confirms it")
    func cancel() throws {
        let invite = F.request("INVITE")
        var table: [SIPTransactionKey: SIPServerInviteTransaction] = [:]
        let inviteKey = try #require(SIPTransactionKey(request: invite))
        table[inviteKey] = SIPServerInviteTransaction(request: invite, transport: .udp, now: 0)
        _ = table[inviteKey]?.respond(F.response(180, to: invite), now: 10)

        // The CANCEL is a non-INVITE transaction of its own, answered 200 at once…
        let cancel = F.request("CANCEL", cseqMethod: "CANCEL")
        var cancelTransaction = SIPServerNonInviteTransaction(request: cancel, transport: .udp, now: 1_000)
        #expect(kinds(cancelTransaction.respond(F.response(200, to: cancel), now: 1_000)) == ["send 200"])
        // …and names the INVITE transaction, which the TU ends with 487 (§9.2).
        let target = try #require(SIPTransactionKey(cancelledBy: cancel))
        #expect(table[target] != nil)
        #expect(kinds(table[target]?.respond(F.response(487, to: invite), now: 1_000) ?? []) == ["send 487"])
        let ack = F.request("ACK", cseqMethod: "ACK", toTag: "uas1")
        #expect(table[try #require(SIPTransactionKey(request: ack))]?.receive(ack, now: 1_100).isEmpty == true)
        #expect(table[target]?.state == .confirmed)
    }

    @Test("A transport error ends any transaction and tells the TU")
    func transportError() {
        let invite = F.request("INVITE")
        var client = SIPClientInviteTransaction.start(request: invite, transport: .tcp, now: 0).0
        #expect(kinds(client.transportError(now: 1)) == ["transport error", "terminated"])
        #expect(client.state == .terminated && client.nextDeadline == nil && client.transportError(now: 2).isEmpty)
        var server = SIPServerNonInviteTransaction(request: F.request("BYE"), transport: .udp, now: 0)
        #expect(kinds(server.transportError(now: 1)) == ["transport error", "terminated"])
    }
}

@Suite("2xx retransmission by the UAS core (RFC 3261 §13.3.1.4)")
struct SIP2xxRetransmitterTests {
    let ok = TransactionFixtures.response(200, to: TransactionFixtures.request("INVITE"))

    @Test("Given no ACK, the 2xx is resent at T1 doubling to T2, and after 64×T1 the TU is told")
    func noAck() {
        var r = SIP2xxRetransmitter(response: ok, now: 0)
        let log = r.run(until: 60_000)
        #expect(sendTimes(log) == [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500])
        #expect(log.last?.at == 32_000 && log.last?.action == .timeout)
        #expect(r.state == .timedOut && r.nextDeadline == nil)
    }

    @Test("When the ACK arrives, retransmission stops")
    func ack() {
        var r = SIP2xxRetransmitter(response: ok, now: 0)
        #expect(r.tick(now: 500) == [.send(ok)])
        r.ackReceived()
        #expect(r.state == .acknowledged && r.nextDeadline == nil && r.tick(now: 1_500).isEmpty)
    }
}

@Suite("Non-INVITE server transaction (RFC 3261 §17.2.2)")
struct ServerNonInviteTransactionTests {
    let bye = TransactionFixtures.request("BYE", toTag: "uas1")

    @Test("Retransmissions are absorbed in Trying and answered with the last response afterwards")
    func retransmissions() {
        var t = SIPServerNonInviteTransaction(request: bye, transport: .udp, now: 0)
        #expect(t.receive(bye, now: 500).isEmpty)
        #expect(kinds(t.respond(TransactionFixtures.response(100, to: bye), now: 600)) == ["send 100"])
        #expect(t.state == .proceeding)
        #expect(kinds(t.receive(bye, now: 1_500)) == ["send 100"])
        #expect(kinds(t.respond(TransactionFixtures.response(200, to: bye), now: 1_600)) == ["send 200"])
        #expect(t.state == .completed)
        #expect(kinds(t.receive(bye, now: 3_500)) == ["send 200"])
        // A second final response from the TU is discarded.
        #expect(t.respond(TransactionFixtures.response(500, to: bye), now: 3_600).isEmpty)
    }

    @Test("Over UDP Timer J (64×T1) ends Completed; over TCP it is zero")
    func timerJ() {
        var t = SIPServerNonInviteTransaction(request: bye, transport: .udp, now: 0)
        _ = t.respond(TransactionFixtures.response(200, to: bye), now: 100)
        #expect(t.deadline(of: .j) == 32_100)
        let log = t.run(until: 40_000)
        #expect(log.map(\.at) == [32_100] && kinds(log.map(\.action)) == ["terminated"])

        var tcp = SIPServerNonInviteTransaction(request: bye, transport: .tcp, now: 0)
        #expect(kinds(tcp.respond(TransactionFixtures.response(200, to: bye), now: 100)) == ["send 200", "terminated"])
        #expect(tcp.nextDeadline == nil)
    }
}

@Suite("Non-INVITE client transaction (RFC 3261 §17.1.2)")
struct ClientNonInviteTransactionTests {
    let bye = TransactionFixtures.request("BYE", toTag: "uas1")

    @Test("Given no response over UDP, Timer E resends doubling to T2 and Timer F times out at 64×T1")
    func timerEAndF() {
        let (started, first) = SIPClientNonInviteTransaction.start(request: bye, transport: .udp, now: 0)
        var t = started
        #expect(first == [.send(bye)])
        let log = t.run(until: 40_000)
        #expect(sendTimes(log) == [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500])
        #expect(log.suffix(2).map(\.at) == [32_000, 32_000] && kinds(log.suffix(2).map(\.action)) == ["timeout", "terminated"])
    }

    @Test("In Proceeding Timer E fires every T2; a final response goes to the TU and Timer K (T4) ends Completed")
    func proceedingAndK() {
        var t = SIPClientNonInviteTransaction.start(request: bye, transport: .udp, now: 0).0
        _ = t.tick(now: 500)                      // E: next at 1 500
        #expect(kinds(t.receive(TransactionFixtures.response(100, to: bye), now: 600)) == ["tu 100"])
        #expect(t.tick(now: 1_500) == [.send(bye)])
        #expect(t.deadline(of: .e) == 5_500)      // T2 from now on
        #expect(t.tick(now: 5_500) == [.send(bye)] && t.deadline(of: .e) == 9_500)
        #expect(kinds(t.receive(TransactionFixtures.response(200, to: bye), now: 6_000)) == ["tu 200"])
        #expect(t.state == .completed && t.deadline(of: .e) == nil && t.deadline(of: .f) == nil)
        // Retransmitted responses are absorbed.
        #expect(t.receive(TransactionFixtures.response(200, to: bye), now: 6_100).isEmpty)
        let log = t.run(until: 20_000)
        #expect(log.map(\.at) == [11_000] && kinds(log.map(\.action)) == ["terminated"])
    }

    @Test("Over TCP there is no Timer E, Timer F still runs, and Timer K is zero")
    func reliable() {
        var t = SIPClientNonInviteTransaction.start(request: bye, transport: .tcp, now: 0).0
        #expect(t.deadline(of: .e) == nil && t.deadline(of: .f) == 32_000)
        #expect(kinds(t.receive(TransactionFixtures.response(200, to: bye), now: 50)) == ["tu 200", "terminated"])
        var silent = SIPClientNonInviteTransaction.start(request: bye, transport: .tcp, now: 0).0
        #expect(kinds(silent.run(until: 40_000).map(\.action)) == ["timeout", "terminated"])
    }
}

@Suite("INVITE client transaction (RFC 3261 §17.1.1)")
struct ClientInviteTransactionTests {
    let invite = TransactionFixtures.request("INVITE")

    @Test("Given no response over UDP, Timer A resends at doubling intervals and Timer B times out at 64×T1")
    func timerAAndB() {
        let (started, first) = SIPClientInviteTransaction.start(request: invite, transport: .udp, now: 0)
        var t = started
        #expect(first == [.send(invite)])
        let log = t.run(until: 40_000)
        #expect(sendTimes(log) == [500, 1_500, 3_500, 7_500, 15_500, 31_500])
        #expect(log.suffix(2).map(\.at) == [32_000, 32_000] && kinds(log.suffix(2).map(\.action)) == ["timeout", "terminated"])
    }

    @Test("A provisional response stops Timer A and B; a 2xx goes to the TU and ends the transaction")
    func provisionalThenSuccess() {
        var t = SIPClientInviteTransaction.start(request: invite, transport: .udp, now: 0).0
        #expect(kinds(t.receive(TransactionFixtures.response(180, to: invite), now: 100)) == ["tu 180"])
        #expect(t.state == .proceeding && t.nextDeadline == nil)
        #expect(kinds(t.receive(TransactionFixtures.response(200, to: invite), now: 5_000)) == ["tu 200", "terminated"])
    }

    @Test("A failure is ACKed (§17.1.1.3) and passed up once; its retransmissions get the ACK again; Timer D ends it")
    func failure() throws {
        var t = SIPClientInviteTransaction.start(request: invite, transport: .udp, now: 0).0
        let busy = TransactionFixtures.response(486, to: invite, toTag: "busy1")
        let actions = t.receive(busy, now: 1_000)
        #expect(kinds(actions) == ["send ACK", "tu 486"])
        guard case let .send(ack) = actions.first else { Issue.record("no ACK"); return }
        #expect(ack.requestURI == invite.requestURI && ack.values("Via") == [invite["Via"] ?? ""])
        #expect(ack["To"] == busy["To"] && ack["From"] == invite["From"] && ack.callID == invite.callID)
        #expect(ack["CSeq"] == "1 ACK" && ack["Route"] == invite["Route"] && ack.body.isEmpty)
        // The ACK finds the server transaction of the INVITE.
        #expect(SIPTransactionKey(request: ack) == SIPTransactionKey(request: invite))

        #expect(t.deadline(of: .d) == 33_000)
        #expect(t.receive(busy, now: 1_500) == [.send(ack)])
        let log = t.run(until: 40_000)
        #expect(log.map(\.at) == [33_000] && kinds(log.map(\.action)) == ["terminated"])
    }

    @Test("Over TCP there is no Timer A, and Timer D is zero")
    func reliable() {
        var t = SIPClientInviteTransaction.start(request: invite, transport: .tcp, now: 0).0
        #expect(t.deadline(of: .a) == nil && t.deadline(of: .b) == 32_000)
        #expect(kinds(t.receive(TransactionFixtures.response(404, to: invite), now: 10)) == ["send ACK", "tu 404", "terminated"])
    }
}

@Suite("Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3)")
struct SIPTransactionKeyTests {
    typealias F = TransactionFixtures

    @Test("A retransmitted request finds its transaction; another branch, sent-by or method does not")
    func serverMatching() {
        let invite = F.request("INVITE")
        #expect(SIPTransactionKey(request: invite) == SIPTransactionKey(request: F.request("INVITE")))
        #expect(SIPTransactionKey(request: invite) != SIPTransactionKey(request: F.request("INVITE", branch: "z9hG4bK-t2")))
        #expect(SIPTransactionKey(request: invite) != SIPTransactionKey(request: F.request("INVITE", sentBy: "192.0.2.9:5060")))
        #expect(SIPTransactionKey(request: F.request("OPTIONS")) != SIPTransactionKey(request: F.request("BYE")))
    }

    @Test("ACK maps to the INVITE; CANCEL is its own transaction but names the INVITE it cancels")
    func ackAndCancel() {
        let invite = F.request("INVITE")
        let ack = F.request("ACK", cseqMethod: "ACK", toTag: "uas1")
        let cancel = F.request("CANCEL", cseqMethod: "CANCEL")
        #expect(SIPTransactionKey(request: ack) == SIPTransactionKey(request: invite))
        #expect(SIPTransactionKey(request: cancel) != SIPTransactionKey(request: invite))
        #expect(SIPTransactionKey(cancelledBy: cancel) == SIPTransactionKey(request: invite))
        #expect(SIPTransactionKey(cancelledBy: invite) == nil)
    }

    @Test("RFC 2543 peers (no cookie, or the bare cookie of RFC 4475 §3.2.1) are matched on the request's identity")
    func rfc2543() throws {
        let old = "SIP/2.0/UDP 192.0.2.7:5060"
        let invite = F.request("INVITE", via: old)
        let ack = F.request("ACK", cseqMethod: "ACK", toTag: "uas1", via: old)
        let cancel = F.request("CANCEL", cseqMethod: "CANCEL", via: old)
        #expect(SIPTransactionKey(request: ack) == SIPTransactionKey(request: invite))
        #expect(SIPTransactionKey(cancelledBy: cancel) == SIPTransactionKey(request: invite))
        #expect(SIPTransactionKey(request: F.request("INVITE", cseq: 2, via: old)) != SIPTransactionKey(request: invite))
        // Non-INVITE: the To tag counts.
        #expect(SIPTransactionKey(request: F.request("BYE", toTag: "a", via: old)) != SIPTransactionKey(request: F.request("BYE", toTag: "b", via: old)))

        let badbranch = try SIPParser().parse(try TortureFixtures.bytes("valid", "badbranch"))
        let key = try #require(SIPTransactionKey(request: badbranch))
        guard case .rfc2543 = key.identity else { Issue.record("bare cookie used as a branch: \(key)"); return }
    }

    @Test("A response finds the client transaction by branch and CSeq method")
    func clientMatching() {
        let invite = F.request("INVITE")
        let cancel = F.request("CANCEL", cseqMethod: "CANCEL")
        #expect(SIPTransactionKey(response: F.response(180, to: invite)) == SIPTransactionKey(sentRequest: invite))
        // The 200 for the CANCEL shares the branch but not the method.
        #expect(SIPTransactionKey(response: F.response(200, to: cancel)) == SIPTransactionKey(sentRequest: cancel))
        #expect(SIPTransactionKey(response: F.response(200, to: cancel)) != SIPTransactionKey(sentRequest: invite))
        #expect(SIPTransactionKey(response: invite) == nil)
    }
}
