import Benchmark
import CSpeexDSP
import Foundation
import ParleyDSP

/// Resampling and tone generation, one 20 ms frame per iteration.
///
/// Each resampler direction runs beside libspeexdsp's resampler on the same input (streaming
/// state carried from frame to frame, as on a call), at two speex quality levels:
/// 4, the lowest that meets Parley's figures (passband within 0.1 dB to 3.4 kHz, stopband
/// beyond 60 dB), and 3, speex's "VoIP" default, which droops about 1 dB at 3.4 kHz.
func registerResamplerBenchmarks() {
    // Speech-like input at any rate: tones inside the narrowest passband, slow envelope.
    func signal(rate: Int, count: Int) -> [Int16] {
        (0..<count).map { n in
            let t = Double(n) / Double(rate)
            let envelope = 0.2 + 0.8 * abs(sin(2 * Double.pi * 3 * t))
            let v = envelope * (9000 * sin(2 * Double.pi * 440 * t) + 6000 * sin(2 * Double.pi * 1270 * t) + 3000 * sin(2 * Double.pi * 2900 * t))
            return Int16(max(-32768, min(32767, v)))
        }
    }

    let directions = [(8000, 48000), (48000, 8000), (8000, 16000), (16000, 8000), (16000, 48000), (48000, 16000)]
    let speexDirections: Set<[Int]> = [[8000, 48000], [48000, 8000], [8000, 16000], [16000, 8000]]
    for (from, to) in directions {
        let inFrame = from / 50, outFrame = to / 50
        let name = "\(from / 1000)→\(to / 1000) kHz, 20 ms frame"
        // One second of input, cycled frame by frame so the filter sees a real signal.
        let input = signal(rate: from, count: from)
        let frames = from / inFrame

        Benchmark("Resampler \(name), Parley") { benchmark in
            guard let resampler = try? Resampler(from: from, to: to) else { return }
            var out = [Int16](repeating: 0, count: outFrame)
            input.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in benchmark.scaledIterations {
                        let frame = UnsafeBufferPointer(rebasing: src[((i % frames) * inFrame)...].prefix(inFrame))
                        blackHole(resampler.process(frame, into: dst))
                    }
                }
            }
            blackHole(out)
        }

        guard speexDirections.contains([from, to]) else { continue }
        for quality: Int32 in [4, 3] {
            Benchmark("Resampler \(name), speexdsp q\(quality)") { benchmark in
                var error: Int32 = 0
                guard let state = speex_resampler_init(1, UInt32(from), UInt32(to), quality, &error) else { return }
                defer { speex_resampler_destroy(state) }
                var out = [Int16](repeating: 0, count: outFrame)
                input.withUnsafeBufferPointer { src in
                    out.withUnsafeMutableBufferPointer { dst in
                        guard let base = src.baseAddress else { return }
                        for i in benchmark.scaledIterations {
                            var inLength = UInt32(inFrame), outLength = UInt32(outFrame)
                            speex_resampler_process_int(state, 0, base + (i % frames) * inFrame, &inLength, dst.baseAddress, &outLength)
                            blackHole(outLength)
                        }
                    }
                }
                blackHole(out)
            }
        }
    }

    // Tone generator at the rates a call runs at: DTMF (half of it pauses), a steady
    // two-tone sound (ringback's tones without its off time), comfort noise.
    let plans: [(String, Cadence)] = [
        ("DTMF", (try? Cadence.dtmf("0123456789*#ABCD")).map { Cadence($0.segments, repeating: .forever) } ?? .silence),
        ("two tones (440+480 Hz, steady)", Cadence([ToneSegment(frequencies: [440, 480], level: -19, onMilliseconds: 1000, offMilliseconds: 0)], repeating: .forever)),
        ("comfort noise", .comfortNoise(level: -60)),
    ]
    for rate in [8000, 48000] {
        for (label, cadence) in plans {
            Benchmark("Tone generator, \(label), \(rate / 1000) kHz, 20 ms frame") { benchmark in
                guard let generator = try? ToneGenerator(sampleRate: rate), (try? generator.start(cadence)) != nil else { return }
                var out = [Int16](repeating: 0, count: generator.frameSize)
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in benchmark.scaledIterations { blackHole(generator.nextFrame(into: dst)) }
                }
                blackHole(out)
            }
        }
    }
}
