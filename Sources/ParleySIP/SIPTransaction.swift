// What the transaction layer's state machines have in common (RFC 3261 §17).
//
// Each transaction is a value: the driver feeds it messages and the clock and performs the
// actions it returns (SwiftNIO's `mutating func …(…) -> Action` shape). Times are
// milliseconds on any monotonic clock the driver chooses; nothing here reads a clock.
// A driver keeps one timer per transaction, set to `nextDeadline`, and calls
// `tick(now:)` when it fires (a late or early tick is harmless: only due timers fire).
// Each transaction is confined to the driver's thread (the SIP event loop).

/// The transport a transaction runs over. Over a reliable one (TCP, TLS, SCTP) nothing is
/// retransmitted and Timers D, I, J and K are zero (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
public enum SIPTransport: Sendable, Equatable {
    case udp
    case tcp

    public var isReliable: Bool { self != .udp }
}

/// RFC 3261 timer base values (§17.1.1.1, Table 4), in milliseconds.
public struct SIPTimerValues: Sendable, Equatable {
    /// RTT estimate; Timer A, E and G start here.
    public var t1: Int64
    /// Longest retransmit interval for non-INVITE requests and INVITE responses.
    public var t2: Int64
    /// Longest time a message stays in the network.
    public var t4: Int64
    /// Timer D over unreliable transports: at least 32 s.
    public var timerD: Int64
    /// How long a server INVITE transaction waits for the TU's first response before it
    /// sends 100 Trying itself (§17.2.1: "within 200 ms").
    public var tryingDelay: Int64

    public init(t1: Int64 = 500, t2: Int64 = 4_000, t4: Int64 = 5_000, timerD: Int64 = 32_000, tryingDelay: Int64 = 200) {
        self.t1 = t1; self.t2 = t2; self.t4 = t4; self.timerD = timerD; self.tryingDelay = tryingDelay
    }

    public static let rfc3261 = SIPTimerValues()

    /// Timers B, F, H and J (over UDP): 64 × T1.
    public var transactionTimeout: Int64 { 64 * t1 }
}

/// The RFC's names for the transaction timers (§17, Table 4), plus the 200 ms Trying delay.
public enum SIPTimer: String, Sendable, CaseIterable {
    case a = "A", b = "B", d = "D", e = "E", f = "F", g = "G", h = "H", i = "I", j = "J", k = "K"
    case trying = "Trying"
}

/// What a transaction asks its driver to do, in order.
public enum SIPTransactionAction: Sendable, Equatable {
    /// Hand this message to the transport (first transmission or retransmission).
    case send(SIPMessage)
    /// Deliver this message to the transaction user.
    case passToTU(SIPMessage)
    /// Timer B, F or H fired: tell the TU the transaction failed (§17.1.1.2, §17.1.2.2, §17.2.1).
    case timeout
    /// The transport could not send (§17.1.4, §17.2.4): tell the TU the transaction failed.
    case transportError
    /// The transaction is over: forget it (remove it from the table).
    case terminated
}

/// Armed timers of one transaction: at most one deadline per timer.
struct SIPTimerSet: Sendable, Equatable {
    private var deadlines: [SIPTimer: Int64] = [:]

    subscript(timer: SIPTimer) -> Int64? {
        get { deadlines[timer] }
        set { deadlines[timer] = newValue }
    }

    mutating func cancelAll() { deadlines.removeAll() }

    var next: Int64? { deadlines.values.min() }

    /// The earliest due timer (deadline ≤ now), disarmed; ties go in the RFC's letter order.
    mutating func popDue(now: Int64) -> SIPTimer? {
        let due = deadlines.filter { $0.value <= now }
        guard let first = due.min(by: { ($0.value, $0.key.order) < ($1.value, $1.key.order) }) else { return nil }
        deadlines[first.key] = nil
        return first.key
    }
}

extension SIPTimer {
    var order: Int { SIPTimer.allCases.firstIndex(of: self) ?? 0 }
}

extension SIPMessage {
    /// A response the transaction layer makes itself (100 Trying, §17.2.1): Via, From, To,
    /// Call-ID, CSeq and Timestamp copied from the request (§8.2.6.1, §8.2.6.2).
    static func transactionResponse(to request: SIPMessage, status: Int, reason: String) -> SIPMessage {
        var r = SIPMessage(startLine: .response(status: status, reason: reason))
        for h in request.headers where ["Via", "From", "To", "Call-ID", "CSeq", "Timestamp"].contains(h.name) {
            r.headers.append(h)
        }
        r.append("Content-Length", "0")
        return r
    }
}
