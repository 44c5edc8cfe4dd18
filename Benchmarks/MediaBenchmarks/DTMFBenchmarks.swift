import Benchmark
import CSpanDSP
import ParleyDSP

/// In-band DTMF detection per 20 ms frame on speech-like audio without digits (the
/// common case: a caller talking, or a prompt echoing back), beside the raw spandsp
/// receiver on the same frames, so the wrapper's cost is visible: `DTMFDetector` runs two
/// spandsp receivers half a block apart (for Q.24 duration conformance), so compare it
/// with "× 2"; the rest is slicing, the history ring and the callback inbox.
func registerDTMFBenchmarks() {
    // One frame per measured iteration: timings read directly as ns per 20 ms frame.
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    let frame = 160
    let audio = speechLike(seconds: 10)
    let frames = audio.count / frame

    // The input must hold no digits, or the benchmark would measure event handling.
    if let check = try? DTMFDetector(sampleRate: 8000) {
        var found = 0
        audio.withUnsafeBufferPointer { check.process($0) { _ in found += 1 } }
        if found > 0 { print("warning: DTMF benchmark input produced \(found) events") }
    }

    // State lives outside the closures (which run once per measured iteration) and keeps
    // advancing through the audio, as a stream's detector would; nothing is freed, the
    // process ends with the run.
    guard let detector = try? DTMFDetector(sampleRate: 8000),
          let single = dtmf_rx_init(nil, nil, nil),
          let first = dtmf_rx_init(nil, nil, nil), let second = dtmf_rx_init(nil, nil, nil) else {
        print("DTMF benchmarks: could not create the receivers")
        return
    }
    let pcm = UnsafeMutableBufferPointer<Int16>.allocate(capacity: audio.count)
    _ = pcm.initialize(from: audio)
    let base = UnsafePointer(pcm.baseAddress!)
    var nextParley = 0, nextSingle = 0, nextPair = 0

    Benchmark("DTMF detect, 20 ms frame, Parley DTMFDetector", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            detector.process(UnsafeBufferPointer(start: base + nextParley * frame, count: frame)) { blackHole($0) }
            nextParley = nextParley + 1 == frames ? 0 : nextParley + 1
        }
    }

    Benchmark("DTMF detect, 20 ms frame, spandsp dtmf_rx (one receiver)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(dtmf_rx(single, base + nextSingle * frame, Int32(frame)))
            nextSingle = nextSingle + 1 == frames ? 0 : nextSingle + 1
        }
    }

    Benchmark("DTMF detect, 20 ms frame, spandsp dtmf_rx × 2 (the detector's two receivers)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            let samples = base + nextPair * frame
            blackHole(dtmf_rx(first, samples, Int32(frame)))
            blackHole(dtmf_rx(second, samples, Int32(frame)))
            nextPair = nextPair + 1 == frames ? 0 : nextPair + 1
        }
    }
}

/// Vowel-like audio: a glottal pulse train (f0 drifting between about 95 and 230 Hz)
/// through three formants gliding between vowel targets, a 4 Hz syllable envelope, and a
/// pause every couple of seconds. Deterministic.
private func speechLike(seconds: Int) -> [Int16] {
    let fs = 8000.0
    let count = seconds * 8000
    let vowels: [(Double, Double, Double)] = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480),
                                              (570, 840, 2410), (300, 870, 2240), (640, 1190, 2390)]
    var out = [Int16](repeating: 0, count: count)
    var phase = 0.0
    for n in 0..<count {
        let t = Double(n) / fs
        let f0 = 160 + 65 * sin(2 * Double.pi * 0.37 * t) * sin(2 * Double.pi * 1.3 * t)
        phase += f0 / fs
        if phase >= 1 { phase -= 1 }
        // Formants: glide between consecutive vowel targets every 180 ms.
        let position = t / 0.18
        let a = vowels[Int(position) % vowels.count], b = vowels[(Int(position) + 1) % vowels.count]
        let mix = position - position.rounded(.down)
        let formants = [a.0 + (b.0 - a.0) * mix, a.1 + (b.1 - a.1) * mix, a.2 + (b.2 - a.2) * mix]
        var v = 0.0
        var k = 1.0
        while k * f0 < 3800 {
            var gain = 0.0
            for (i, f) in formants.enumerated() {
                let bandwidth = 80.0 + 40 * Double(i)
                let d = (k * f0 - f) / bandwidth
                gain += 1 / (1 + d * d) / Double(i + 1)
            }
            v += gain / k.squareRoot() * sin(2 * Double.pi * k * phase)
            k += 1
        }
        let syllable = max(0, sin(2 * Double.pi * 4 * t))
        let pause = (t.truncatingRemainder(dividingBy: 2.3)) > 1.9 ? 0.0 : 1.0
        out[n] = Int16(max(-32768, min(32767, 5000 * v * syllable * pause)))
    }
    return out
}
