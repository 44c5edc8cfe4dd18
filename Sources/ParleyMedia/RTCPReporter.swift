#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ParleyRTP

/// RTCP for one leg (RFC 3550 §6): receive statistics of the peer's stream, our sender
/// report with a reception report block and SDES CNAME at the randomized interval, and
/// what the peer's reports tell us (its loss and jitter of our stream, the round-trip time).
///
/// Media plane: confined to the leg's loop. Reports are written into the leg's buffer
/// (`RTCPCompoundWriter`); nothing here allocates, per RTP packet or per report.
struct RTCPReporter {
    /// Session bandwidth assumed for the RTCP share, octets per second (G.711 64 kb/s + headers);
    /// RTCP gets 5 % of it (§6.2).
    static let sessionBandwidth = 10_000.0

    let ssrc: UInt32
    let cname: String
    /// The CNAME as it goes on the wire (at most 255 octets), kept so reports copy it.
    private let cnameBytes: [UInt8]
    let clockRate: Int
    private(set) var statistics = RTPReceiveStatistics()
    private(set) var remoteSSRC: UInt32?
    private var lastSR: UInt32 = 0
    private var lastSRArrivalMs: Int64 = 0
    private var nextReportMs: Int64
    private var averageSize = 128.0
    private var rng = SystemRandomNumberGenerator()
    private(set) var packetsSent: UInt32 = 0
    private(set) var octetsSent: UInt32 = 0
    private(set) var reportsSent = 0
    private(set) var reportsReceived = 0
    /// Round-trip time from the peer's last report block about us, in ms.
    private(set) var roundTripMilliseconds: Int?
    /// The peer's view of our stream: fraction lost (1/256) and jitter (timestamp units).
    private(set) var remoteFractionLost: UInt8?
    private(set) var remoteJitter: UInt32?

    init(ssrc: UInt32, cname: String, clockRate: Int, nowMs: Int64) {
        self.ssrc = ssrc
        self.cname = cname
        cnameBytes = Array(cname.utf8.prefix(255))
        self.clockRate = clockRate
        var rng = SystemRandomNumberGenerator()
        let first = RTCPInterval.interval(members: 2, senders: 1, bandwidth: RTCPReporter.sessionBandwidth * 0.05, weSent: true,
                                          averageSize: 128, initial: true, using: &rng)
        nextReportMs = nowMs + Int64(first * 1000)
    }

    /// The wall clock as a 64-bit NTP timestamp (sender reports carry it).
    static func ntpNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return NTPTime.timestamp(unixMicroseconds: UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec / 1000))
    }

    mutating func rtpReceived(sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32, nowMs: Int64) {
        if remoteSSRC != ssrc {
            remoteSSRC = ssrc
            statistics = RTPReceiveStatistics()
        }
        let arrival = UInt32(truncatingIfNeeded: nowMs &* Int64(clockRate) / 1000)
        _ = statistics.update(sequenceNumber: sequenceNumber, timestamp: timestamp, arrival: arrival)
    }

    mutating func rtpSent(payloadBytes: Int) {
        packetsSent &+= 1
        octetsSent &+= UInt32(truncatingIfNeeded: payloadBytes)
    }

    func due(nowMs: Int64) -> Bool { nowMs >= nextReportMs }

    /// Our compound packet, written into `buffer` without allocating: SR (with a report
    /// block once the peer's stream is valid), SDES CNAME, and BYE when leaving. Schedules
    /// the next report.
    /// - Returns: its length, 0 if `buffer` is too small (`RTCPReporter.maximumReportSize` fits).
    mutating func makeReport(into buffer: UnsafeMutableRawBufferPointer, nowMs: Int64, rtpTimestamp: UInt32, bye: Bool) -> Int {
        var block: RTCPReportBlock?
        if let remote = remoteSSRC, statistics.isValid {
            let delay = lastSR == 0 ? 0 : NTPTime.compact(milliseconds: UInt64(max(0, nowMs - lastSRArrivalMs)))
            block = RTCPReportBlock(ssrc: remote, report: statistics.makeReport(), lastSR: lastSR, delaySinceLastSR: delay)
        }
        var writer = RTCPCompoundWriter(buffer)
        writer.senderReport(ssrc: ssrc, sender: RTCPSenderInfo(ntpTimestamp: RTCPReporter.ntpNow(), rtpTimestamp: rtpTimestamp,
                                                               packetCount: packetsSent, octetCount: octetsSent), report: block)
        cnameBytes.withUnsafeBytes { _ = writer.sourceDescription(ssrc: ssrc, cname: $0) }
        if bye { writer.bye(ssrc: ssrc) }
        let n = writer.count
        reportsSent += 1
        averageSize = RTCPInterval.updatedAverageSize(averageSize, packetSize: n + 28)
        let next = RTCPInterval.interval(members: 2, senders: remoteSSRC == nil ? 1 : 2, bandwidth: RTCPReporter.sessionBandwidth * 0.05,
                                         weSent: true, averageSize: averageSize, initial: false, using: &rng)
        nextReportMs = nowMs + Int64(next * 1000)
        return n
    }

    /// Room for our largest report: SR with one block (52), SDES with a 255-octet CNAME (268), BYE (8).
    static let maximumReportSize = 328

    /// A compound RTCP packet from the peer: remember its SR for our LSR/DLSR, and read its
    /// report block about our stream. Invalid compounds are ignored (counted by the caller).
    mutating func receive(_ bytes: UnsafeRawBufferPointer, nowMs: Int64) -> Bool {
        let packets: RTCPCompound.Packets
        do {
            packets = try RTCPCompound.packets(bytes)
        } catch .firstPacketNotReport {
            // Real peers send non-compound RTCP (RFC 5506): a lone APP keep-alive, a BYE before
            // SDES at hang-up. Well formed but without a report to read: received, not malformed.
            reportsReceived += 1
            return true
        } catch {
            return false
        }
        reportsReceived += 1
        averageSize = RTCPInterval.updatedAverageSize(averageSize, packetSize: bytes.count + 28)
        let arrival = NTPTime.middle32(RTCPReporter.ntpNow())
        for p in packets {
            if p.type == .senderReport, let info = p.senderInfo(in: bytes) {
                lastSR = NTPTime.middle32(info.ntpTimestamp)
                lastSRArrivalMs = nowMs
            }
            guard p.type == .senderReport || p.type == .receiverReport else { continue }
            for i in 0..<Int(p.count) {
                guard let block = p.reportBlock(i, in: bytes), block.ssrc == ssrc else { continue }
                remoteFractionLost = block.fractionLost
                remoteJitter = block.jitter
                if let rtt = NTPTime.roundTripTime(arrival: arrival, lastSR: block.lastSR, delaySinceLastSR: block.delaySinceLastSR) {
                    roundTripMilliseconds = Int(NTPTime.milliseconds(compact: rtt))
                }
            }
        }
        return true
    }
}
