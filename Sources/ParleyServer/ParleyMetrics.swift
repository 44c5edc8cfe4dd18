import Metrics
import NIOConcurrencyHelpers

/// Counters the signalling plane keeps through swift-metrics (exported by the admin API's
/// Prometheus `/metrics`). Names follow Prometheus conventions with the `parley_` prefix.
/// Called on the SIP loop, never on a media thread.
enum ParleyMetrics {
    /// `parley_sip_responses_total{code}`: one counter per status code, made once and kept
    /// (a response must not cost a factory lookup and a label array).
    private static let responses = NIOLockedValueBox<[Int: Counter]>([:])

    static func sipResponseSent(_ status: Int) {
        let counter = responses.withLockedValue { cache -> Counter in
            if let c = cache[status] { return c }
            let c = Counter(label: "parley_sip_responses_total", dimensions: [("code", String(status))])
            cache[status] = c
            return c
        }
        counter.increment()
    }

    /// `parley_sip_dialog_refusals_total{status}`: requests refused by dialog matching (481,
    /// 500, 403; CallController+Dialog.swift), a sign of someone probing live calls.
    static func dialogRefused(status: Int) {
        Counter(label: "parley_sip_dialog_refusals_total", dimensions: [("status", String(status))]).increment()
    }

    /// `parley_sip_overload_refusals_total`: new requests answered 503 because the server
    /// transaction table was at `sip.max_transactions`.
    static func sipOverloadRefused() {
        Counter(label: "parley_sip_overload_refusals_total").increment()
    }

    /// `parley_event_log_dropped_total`: event log lines not written (queue full, disk full).
    static func eventLogLineDropped() {
        Counter(label: "parley_event_log_dropped_total").increment()
    }

    /// `parley_licence_refusals_total{tenant,licence}`: calls refused over a tenant's licence.
    static func licenceRefused(tenant: String, licence: String) {
        Counter(label: "parley_licence_refusals_total", dimensions: [("tenant", tenant), ("licence", licence)]).increment()
    }

    /// `parley_sip_subscription_refusals_total{bound}`: SUBSCRIBEs answered 503 because a
    /// subscription bound was reached (`total`, `source` or `tenant`).
    static func subscriptionRefused(bound: String) {
        Counter(label: "parley_sip_subscription_refusals_total", dimensions: [("bound", bound)]).increment()
    }
}

// MARK: SIP transport under floods (SIPTransport.swift, SIPReceiveBuffer.swift)

extension ParleyMetrics {
    /// `parley_sip_rate_limited_total`: datagrams and stream frames (requests, responses,
    /// malformed bytes, keep-alives) dropped over the per-source rate (`sip.rate_limit`).
    static let rateLimited = Counter(label: "parley_sip_rate_limited_total")

    static func sipRateLimited() { rateLimited.increment() }

    /// `parley_sip_requests_rejected_total{status}`: requests refused statelessly by
    /// `SIPRequestValidator` (400, 416, 420, 505…).
    static func sipRequestRejected(status: Int) {
        Counter(label: "parley_sip_requests_rejected_total", dimensions: [("status", String(status))]).increment()
    }

    /// `parley_sip_unanswerable_dropped_total`: bytes that neither parsed nor could be answered
    /// (malformed responses, garbage, no Via, ACKs that failed validation).
    static func sipUnanswerableDropped() {
        Counter(label: "parley_sip_unanswerable_dropped_total").increment()
    }

    /// `parley_sip_udp_receive_drops_total`: datagrams the kernel dropped because the SIP
    /// socket's receive buffer was full (`sk_drops`, read once a second).
    static func sipReceiveDrops(_ count: UInt64) {
        Counter(label: "parley_sip_udp_receive_drops_total").increment(by: Int64(clamping: count))
    }

    /// `parley_sip_tcp_connections_refused_total{cap}`: connections closed at accept over
    /// `sip.tcp.max_connections` (`total`) or `max_connections_per_source` (`per_source`).
    static func sipTCPRefused(cap: String) {
        Counter(label: "parley_sip_tcp_connections_refused_total", dimensions: [("cap", cap)]).increment()
    }

    /// `parley_sip_tcp_connections_closed_total{reason}`: connections we closed: `idle`,
    /// `slow_reader` (unsent output over `sip.tcp.max_pending_output`), `keepalive_flood`,
    /// `malformed`.
    static func sipTCPClosed(reason: String) {
        Counter(label: "parley_sip_tcp_connections_closed_total", dimensions: [("reason", reason)]).increment()
    }

    /// `parley_sip_tcp_connections`: SIP connections open now (made once: it is set on
    /// every accept and close).
    static let tcpConnections = Gauge(label: "parley_sip_tcp_connections")

    static func sipTCPConnections(_ open: Int) { tcpConnections.record(open) }
}
