/// What the two client transactions have in common (RFC 3261 §17.1), so a driver can hold
/// either in one table: the request sent, its timers, responses in, timer ticks, transport
/// failures. Times are milliseconds on the driver's monotonic clock.
public protocol SIPClientTransaction: Sendable {
    var request: SIPMessage { get }
    var transport: SIPTransport { get }
    var nextDeadline: Int64? { get }
    var isTerminated: Bool { get }
    /// A response matched to this transaction (`SIPTransactionKey(response:)`).
    mutating func receive(_ response: SIPMessage, now: Int64) -> [SIPTransactionAction]
    mutating func tick(now: Int64) -> [SIPTransactionAction]
    /// The driver could not send one of this transaction's messages (§17.1.4): the TU is
    /// told and the transaction ends.
    mutating func transportError(now: Int64) -> [SIPTransactionAction]
}

/// The part both client transactions share: the request, a retransmit timer (A for INVITE,
/// E otherwise) that starts at T1 over UDP only, and a timeout timer (B or F) at 64 × T1
/// (§17.1.1.2, §17.1.2.2).
struct SIPClientTransactionCore: Sendable {
    let request: SIPMessage
    let transport: SIPTransport
    let timerValues: SIPTimerValues
    var timers = SIPTimerSet()
    /// The current retransmit interval (Timer A or E), in ms.
    var retransmitInterval: Int64

    init(request: SIPMessage, transport: SIPTransport, now: Int64, timerValues: SIPTimerValues,
         retransmit: SIPTimer, timeout: SIPTimer) {
        self.request = request
        self.transport = transport
        self.timerValues = timerValues
        self.retransmitInterval = timerValues.t1
        if !transport.isReliable { timers[retransmit] = now + timerValues.t1 }
        timers[timeout] = now + timerValues.transactionTimeout
    }

    /// Ends the transaction on a transport failure unless it is over already (§17.1.4).
    mutating func transportError<State: Equatable>(_ state: inout State, terminated: State) -> [SIPTransactionAction] {
        guard state != terminated else { return [] }
        state = terminated
        timers.cancelAll()
        return [.transportError, .terminated]
    }
}
