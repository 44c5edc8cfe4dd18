import Benchmark
import Foundation
import ParleyDSP

/// The conference mixer, one 20 ms room tick per iteration: N participants' frames in, every
/// talker's N−1 mix and the shared mix out. `ConferenceMixer` (SIMD16) beside
/// `ScalarConferenceMixer` (per sample) on the same input, so the ratio comes from one run.
/// Cost per participant-frame = time per iteration / N. Talkers: all of them for 3 and 15;
/// 50 participants with loudest-3 (everyone talking, the three loudest mixed).
func registerConferenceBenchmarks() {
    let cases: [(participants: Int, loudest: Int?)] = [(3, nil), (15, nil), (50, 3)]
    for rate in [8000, 48000] {
        let frame = rate / 50
        for (n, loudest) in cases {
            let label = "\(n) participants\(loudest.map { ", loudest-\($0)" } ?? ""), \(rate / 1000) kHz"
            // Distinct tones per participant, so no two inputs are equal.
            let inputs: [[Int16]] = (0..<n).map { i in
                (0..<frame).map { s in Int16(3000 * sin(2 * Double.pi * Double(300 + 37 * i) * Double(s) / Double(rate))) }
            }
            Benchmark("Conference mix, \(label), SIMD") { benchmark in
                let mixer = ConferenceMixer(frameSamples: frame, capacity: n)
                mixer.loudest = loudest
                for i in 0..<n {
                    let input = mixer.input(i)
                    inputs[i].withUnsafeBufferPointer { input.baseAddress?.update(from: $0.baseAddress!, count: frame) }
                    mixer.speaking[i] = true
                    mixer.level[i] = Float(i % 7)
                }
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    mixer.mix(count: n)
                    blackHole(mixer.output(0).baseAddress)
                }
            }
            Benchmark("Conference mix, \(label), scalar") { benchmark in
                let mixer = ScalarConferenceMixer(frameSamples: frame, capacity: n)
                mixer.loudest = loudest
                for i in 0..<n {
                    mixer.setInput(i, inputs[i])
                    mixer.speaking[i] = true
                    mixer.level[i] = Float(i % 7)
                }
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    mixer.mix(count: n)
                    blackHole(mixer.shared.count)
                }
            }
        }
    }
}
