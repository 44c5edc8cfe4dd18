import Foundation
import Metrics
import NIOConcurrencyHelpers
import ParleyMedia
import ParleyServer
import Prometheus

/// Prometheus metrics of a running server, served at the admin API's `/metrics`.
///
/// Three sources, none of which costs the media path anything per packet:
/// - **call events** (`EventLog` subscription, on the SIP loop): calls by app and outcome,
///   DTMF digits by source, and each ended call's final media counters;
/// - **a periodic read** (every `interval`, and before each scrape) of the counters the legs
///   and media threads keep anyway (`LegStatistics`, `MediaThreadStatistics`): their growth
///   since the previous read is added to the RTP counters, and each leg's jitter-buffer
///   delay is sampled into a histogram (and once more when its call ends);
/// - **the tick-lateness histograms** of the media threads, written as they are (the
///   threads already bucket every tick; recording each tick again would cost a lock).
/// Everything else counted with swift-metrics anywhere in the process (`parley_*`) comes
/// through the Prometheus factory bootstrapped here.
public final class MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let state = NIOLockedValueBox(State())
    private let server: ParleyServer
    private let subscription: UInt64

    /// Delay buckets of the jitter-buffer histogram, in seconds.
    static let jitterBufferBuckets: [Double] = [0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1]

    struct State {
        /// What each call in progress runs, from `call.received`.
        var appByCall: [String: String] = [:]
        /// The leg counters already counted, per call in progress.
        var counted: [String: LegStatistics] = [:]
        /// Calls whose final counters are in: a late periodic read must not count them again.
        var finished: Set<String> = []
        var finishedOrder: [String] = []
        var threadsCounted: [MediaThreadStatistics] = []
    }

    /// Installs the Prometheus factory as the process's swift-metrics back end. Call once,
    /// before any metric is made (counters made earlier stay no-ops).
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["parley_jitter_buffer_delay_seconds"] = jitterBufferBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }

    public init(server: ParleyServer, registry: PrometheusCollectorRegistry) {
        self.server = server
        self.registry = registry
        let state = self.state
        subscription = server.events.subscribe { event in MetricsExporter.observe(event, state: state) }
        // Voicemail messages committed (the deposit flow awaits this hook: a counter costs nothing).
        server.onMessageDeposited { message, _ in
            Counter(label: "parley_voicemail_messages_recorded_total", dimensions: [("tenant", message.mailbox.tenant)]).increment()
        }
    }

    deinit { server.events.unsubscribe(subscription) }

    /// Reads the media counters every `interval` until the task is cancelled.
    public func run(interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            await poll()
            try? await Task.sleep(for: interval)
        }
    }

    /// The exposition text (Prometheus text format 0.0.4), counters brought up to date first.
    public func render() async -> [UInt8] {
        await poll()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        var merged = TickLateness()
        for s in server.media.threadStatistics() { merged.merge(s.lateness) }
        buffer.append(contentsOf: Array(MetricsExporter.tickLatenessText(merged).utf8))
        return buffer
    }

    /// The media threads' tick lateness as a Prometheus histogram (cumulative buckets, seconds).
    static func tickLatenessText(_ lateness: TickLateness) -> String {
        let name = "parley_media_tick_lateness_seconds"
        var out = "# HELP \(name) How late each 20 ms media tick ran after its deadline.\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (i, bound) in TickLateness.bounds.enumerated() {
            cumulative += i < lateness.counts.count ? lateness.counts[i] : 0
            out += "\(name)_bucket{le=\"\(seconds(microseconds: bound))\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(lateness.ticks)\n"
        out += "\(name)_sum \(seconds(microseconds: lateness.sumMicroseconds))\n"
        out += "\(name)_count \(lateness.ticks)\n"
        return out
    }

    static func seconds(microseconds: Int64) -> String {
        let whole = microseconds / 1_000_000, fraction = microseconds % 1_000_000
        guard fraction != 0 else { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// Brings the RTP counters up to date from the legs of calls in progress and the media threads.
    func poll() async {
        let legs = await server.legStatistics()
        let threads = server.media.threadStatistics()
        let delays: [Double] = state.withLockedValue { state in
            var delays: [Double] = []
            for (callID, s) in legs where !state.finished.contains(callID) {
                MetricsExporter.count(s, since: state.counted[callID] ?? LegStatistics())
                state.counted[callID] = s
                if s.packetsReceived > 0 { delays.append(Double(s.jitterBufferDelayMilliseconds) / 1000) }
            }
            let before = state.threadsCounted
            for (i, t) in threads.enumerated() {
                let old = i < before.count ? before[i] : MediaThreadStatistics()
                MetricsExporter.add("parley_media_datagrams_received_total", [], t.datagramsReceived - old.datagramsReceived)
                MetricsExporter.add("parley_media_datagrams_truncated_total", [], t.truncatedDropped - old.truncatedDropped)
                MetricsExporter.add("parley_media_send_errors_total", [], t.sendErrors - old.sendErrors)
            }
            state.threadsCounted = threads
            return delays
        }
        for d in delays { Recorder(label: "parley_jitter_buffer_delay_seconds", aggregate: true).record(d) }
        Gauge(label: "parley_media_legs").record(threads.reduce(0) { $0 + $1.endpoints })
    }

    /// Adds what grew between two reads of one leg's counters.
    static func count(_ s: LegStatistics, since old: LegStatistics) {
        add("parley_rtp_packets_total", [("direction", "in")], s.packetsReceived - old.packetsReceived)
        add("parley_rtp_packets_total", [("direction", "out")], s.packetsSent - old.packetsSent)
        add("parley_rtp_packets_lost_total", [], s.packetsLost - old.packetsLost)
        add("parley_rtp_packets_late_total", [], s.lateDropped - old.lateDropped)
        add("parley_rtp_packets_dropped_total", [("reason", "stranger")], s.strangersDropped - old.strangersDropped)
        add("parley_rtp_packets_dropped_total", [("reason", "malformed")], s.malformedDropped - old.malformedDropped)
        add("parley_rtp_packets_dropped_total", [("reason", "unknown_payload")], s.unknownPayloadDropped - old.unknownPayloadDropped)
        add("parley_rtp_packets_dropped_total", [("reason", "duplicate")], s.duplicatesDropped - old.duplicatesDropped)
        add("parley_rtp_frames_concealed_total", [], s.concealedFrames - old.concealedFrames)
    }

    /// Counters only grow: a negative difference (the RFC 3550 lost count can shrink when
    /// late packets arrive) waits until the total passes what was counted.
    private static func add(_ label: String, _ dimensions: [(String, String)], _ delta: Int) {
        guard delta > 0 else { return }
        Counter(label: label, dimensions: dimensions).increment(by: delta)
    }

    private static func observe(_ event: CallEvent, state: NIOLockedValueBox<State>) {
        func string(_ key: String) -> String? {
            for (k, v) in event.fields where k == key { if case let .string(s) = v { return s } }
            return nil
        }
        func int(_ key: String) -> Int? {
            for (k, v) in event.fields where k == key { if case let .int(n) = v { return n } }
            return nil
        }
        switch event.name {
        case "call.received":
            let app = label(string("app") ?? "unknown")
            state.withLockedValue { $0.appByCall[event.callID] = app }
        case "call.refused":
            let app = state.withLockedValue { $0.appByCall.removeValue(forKey: event.callID) } ?? "none"
            Counter(label: "parley_calls_total", dimensions: [("app", app), ("outcome", "refused")]).increment()
        case "call.ended":
            var final = LegStatistics()
            final.packetsReceived = int("rtp_in") ?? 0
            final.packetsSent = int("rtp_out") ?? 0
            final.packetsLost = int("rtp_lost") ?? 0
            final.lateDropped = int("rtp_late") ?? 0
            final.strangersDropped = int("rtp_stranger") ?? 0
            final.malformedDropped = int("rtp_malformed") ?? 0
            final.unknownPayloadDropped = int("rtp_unknown_pt") ?? 0
            final.duplicatesDropped = int("rtp_duplicate") ?? 0
            final.concealedFrames = int("concealed_frames") ?? 0
            let hasMedia = int("rtp_in") != nil
            let app: String = state.withLockedValue { state in
                if hasMedia { count(final, since: state.counted[event.callID] ?? LegStatistics()) }
                state.counted.removeValue(forKey: event.callID)
                state.finished.insert(event.callID)
                state.finishedOrder.append(event.callID)
                if state.finishedOrder.count > 10_000 {
                    for id in state.finishedOrder.prefix(5_000) { state.finished.remove(id) }
                    state.finishedOrder.removeFirst(5_000)
                }
                return state.appByCall.removeValue(forKey: event.callID) ?? "unknown"
            }
            Counter(label: "parley_calls_total", dimensions: [("app", app), ("outcome", label(string("cause") ?? "unknown"))]).increment()
            // Every call with media gives at least its last delay, however short it was.
            if let delay = int("jitter_buffer_ms"), final.packetsReceived > 0 {
                Recorder(label: "parley_jitter_buffer_delay_seconds", aggregate: true).record(Double(delay) / 1000)
            }
        case "dtmf":
            Counter(label: "parley_dtmf_digits_total", dimensions: [("source", label(string("source") ?? "unknown"))]).increment()
        default:
            break
        }
    }

    /// Label values from events: short, plain, so a label never carries arbitrary text.
    static func label(_ text: String) -> String {
        guard !text.isEmpty, text.utf8.count <= 32,
              text.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E })
        else { return "other" }
        return text
    }
}
