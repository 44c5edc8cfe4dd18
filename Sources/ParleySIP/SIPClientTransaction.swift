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

/// A client transaction built on the shared core: request, transport, timer values and
/// deadlines come from it.
protocol SIPClientTransactionCoreBacked: SIPClientTransaction {
    /// Timer A or E.
    static var retransmitTimer: SIPTimer { get }
    /// Timer B or F.
    static var timeoutTimer: SIPTimer { get }
    init(core: SIPClientTransactionCore)
    var core: SIPClientTransactionCore { get set }
}

extension SIPClientTransactionCoreBacked {
    /// Creates the transaction and returns the first action: sending the request.
    public static func start(request: SIPMessage, transport: SIPTransport, now: Int64,
                             timerValues: SIPTimerValues = .rfc3261) -> (Self, [SIPTransactionAction]) {
        let core = SIPClientTransactionCore(request: request, transport: transport, now: now, timerValues: timerValues,
                                            retransmit: retransmitTimer, timeout: timeoutTimer)
        return (Self(core: core), [.send(request)])
    }

    public var request: SIPMessage { core.request }
    public var transport: SIPTransport { core.transport }
    public var timerValues: SIPTimerValues { core.timerValues }
    public var nextDeadline: Int64? { core.timers.next }
    /// Whether a timer is armed, and for when.
    public func deadline(of timer: SIPTimer) -> Int64? { core.timers[timer] }
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

    /// Ends the transaction: all timers off, `report` (a timeout or transport error) for the TU first.
    mutating func terminate<State>(_ state: inout State, _ terminated: State, reporting report: SIPTransactionAction? = nil) -> [SIPTransactionAction] {
        state = terminated
        timers.cancelAll()
        return (report.map { [$0] } ?? []) + [.terminated]
    }

    /// Ends the transaction on a transport failure unless it is over already (§17.1.4).
    mutating func transportError<State: Equatable>(_ state: inout State, terminated: State) -> [SIPTransactionAction] {
        guard state != terminated else { return [] }
        return terminate(&state, terminated, reporting: .transportError)
    }
}
