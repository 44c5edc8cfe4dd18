/// The UAS core's 2xx retransmission until the ACK arrives (RFC 3261 §13.3.1.4).
///
/// The INVITE server transaction ends when it sends a 2xx, so the TU keeps the 2xx alive:
/// resent after T1, then at intervals doubling up to T2, until the ACK; after 64 × T1
/// without one, `.timeout` (the dialog is confirmed but the session SHOULD be ended with
/// BYE). §13.3.1.4 makes no exception for reliable transports (the ACK is end to end and
/// may cross a UDP hop), so this runs over TCP too.
public struct SIP2xxRetransmitter: Sendable {
    public enum State: Sendable, Equatable { case waitingForACK, acknowledged, timedOut }

    public let response: SIPMessage
    public let timerValues: SIPTimerValues
    public private(set) var state: State = .waitingForACK
    private var interval: Int64
    private var retransmitAt: Int64?
    private var giveUpAt: Int64?

    /// - Parameter now: when the 2xx was first sent, in ms.
    public init(response: SIPMessage, now: Int64, timerValues: SIPTimerValues = .rfc3261) {
        self.response = response
        self.timerValues = timerValues
        interval = timerValues.t1
        retransmitAt = now + timerValues.t1
        giveUpAt = now + timerValues.transactionTimeout
    }

    public var nextDeadline: Int64? {
        switch (retransmitAt, giveUpAt) {
        case let (r?, g?): return min(r, g)
        case let (r, g): return r ?? g
        }
    }

    /// The ACK for this 2xx arrived (matched by the dialog: Call-ID, tags, CSeq number).
    public mutating func ackReceived() {
        guard state == .waitingForACK else { return }
        state = .acknowledged
        retransmitAt = nil
        giveUpAt = nil
    }

    public mutating func tick(now: Int64) -> [SIPTransactionAction] {
        guard state == .waitingForACK else { return [] }
        if let g = giveUpAt, g <= now {
            state = .timedOut
            retransmitAt = nil
            giveUpAt = nil
            return [.timeout]
        }
        guard let r = retransmitAt, r <= now else { return [] }
        interval = min(interval * 2, timerValues.t2)
        retransmitAt = now + interval
        return [.send(response)]
    }
}
