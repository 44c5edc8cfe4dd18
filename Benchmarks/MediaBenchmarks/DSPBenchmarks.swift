import Benchmark
import Foundation
import ParleyDSP

/// Per-frame costs of concealment, energy/VAD and recording. One 20 ms frame per sample
/// (no scaling), so the malloc column counts allocations per frame exactly.
func registerDSPBenchmarks() {
    let perFrame = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one,
                                           maxDuration: .seconds(2), maxIterations: 200_000)
    let speech: [Int16] = (0..<8000).map { n in
        let t = Double(n) / 8000
        return Int16(6000 * sin(2 * Double.pi * 150 * t) + 3000 * sin(2 * Double.pi * 310 * t) + 1500 * sin(2 * Double.pi * 1170 * t))
    }
    let codes = speech.map { G711.ulaw($0) }

    Benchmark("PLC G.711 decode + history, 20 ms", configuration: perFrame) { benchmark in
        let decoder = G711Decoder(law: .ulaw)
        var out = [Int16](repeating: 0, count: 160)
        benchmark.startMeasurement()
        codes.withUnsafeBytes { all in
            out.withUnsafeMutableBufferPointer { o in
                for i in benchmark.scaledIterations {
                    let start = (i % 49) * 160
                    blackHole(try? decoder.decode(UnsafeRawBufferPointer(rebasing: all[start..<(start + 160)]), into: o))
                }
            }
        }
    }
    Benchmark("PLC G.711 conceal lost frame, 20 ms", configuration: perFrame) { benchmark in
        let decoder = G711Decoder(law: .ulaw)
        var out = [Int16](repeating: 0, count: 160)
        codes.withUnsafeBytes { all in _ = out.withUnsafeMutableBufferPointer { try? decoder.decode(UnsafeRawBufferPointer(rebasing: all[0..<160]), into: $0) } }
        benchmark.startMeasurement()
        out.withUnsafeMutableBufferPointer { o in
            for _ in benchmark.scaledIterations { blackHole(decoder.conceal(samples: 160, next: nil, into: o)) }
        }
    }
    Benchmark("Energy dBov + VAD decision, 20 ms", configuration: perFrame) { benchmark in
        var vad = VoiceActivityDetector()
        speech.withUnsafeBufferPointer { all in
            for i in benchmark.scaledIterations {
                let start = (i % 49) * 160
                blackHole(vad.process(UnsafeBufferPointer(rebasing: all[start..<(start + 160)])))
            }
        }
    }
    Benchmark("WAV writer append, 20 ms PCM16 frame", configuration: perFrame) { benchmark in
        let path = NSTemporaryDirectory() + "parley-bench-\(getpid()).wav"
        guard let writer = try? AudioFileWriter(path: path, sampleRate: 8000) else { return }
        benchmark.startMeasurement()
        speech.withUnsafeBufferPointer { all in
            for i in benchmark.scaledIterations {
                let start = (i % 49) * 160
                try? writer.write(UnsafeBufferPointer(rebasing: all[start..<(start + 160)]))
            }
        }
        benchmark.stopMeasurement()
        writer.finish()
        try? FileManager.default.removeItem(atPath: path)
    }
}
