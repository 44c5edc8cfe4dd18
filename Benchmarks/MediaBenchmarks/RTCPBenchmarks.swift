import Benchmark
import ParleyRTP

/// Per-packet costs of the RTP receive statistics and per-report costs of RTCP. One
/// packet per sample (no scaling), so the malloc column counts allocations per packet exactly.
func registerRTCPBenchmarks() {
    let perPacket = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one,
                                            maxDuration: .seconds(2), maxIterations: 500_000)

    // A stream with some loss, reordering and arrival jitter, as (sequence, timestamp, arrival).
    var rng = SystemRandomNumberGenerator()
    var stream: [(UInt16, UInt32, UInt32)] = []
    var seq: UInt16 = 65000
    for i in 0..<4096 {
        seq &+= UInt16.random(in: 0...40, using: &rng) == 0 ? 2 : 1
        let ts = UInt32(i) &* 160
        stream.append((seq, ts, ts &+ 5000 &+ UInt32.random(in: 0..<400, using: &rng)))
    }
    if stream.count > 10 { stream.swapAt(100, 101) }
    let frozen = stream

    Benchmark("Receive statistics update, per packet", configuration: perPacket) { benchmark in
        var stats = RTPReceiveStatistics()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            let (s, ts, at) = frozen[i & 4095]
            blackHole(stats.update(sequenceNumber: s, timestamp: ts, arrival: at))
        }
        benchmark.stopMeasurement()
        blackHole(stats.makeReport())
    }

    // SR with one report block + SDES CNAME: what a media server sends every ~5 s per leg.
    let packets: [RTCPPacket] = [
        .senderReport(ssrc: 0x1122_3344,
                      sender: RTCPSenderInfo(ntpTimestamp: NTPTime.timestamp(unixMicroseconds: 1_763_700_000_000_000),
                                             rtpTimestamp: 160_000, packetCount: 1000, octetCount: 160_000),
                      reports: [RTCPReportBlock(ssrc: 0x0A0B_0C0D, fractionLost: 3, cumulativeLost: 12, extendedHighestSequence: 0x1_0005,
                                                jitter: 14, lastSR: 0xB705_2000, delaySinceLastSR: 0x5_4000)]),
        .sourceDescription(RTCPSourceDescription(chunks: [
            .init(ssrc: 0x1122_3344, items: [.init(type: RTCPSourceDescription.Item.cname, text: "parley@192.0.2.1")]),
        ])),
    ]
    var encoded = [UInt8](repeating: 0, count: RTCPCompound.encodedSize(packets))
    _ = encoded.withUnsafeMutableBytes { RTCPCompound.write(packets, to: $0) }
    let datagram = encoded

    Benchmark("RTCP SR+SDES parse, views (validate, sender info, block, CNAME)", configuration: perPacket) { benchmark in
        datagram.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                guard let all = try? RTCPCompound.packets(bytes) else { continue }
                for p in all {
                    blackHole(p.senderInfo(in: bytes))
                    blackHole(p.reportBlock(0, in: bytes))
                    blackHole(p.cname(in: bytes)?.text)
                }
            }
        }
    }
    Benchmark("RTCP SR+SDES parse, decode to owned packets", configuration: perPacket) { benchmark in
        datagram.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations { blackHole(try? RTCPCompound.decode(bytes)) }
        }
    }
    Benchmark("RTCP SR+SDES serialize", configuration: perPacket) { benchmark in
        // The output buffer is allocated before measuring: one sample runs this closure once.
        var out = [UInt8](repeating: 0, count: RTCPCompound.encodedSize(packets))
        benchmark.startMeasurement()
        out.withUnsafeMutableBytes { buf in
            for _ in benchmark.scaledIterations { blackHole(RTCPCompound.write(packets, to: buf)) }
        }
        blackHole(out)
    }
    // The same compound written in place, as `RTCPReporter` does for every leg: no arrays.
    let block = RTCPReportBlock(ssrc: 0x0A0B_0C0D, fractionLost: 3, cumulativeLost: 12, extendedHighestSequence: 0x1_0005,
                                jitter: 14, lastSR: 0xB705_2000, delaySinceLastSR: 0x5_4000)
    let sender = RTCPSenderInfo(ntpTimestamp: NTPTime.timestamp(unixMicroseconds: 1_763_700_000_000_000),
                                rtpTimestamp: 160_000, packetCount: 1000, octetCount: 160_000)
    let cname = Array("parley@192.0.2.1".utf8)
    Benchmark("RTCP SR+SDES serialize in place (RTCPCompoundWriter)", configuration: perPacket) { benchmark in
        var out = [UInt8](repeating: 0, count: 512)
        benchmark.startMeasurement()
        out.withUnsafeMutableBytes { buf in
            cname.withUnsafeBytes { text in
                for _ in benchmark.scaledIterations {
                    var w = RTCPCompoundWriter(buf)
                    w.senderReport(ssrc: 0x1122_3344, sender: sender, report: block)
                    w.sourceDescription(ssrc: 0x1122_3344, cname: text)
                    blackHole(w.count)
                }
            }
        }
        blackHole(out)
    }
}
