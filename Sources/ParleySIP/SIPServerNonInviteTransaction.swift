/// The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
///
/// ```
///   Trying ── request retransmissions absorbed
///     │ 1xx from TU: send
///   Proceeding ── retransmission: resend last 1xx
///     │ 200–699 from TU: send, Timer J (64×T1 over UDP, 0 over TCP)
///   Completed ── retransmission: resend the final response; later finals discarded
///     │ Timer J
///   Terminated
/// ```
public struct SIPServerNonInviteTransaction: Sendable {
    public enum State: Sendable, Equatable { case trying, proceeding, completed, terminated }

    public let request: SIPMessage
    public let transport: SIPTransport
    public let timerValues: SIPTimerValues
    public private(set) var state: State = .trying
    public private(set) var lastResponse: SIPMessage?
    private var timers = SIPTimerSet()

    public init(request: SIPMessage, transport: SIPTransport, now: Int64, timerValues: SIPTimerValues = .rfc3261) {
        self.request = request
        self.transport = transport
        self.timerValues = timerValues
    }

    public var nextDeadline: Int64? { timers.next }
    public func deadline(of timer: SIPTimer) -> Int64? { timers[timer] }

    /// A response from the TU.
    public mutating func respond(_ response: SIPMessage, now: Int64) -> [SIPTransactionAction] {
        guard state == .trying || state == .proceeding, let status = response.status else { return [] }
        lastResponse = response
        if status < 200 {
            state = .proceeding
            return [.send(response)]
        }
        state = .completed
        if transport.isReliable {
            state = .terminated
            return [.send(response), .terminated]
        }
        timers[.j] = now + timerValues.transactionTimeout
        return [.send(response)]
    }

    /// A retransmission of the request (§17.2.2): answered with the last response, if any.
    public mutating func receive(_ request: SIPMessage, now: Int64) -> [SIPTransactionAction] {
        switch state {
        case .proceeding, .completed: return lastResponse.map { [.send($0)] } ?? []
        case .trying, .terminated: return []
        }
    }

    public mutating func tick(now: Int64) -> [SIPTransactionAction] {
        var actions: [SIPTransactionAction] = []
        while let timer = timers.popDue(now: now) {
            if timer == .j, state == .completed {
                state = .terminated
                timers.cancelAll()
                actions.append(.terminated)
            }
        }
        return actions
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
