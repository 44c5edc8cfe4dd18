// The tone plans a `ToneGenerator` plays: sines and noise as segments with on/off times,
// and the telephony presets (DTMF, beep, ringback, busy, chimes, comfort noise).

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
