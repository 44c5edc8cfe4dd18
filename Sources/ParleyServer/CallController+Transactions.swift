import NIOCore
import ParleySIP

/// The transaction layer in the call path (RFC 3261 §17), driven on the SIP event loop:
///
/// - Requests we receive: each gets a server transaction (`SIPServerTransactionTable`)
///   before the call logic sees it; retransmissions are answered from it and never reach
///   the call logic again; final failures to INVITE are retransmitted over UDP until the ACK
///   (Timer G, Timer H), which is absorbed. Every response the controller sends passes
///   through `respond`, so no handler needs to remember its responses.
/// - Requests we send (BYE, REFER, NOTIFY, re-INVITE): a client transaction each
///   (`SIPClientTransactionTable`), retransmitted over UDP (Timer A/E), not over TCP, given
///   up after 64 × T1 (Timer B/F), responses matched by our Via branch.
/// - Our 2xx to an INVITE: `SIP2xxRetransmitter` until the ACK (§13.3.1.4); none in 64 × T1
///   ends the call with BYE.
///
/// One loop timer at the earliest deadline of both tables serves all transactions.
extension CallController {
    typealias ClientEvent = SIPClientTransactionTable<SIPPeer>.Event

    /// Milliseconds on the loop's clock, which the transaction timers use (a test loop injects its own).
    var nowMilliseconds: Int64 { Int64(loop.now.uptimeNanoseconds / 1_000_000) }

    // MARK: Server side

    /// Runs a received request through its server transaction. True when it belonged to one
    /// (a retransmission, or the ACK of a failure response) and is dealt with; false when it
    /// is new and the call logic must handle it.
    func absorbedByServerTransaction(_ request: SIPMessage, from source: SIPPeer) -> Bool {
        let transport: ParleySIP.SIPTransport = source.connection == nil ? .udp : .tcp
        guard let outputs = serverTransactions.receive(request, from: source, transport: transport, now: nowMilliseconds) else {
            return false
        }
        perform(outputs)
        return true
    }

    /// What the controller's `send` does: responses through their server transaction (which
    /// keeps them for retransmissions), everything else straight to the transport.
    func sendThroughTransactions(_ message: SIPMessage, to peer: SIPPeer) {
        guard message.status != nil, let outputs = serverTransactions.respond(message, now: nowMilliseconds) else {
            return transportSend(message, peer)
        }
        perform(outputs)
    }

    /// The transaction table is full: a stateless 503 with Retry-After (RFC 3261 §21.5.4),
    /// counted, and at most one log line every 10 s.
    private func refuseOverloaded(_ request: SIPMessage, peer: SIPPeer) {
        overloadRefusals += 1
        ParleyMetrics.sipOverloadRefused()
        let now = nowMilliseconds
        if now - lastOverloadLog >= 10_000 {
            lastOverloadLog = now
            logger.warning("SIP transaction table full: new requests get 503", metadata: [
                "max_transactions": "\(serverTransactions.capacity)", "refused_so_far": "\(overloadRefusals)"])
        }
        var response = SIPResponses.response(to: request, status: 503, reason: "Service Unavailable")
        response.append("Retry-After", "5")
        response.append("Content-Length", "0")
        transportSend(response, peer)
    }

    private func perform(_ outputs: [SIPServerTransactionTable<SIPPeer>.Output]) {
        for output in outputs {
            switch output {
            case let .send(message, peer): transportSend(message, peer)
            case let .timeout(request):
                logger.debug("no ACK for a final failure response (Timer H)", metadata: ["call-id": "\(request.callID ?? "")"])
            case let .overloaded(request, peer):
                refuseOverloaded(request, peer: peer)
            }
        }
        armTransactionTimer()
    }

    // MARK: Client side

    /// Sends `request` to `peer` in a new client transaction; `handler` hears provisional
    /// responses, the final one (once), or the timeout.
    func startClientTransaction(_ request: SIPMessage, to peer: SIPPeer, handler: ((ClientEvent) -> Void)? = nil) {
        let transport: ParleySIP.SIPTransport = peer.connection == nil ? .udp : .tcp
        perform(clientTransactions.start(request, to: peer, transport: transport, now: nowMilliseconds, handler: handler))
    }

    /// A response: to its client transaction, or dropped as a stray (§17.1.3, §18.1.2).
    func handleResponse(_ response: SIPMessage) {
        guard let outputs = clientTransactions.receive(response, now: nowMilliseconds) else {
            if resendACK(for: response) { return }
            logger.debug("response matches no transaction; dropped", metadata: [
                "status": "\(response.status ?? 0)", "call-id": "\(response.callID ?? "")"])
            return
        }
        perform(outputs)
    }

    private func perform(_ outputs: [SIPClientTransactionTable<SIPPeer>.Output]) {
        for output in outputs {
            switch output {
            case let .send(message, peer): transportSend(message, peer)
            case let .report(handler, event): handler(event)
            }
        }
        armTransactionTimer()
    }

    /// Keeps the one loop timer at the earliest deadline of both tables.
    private func armTransactionTimer() {
        let deadline = [clientTransactions.nextDeadline, serverTransactions.nextDeadline].compactMap { $0 }.min()
        guard deadline != transactionTimerDeadline else { return }
        transactionTimer?.cancel()
        transactionTimer = nil
        transactionTimerDeadline = deadline
        guard let deadline else { return }
        transactionTimer = loop.scheduleTask(in: .milliseconds(max(0, deadline - nowMilliseconds))) { [weak self] in
            guard let self else { return }
            self.transactionTimer = nil
            self.transactionTimerDeadline = nil
            let now = self.nowMilliseconds
            self.perform(self.serverTransactions.tick(now: now))
            self.perform(self.clientTransactions.tick(now: now))
        }
    }

    // MARK: 2xx until ACK

    /// Starts retransmitting the 2xx `response` to the call's INVITE or re-INVITE until its ACK
    /// (§13.3.1.4): T1, doubling up to T2; without an ACK in 64 × T1 the call ends with BYE.
    func retransmitUntilACK(_ call: Call, _ response: SIPMessage) {
        call.okRetransmitter = SIP2xxRetransmitter(response: response, now: nowMilliseconds)
        scheduleOKRetransmission(call)
    }

    /// The ACK for our 2xx arrived: stop.
    func stopRetransmitting(_ call: Call) {
        call.okRetransmitter?.ackReceived()
        call.okTimer?.cancel()
        call.okTimer = nil
    }

    private func scheduleOKRetransmission(_ call: Call) {
        call.okTimer?.cancel()
        guard let deadline = call.okRetransmitter?.nextDeadline else { return }
        call.okTimer = loop.scheduleTask(in: .milliseconds(max(0, deadline - nowMilliseconds))) { [weak self] in
            guard let self, call.state == .answered || call.state == .confirmed, var retransmitter = call.okRetransmitter else { return }
            let actions = retransmitter.tick(now: self.nowMilliseconds)
            call.okRetransmitter = retransmitter
            for action in actions {
                switch action {
                case let .send(response): self.transportSend(response, call.source)
                case .timeout:
                    call.logger.warning("no ACK for 200 OK; ending the call")
                    self.sendBye(call)
                    self.end(call, cause: "no-ack")
                    return
                default: break
                }
            }
            self.scheduleOKRetransmission(call)
        }
    }
}
