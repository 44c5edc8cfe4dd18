/// The bookkeeping behind `sip.tcp.max_connections` and `max_connections_per_source`:
/// how many SIP connections are open in all and from each source address. A connection
/// over either cap is refused at accept, before it costs a read buffer or a parser.
///
/// A value confined to the SIP loop (the listener and every connection live there). The
/// table holds one entry per source with a connection open, so it is bounded by the
/// global cap.
struct SIPConnectionLimits: Sendable, Equatable {
    enum Refusal: String, Sendable { case total, perSource = "per_source" }

    let maxConnections: Int
    let maxPerSource: Int
    private(set) var open = 0
    private var bySource: [String: Int] = [:]

    init(maxConnections: Int, maxPerSource: Int) {
        self.maxConnections = maxConnections
        self.maxPerSource = maxPerSource
    }

    /// Counts a new connection from `source`, or says which cap it would pass.
    mutating func accept(_ source: String) -> Refusal? {
        guard open < maxConnections else { return .total }
        let current = bySource[source, default: 0]
        guard current < maxPerSource else { return .perSource }
        bySource[source] = current + 1
        open += 1
        return nil
    }

    /// Forgets a connection `accept` counted.
    mutating func closed(_ source: String) {
        guard let current = bySource[source] else { return }
        if current <= 1 { bySource.removeValue(forKey: source) } else { bySource[source] = current - 1 }
        open -= 1
    }

    func connections(from source: String) -> Int { bySource[source, default: 0] }
    var sources: Int { bySource.count }
}
