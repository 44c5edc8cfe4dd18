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

/// One sine of a tone: frequency in Hz, level in dBm0.
///
/// 0 dBm0 is the G.711 reference level, 3.14 dB below a full-scale sine (G.711 § 3,
/// as in spandsp): a sine of peak amplitude 32 767 × 10^(−3.14/20) ≈ 22 827 at 16 bits.
public struct Tone: Sendable, Equatable {
    public var frequency: Double
    public var level: Double

    public init(frequency: Double, level: Double) {
        self.frequency = frequency
        self.level = level
    }
}

/// Spectrum of comfort noise.
public enum NoiseSpectrum: Sendable, Equatable {
    /// Flat to the Nyquist frequency.
    case white
    /// White noise through a one-pole low-pass at 1 kHz (−6 dB per octave above it), which
    /// sounds more like a room than hiss does. The level is still the RMS asked for.
    case lowPassed
}

/// One step of a cadence: a sound for `onMilliseconds`, then silence for `offMilliseconds`.
public struct ToneSegment: Sendable, Equatable {
    public enum Sound: Sendable, Equatable {
        /// The sum of these sines (at most `ToneGenerator.maxTones`), each starting at phase 0.
        case tones([Tone])
        /// Comfort noise whose RMS is `level` dBov: relative to a full-scale square wave
        /// (RMS 32 767), as RFC 3389 defines it; 0 dBm0 is −6.16 dBov.
        case noise(level: Double, spectrum: NoiseSpectrum)
        /// Digital silence (zeros).
        case silence
    }

    public var sound: Sound
    public var onMilliseconds: Int
    public var offMilliseconds: Int

    public init(_ sound: Sound, onMilliseconds: Int, offMilliseconds: Int = 0) {
        self.sound = sound
        self.onMilliseconds = onMilliseconds
        self.offMilliseconds = offMilliseconds
    }

    /// The classic form: these frequencies (Hz), all at `level` dBm0, on then off (ms).
    public init(frequencies: [Double], level: Double, onMilliseconds: Int, offMilliseconds: Int) {
        self.init(.tones(frequencies.map { Tone(frequency: $0, level: level) }), onMilliseconds: onMilliseconds, offMilliseconds: offMilliseconds)
    }
}

/// Settings for generated DTMF keys (ITU-T Q.23 frequencies).
public struct DTMFSettings: Sendable, Equatable {
    /// Level of the low-group tone (697–941 Hz), dBm0.
    public var level: Double
    /// High-group level minus low-group level, dB (positive: high group louder). Q.24
    /// receivers accept a few dB either way.
    public var twist: Double
    /// How long each key sounds, ms.
    public var onMilliseconds: Int
    /// The pause after each key, ms.
    public var offMilliseconds: Int

    /// Defaults: −10 dBm0 per tone, no twist, 100 ms on, 100 ms off (well inside Q.24's
    /// 40 ms minimum for both).
    public init(level: Double = -10, twist: Double = 0, onMilliseconds: Int = 100, offMilliseconds: Int = 100) {
        self.level = level
        self.twist = twist
        self.onMilliseconds = onMilliseconds
        self.offMilliseconds = offMilliseconds
    }
}

/// A tone plan: segments played in order, then repeated as `repeating` says.
public struct Cadence: Sendable, Equatable {
    public enum Repeat: Sendable, Equatable {
        case once
        /// The whole list this many times in total.
        case times(Int)
        case forever
    }

    public var segments: [ToneSegment]
    public var repeating: Repeat

    public init(_ segments: [ToneSegment], repeating: Repeat = .once) {
        self.segments = segments
        self.repeating = repeating
    }

    /// Q.23 low-group (rows) and high-group (columns) frequencies, Hz.
    public static let dtmfRows: [Double] = [697, 770, 852, 941]
    public static let dtmfColumns: [Double] = [1209, 1336, 1477, 1633]
    static let dtmfKeys: [[Character]] = [["1", "2", "3", "A"], ["4", "5", "6", "B"], ["7", "8", "9", "C"], ["*", "0", "#", "D"]]

    /// The row and column frequencies (Hz) of a DTMF key (a-d accepted for A-D), or nil.
    public static func dtmfFrequencies(_ key: Character) -> (low: Double, high: Double)? {
        // Only a-d need folding; `uppercased()` could turn one character into several (ß → SS).
        let lower: [Character: Character] = ["a": "A", "b": "B", "c": "C", "d": "D"]
        let k = lower[key] ?? key
        for (r, row) in dtmfKeys.enumerated() {
            if let c = row.firstIndex(of: k) { return (dtmfRows[r], dtmfColumns[c]) }
        }
        return nil
    }

    /// Each key of `digits` for `settings.onMilliseconds`, followed by `settings.offMilliseconds` of silence.
    public static func dtmf(_ digits: String, settings: DTMFSettings = DTMFSettings()) throws(ToneGeneratorError) -> Cadence {
        var segments: [ToneSegment] = []
        for (position, key) in digits.enumerated() {
            guard let (low, high) = dtmfFrequencies(key) else { throw .invalidDigit(key, position: position) }
            segments.append(ToneSegment(.tones([Tone(frequency: low, level: settings.level),
                                                Tone(frequency: high, level: settings.level + settings.twist)]),
                                        onMilliseconds: settings.onMilliseconds, offMilliseconds: settings.offMilliseconds))
        }
        return Cadence(segments)
    }

    /// A single beep, by default 1 kHz for 250 ms at −10 dBm0.
    public static func beep(frequency: Double = 1000, level: Double = -10, milliseconds: Int = 250) -> Cadence {
        Cadence([ToneSegment(frequencies: [frequency], level: level, onMilliseconds: milliseconds, offMilliseconds: 0)])
    }

    /// Ringback, by default the North American one: 440 + 480 Hz at −19 dBm0 per tone,
    /// 2 s on, 4 s off, for ever. Other countries: change the cadence and frequencies.
    public static func ringback(frequencies: [Double] = [440, 480], level: Double = -19,
                                onMilliseconds: Int = 2000, offMilliseconds: Int = 4000) -> Cadence {
        Cadence([ToneSegment(frequencies: frequencies, level: level, onMilliseconds: onMilliseconds, offMilliseconds: offMilliseconds)],
                repeating: .forever)
    }

    /// Busy, by default North American: 480 + 620 Hz at −24 dBm0 per tone, 0.5 s on, 0.5 s off, for ever.
    public static func busy(frequencies: [Double] = [480, 620], level: Double = -24,
                            onMilliseconds: Int = 500, offMilliseconds: Int = 500) -> Cadence {
        Cadence([ToneSegment(frequencies: frequencies, level: level, onMilliseconds: onMilliseconds, offMilliseconds: offMilliseconds)],
                repeating: .forever)
    }

    /// Conference join: two notes rising a fifth (660 Hz for 120 ms, then 990 Hz for 180 ms), −16 dBm0.
    public static let joinChime = Cadence([
        ToneSegment(frequencies: [660], level: -16, onMilliseconds: 120, offMilliseconds: 0),
        ToneSegment(frequencies: [990], level: -16, onMilliseconds: 180, offMilliseconds: 0),
    ])

    /// Conference leave: the join chime's notes falling (990 Hz, then 660 Hz).
    public static let leaveChime = Cadence([
        ToneSegment(frequencies: [990], level: -16, onMilliseconds: 120, offMilliseconds: 0),
        ToneSegment(frequencies: [660], level: -16, onMilliseconds: 180, offMilliseconds: 0),
    ])

    /// Comfort noise at `level` dBov (RMS relative to a full-scale square wave), for ever.
    public static func comfortNoise(level: Double = -60, spectrum: NoiseSpectrum = .lowPassed) -> Cadence {
        Cadence([ToneSegment(.noise(level: level, spectrum: spectrum), onMilliseconds: 1000)], repeating: .forever)
    }

    /// Silence for ever (what a generator plays before `start` and after `stop`).
    public static let silence = Cadence([ToneSegment(.silence, onMilliseconds: 1000)], repeating: .forever)

    /// Total length of one pass through the segments, ms.
    public var passMilliseconds: Int { segments.reduce(0) { $0 + $1.onMilliseconds + $1.offMilliseconds } }

    /// Checks every value against what a generator at `sampleRate` Hz can play.
    public func validate(sampleRate: Int) throws(ToneGeneratorError) {
        for (index, segment) in segments.enumerated() {
            for ms in [segment.onMilliseconds, segment.offMilliseconds] where !(0...ToneGenerator.maxSegmentMilliseconds).contains(ms) {
                throw .durationOutOfRange(milliseconds: ms, segment: index)
            }
            switch segment.sound {
            case let .tones(tones):
                guard tones.count <= ToneGenerator.maxTones else { throw .tooManyTones(count: tones.count, segment: index) }
                for tone in tones {
                    guard tone.frequency.isFinite, tone.frequency > 0, tone.frequency < Double(sampleRate) / 2 else {
                        throw .frequencyOutOfRange(frequency: tone.frequency, sampleRate: sampleRate, segment: index)
                    }
                    guard tone.level.isFinite, tone.level <= ToneGenerator.fullScaleDBm0 else {
                        throw .toneLevelOutOfRange(level: tone.level, segment: index)
                    }
                }
            case let .noise(level, _):
                guard level.isFinite, level <= 0 else { throw .noiseLevelOutOfRange(level: level, segment: index) }
            case .silence:
                break
            }
        }
        switch repeating {
        case .forever: if passMilliseconds == 0 { throw .emptyRepeatingCadence }
        case let .times(n): if n < 0 { throw .negativeRepeatCount(n) }
        case .once: break
        }
    }
}

/// Generates tones, DTMF, chimes, comfort noise and silence as 16-bit PCM at 8, 16 or 48 kHz.
///
/// Sines come from a rotating phasor (one complex multiply per sample, in `Double`,
/// renormalised every block), so a tone stays phase-continuous across frames and calls;
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

    // Oscillators: phasor (cos, sin), its rotation per sample, and the peak amplitude.
    private struct Oscillator {
        var c = 1.0, s = 0.0, rc = 1.0, rs = 0.0, amplitude = 0.0
    }
    private let oscillators: UnsafeMutablePointer<Oscillator>
    private var oscillatorCount = 0
    /// Block of float samples; sounds are rendered here, then shaped and rounded.
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
        scratch = .allocate(capacity: scratchCapacity)
        scratch.initialize(repeating: 0, count: scratchCapacity)
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
                oscillators[oscillatorCount] = Oscillator(c: 1, s: 0, rc: cos(w), rs: sin(w),
                                                          amplitude: ToneGenerator.amplitude(dBm0: tone.level))
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
        for i in 0..<n {
            out[i] = Int16(min(max(scratch[i], -32768), 32767).rounded(.toNearestOrEven))
        }
    }

    private func renderOscillator(_ k: Int, count n: Int, add: Bool) {
        var o = oscillators[k]
        // Renormalise the phasor (rounding lets its length creep by ~1e-16 per sample).
        let length = (o.c * o.c + o.s * o.s).squareRoot()
        var c = o.c / length, s = o.s / length
        let rc = o.rc, rs = o.rs, amplitude = o.amplitude
        if add {
            for i in 0..<n {
                scratch[i] += Float(amplitude * s)
                (c, s) = (c * rc - s * rs, c * rs + s * rc)
            }
        } else {
            for i in 0..<n {
                scratch[i] = Float(amplitude * s)
                (c, s) = (c * rc - s * rs, c * rs + s * rc)
            }
        }
        o.c = c
        o.s = s
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
