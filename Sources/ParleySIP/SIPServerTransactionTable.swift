/// What the two server transactions have in common (RFC 3261 §17.2), so one table holds both.
public protocol SIPServerTransaction: Sendable {
    var request: SIPMessage { get }
    var nextDeadline: Int64? { get }
    /// A response from the TU.
    mutating func respond(_ response: SIPMessage, now: Int64) -> [SIPTransactionAction]
    /// A retransmission of the request, or (INVITE) the ACK for a failure response.
    mutating func receive(_ request: SIPMessage, now: Int64) -> [SIPTransactionAction]
    mutating func tick(now: Int64) -> [SIPTransactionAction]
}

extension SIPServerInviteTransaction: SIPServerTransaction {}
extension SIPServerNonInviteTransaction: SIPServerTransaction {}

/// The server transactions of the requests a UAS received (RFC 3261 §17.2): a retransmitted
/// request finds its transaction (§17.2.3) and is answered from it, never reaching the TU
/// again; final failure responses to INVITE are retransmitted over UDP until the ACK
/// (Timer G) or Timer H; the ACK for them is absorbed.
///
/// The TU's responses find their transaction by what a response copies from its request
/// (top Via, Call-ID, CSeq), so the driver can route every response it sends through
/// `respond`. No I/O and no clock: the driver passes `now` (ms), performs the outputs and
/// keeps one timer at `nextDeadline`.
///
/// Bounded: at most `capacity` transactions. A new request beyond it gets no transaction and
/// comes back as `.overloaded`, for the driver to answer 503 statelessly.
public struct SIPServerTransactionTable<Destination> {
    public enum Output {
        case send(SIPMessage, Destination)
        /// Timer H: no ACK came for a final failure response to this INVITE.
        case timeout(SIPMessage)
        /// A new request while the table is full: no transaction was made for it.
        case overloaded(SIPMessage, Destination)
    }

    /// The default bound: 32 s of lingering transactions at about 1,500 requests a second.
    public static var defaultCapacity: Int { 50_000 }

    struct Entry {
        var transaction: any SIPServerTransaction
        let destination: Destination
        let started: Int64
        var answered = false
    }

    private var entries: [SIPTransactionKey: Entry] = [:]
    private var byResponse: [String: SIPTransactionKey] = [:]
    private var timers = SIPTimerHeap<SIPTransactionKey>()
    public let timerValues: SIPTimerValues
    public let capacity: Int

    public init(timerValues: SIPTimerValues = .rfc3261, capacity: Int = SIPServerTransactionTable.defaultCapacity) {
        self.timerValues = timerValues
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }

    public var nextDeadline: Int64? { timers.nextDeadline }

    /// The entry's next timer: its transaction's, or the TU's 32 s to answer at all.
    private func deadline(of entry: Entry) -> Int64? {
        let unanswered = entry.answered ? nil : entry.started + timerValues.transactionTimeout
        switch (entry.transaction.nextDeadline, unanswered) {
        case let (a?, b?): return min(a, b)
        case let (a, b): return a ?? b
        }
    }

    /// Stores `entry` under `key` and sets its timer.
    private mutating func store(_ entry: Entry, at key: SIPTransactionKey) {
        entries[key] = entry
        timers.schedule(key, at: deadline(of: entry))
    }

    /// A received request. Returns the outputs of the transaction it belongs to (a
    /// retransmission or the ACK of a failure: answered or absorbed here, `[]` included),
    /// or nil when it is new and goes to the TU — then, unless it is an ACK (which has no
    /// transaction of its own), a transaction is started for it.
    public mutating func receive(_ request: SIPMessage, from destination: Destination, transport: SIPTransport,
                                 now: Int64) -> [Output]? {
        guard let key = SIPTransactionKey(request: request) else { return nil }
        if var entry = entries[key] {
            let actions = entry.transaction.receive(request, now: now)
            store(entry, at: key)
            return outputs(actions, key: key)
        }
        guard request.method != "ACK", let responseKey = SIPServerTransactionTable.responseKey(request) else { return nil }
        guard entries.count < capacity else { return [.overloaded(request, destination)] }
        let transaction: any SIPServerTransaction = request.method == "INVITE"
            ? SIPServerInviteTransaction(request: request, transport: transport, now: now, timerValues: timerValues)
            : SIPServerNonInviteTransaction(request: request, transport: transport, now: now, timerValues: timerValues)
        store(Entry(transaction: transaction, destination: destination, started: now), at: key)
        byResponse[responseKey] = key
        return nil
    }

    /// A response from the TU: nil when no transaction of ours matches it (send it as it is).
    public mutating func respond(_ response: SIPMessage, now: Int64) -> [Output]? {
        guard let responseKey = SIPServerTransactionTable.responseKey(response), let key = byResponse[responseKey],
              var entry = entries[key] else { return nil }
        let actions = entry.transaction.respond(response, now: now)
        if (response.status ?? 0) >= 200 { entry.answered = true }
        store(entry, at: key)
        return outputs(actions, key: key)
    }

    /// Fires the timers that are due: only those transactions are visited.
    public mutating func tick(now: Int64) -> [Output] {
        var result: [Output] = []
        for key in timers.popDue(now: now) {
            guard var entry = entries[key] else { continue }
            if !entry.answered, now >= entry.started + timerValues.transactionTimeout {
                // The TU never gave a final response (a request it dropped): forget it.
                remove(key)
                continue
            }
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

    private mutating func outputs(_ actions: [SIPTransactionAction], key: SIPTransactionKey) -> [Output] {
        guard let entry = entries[key] else { return [] }
        var result: [Output] = []
        for action in actions {
            switch action {
            case let .send(message): result.append(.send(message, entry.destination))
            case .timeout: result.append(.timeout(entry.transaction.request))
            case .terminated: remove(key)
            case .passToTU, .transportError: break
            }
        }
        return result
    }

    private mutating func remove(_ key: SIPTransactionKey) {
        if let request = entries[key]?.transaction.request, let responseKey = SIPServerTransactionTable.responseKey(request) {
            byResponse[responseKey] = nil
        }
        entries[key] = nil
        timers.schedule(key, at: nil)
    }

    /// What a response copies from its request (§8.2.6.2): top Via, Call-ID, CSeq.
    static func responseKey(_ message: SIPMessage) -> String? {
        guard let via = message.topVia, let callID = message.callID, let cseq = message.cseq else { return nil }
        return "\(via)\n\(callID)\n\(cseq.number) \(cseq.method)"
    }
}
