import Testing
import ParleyTestSupport
@testable import ParleyDSP

@Suite("Conference mixer: N−1, saturation, loudest-N, against the scalar reference")
struct ConferenceMixerTests {
    /// Fills both mixers' slot `i` with the same samples.
    static func fill(_ mixer: ConferenceMixer, _ reference: ScalarConferenceMixer, slot i: Int, _ samples: [Int16]) {
        let input = mixer.input(i)
        for s in 0..<mixer.frameSamples { input[s] = samples[s] }
        reference.setInput(i, samples)
    }

    @Test("Given 5 talkers with random audio, each hears exactly the sum of the other four, never itself",
          arguments: [160, 320, 960, 170])
    func nMinusOneExact(frame: Int) {
        let mixer = ConferenceMixer(frameSamples: frame, capacity: 8)
        let reference = ScalarConferenceMixer(frameSamples: frame, capacity: 8)
        var rng = SeededRandom(seed: 42)
        var frames: [[Int16]] = []
        for i in 0..<5 {
            let samples = (0..<frame).map { _ in Int16.random(in: -6000...6000, using: &rng) }
            frames.append(samples)
            Self.fill(mixer, reference, slot: i, samples)
            mixer.speaking[i] = true
            reference.speaking[i] = true
        }
        mixer.mix(count: 5)
        reference.mix(count: 5)
        for i in 0..<5 {
            let expected = (0..<frame).map { s in Int16((0..<5).filter { $0 != i }.map { Int32(frames[$0][s]) }.reduce(0, +)) }
            #expect(Array(mixer.output(i)) == expected)
            #expect(reference.output(i) == expected)
        }
        // A listener (not speaking) hears everyone, from the shared buffer.
        #expect(Array(mixer.sharedOutput) == (0..<frame).map { s in Int16(frames.map { Int32($0[s]) }.reduce(0, +)) })
    }

    @Test("Given loud talkers, the sum saturates at the 16-bit limits instead of wrapping")
    func saturation() {
        let mixer = ConferenceMixer(frameSamples: 160, capacity: 4)
        let reference = ScalarConferenceMixer(frameSamples: 160, capacity: 4)
        for i in 0..<4 {
            Self.fill(mixer, reference, slot: i, [Int16](repeating: i % 2 == 0 ? 30000 : 20000, count: 160))
            mixer.speaking[i] = true; reference.speaking[i] = true
        }
        Self.fill(mixer, reference, slot: 3, [Int16](repeating: -32768, count: 160))
        mixer.mix(count: 4); reference.mix(count: 4)
        // Slot 3 hears 30000 + 20000 + 30000: clipped to 32767, not wrapped negative.
        #expect(Array(mixer.output(3)) == [Int16](repeating: 32767, count: 160))
        #expect(Array(mixer.sharedOutput) == [Int16](repeating: 32767, count: 160))
        for i in 0..<4 { #expect(Array(mixer.output(i)) == reference.output(i)) }
        // Negative saturation.
        for i in 0..<4 { Self.fill(mixer, reference, slot: i, [Int16](repeating: -20000, count: 160)) }
        mixer.mix(count: 4); reference.mix(count: 4)
        #expect(Array(mixer.output(0)) == [Int16](repeating: -32768, count: 160))
        for i in 0..<4 { #expect(Array(mixer.output(i)) == reference.output(i)) }
    }

    @Test("Given 10 talkers and loudest-3, only the three loudest are heard; the rest share one mix")
    func loudestN() {
        let mixer = ConferenceMixer(frameSamples: 160, capacity: 12)
        let reference = ScalarConferenceMixer(frameSamples: 160, capacity: 12)
        mixer.loudest = 3; reference.loudest = 3
        for i in 0..<10 {
            Self.fill(mixer, reference, slot: i, [Int16](repeating: Int16(1 << i), count: 160))
            mixer.speaking[i] = true; reference.speaking[i] = true
            mixer.level[i] = Float(i); reference.level[i] = Float(i)
        }
        mixer.speaking[9] = false; reference.speaking[9] = false // the loudest is muted
        mixer.mix(count: 10); reference.mix(count: 10)
        #expect(mixer.mixedCount == 3)
        #expect((0..<10).filter { mixer.mixed[$0] } == [6, 7, 8])
        #expect(mixer.sharedOutput.first == Int16(64 + 128 + 256))
        #expect(mixer.output(7).first == Int16(64 + 256))
        #expect(mixer.output(0).baseAddress == mixer.sharedOutput.baseAddress)
        for i in 0..<10 { #expect(Array(mixer.output(i)) == reference.output(i)) }
    }

    @Test("Given nobody speaking, everyone hears silence")
    func silence() {
        let mixer = ConferenceMixer(frameSamples: 320, capacity: 3)
        for i in 0..<3 { mixer.input(i).update(repeating: 1000) }
        mixer.mix(count: 3)
        for i in 0..<3 { #expect(mixer.output(i).allSatisfy { $0 == 0 }) }
    }

    @Test("Gain in Q8 scales and saturates")
    func gain() {
        let source: [Int16] = (0..<40).map { Int16($0 * 1000 - 20000) }
        var target = [Int16](repeating: 0, count: 40)
        source.withUnsafeBufferPointer { s in target.withUnsafeMutableBufferPointer { ConferenceMixer.applyGain(s, gainQ8: 512, into: $0) } }
        #expect(target == source.map { Int16(clamping: Int32($0) * 2) })
    }

    @Test("Talker detection: a tone starts talking at once, holds through short gaps, stops after the hangover")
    func talker() {
        var d = TalkerDetector()
        let started = d.process(energyDBov: -20)
        #expect(started)
        #expect(d.isTalking)
        for _ in 0..<19 { _ = d.process(energyDBov: -80) }
        #expect(d.isTalking)
        _ = d.process(energyDBov: -45) // between the thresholds: holds, resets the hangover
        for _ in 0..<19 { _ = d.process(energyDBov: -80) }
        #expect(d.isTalking)
        let stopped = d.process(energyDBov: -80)
        #expect(stopped)
        #expect(!d.isTalking)
    }
}
