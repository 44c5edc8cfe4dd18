#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors describing a tone plan the generator refuses; each names the segment (0-based)
/// and the offending value, so a bad configuration can be reported precisely.
public enum ToneGeneratorError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The generator runs at 8000, 16000 or 48000 Hz only.
    case unsupportedRate(Int)
    /// Ramps are 0 … `ToneGenerator.maxRampMilliseconds` ms.
    case rampOutOfRange(milliseconds: Int)
    /// A tone frequency (Hz) must be finite, above 0 and below half the sample rate.
    case frequencyOutOfRange(frequency: Double, sampleRate: Int, segment: Int)
    /// A tone level (dBm0) must be finite and at most +3.14 dBm0 (a full-scale sine).
    case toneLevelOutOfRange(level: Double, segment: Int)
    /// A noise level (dBov) must be finite and at most 0 dBov.
    case noiseLevelOutOfRange(level: Double, segment: Int)
    /// On and off times are 0 … `ToneGenerator.maxSegmentMilliseconds` ms.
    case durationOutOfRange(milliseconds: Int, segment: Int)
    /// A segment sums at most `ToneGenerator.maxTones` sines.
    case tooManyTones(count: Int, segment: Int)
    /// A cadence repeated for ever must last longer than 0 ms.
    case emptyRepeatingCadence
    /// A repeat count must not be negative.
    case negativeRepeatCount(Int)
    /// Not one of the sixteen DTMF keys 0-9 * # A-D; `position` is the 0-based index in the string.
    case invalidDigit(Character, position: Int)

    public var description: String {
        switch self {
        case let .unsupportedRate(rate): return "unsupported tone sample rate \(rate) Hz (supported: 8000, 16000, 48000 Hz)"
        case let .rampOutOfRange(ms): return "tone ramp of \(ms) ms is outside 0…\(ToneGenerator.maxRampMilliseconds) ms"
        case let .frequencyOutOfRange(f, rate, segment):
            return "segment \(segment): tone frequency \(f) Hz is outside 0…\(rate / 2) Hz (sample rate \(rate) Hz)"
        case let .toneLevelOutOfRange(level, segment):
            return "segment \(segment): tone level \(level) dBm0 is above +3.14 dBm0 (full scale) or not a number"
        case let .noiseLevelOutOfRange(level, segment):
            return "segment \(segment): noise level \(level) dBov is above 0 dBov or not a number"
        case let .durationOutOfRange(ms, segment):
            return "segment \(segment): \(ms) ms is outside 0…\(ToneGenerator.maxSegmentMilliseconds) ms"
        case let .tooManyTones(count, segment):
            return "segment \(segment): \(count) tones, at most \(ToneGenerator.maxTones) can sound together"
        case .emptyRepeatingCadence: return "a cadence repeated for ever must last longer than 0 ms"
        case let .negativeRepeatCount(n): return "repeat count \(n) is negative"
        case let .invalidDigit(c, position): return "'\(c)' at position \(position) is not a DTMF key (0-9 * # A-D)"
        }
    }
}

/// Generates tones, DTMF, chimes, comfort noise and silence as 16-bit PCM at 8, 16 or 48 kHz.
///
/// Sines come from rotating phasors (eight lanes of complex multiplies, re-seeded each
/// block from a phase kept in `Double`), so a tone stays phase-continuous across frames and calls;
/// each on-period starts at phase 0 and, unless the same sound simply goes on into the
/// next segment, is shaped by raised-cosine ramps (`rampMilliseconds`, inside the on time)
/// so that starting and stopping do not click. Cadence boundaries are exact to the sample
/// (every millisecond is a whole number of samples at the supported rates) and fall
/// anywhere inside a frame. Noise comes from a seeded xorshift generator, so it is
/// reproducible.
///
/// Everything is allocated in `init`: `generate` and `nextFrame` allocate nothing, and
/// `start` only keeps a reference to the cadence's segment list. One generator per
/// stream; not thread-safe (confine it to the stream's event loop).
public final class ToneGenerator {
    /// At most this many sines sound together in one segment.
    public static let maxTones = 4
    /// Upper limit for one on or off time, ms (one hour).
    public static let maxSegmentMilliseconds = 3_600_000
    /// Upper limit for the on/off ramps, ms.
    public static let maxRampMilliseconds = 20
    /// The level of a full-scale sine, dBm0 (G.711).
    public static let fullScaleDBm0 = 3.14
    /// Peak amplitude of a full-scale sine at 16 bits.
    static let fullScale = 32_767.0

    /// Sample rate in Hz.
    public let sampleRate: Int
    /// Samples in a 20 ms frame (160, 320 or 960).
    public let frameSize: Int
    /// Length of the raised-cosine ramp at each end of an on-period, in samples.
    public let rampSamples: Int

    /// The peak amplitude (16-bit units) of a sine at `level` dBm0.
    public static func amplitude(dBm0 level: Double) -> Double {
        fullScale * pow(10, (level - fullScaleDBm0) / 20)
    }

    /// The RMS (16-bit units) of noise at `level` dBov.
    public static func rms(dBov level: Double) -> Double {
        fullScale * pow(10, level / 20)
    }

    /// One sine: its phase at the next sample and its step per sample (radians), peak
    /// amplitude, the rotation by 8 steps, and the phase offsets 0 … 7 steps of the lanes.
    private struct Oscillator {
        var phase = 0.0, step = 0.0, amplitude = 0.0
        var cos8 = 1.0, sin8 = 0.0
        var laneCos = SIMD8<Double>(repeating: 1), laneSin = SIMD8<Double>()
    }
    private let oscillators: UnsafeMutablePointer<Oscillator>
    private var oscillatorCount = 0
    /// Block of float samples (with 8 spare for the oscillators' last vector); sounds are
    /// rendered here, then shaped and rounded.
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchCapacity: Int
    /// Raised-cosine ramp, `rampSamples` gains rising from near 0 to near 1.
    private let ramp: UnsafeMutablePointer<Float>

    // Noise: xorshift64 state, one-pole low-pass state and coefficient, scale.
    private var noiseState: UInt64
    private var noiseLowPass: Float = 0
    private var noiseCoefficient: Float = 1
    private var noiseScale: Float = 0

    // Where the cadence is.
    private var cadence: Cadence = .silence
    private var segmentIndex = 0
    private var passesLeft = Int.max            // including the current one; Int.max = for ever
    private var onSamples = 0
    private var offSamples = 0
    private var position = 0                    // samples into the current segment
    private var rampUp = false
    private var rampDown = false
    private var continuesIntoNext = false
    /// True once a cadence that does not repeat for ever has played out (silence follows).
    public private(set) var isFinished = false

    /// Creates a generator at `sampleRate` Hz (8000, 16000 or 48000), playing silence.
    /// `rampMilliseconds` (0 … 20) shapes the start and end of each tone; `seed` fixes the noise.
    public init(sampleRate: Int, rampMilliseconds: Int = 2, seed: UInt64 = 0x5EED_1E55) throws(ToneGeneratorError) {
        guard [8000, 16000, 48000].contains(sampleRate) else { throw .unsupportedRate(sampleRate) }
        guard (0...ToneGenerator.maxRampMilliseconds).contains(rampMilliseconds) else { throw .rampOutOfRange(milliseconds: rampMilliseconds) }
        self.sampleRate = sampleRate
        frameSize = sampleRate / 50
        rampSamples = rampMilliseconds * sampleRate / 1000
        scratchCapacity = frameSize
        oscillators = .allocate(capacity: ToneGenerator.maxTones)
        oscillators.initialize(repeating: Oscillator(), count: ToneGenerator.maxTones)
        scratch = .allocate(capacity: scratchCapacity + 8)
        scratch.initialize(repeating: 0, count: scratchCapacity + 8)
        ramp = .allocate(capacity: max(rampSamples, 1))
        ramp.initialize(repeating: 1, count: max(rampSamples, 1))
        for k in 0..<rampSamples {
            ramp[k] = Float(0.5 - 0.5 * cos(Double.pi * (Double(k) + 0.5) / Double(rampSamples)))
        }
        noiseState = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed      // xorshift must not start at 0
        enter(segment: 0, continuing: false)
    }

    deinit {
        oscillators.deallocate()
        scratch.deallocate()
        ramp.deallocate()
    }

    /// Starts `cadence` from its beginning, replacing whatever was playing.
    /// Throws (and changes nothing) if a value is out of range for this sample rate.
    public func start(_ cadence: Cadence) throws(ToneGeneratorError) {
        try cadence.validate(sampleRate: sampleRate)
        self.cadence = cadence
        isFinished = false
        switch cadence.repeating {
        case .once: passesLeft = 1
        case let .times(n): passesLeft = n
        case .forever: passesLeft = Int.max
        }
        if cadence.segments.isEmpty || passesLeft == 0 || cadence.passMilliseconds == 0 {
            finish()
            return
        }
        enter(segment: 0, continuing: false)
        skipEmptySegments()
    }

    /// Stops whatever plays; silence follows.
    public func stop() {
        finish()
    }

    /// Writes the next 20 ms frame (`frameSize` samples) to the start of `output`.
    /// - Returns: `frameSize`, or 0 (nothing generated) if `output` is shorter.
    @discardableResult
    public func nextFrame(into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard output.count >= frameSize, let base = output.baseAddress else { return 0 }
        generate(into: UnsafeMutableBufferPointer(start: base, count: frameSize))
        return frameSize
    }

    /// Fills all of `output` with the next samples of the cadence (any length).
    public func generate(into output: UnsafeMutableBufferPointer<Int16>) {
        guard let base = output.baseAddress else { return }
        var done = 0
        while done < output.count {
            let wanted = output.count - done
            if position < onSamples {
                let n = min(wanted, onSamples - position, scratchCapacity)
                renderOn(count: n, into: base + done)
                position += n
                done += n
            } else {
                let n = min(wanted, onSamples + offSamples - position)
                (base + done).update(repeating: 0, count: n)
                position += n
                done += n
            }
            if position >= onSamples + offSamples { advance() }
        }
    }

    // MARK: Cadence bookkeeping

    private func finish() {
        cadence = .silence
        passesLeft = Int.max
        isFinished = true
        enter(segment: 0, continuing: false)
    }

    /// Moves past the current segment (and any empty ones after it).
    private func advance() {
        var next = segmentIndex + 1
        if next == cadence.segments.count {
            if passesLeft != Int.max { passesLeft -= 1 }
            if passesLeft == 0 {
                finish()
                return
            }
            next = 0
        }
        enter(segment: next, continuing: continuesIntoNext)
        skipEmptySegments()
    }

    /// A pass of a started cadence lasts longer than 0 ms, so this ends within one pass.
    private func skipEmptySegments() {
        while onSamples + offSamples == 0 && !isFinished {
            continuesIntoNext = false
            advance()
        }
    }

    private func enter(segment index: Int, continuing: Bool) {
        segmentIndex = index
        let segment = cadence.segments[index]
        let perMillisecond = sampleRate / 1000
        onSamples = segment.onMilliseconds * perMillisecond
        offSamples = segment.offMilliseconds * perMillisecond
        position = 0

        // The sound goes on unbroken into the next segment when nothing separates them.
        var following: ToneSegment?
        if index + 1 < cadence.segments.count {
            following = cadence.segments[index + 1]
        } else if passesLeft > 1 {
            following = cadence.segments[0]
        }
        continuesIntoNext = offSamples == 0 && onSamples > 0 && following.map { $0.sound == segment.sound && $0.onMilliseconds > 0 } ?? false
        rampUp = !continuing
        rampDown = !continuesIntoNext
        if continuing { return }

        oscillatorCount = 0
        switch segment.sound {
        case let .tones(tones):
            for tone in tones.prefix(ToneGenerator.maxTones) {
                let w = 2 * Double.pi * tone.frequency / Double(sampleRate)
                var o = Oscillator(phase: 0, step: w, amplitude: ToneGenerator.amplitude(dBm0: tone.level),
                                   cos8: cos(8 * w), sin8: sin(8 * w))
                for k in 0..<8 {
                    o.laneCos[k] = cos(Double(k) * w)
                    o.laneSin[k] = sin(Double(k) * w)
                }
                oscillators[oscillatorCount] = o
                oscillatorCount += 1
            }
        case let .noise(level, spectrum):
            let a = spectrum == .white ? 1.0 : 1 - exp(-2 * Double.pi * 1000 / Double(sampleRate))
            noiseCoefficient = Float(a)
            // The sum of two uniform numbers in [-1, 1) has variance 2/3; the one-pole
            // low-pass y += a·(x − y) scales white variance by a / (2 − a).
            noiseScale = Float(ToneGenerator.rms(dBov: level) / (2.0 / 3 * a / (2 - a)).squareRoot())
            noiseLowPass = 0
        case .silence:
            break
        }
    }

    // MARK: Rendering

    /// Renders `count` (≤ `scratchCapacity`) samples of the current on-period.
    private func renderOn(count n: Int, into out: UnsafeMutablePointer<Int16>) {
        let segment = cadence.segments[segmentIndex]
        switch segment.sound {
        case .tones:
            guard oscillatorCount > 0 else { out.update(repeating: 0, count: n); return }
            for k in 0..<oscillatorCount { renderOscillator(k, count: n, add: k > 0) }
        case .noise:
            renderNoise(count: n)
        case .silence:
            out.update(repeating: 0, count: n)
            return
        }

        // Ramps: the first and last `rampSamples` of the on-period.
        let start = position, end = position + n
        if rampUp && start < rampSamples {
            for i in start..<min(end, rampSamples) { scratch[i - start] *= ramp[i] }
        }
        let downFrom = onSamples - rampSamples
        if rampDown && end > downFrom {
            for i in max(start, downFrom)..<end { scratch[i - start] *= ramp[onSamples - 1 - i] }
        }
        for i in 0..<n { out[i] = Int16(saturatingRounded: scratch[i]) }
    }

    /// Adds (or, for the first, writes) oscillator `k`'s next `n` samples to `scratch`.
    ///
    /// Eight phasors, one per lane of a `SIMD8<Float>`, each rotated by 8 steps per vector:
    /// eight independent recurrences instead of one long dependency chain (a scalar `Double`
    /// phasor measured about half as fast). The lanes are seeded at every call from the exact
    /// phase kept in `Double`, so `Float` rounding cannot accumulate beyond one block
    /// (≤ 120 rotations: well under one LSB) and the phase carries on exactly across calls.
    private func renderOscillator(_ k: Int, count n: Int, add: Bool) {
        var o = oscillators[k]
        let c = cos(o.phase) * o.amplitude, s = sin(o.phase) * o.amplitude
        var lc = SIMD8<Float>(), ls = SIMD8<Float>()
        for lane in 0..<8 {
            lc[lane] = Float(c * o.laneCos[lane] - s * o.laneSin[lane])
            ls[lane] = Float(c * o.laneSin[lane] + s * o.laneCos[lane])
        }
        let rc = SIMD8<Float>(repeating: Float(o.cos8)), rs = SIMD8<Float>(repeating: Float(o.sin8))
        let raw = UnsafeMutableRawPointer(scratch)
        let vector = MemoryLayout<SIMD8<Float>>.stride
        var offset = 0
        let end = n * MemoryLayout<Float>.stride
        while offset < end {
            if add {
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) + ls, toByteOffset: offset, as: SIMD8<Float>.self)
            } else {
                raw.storeBytes(of: ls, toByteOffset: offset, as: SIMD8<Float>.self)
            }
            (lc, ls) = (lc * rc - ls * rs, lc * rs + ls * rc)
            offset += vector
        }
        o.phase = (o.phase + Double(n) * o.step).truncatingRemainder(dividingBy: 2 * Double.pi)
        oscillators[k] = o
    }

    private func renderNoise(count n: Int) {
        var state = noiseState, y = noiseLowPass
        let a = noiseCoefficient, scale = noiseScale
        let unit = Float(1) / Float(1 << 31)
        for i in 0..<n {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let u1 = Float(Int32(truncatingIfNeeded: state)) * unit
            let u2 = Float(Int32(truncatingIfNeeded: state >> 32)) * unit
            y += a * ((u1 + u2) * scale - y)
            scratch[i] = y
        }
        noiseState = state
        noiseLowPass = y
    }
}
