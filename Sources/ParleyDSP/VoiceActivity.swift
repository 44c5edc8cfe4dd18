/// Frame energy on the dBov scale: 0 dBov is the RMS of a full-scale square wave
/// (32 768), so a full-scale sine is -3.01 dBov and digital silence is `-infinity`
/// (reported as `FrameEnergy.floor`).
public enum FrameEnergy {
    /// The value reported for digital silence, in dBov.
    public static let floor: Float = -96

    /// RMS level of a block of 16-bit samples in dBov. Allocation-free.
    public static func dBov(_ samples: UnsafeBufferPointer<Int16>) -> Float {
        guard let base = samples.baseAddress, samples.count > 0 else { return floor }
        var sum: Int64 = 0
        var i = 0
        // Widen to 64 bits every few thousand samples; the products are at most 2^30.
        while i < samples.count {
            let end = min(i + 2048, samples.count)
            var partial: Int64 = 0
            for k in i..<end {
                let v = Int64(base[k])
                partial &+= v &* v
            }
            sum &+= partial
            i = end
        }
        guard sum > 0 else { return floor }
        let meanSquare = Double(sum) / Double(samples.count)
        let db = 10 * log10(meanSquare / (32768.0 * 32768.0))
        return max(floor, Float(db))
    }
}

/// A speech/silence decision per frame with hangover, for trimming silence around a
/// voicemail and for active-talker detection in conferences.
///
/// A frame is speech when its energy is at least `marginDB` above the noise floor and above
/// `minimumSpeechDBov`. The noise floor is the minimum frame energy over the last one to
/// two blocks of `floorBlockFrames` (minimum statistics): it drops at once in a pause and
/// rises to a new steady background within two blocks, whatever the decision was, so
/// steady noise never counts as speech for long and speech never raises its own floor
/// (speech has pauses and quiet syllables well within a block). Speech must last
/// `attackFrames` frames to start, and the decision holds for `hangoverFrames` frames
/// after the last speech frame so word gaps do not chop the decision.
public struct VoiceActivityDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        public var marginDB: Float = 9
        public var minimumSpeechDBov: Float = -50
        public var attackFrames = 2
        public var hangoverFrames = 15 // 300 ms at 20 ms frames
        public var floorBlockFrames = 25 // 500 ms at 20 ms frames
        public init() {}
    }

    public var settings: Settings
    /// The tracked background level in dBov.
    public var noiseFloorDBov: Float { min(blockMinimum, previousBlockMinimum) }
    public private(set) var isSpeech = false
    private var speechRun = 0
    private var silenceRun = 0
    private var blockMinimum: Float = .infinity
    private var previousBlockMinimum: Float = .infinity
    private var blockFrames = 0

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Feeds one frame's energy (from `FrameEnergy.dBov`); returns the decision for it.
    public mutating func process(energyDBov e: Float) -> Bool {
        blockMinimum = min(blockMinimum, e)
        blockFrames += 1
        if blockFrames >= settings.floorBlockFrames {
            previousBlockMinimum = blockMinimum
            blockMinimum = .infinity
            blockFrames = 0
        }
        let loud = e >= settings.minimumSpeechDBov && e >= noiseFloorDBov + settings.marginDB
        if loud {
            speechRun += 1
            silenceRun = 0
            if speechRun >= settings.attackFrames { isSpeech = true }
        } else {
            speechRun = 0
            silenceRun += 1
            if silenceRun > settings.hangoverFrames { isSpeech = false }
        }
        return isSpeech
    }

    /// Convenience: energy and decision for one frame of samples.
    public mutating func process(_ frame: UnsafeBufferPointer<Int16>) -> Bool {
        process(energyDBov: FrameEnergy.dBov(frame))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
