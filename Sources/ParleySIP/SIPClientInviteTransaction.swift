/// The INVITE client transaction (RFC 3261 §17.1.1, Figure 5).
///
/// ```
///   Calling ── Timer A (UDP): resend, interval doubles ── Timer B: timeout ──► Terminated
///     │ 1xx: to TU                      │ 2xx: to TU ─────────────────────────► Terminated
///   Proceeding ── 1xx: to TU ───────────┘
///     │ 300–699: ACK sent, to TU
///   Completed ── retransmitted 300–699: ACK resent ── Timer D (32 s UDP, 0 TCP) ──► Terminated
/// ```
///
/// The ACK for a 2xx is the TU's, sent outside any transaction (§13.2.2.4); the ACK for a
/// failure is built here (§17.1.1.3).
public struct SIPClientInviteTransaction: SIPClientTransactionCoreBacked {
    public enum State: Sendable, Equatable { case calling, proceeding, completed, terminated }

    var core: SIPClientTransactionCore
    public private(set) var state: State = .calling
    public var isTerminated: Bool { state == .terminated }
    /// The ACK sent for the final failure response, resent for its retransmissions.
    public private(set) var ack: SIPMessage?
    static let retransmitTimer = SIPTimer.a
    static let timeoutTimer = SIPTimer.b
    init(core: SIPClientTransactionCore) { self.core = core }

    /// A response matched to this transaction (`SIPTransactionKey(response:)`).
    public mutating func receive(_ response: SIPMessage, now: Int64) -> [SIPTransactionAction] {
        guard let status = response.status else { return [] }
        switch state {
        case .calling, .proceeding:
            switch status {
            case 100..<200:
                state = .proceeding
                core.timers[.a] = nil
                core.timers[.b] = nil
                return [.passToTU(response)]
            case 200..<300:
                state = .terminated
                core.timers.cancelAll()
                return [.passToTU(response), .terminated]
            default:
                let ack = SIPClientInviteTransaction.ack(for: request, response: response)
                self.ack = ack
                core.timers.cancelAll()
                if transport.isReliable {
                    state = .terminated
                    return [.send(ack), .passToTU(response), .terminated]
                }
                state = .completed
                core.timers[.d] = now + timerValues.timerD
                return [.send(ack), .passToTU(response)]
            }
        case .completed:
            // A retransmitted final failure: resend the ACK, do not bother the TU.
            if status >= 300, let ack { return [.send(ack)] }
            return []
        case .terminated:
            return []
        }
    }

    public mutating func tick(now: Int64) -> [SIPTransactionAction] {
        var actions: [SIPTransactionAction] = []
        while let timer = core.timers.popDue(now: now) {
            switch timer {
            case .a where state == .calling:
                actions.append(.send(request))
                core.retransmitInterval *= 2
                core.timers[.a] = now + core.retransmitInterval
            case .b where state == .calling, .d where state == .completed:
                actions += core.terminate(&state, .terminated, reporting: timer == .b ? .timeout : nil)
            default:
                break
            }
        }
        return actions
    }

    /// The ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From and the
    /// top Via of the INVITE, To of the response, CSeq number of the INVITE with method
    /// ACK, the INVITE's Route headers, no body.
    public static func ack(for invite: SIPMessage, response: SIPMessage) -> SIPMessage {
        var ack = SIPMessage(startLine: .request(method: "ACK", uri: invite.requestURI ?? ""))
        if let via = invite.values("Via").first { ack.append("Via", via) }
        if let mf = invite["Max-Forwards"] { ack.append("Max-Forwards", mf) }
        for name in ["From", "To", "Call-ID"] {
            if let v = name == "To" ? response["To"] : invite[name] { ack.append(name, v) }
        }
        ack.append("CSeq", "\(invite.cseq?.number ?? 0) ACK")
        for h in invite.headers where h.name == "Route" { ack.headers.append(h) }
        ack.append("Content-Length", "0")
        return ack
    }

    public mutating func transportError(now: Int64) -> [SIPTransactionAction] {
        core.transportError(&state, terminated: .terminated)
    }
}
