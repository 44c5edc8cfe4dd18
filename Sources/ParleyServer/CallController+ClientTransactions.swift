import NIOCore
import ParleySIP

/// The driver of our client transactions (RFC 3261 §17.1): every request Parley sends (BYE,
/// REFER, NOTIFY, re-INVITE) goes through `SIPClientTransactionTable`, which retransmits it over
/// UDP (Timer A/E), not over TCP, gives up after 64 × T1 (Timer B/F) and matches responses by
/// our Via branch. One timer on the SIP loop at the table's next deadline serves them all.
///
/// Runs on the SIP event loop, like the rest of the controller.
extension CallController {
    typealias ClientEvent = SIPClientTransactionTable<SIPPeer>.Event

    /// Milliseconds on the monotonic clock the transaction timers use.
    var nowMilliseconds: Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    /// Sends `request` to `peer` in a new client transaction; `handler` hears provisional
    /// responses, the final one (once), or the timeout.
    func startClientTransaction(_ request: SIPMessage, to peer: SIPPeer, handler: ((ClientEvent) -> Void)? = nil) {
        let transport: ParleySIP.SIPTransport = peer.connection == nil ? .udp : .tcp
        perform(clientTransactions.start(request, to: peer, transport: transport, now: nowMilliseconds, handler: handler))
    }

    /// A response: to its client transaction, or dropped as a stray (§17.1.3, §18.1.2).
    func handleResponse(_ response: SIPMessage) {
        guard let outputs = clientTransactions.receive(response, now: nowMilliseconds) else {
            logger.debug("response matches no transaction; dropped", metadata: [
                "status": "\(response.status ?? 0)", "call-id": "\(response.callID ?? "")"])
            return
        }
        perform(outputs)
    }

    private func perform(_ outputs: [SIPClientTransactionTable<SIPPeer>.Output]) {
        for output in outputs {
            switch output {
            case let .send(message, peer): send(message, peer)
            case let .report(handler, event): handler(event)
            }
        }
        armClientTimer()
    }

    /// Keeps the one loop timer at the table's earliest deadline.
    private func armClientTimer() {
        let deadline = clientTransactions.nextDeadline
        guard deadline != clientTimerDeadline else { return }
        clientTimer?.cancel()
        clientTimer = nil
        clientTimerDeadline = deadline
        guard let deadline else { return }
        clientTimer = loop.scheduleTask(in: .milliseconds(max(0, deadline - nowMilliseconds))) { [weak self] in
            guard let self else { return }
            self.clientTimer = nil
            self.clientTimerDeadline = nil
            self.perform(self.clientTransactions.tick(now: self.nowMilliseconds))
        }
    }
}
