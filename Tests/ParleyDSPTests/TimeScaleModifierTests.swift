import Foundation
import Testing
@testable import ParleyDSP

@Suite("Time-scale modification")
struct TimeScaleModifierTests {
    /// A voiced-speech stand-in: 160 Hz (a 50-sample period at 8 kHz) with two harmonics.
    static func voiced(_ count: Int, rate: Int = 8000, pitch: Double = 160) -> [Int16] {
        (0..<count).map { i in
            let t = Double(i) / Double(rate)
            let v = 6000 * sin(2 * .pi * pitch * t) + 3000 * sin(2 * .pi * 2 * pitch * t + 0.5)
                + 1500 * sin(2 * .pi * 3 * pitch * t + 1.1)
            return Int16(v.rounded())
        }
    }

    /// The largest step between neighbouring samples: a click or a cut shows as a jump far
    /// beyond what the signal itself does.
    static func largestStep(_ x: ArraySlice<Int16>) -> Int {
        zip(x, x.dropFirst()).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test("given voiced audio, when compressed, then exactly one pitch period goes and the joins stay smooth")
    func compress() {
        var tsm = TimeScaleModifier(sampleRate: 8000)
        let input = Self.voiced(480)
        var buffer = input
        let count = buffer.withUnsafeMutableBufferPointer { tsm.compress($0, count: 480) }
        let removed = 480 - count
        // The period found is the pitch period or a multiple of it (50, 100 samples).
        #expect(removed == 50 || removed == 100)
        let inputStep = Self.largestStep(input[...])
        #expect(Self.largestStep(buffer[0..<count]) <= inputStep + inputStep / 4)
        // After the cross-faded period the rest is the input, shifted by the period.
        #expect(Array(buffer[removed..<count]) == Array(input[(2 * removed)..<480]))
    }

    @Test("given voiced audio, when stretched, then one pitch period is added and the joins stay smooth")
    func stretch() {
        var tsm = TimeScaleModifier(sampleRate: 8000)
        let input = Self.voiced(480)
        var buffer = input + [Int16](repeating: 0, count: 200)
        let count = buffer.withUnsafeMutableBufferPointer { tsm.stretch($0, count: 480) }
        let added = count - 480
        #expect(added == 50 || added == 100)
        let inputStep = Self.largestStep(input[...])
        #expect(Self.largestStep(buffer[0..<count]) <= inputStep + inputStep / 4)
        // The start and the end are the input's.
        #expect(Array(buffer[0..<added]) == Array(input[0..<added]))
        #expect(Array(buffer[(2 * added)..<count]) == Array(input[added..<480]))
    }

    @Test("given loud noise with no period, then nothing is removed or added")
    func noise() {
        var tsm = TimeScaleModifier(sampleRate: 8000)
        var state: UInt32 = 12345
        var buffer = (0..<480).map { _ -> Int16 in
            state = state &* 1_103_515_245 &+ 12345
            return Int16(truncatingIfNeeded: Int32(state >> 16) - 32768) / 2
        } + [Int16](repeating: 0, count: 200)
        let before = buffer
        let c = buffer.withUnsafeMutableBufferPointer { tsm.compress($0, count: 480) }
        let s = buffer.withUnsafeMutableBufferPointer { tsm.stretch($0, count: 480) }
        #expect(c == 480)
        #expect(s == 480)
        #expect(buffer == before)
    }

    @Test("at 48 kHz the period is found on the 8 kHz grid and the length changes by it")
    func wideband() {
        var tsm = TimeScaleModifier(sampleRate: 48000)
        var buffer = Self.voiced(2880, rate: 48000, pitch: 125) + [Int16](repeating: 0, count: 1000)
        let count = buffer.withUnsafeMutableBufferPointer { tsm.compress($0, count: 2880) }
        // 125 Hz is 384 samples at 48 kHz (64 steps of the 8 kHz grid).
        #expect(2880 - count == 384)
    }

    @Test("a run shorter than two shortest periods is left alone")
    func tooShort() {
        var tsm = TimeScaleModifier(sampleRate: 8000)
        var buffer = Self.voiced(30)
        #expect(buffer.withUnsafeMutableBufferPointer { tsm.compress($0, count: 30) } == 30)
        #expect(buffer.withUnsafeMutableBufferPointer { tsm.stretch($0, count: 30) } == 30)
    }
}
