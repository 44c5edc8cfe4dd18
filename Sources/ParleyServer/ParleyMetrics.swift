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
