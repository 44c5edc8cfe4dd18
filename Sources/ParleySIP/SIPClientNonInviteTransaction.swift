/// The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6), for BYE, NOTIFY, REFER…
///
/// ```
///   Trying ── Timer E (UDP): resend, interval doubles up to T2 ── Timer F: timeout ──► Terminated
///     │ 1xx: to TU
///   Proceeding ── Timer E: resend every T2 ── Timer F: timeout ──► Terminated
///     │ 200–699 (from Trying too): to TU, Timer K (T4 over UDP, 0 over TCP)
///   Completed ── retransmitted responses absorbed ── Timer K ──► Terminated
/// ```
public struct SIPClientNonInviteTransaction: SIPClientTransactionCoreBacked {
    public enum State: Sendable, Equatable { case trying, proceeding, completed, terminated }

    var core: SIPClientTransactionCore
    public private(set) var state: State = .trying
    public var isTerminated: Bool { state == .terminated }
    static let retransmitTimer = SIPTimer.e
    static let timeoutTimer = SIPTimer.f
    init(core: SIPClientTransactionCore) { self.core = core }

    public mutating func receive(_ response: SIPMessage, now: Int64) -> [SIPTransactionAction] {
        guard let status = response.status, state == .trying || state == .proceeding else { return [] }
        if status < 200 {
            state = .proceeding
            return [.passToTU(response)]
        }
        core.timers.cancelAll()
        if transport.isReliable {
            state = .terminated
            return [.passToTU(response), .terminated]
        }
        state = .completed
        core.timers[.k] = now + timerValues.t4
        return [.passToTU(response)]
    }

    public mutating func tick(now: Int64) -> [SIPTransactionAction] {
        var actions: [SIPTransactionAction] = []
        while let timer = core.timers.popDue(now: now) {
            switch timer {
            case .e where state == .trying || state == .proceeding:
                actions.append(.send(request))
                // §17.1.2.2: doubling up to T2 in Trying; T2 flat in Proceeding.
                core.retransmitInterval = state == .trying ? min(core.retransmitInterval * 2, timerValues.t2) : timerValues.t2
                core.timers[.e] = now + core.retransmitInterval
            case .f where state == .trying || state == .proceeding, .k where state == .completed:
                actions += core.terminate(&state, .terminated, reporting: timer == .f ? .timeout : nil)
            default:
                break
            }
        }
        return actions
    }

    public mutating func transportError(now: Int64) -> [SIPTransactionAction] {
        core.transportError(&state, terminated: .terminated)
    }
}
