import Benchmark
import Foundation
import ParleyDSP

/// Opus encode and decode of one 20 ms frame at 8, 16 and 48 kHz (24 kb/s, complexity 5),
/// through libopus. The malloc count shows whether the per-frame path allocates.
///
/// Unlike the G.711 benchmarks these run unscaled: a frame takes microseconds, so every
/// sample is one frame and the malloc count is per frame exactly (scaled by 1000, up to
/// 999 mallocs per 1000 frames would round to 0).
func registerOpusBenchmarks() {
    let perFrame = Benchmark.Configuration(scalingFactor: .one)
    // One second of speech-like input at `rate`: tones under a 3 Hz syllable envelope,
    // with a little noise so the encoder never sees a perfectly periodic signal.
    func speechLike(rate: Int) -> [Int16] {
        var seed: UInt32 = 12345
        return (0..<rate).map { n in
            let t = Double(n) / Double(rate)
            let envelope = 0.15 + 0.85 * abs(sin(2 * Double.pi * 3 * t))
            seed = seed &* 1_664_525 &+ 1_013_904_223
            let noise = Double(Int32(bitPattern: seed) >> 20)
            let v = envelope * (7000 * sin(2 * Double.pi * 180 * t) + 4000 * sin(2 * Double.pi * 720 * t)
                + 2000 * sin(2 * Double.pi * 2300 * t)) + noise
            return Int16(max(-32768, min(32767, v)))
        }
    }

    for rate in Opus.supportedSampleRates {
        let frameSize = Opus.frameSamples(sampleRate: rate)
        let pcm = speechLike(rate: rate)
        let frameCount = pcm.count / frameSize

        // The packets the decode benchmark cycles through.
        var packets: [[UInt8]] = []
        if let encoder = try? OpusEncoder(sampleRate: rate, bitrate: 24_000, complexity: 5) {
            var out = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
            for f in 0..<frameCount {
                let n = pcm[(f * frameSize)..<((f + 1) * frameSize)].withUnsafeBufferPointer { src in
                    out.withUnsafeMutableBufferPointer { (try? encoder.encode(src, into: $0)) ?? 0 }
                }
                packets.append(Array(out[0..<n]))
            }
        }
        let encoded = packets

        // The codec state and buffers are made once, outside the measured closure, and
        // persist across samples: every sample is a frame of a running stream.
        if let encoder = try? OpusEncoder(sampleRate: rate, bitrate: 24_000, complexity: 5) {
            var out = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
            Benchmark("Opus encode, 20 ms frame, \(rate / 1000) kHz, 24 kb/s, complexity 5", configuration: perFrame) { benchmark in
                pcm.withUnsafeBufferPointer { all in
                    out.withUnsafeMutableBufferPointer { dst in
                        for i in benchmark.scaledIterations {
                            let f = i % frameCount
                            let frame = UnsafeBufferPointer(rebasing: all[(f * frameSize)..<((f + 1) * frameSize)])
                            blackHole(try? encoder.encode(frame, into: dst))
                        }
                    }
                }
            }
        }

        if let decoder = try? OpusDecoder(sampleRate: rate), !encoded.isEmpty {
            var out = [Int16](repeating: 0, count: decoder.maxPacketSamples)
            Benchmark("Opus decode, 20 ms frame, \(rate / 1000) kHz, 24 kb/s", configuration: perFrame) { benchmark in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in benchmark.scaledIterations {
                        encoded[i % encoded.count].withUnsafeBufferPointer { packet in
                            blackHole(try? decoder.decode(packet, into: dst))
                        }
                    }
                }
            }
        }
    }
}
