/// The client transactions a UA has in flight (RFC 3261 §17.1): each request we send gets
/// one, filed under our Via branch, and a response finds it by that branch and its CSeq
/// method (§17.1.3).
///
/// The table does no I/O and reads no clock: the driver (on the SIP event loop) passes `now`
/// in ms, performs the `Output`s in order, and keeps one timer at `nextDeadline` that calls
/// `tick(now:)`. Outcomes are returned rather than reported from inside, so a handler may
/// start the next transaction without re-entering the table.
public struct SIPClientTransactionTable<Destination> {
    /// What the transaction user hears about its request.
    public enum Event: Equatable, Sendable {
        /// 1xx.
        case provisional(SIPMessage)
        /// The final response (once; retransmissions are absorbed).
        case final(SIPMessage)
        /// Timer B or F fired without a final response.
        case timeout
        case transportError

        /// The final status, 408 for a timeout and 503 for a transport failure (§8.1.3.1).
        public var finalStatus: Int? {
            switch self {
            case .provisional: return nil
            case let .final(response): return response.status
            case .timeout: return 408
            case .transportError: return 503
            }
        }
    }

    public typealias Handler = (Event) -> Void

    /// What the driver does, in order.
    public enum Output {
        case send(SIPMessage, Destination)
        case report(Handler, Event)
    }

    struct Entry {
        var transaction: any SIPClientTransaction
        let destination: Destination
        let handler: Handler?
    }

    private var entries: [SIPTransactionKey: Entry] = [:]
    private var timers = SIPTimerHeap<SIPTransactionKey>()
    public let timerValues: SIPTimerValues

    public init(timerValues: SIPTimerValues = .rfc3261) { self.timerValues = timerValues }

    /// Transactions not yet terminated.
    public var count: Int { entries.count }

    /// When the driver must call `tick(now:)` next.
    public var nextDeadline: Int64? { timers.nextDeadline }

    /// Stores `entry` under `key` and sets its timer.
    private mutating func store(_ entry: Entry, at key: SIPTransactionKey) {
        entries[key] = entry
        timers.schedule(key, at: entry.transaction.nextDeadline)
    }

    /// Starts a transaction for `request` (an INVITE gets the INVITE client transaction, any
    /// other method the non-INVITE one; never an ACK, which has none). The request's top Via
    /// must carry a branch; returns [] without one.
    public mutating func start(_ request: SIPMessage, to destination: Destination, transport: SIPTransport, now: Int64,
                               handler: Handler?) -> [Output] {
        guard let key = SIPTransactionKey(sentRequest: request), request.method != "ACK" else { return [] }
        let transaction: any SIPClientTransaction
        let actions: [SIPTransactionAction]
        if request.method == "INVITE" {
            (transaction, actions) = SIPClientInviteTransaction.start(request: request, transport: transport, now: now, timerValues: timerValues)
        } else {
            (transaction, actions) = SIPClientNonInviteTransaction.start(request: request, transport: transport, now: now, timerValues: timerValues)
        }
        store(Entry(transaction: transaction, destination: destination, handler: handler), at: key)
        return outputs(actions, key: key)
    }

    /// A received response. nil when no transaction of ours matches it (a stray, to drop).
    public mutating func receive(_ response: SIPMessage, now: Int64) -> [Output]? {
        guard let key = SIPTransactionKey(response: response), var entry = entries[key] else { return nil }
        let actions = entry.transaction.receive(response, now: now)
        store(entry, at: key)
        return outputs(actions, key: key)
    }

    /// Fires every due timer of every transaction.
    public mutating func tick(now: Int64) -> [Output] {
        var result: [Output] = []
        for key in timers.popDue(now: now) {
            guard var entry = entries[key] else { continue }
            guard let deadline = entry.transaction.nextDeadline, deadline <= now else {
                store(entry, at: key)
                continue
            }
            let actions = entry.transaction.tick(now: now)
            store(entry, at: key)
            result += outputs(actions, key: key)
        }
        return result
    }

    /// The transport could not send `request` (§17.1.4).
    public mutating func transportError(for request: SIPMessage, now: Int64) -> [Output] {
        guard let key = SIPTransactionKey(sentRequest: request), var entry = entries[key] else { return [] }
        let actions = entry.transaction.transportError(now: now)
        store(entry, at: key)
        return outputs(actions, key: key)
    }

    private mutating func outputs(_ actions: [SIPTransactionAction], key: SIPTransactionKey) -> [Output] {
        guard let entry = entries[key] else { return [] }
        var result: [Output] = []
        func report(_ event: Event) { if let handler = entry.handler { result.append(.report(handler, event)) } }
        for action in actions {
            switch action {
            case let .send(message): result.append(.send(message, entry.destination))
            case let .passToTU(response): report((response.status ?? 0) < 200 ? .provisional(response) : .final(response))
            case .timeout: report(.timeout)
            case .transportError: report(.transportError)
            case .terminated:
                entries[key] = nil
                timers.schedule(key, at: nil)
            }
        }
        return result
    }
}
