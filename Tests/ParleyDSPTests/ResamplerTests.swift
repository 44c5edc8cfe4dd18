import ParleyTestSupport
import Foundation
import Testing
@testable import ParleyDSP

@Suite("Resampling between 8, 16 and 48 kHz")
struct ResamplerTests {
    static let pairs: [(Int, Int)] = [(8000, 48000), (48000, 8000), (8000, 16000), (16000, 8000), (16000, 48000), (48000, 16000)]

    /// Runs `input` through a new converter in 20 ms frames (the last frame may be short).
    static func convert(_ input: [Int16], from inputRate: Int, to outputRate: Int) throws -> [Int16] {
        let resampler = try Resampler(from: inputRate, to: outputRate)
        let frame = inputRate / 50
        var output: [Int16] = []
        var out = [Int16](repeating: 0, count: outputRate / 50)
        var i = 0
        while i < input.count {
            let end = min(i + frame, input.count)
            let written = input[i..<end].withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { resampler.process(src, into: $0) }
            }
            output += out[0..<written]
            i = end
        }
        return output
    }

    /// Passband: gain (dB) of tones from 100 Hz to the band edge, measured at the output by
    /// a least-squares sine fit after the filter has settled. Stopband: downsampling, the
    /// whole output (every alias) of tones between the stop edge and the input Nyquist;
    /// upsampling, what is left after fitting the wanted tone (every image), each relative
    /// to the input tone.
    struct Figures {
        var minGain = Double.infinity, maxGain = -Double.infinity
        var worstStop = -Double.infinity
        var ripple: Double { maxGain - minGain }
    }

    static func measure(from inputRate: Int, to outputRate: Int) throws -> Figures {
        let amplitude = 20_000.0
        let lowNyquist = Double(min(inputRate, outputRate)) / 2
        let passEdge = 0.85 * lowNyquist, stopEdge = 1.15 * lowNyquist
        let count = inputRate / 5                                   // 200 ms
        let settle = outputRate / 50                                 // skip 20 ms (delay is 1.875 ms)
        var figures = Figures()

        var passband = Array(stride(from: 100.0, to: passEdge, by: lowNyquist / 40))
        passband.append(passEdge)
        for f in passband {
            let x = Measure.sine(f, amplitude: amplitude, rate: inputRate, count: count)
            let y = try convert(x, from: inputRate, to: outputRate)[settle...].map(Double.init)
            let fit = Measure.sineFit(Array(y), frequencies: [f], rate: Double(outputRate))
            let gain = Measure.dB(fit.amplitudes[0] / amplitude)
            figures.minGain = min(figures.minGain, gain)
            figures.maxGain = max(figures.maxGain, gain)
            if outputRate > inputRate {
                figures.worstStop = max(figures.worstStop, Measure.dB(fit.residualRMS / (amplitude / 2.0.squareRoot())))
            }
        }
        if inputRate > outputRate {
            let inputNyquist = Double(inputRate) / 2
            var stopband = Array(stride(from: stopEdge, to: inputNyquist, by: (inputNyquist - stopEdge) / 60))
            stopband.append(inputNyquist - 50)
            for f in stopband {
                let x = Measure.sine(f, amplitude: amplitude, rate: inputRate, count: count)
                let y = try convert(x, from: inputRate, to: outputRate)[settle...].map(Double.init)
                figures.worstStop = max(figures.worstStop, Measure.dB(Measure.rms(Array(y)) / (amplitude / 2.0.squareRoot())))
            }
        }
        return figures
    }

    @Test("passband ripple ≤ 0.1 dB to 0.85 × the lower Nyquist (3.4 kHz), stopband ≥ 60 dB from 1.15 × (4.6 kHz)")
    func frequencyResponse() throws {
        var table = "direction        passband        gain min/max (dB)   ripple (dB)   stopband (dB below input)\n"
        for (from, to) in ResamplerTests.pairs {
            let f = try ResamplerTests.measure(from: from, to: to)
            let lowNyquist = min(from, to) / 2
            let band = "0.1–\(String(format: "%.1f", 0.85 * Double(lowNyquist) / 1000)) kHz"
            table += String(format: "%5d → %5d    %-14@  %+.4f / %+.4f    %.4f        %.1f\n",
                            from, to, band as NSString, f.minGain, f.maxGain, f.ripple, -f.worstStop)
            #expect(f.ripple <= 0.1, "\(from) → \(to): passband ripple \(f.ripple) dB")
            #expect(abs(f.minGain) <= 0.1 && abs(f.maxGain) <= 0.1, "\(from) → \(to): gain \(f.minGain)…\(f.maxGain) dB")
            #expect(-f.worstStop >= 60, "\(from) → \(to): stopband only \(-f.worstStop) dB down")
        }
        print(table)
    }

    @Test("20 ms frames convert to exactly 20 ms frames, frame after frame", arguments: ResamplerTests.pairs.map { [$0.0, $0.1] })
    func frameSizes(_ rates: [Int]) throws {
        let resampler = try Resampler(from: rates[0], to: rates[1])
        let inFrame = rates[0] / 50, outFrame = rates[1] / 50
        let input = Measure.sine(1000, amplitude: 10_000, rate: rates[0], count: inFrame)
        var out = [Int16](repeating: 0, count: outFrame)
        for _ in 0..<50 {
            #expect(resampler.outputCount(forInput: inFrame) == outFrame)
            let written = input.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { resampler.process(src, into: $0) } }
            #expect(written == outFrame)
        }
    }

    @Test("streaming in odd-sized chunks gives the same samples as one block", arguments: ResamplerTests.pairs.map { [$0.0, $0.1] })
    func chunking(_ rates: [Int]) throws {
        var rng = SeededRandom(seed: 42)
        let input = (0..<(rates[0] / 2)).map { _ in Int16(truncatingIfNeeded: Int(rng.next() % 40_000) - 20_000) }
        let whole = try Resampler(from: rates[0], to: rates[1])
        var expected = [Int16](repeating: 0, count: whole.outputCount(forInput: input.count))
        let all = input.withUnsafeBufferPointer { src in expected.withUnsafeMutableBufferPointer { whole.process(src, into: $0) } }
        #expect(all == expected.count)

        let streaming = try Resampler(from: rates[0], to: rates[1])
        var got: [Int16] = []
        var out = [Int16](repeating: 0, count: 8 * 1500)
        var i = 0
        while i < input.count {
            let n = min(Int(rng.next() % 1500) + 1, input.count - i)      // 1 … 1500, past the internal block
            let predicted = streaming.outputCount(forInput: n)
            let written = input[i..<(i + n)].withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { streaming.process(src, into: $0) }
            }
            #expect(written == predicted)
            got += out[0..<written]
            i += n
        }
        #expect(got == expected)
    }

    @Test("a full-scale square wave saturates instead of wrapping", arguments: ResamplerTests.pairs.map { [$0.0, $0.1] })
    func saturation(_ rates: [Int]) throws {
        // ±32 766 overshoots by the Gibbs ripple; the same wave at half scale does not, so
        // by linearity the full-scale output must be the doubled half-scale one, clipped.
        let period = rates[0] / 100                                      // 100 Hz
        let full = (0..<rates[0]).map { n -> Int16 in (n % period) < period / 2 ? 32_766 : -32_766 }
        let half = full.map { $0 / 2 }
        let yFull = try ResamplerTests.convert(full, from: rates[0], to: rates[1])
        let yHalf = try ResamplerTests.convert(half, from: rates[0], to: rates[1])
        var worst = 0
        for (a, b) in zip(yFull, yHalf) {
            let clipped = min(max(2 * Int(b), -32_768), 32_767)
            worst = max(worst, abs(Int(a) - clipped))
        }
        #expect(worst <= 2, "full-scale output differs from the clipped half-scale output by \(worst)")
        #expect(yFull.contains(32_767) && yFull.contains(-32_768), "the overshoot should have reached both limits")
    }

    @Test("group delay: an impulse comes out delaySamples later", arguments: ResamplerTests.pairs.map { [$0.0, $0.1] })
    func delay(_ rates: [Int]) throws {
        var impulse = [Int16](repeating: 0, count: rates[0] / 50)
        impulse[0] = 16_000
        let y = try ResamplerTests.convert(impulse, from: rates[0], to: rates[1])
        let peak = y.indices.max { abs(Int(y[$0])) < abs(Int(y[$1])) }!
        let resampler = try Resampler(from: rates[0], to: rates[1])
        #expect(peak == resampler.delaySamples)
        // 1.875 ms where 8 kHz is involved, half that between 16 and 48 kHz (wider transition).
        #expect(Double(resampler.delaySamples) / Double(rates[1]) * 1000 == (min(rates[0], rates[1]) == 8000 ? 1.875 : 0.9375))
    }

    @Test("an output buffer that is too small writes nothing and leaves the state alone")
    func shortOutput() throws {
        let input = Measure.sine(700, amplitude: 12_000, rate: 8000, count: 160)
        let r = try Resampler(from: 8000, to: 48000)
        var small = [Int16](repeating: 7, count: 959)
        let written = input.withUnsafeBufferPointer { src in small.withUnsafeMutableBufferPointer { r.process(src, into: $0) } }
        #expect(written == 0)
        #expect(small.allSatisfy { $0 == 7 })
        var out = [Int16](repeating: 0, count: 960)
        _ = input.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { r.process(src, into: $0) } }
        #expect(out == (try ResamplerTests.convert(input, from: 8000, to: 48000)))

        // Downsampling a few samples may be due no output at all: an empty buffer is fine.
        let d = try Resampler(from: 48000, to: 8000)
        let three: [Int16] = [1, 2, 3]
        var none: [Int16] = []
        #expect(d.outputCount(forInput: 1) == 1)
        let first = three.withUnsafeBufferPointer { src in none.withUnsafeMutableBufferPointer { d.process(src, into: $0) } }
        #expect(first == 0)
        var one = [Int16](repeating: 0, count: 1)
        #expect(three.withUnsafeBufferPointer { src in one.withUnsafeMutableBufferPointer { d.process(src, into: $0) } } == 1)
        #expect(d.outputCount(forInput: 3) == 0)
        #expect(three.withUnsafeBufferPointer { src in none.withUnsafeMutableBufferPointer { d.process(src, into: $0) } } == 0)
        #expect(d.outputCount(forInput: 1) == 1)
    }

    @Test("reset forgets the history")
    func reset() throws {
        let noise = (0..<960).map { Int16(truncatingIfNeeded: $0 &* 7919) }
        let input = Measure.sine(440, amplitude: 9000, rate: 48000, count: 960)
        let r = try Resampler(from: 48000, to: 16000)
        var out = [Int16](repeating: 0, count: 320)
        _ = noise.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { r.process(src, into: $0) } }
        r.reset()
        _ = input.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { r.process(src, into: $0) } }
        #expect(out == (try ResamplerTests.convert(input, from: 48000, to: 16000)))
    }

    @Test("unsupported rates are refused with the rate named; equal rates pass through")
    func rates() throws {
        #expect(throws: ResamplerError.unsupportedRate(rate: 44_100, side: .input)) { try Resampler(from: 44_100, to: 8000) }
        #expect(throws: ResamplerError.unsupportedRate(rate: -1, side: .output)) { try Resampler(from: 8000, to: -1) }
        #expect(ResamplerError.unsupportedRate(rate: 0, side: .output).description.contains("output sample rate 0 Hz"))
        let input = Measure.sine(440, amplitude: 9000, rate: 16000, count: 333)
        #expect(try ResamplerTests.convert(input, from: 16000, to: 16000) == input)
        #expect(try Resampler(from: 16000, to: 16000).delaySamples == 0)
        #expect(try Resampler(from: 8000, to: 48000).outputCount(forInput: Int.max) == Int.max)
        #expect(try Resampler(from: 8000, to: 48000).outputCount(forInput: -5) == 0)
    }
}


@Suite("Float to 16-bit conversion")
struct SaturatingConversionTests {
    @Test("rounds to nearest, ties to even, and clips")
    func conversion() {
        #expect(Int16(saturatingRounded: 1.5) == 2)
        #expect(Int16(saturatingRounded: 2.5) == 2)
        #expect(Int16(saturatingRounded: -2.5) == -2)
        #expect(Int16(saturatingRounded: -0.49) == 0)
        #expect(Int16(saturatingRounded: 32_766.6) == 32_767)
        #expect(Int16(saturatingRounded: 40_000) == 32_767)
        #expect(Int16(saturatingRounded: -1e30) == -32_768)
        #expect(Int16(saturatingRounded: .infinity) == 32_767)
    }
}
