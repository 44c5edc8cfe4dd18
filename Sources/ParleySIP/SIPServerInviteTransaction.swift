/// The INVITE server transaction (RFC 3261 §17.2.1, Figure 7).
///
/// ```
///             INVITE → 100 Trying (unless the TU answers within 200 ms)
///   Proceeding ── 1xx from TU: send ──┐ (INVITE retransmission: resend last 1xx)
///       │  └── 2xx from TU: send ─────────────────────────────► Terminated
///       │ 300–699 from TU: send, Timer G (UDP), Timer H
///   Completed ── Timer G: resend, interval doubles up to T2 ──┐ (INVITE retransmission: resend)
///       │   └── Timer H: timeout ─────────────────────────────► Terminated
///       │ ACK: Timer I (T4 over UDP, 0 over TCP)
///   Confirmed ── ACKs absorbed ── Timer I ───────────────────► Terminated
/// ```
///
/// A 2xx ends the transaction at once: its retransmission until the ACK belongs to the TU
/// (§13.3.1.4, `SIP2xxRetransmitter`), and the ACK for it is not matched to this
/// transaction (it is a new transaction of its own, §17.1.1.3).
public struct SIPServerInviteTransaction: Sendable {
    public enum State: Sendable, Equatable { case proceeding, completed, confirmed, terminated }

    public let request: SIPMessage
    public let transport: SIPTransport
    public let timerValues: SIPTimerValues
    public private(set) var state: State = .proceeding
    /// The last response sent, resent when the INVITE is retransmitted.
    public private(set) var lastResponse: SIPMessage?
    private var timers = SIPTimerSet()
    private var timerGInterval: Int64

    /// - Parameter now: when the INVITE arrived, in ms.
    public init(request: SIPMessage, transport: SIPTransport, now: Int64, timerValues: SIPTimerValues = .rfc3261) {
        self.request = request
        self.transport = transport
        self.timerValues = timerValues
        self.timerGInterval = timerValues.t1
        timers[.trying] = now + timerValues.tryingDelay
    }

    /// When `tick(now:)` next has something to do; nil once terminated.
    public var nextDeadline: Int64? { timers.next }

    /// Whether a timer is armed, and for when.
    public func deadline(of timer: SIPTimer) -> Int64? { timers[timer] }

    /// A response from the TU (§17.2.1).
    public mutating func respond(_ response: SIPMessage, now: Int64) -> [SIPTransactionAction] {
        guard state == .proceeding, let status = response.status else { return [] }
        timers[.trying] = nil
        lastResponse = response
        switch status {
        case 100..<200:
            return [.send(response)]
        case 200..<300:
            state = .terminated
            timers.cancelAll()
            return [.send(response), .terminated]
        default:
            state = .completed
            if !transport.isReliable { timers[.g] = now + timerGInterval }
            timers[.h] = now + timerValues.transactionTimeout
            return [.send(response)]
        }
    }

    /// A request matched to this transaction (`SIPTransactionKey`): an INVITE retransmission or the ACK.
    public mutating func receive(_ request: SIPMessage, now: Int64) -> [SIPTransactionAction] {
        switch (request.method, state) {
        case ("INVITE", .proceeding), ("INVITE", .completed):
            return lastResponse.map { [.send($0)] } ?? []
        case ("ACK", .completed):
            state = .confirmed
            timers[.g] = nil
            timers[.h] = nil
            if transport.isReliable { return terminate() }
            timers[.i] = now + timerValues.t4
            return []
        default:
            // Retransmissions in Confirmed, and anything after the end, are absorbed.
            return []
        }
    }

    /// Fires the timers that are due.
    public mutating func tick(now: Int64) -> [SIPTransactionAction] {
        var actions: [SIPTransactionAction] = []
        while let timer = timers.popDue(now: now) {
            switch timer {
            case .trying where state == .proceeding && lastResponse == nil:
                let trying = SIPMessage.transactionResponse(to: request, status: 100, reason: "Trying")
                lastResponse = trying
                actions.append(.send(trying))
            case .g where state == .completed:
                if let r = lastResponse { actions.append(.send(r)) }
                timerGInterval = min(timerGInterval * 2, timerValues.t2)
                timers[.g] = now + timerGInterval
            case .h where state == .completed:
                actions.append(.timeout)
                actions += terminate()
            case .i where state == .confirmed:
                actions += terminate()
            default:
                break
            }
        }
        return actions
    }

    private mutating func terminate() -> [SIPTransactionAction] {
        state = .terminated
        timers.cancelAll()
        return [.terminated]
    }

    /// The driver could not send one of this transaction's messages (§17.1.4, §17.2.4):
    /// the TU is told and the transaction ends.
    public mutating func transportError(now: Int64) -> [SIPTransactionAction] {
        guard state != .terminated else { return [] }
        state = .terminated
        timers.cancelAll()
        return [.transportError, .terminated]
    }
}
