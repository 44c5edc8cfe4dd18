import ParleyTestSupport
import Foundation
import Testing
@testable import ParleyDSP

@Suite("Tone generation")
struct ToneGeneratorTests {
    static let rates = [8000, 16000, 48000]

    /// Plays `cadence` for `milliseconds` in 20 ms frames.
    static func play(_ cadence: Cadence, rate: Int, milliseconds: Int, ramp: Int = 2, seed: UInt64 = 1) throws -> [Int16] {
        let generator = try ToneGenerator(sampleRate: rate, rampMilliseconds: ramp, seed: seed)
        try generator.start(cadence)
        var output: [Int16] = []
        var frame = [Int16](repeating: 0, count: generator.frameSize)
        for _ in 0..<(milliseconds / 20) {
            let n = frame.withUnsafeMutableBufferPointer { generator.nextFrame(into: $0) }
            #expect(n == generator.frameSize)
            output += frame
        }
        return output
    }

    /// Frequency (Hz, peak of the spectrum within ±3 % of `nominal`) and level (dBm0, by a
    /// least-squares fit at that frequency) of one component of `samples`.
    static func component(_ samples: [Double], nominal: Double, all: [Double], rate: Int) -> (frequency: Double, level: Double) {
        let f = Measure.peakFrequency(samples, rate: Double(rate), in: (nominal * 0.97)...(nominal * 1.03))
        let fit = Measure.sineFit(samples, frequencies: all, rate: Double(rate))
        let amplitude = fit.amplitudes[all.firstIndex(of: nominal)!]
        return (f, Measure.dB(amplitude / ToneGenerator.amplitude(dBm0: 0)))
    }

    /// Checks every on-period of a one-segment-per-key DTMF or tone plan: frequencies within
    /// 0.5 % and levels within 0.5 dB, measured on the steady part (ramps left out).
    static func checkTones(_ samples: [Int16], _ cadence: Cadence, rate: Int, ramp: Int = 2) -> (worstFrequencyError: Double, worstLevelError: Double) {
        let perMs = rate / 1000
        var start = 0
        var worstF = 0.0, worstL = 0.0
        for segment in cadence.segments {
            defer { start += (segment.onMilliseconds + segment.offMilliseconds) * perMs }
            guard case let .tones(tones) = segment.sound else { continue }
            let lo = start + ramp * perMs, hi = start + (segment.onMilliseconds - ramp) * perMs
            let window = samples[lo..<hi].map(Double.init)
            let frequencies = tones.map(\.frequency)
            for tone in tones {
                let got = component(window, nominal: tone.frequency, all: frequencies, rate: rate)
                let fError = abs(got.frequency - tone.frequency) / tone.frequency
                let lError = abs(got.level - tone.level)
                #expect(fError <= 0.005, "\(tone.frequency) Hz at \(rate) Hz measured \(got.frequency) Hz")
                #expect(lError <= 0.5, "\(tone.frequency) Hz at \(tone.level) dBm0, \(rate) Hz: measured \(got.level) dBm0")
                worstF = max(worstF, fError)
                worstL = max(worstL, lError)
            }
        }
        return (worstF, worstL)
    }

    @Test("DTMF, beep, ringback, busy and chimes: frequencies within 0.5 %, levels within 0.5 dB", arguments: ToneGeneratorTests.rates)
    func frequenciesAndLevels(_ rate: Int) throws {
        let keys = try Cadence.dtmf("123A456B789C*0#D")
        let twisted = try Cadence.dtmf("5D", settings: DTMFSettings(level: -7, twist: 4, onMilliseconds: 60, offMilliseconds: 40))
        let ringbackOnce = Cadence(Cadence.ringback().segments)
        let busyOnce = Cadence(Cadence.busy().segments)
        let custom = Cadence([ToneSegment(frequencies: [350, 440], level: -13, onMilliseconds: 300, offMilliseconds: 0),
                              ToneSegment(frequencies: [1004], level: 0, onMilliseconds: 100, offMilliseconds: 0)])
        var report = ""
        for (name, cadence) in [("DTMF", keys), ("DTMF twist +4 dB", twisted), ("beep", Cadence.beep()),
                                ("ringback", ringbackOnce), ("busy", busyOnce), ("join", Cadence.joinChime),
                                ("leave", Cadence.leaveChime), ("dial + 0 dBm0", custom)] {
            let samples = try ToneGeneratorTests.play(cadence, rate: rate, milliseconds: cadence.passMilliseconds + 20)
            let worst = ToneGeneratorTests.checkTones(samples, cadence, rate: rate)
            report += "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: "worst frequency error %.4f %%, worst level error %.3f dB\n", worst.0 * 100, worst.1)
        }
        print("tones at \(rate) Hz:\n" + report)
    }

    @Test("0 dBm0 is a sine 3.14 dB below full scale; -10 dBm0 per DTMF tone by default")
    func reference() throws {
        #expect(abs(ToneGenerator.amplitude(dBm0: 0) - 22_826.6) < 0.5)
        #expect(abs(ToneGenerator.amplitude(dBm0: 3.14) - 32_767) < 1e-6)
        guard case let .tones(tones) = try Cadence.dtmf("1").segments[0].sound else { Issue.record("no tones"); return }
        #expect(tones == [Tone(frequency: 697, level: -10), Tone(frequency: 1209, level: -10)])
        #expect(Cadence.dtmfFrequencies("d")! == (941, 1633))
    }

    /// The expected output computed independently, sample by sample, in `Double`.
    static func model(_ cadence: Cadence, passes: Int, rate: Int, ramp rampMs: Int, total: Int) -> [Double] {
        let perMs = rate / 1000, r = rampMs * perMs
        func gain(_ k: Int) -> Double { 0.5 - 0.5 * cos(Double.pi * (Double(k) + 0.5) / Double(r)) }
        var out: [Double] = []
        for _ in 0..<passes {
            for segment in cadence.segments {
                let on = segment.onMilliseconds * perMs
                let tones: [Tone]
                if case let .tones(t) = segment.sound { tones = t } else { tones = [] }
                for i in 0..<on {
                    var v = 0.0
                    for tone in tones { v += ToneGenerator.amplitude(dBm0: tone.level) * sin(2 * Double.pi * tone.frequency * Double(i) / Double(rate)) }
                    var g = 1.0
                    if i < r { g = min(g, gain(i)) }
                    if i >= on - r { g = min(g, gain(on - 1 - i)) }
                    out.append(v * g)
                }
                out += [Double](repeating: 0, count: segment.offMilliseconds * perMs)
            }
        }
        return out + [Double](repeating: 0, count: max(0, total - out.count))
    }

    @Test("cadence boundaries fall exactly on the sample, inside frames, then silence", arguments: ToneGeneratorTests.rates)
    func cadenceTiming(_ rate: Int) throws {
        // Odd lengths so that boundaries land mid-frame; a silence segment; two passes.
        let cadence = Cadence([ToneSegment(frequencies: [697, 1209], level: -10, onMilliseconds: 37, offMilliseconds: 23),
                               ToneSegment(frequencies: [1000], level: -6, onMilliseconds: 13, offMilliseconds: 0),
                               ToneSegment(.silence, onMilliseconds: 7),
                               ToneSegment(frequencies: [440], level: -12, onMilliseconds: 41, offMilliseconds: 19)],
                              repeating: .times(2))
        let generator = try ToneGenerator(sampleRate: rate)
        try generator.start(cadence)
        var samples: [Int16] = []
        var frame = [Int16](repeating: 0, count: generator.frameSize)
        for _ in 0..<20 {
            frame.withUnsafeMutableBufferPointer { _ = generator.nextFrame(into: $0) }
            samples += frame
        }
        #expect(generator.isFinished)
        let expected = ToneGeneratorTests.model(cadence, passes: 2, rate: rate, ramp: 2, total: samples.count)
        #expect(expected.count == samples.count)
        var worst = 0.0
        for (a, b) in zip(samples, expected) { worst = max(worst, abs(Double(a) - b)) }
        #expect(worst <= 1.0, "largest difference from the model: \(worst)")
        // Sample-exact gating, stated directly: every off sample is zero.
        let perMs = rate / 1000
        let pass = cadence.passMilliseconds * perMs
        for p in 0..<2 {
            let off1 = (p * pass + 37 * perMs)..<(p * pass + 60 * perMs)
            #expect(samples[off1].allSatisfy { $0 == 0 })
            #expect(samples[p * pass + 60 * perMs - 1] == 0 && samples[p * pass + 60 * perMs + 1] != 0)
        }
        #expect(samples[(2 * pass)...].allSatisfy { $0 == 0 })
    }

    @Test("US ringback: 2 s on, 4 s off, exact to the sample, twice", arguments: ToneGeneratorTests.rates)
    func ringbackCadence(_ rate: Int) throws {
        let samples = try ToneGeneratorTests.play(.ringback(), rate: rate, milliseconds: 12_000)
        let expected = ToneGeneratorTests.model(Cadence.ringback(), passes: 2, rate: rate, ramp: 2, total: samples.count)
        var worst = 0.0
        for (a, b) in zip(samples, expected) { worst = max(worst, abs(Double(a) - b)) }
        #expect(worst <= 1.0)
    }

    @Test("phase-continuous across frames: frame by frame equals one block, no jumps", arguments: ToneGeneratorTests.rates)
    func phaseContinuity(_ rate: Int) throws {
        for cadence in [Cadence.ringback(), Cadence.busy(), try Cadence.dtmf("159#"), Cadence.beep(frequency: 1777)] {
            let framed = try ToneGeneratorTests.play(cadence, rate: rate, milliseconds: 1000)
            let generator = try ToneGenerator(sampleRate: rate)
            try generator.start(cadence)
            var block = [Int16](repeating: 0, count: framed.count)
            block.withUnsafeMutableBufferPointer { generator.generate(into: $0) }
            #expect(framed == block)

            // Odd-sized calls: the same samples, give or take rounding (the lanes are re-seeded
            // from the exact phase at other points).
            let odd = try ToneGenerator(sampleRate: rate)
            try odd.start(cadence)
            var chunked: [Int16] = []
            var rng = SeededRandom(seed: UInt64(rate))
            while chunked.count < framed.count {
                var piece = [Int16](repeating: 0, count: min(Int(rng.next() % 700) + 1, framed.count - chunked.count))
                piece.withUnsafeMutableBufferPointer { odd.generate(into: $0) }
                chunked += piece
            }
            #expect(zip(framed, chunked).allSatisfy { abs(Int($0) - Int($1)) <= 1 })

            // |y[n+1] − y[n]| ≤ Σ A·(ω + ramp slope): a restart or a dropped sample would exceed it.
            let rampSlope = Double.pi / (2 * Double(2 * rate / 1000))
            let bound = cadence.segments.map { segment -> Double in
                guard case let .tones(tones) = segment.sound else { return 0 }
                return tones.reduce(2.0) { $0 + ToneGenerator.amplitude(dBm0: $1.level) * (2 * Double.pi * $1.frequency / Double(rate) + rampSlope) }
            }.max()!
            var jump = 0
            for n in 1..<framed.count { jump = max(jump, abs(Int(framed[n]) - Int(framed[n - 1]))) }
            #expect(Double(jump) <= bound, "jump \(jump) > \(bound)")
        }
    }

    @Test("a segment that goes on with the same sound continues its phase without ramps")
    func continuingSound() throws {
        let split = Cadence([ToneSegment(frequencies: [440], level: -10, onMilliseconds: 30, offMilliseconds: 0),
                             ToneSegment(frequencies: [440], level: -10, onMilliseconds: 30, offMilliseconds: 0)])
        #expect(try ToneGeneratorTests.play(split, rate: 8000, milliseconds: 100)
                == ToneGeneratorTests.play(.beep(frequency: 440, milliseconds: 60), rate: 8000, milliseconds: 100))
    }

    @Test("generated DTMF is detected: all 16 keys, in order, once each", arguments: ToneGeneratorTests.rates)
    func detection(_ rate: Int) throws {
        let keys = "123A456B789C*0#D"
        let samples = try ToneGeneratorTests.play(try Cadence.dtmf(keys), rate: rate, milliseconds: 16 * 200 + 200)
        // The detector runs at 8 kHz: wideband tones go through the resampler first.
        let narrow = rate == 8000 ? samples : try ResamplerTests.convert(samples, from: rate, to: 8000)
        let detector = DTMFDetector()
        var found = ""
        var i = 0
        while i + 160 <= narrow.count {
            found += narrow[i..<(i + 160)].withUnsafeBufferPointer { detector.process($0) }
            i += 160
        }
        #expect(found == keys)
    }

    @Test("short DTMF (50 ms on, 50 ms off) at -20 dBm0 is still detected once per key")
    func shortDigits() throws {
        let settings = DTMFSettings(level: -20, twist: 2, onMilliseconds: 50, offMilliseconds: 50)
        let samples = try ToneGeneratorTests.play(try Cadence.dtmf("0123456789", settings: settings), rate: 8000, milliseconds: 1100)
        let detector = DTMFDetector()
        let found = samples.withUnsafeBufferPointer { detector.process($0) }
        #expect(found == "0123456789")
    }

    @Test("comfort noise: RMS within 0.5 dB of the dBov asked, reproducible from the seed", arguments: ToneGeneratorTests.rates)
    func comfortNoise(_ rate: Int) throws {
        for spectrum in [NoiseSpectrum.white, .lowPassed] {
            for level in [-50.0, -30.0, -12.0] {
                let samples = try ToneGeneratorTests.play(.comfortNoise(level: level, spectrum: spectrum), rate: rate, milliseconds: 2000, seed: 7)
                let measured = Measure.dB(Measure.rms(samples.map(Double.init)) / 32_767)
                #expect(abs(measured - level) <= 0.5, "\(spectrum) at \(level) dBov, \(rate) Hz: measured \(measured) dBov")
                #expect(try ToneGeneratorTests.play(.comfortNoise(level: level, spectrum: spectrum), rate: rate, milliseconds: 2000, seed: 7) == samples)
            }
        }
        // The low-passed kind has less energy at 3 kHz than at 300 Hz; white noise is flat.
        let lp = try ToneGeneratorTests.play(.comfortNoise(level: -20, spectrum: .lowPassed), rate: 8000, milliseconds: 2000).map(Double.init)
        let fit = Measure.sineFit(lp, frequencies: [300, 3000], rate: 8000)
        #expect(fit.amplitudes[1] < fit.amplitudes[0])
    }

    @Test("silence by default and after stop; too-short frames write nothing")
    func silenceAndStop() throws {
        let generator = try ToneGenerator(sampleRate: 16000)
        var frame = [Int16](repeating: 5, count: 320)
        frame.withUnsafeMutableBufferPointer { _ = generator.nextFrame(into: $0) }
        #expect(frame.allSatisfy { $0 == 0 })
        try generator.start(.beep())
        frame.withUnsafeMutableBufferPointer { _ = generator.nextFrame(into: $0) }
        #expect(frame.contains { $0 != 0 })
        generator.stop()
        #expect(generator.isFinished)
        frame.withUnsafeMutableBufferPointer { _ = generator.nextFrame(into: $0) }
        #expect(frame.allSatisfy { $0 == 0 })
        var short = [Int16](repeating: 5, count: 319)
        #expect(short.withUnsafeMutableBufferPointer { generator.nextFrame(into: $0) } == 0)
        #expect(short.allSatisfy { $0 == 5 })
        // A plan that lasts 0 ms just finishes.
        try generator.start(Cadence([ToneSegment(.silence, onMilliseconds: 0)], repeating: .times(1_000_000)))
        #expect(generator.isFinished)
    }

    @Test("out-of-range plans are refused with the value and segment named")
    func errors() throws {
        #expect(throws: ToneGeneratorError.unsupportedRate(44_100)) { try ToneGenerator(sampleRate: 44_100) }
        #expect(throws: ToneGeneratorError.rampOutOfRange(milliseconds: -1)) { try ToneGenerator(sampleRate: 8000, rampMilliseconds: -1) }
        #expect(throws: ToneGeneratorError.invalidDigit("x", position: 2)) { try Cadence.dtmf("12x") }
        #expect(throws: ToneGeneratorError.invalidDigit("ß", position: 0)) { try Cadence.dtmf("ß") }
        let g = try ToneGenerator(sampleRate: 8000)
        try g.start(.beep())
        #expect(throws: ToneGeneratorError.frequencyOutOfRange(frequency: 4000, sampleRate: 8000, segment: 1)) {
            try g.start(Cadence([ToneSegment(.silence, onMilliseconds: 10), ToneSegment(frequencies: [4000], level: -10, onMilliseconds: 10, offMilliseconds: 0)]))
        }
        do {
            try g.start(Cadence.beep(frequency: .nan))
            Issue.record("a NaN frequency was accepted")
        } catch {
            guard case let .frequencyOutOfRange(f, _, _) = error, f.isNaN else { Issue.record("wrong error \(error)"); return }
        }
        #expect(throws: ToneGeneratorError.toneLevelOutOfRange(level: 4, segment: 0)) { try g.start(.beep(level: 4)) }
        #expect(throws: ToneGeneratorError.toneLevelOutOfRange(level: 5, segment: 0)) {
            try g.start(try Cadence.dtmf("1", settings: DTMFSettings(level: 1, twist: 4)))
        }
        #expect(throws: ToneGeneratorError.noiseLevelOutOfRange(level: 3, segment: 0)) { try g.start(.comfortNoise(level: 3)) }
        #expect(throws: ToneGeneratorError.durationOutOfRange(milliseconds: -5, segment: 0)) { try g.start(.beep(milliseconds: -5)) }
        #expect(throws: ToneGeneratorError.tooManyTones(count: 5, segment: 0)) {
            try g.start(Cadence([ToneSegment(frequencies: [100, 200, 300, 400, 500], level: -20, onMilliseconds: 10, offMilliseconds: 0)]))
        }
        #expect(throws: ToneGeneratorError.emptyRepeatingCadence) { try g.start(Cadence([ToneSegment(.silence, onMilliseconds: 0)], repeating: .forever)) }
        #expect(throws: ToneGeneratorError.negativeRepeatCount(-1)) { try g.start(Cadence(Cadence.beep().segments, repeating: .times(-1))) }
        #expect(ToneGeneratorError.frequencyOutOfRange(frequency: 4000, sampleRate: 8000, segment: 1).description.contains("segment 1"))
        // A refused plan leaves the beep playing.
        var frame = [Int16](repeating: 0, count: 160)
        frame.withUnsafeMutableBufferPointer { _ = g.nextFrame(into: $0) }
        #expect(frame.contains { $0 != 0 })
    }
}
