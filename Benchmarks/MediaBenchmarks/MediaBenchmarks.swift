import Benchmark
import CSpanDSP
import ParleyDSP
import ParleyRTP

/// Hot paths of the media plane, each beside its reference where one exists
/// (spandsp's per-sample G.711 converters), so ratios come from one run.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    // Speech-like input: a sum of tones with a slow envelope, covering every segment.
    func signal(_ count: Int) -> [Int16] {
        (0..<count).map { n in
            let t = Double(n) / 8000
            let envelope = 0.2 + 0.8 * abs(sin(2 * Double.pi * 3 * t))
            let v = envelope * (9000 * sin(2 * Double.pi * 440 * t) + 6000 * sin(2 * Double.pi * 1270 * t) + 3000 * sin(2 * Double.pi * 2900 * t))
            return Int16(max(-32768, min(32767, v)))
        }
    }

    // Each benchmark below is written out in full on purpose: folding them into a generic
    // helper that takes the conversion as a closure measured the spandsp reference 3-5x
    // slower (its inline converters stopped being inlined and vectorized), which would
    // flatter every ratio against it.
    for (label, count) in [("20 ms frame", 160), ("1 s block", 8000)] {
        let pcm = signal(count)
        let codes = pcm.map { G711.ulaw($0) }
        let acodes = pcm.map { G711.alaw($0) }

        Benchmark("G.711 µ-law encode, \(label), Parley") { benchmark in
            var out = [UInt8](repeating: 0, count: count)
            pcm.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations { blackHole(G711.encode(.ulaw, src, into: dst)) }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 µ-law encode, \(label), Parley SIMD16 types") { benchmark in
            var out = [UInt8](repeating: 0, count: count)
            pcm.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations { blackHole(G711.encodeSIMD16(.ulaw, src, into: dst)) }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 µ-law encode, \(label), spandsp") { benchmark in
            var out = [UInt8](repeating: 0, count: count)
            pcm.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations {
                        for i in 0..<src.count { dst[i] = parley_spandsp_linear_to_ulaw(src[i]) }
                        blackHole(dst.baseAddress)
                    }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 A-law encode, \(label), Parley") { benchmark in
            var out = [UInt8](repeating: 0, count: count)
            pcm.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations { blackHole(G711.encode(.alaw, src, into: dst)) }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 A-law encode, \(label), spandsp") { benchmark in
            var out = [UInt8](repeating: 0, count: count)
            pcm.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations {
                        for i in 0..<src.count { dst[i] = parley_spandsp_linear_to_alaw(src[i]) }
                        blackHole(dst.baseAddress)
                    }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 µ-law decode, \(label), Parley") { benchmark in
            var out = [Int16](repeating: 0, count: count)
            codes.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations { blackHole(G711.decode(.ulaw, src, into: dst)) }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 µ-law decode, \(label), spandsp") { benchmark in
            var out = [Int16](repeating: 0, count: count)
            codes.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations {
                        for i in 0..<src.count { dst[i] = parley_spandsp_ulaw_to_linear(src[i]) }
                        blackHole(dst.baseAddress)
                    }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 A-law decode, \(label), Parley") { benchmark in
            var out = [Int16](repeating: 0, count: count)
            acodes.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations { blackHole(G711.decode(.alaw, src, into: dst)) }
                }
            }
            blackHole(out)
        }
        Benchmark("G.711 A-law decode, \(label), spandsp") { benchmark in
            var out = [Int16](repeating: 0, count: count)
            acodes.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations {
                        for i in 0..<src.count { dst[i] = parley_spandsp_alaw_to_linear(src[i]) }
                        blackHole(dst.baseAddress)
                    }
                }
            }
            blackHole(out)
        }
    }

    // RTP: a 172-byte G.711 packet.
    var packet = [UInt8](repeating: 0xD5, count: RTPHeader.fixedSize + 160)
    let header = RTPHeader(marker: false, payloadType: 0, sequenceNumber: 4711, timestamp: 160_000, ssrc: 0x1234_5678)
    _ = packet.withUnsafeMutableBytes { header.write(to: $0) }
    let frozen = packet

    Benchmark("RTP header parse (172-byte packet)") { benchmark in
        frozen.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations { blackHole(try? RTPPacketView.parse(bytes)) }
        }
    }
    Benchmark("RTP header serialize") { benchmark in
        var out = [UInt8](repeating: 0, count: RTPHeader.fixedSize)
        var h = header
        out.withUnsafeMutableBytes { buf in
            for i in benchmark.scaledIterations {
                h.sequenceNumber = UInt16(truncatingIfNeeded: i)
                blackHole(h.write(to: buf))
            }
        }
        blackHole(out)
    }
    registerOpusBenchmarks()
    registerDSPBenchmarks()
    registerDTMFBenchmarks()
    registerResamplerBenchmarks()
    registerSIPBenchmarks()
    registerDigestBenchmarks()
    registerRTCPBenchmarks()
    registerJitterBufferBenchmarks()
    registerStoreBenchmarks()
    registerTickBenchmarks()
    registerConferenceBenchmarks()
}
