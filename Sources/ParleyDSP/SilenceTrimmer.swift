/// Finds where speech starts and ends in a recording, so leading and trailing silence can be
/// cut from a voicemail message (the caller's pause after the tone, the seconds of silence
/// that ended the recording).
///
/// Runs `VoiceActivityDetector` over 20 ms frames; keeps `marginMilliseconds` before the first
/// speech frame and after the last (the detector's own hangover already follows the last word).
public enum SilenceTrimmer {
    /// The samples to keep; empty when the recording holds no speech at all.
    public static func speechRange(_ samples: UnsafeBufferPointer<Int16>, sampleRate: Int,
                                   marginMilliseconds: Int = 200) -> Range<Int> {
        let frame = max(1, sampleRate / 50)
        var vad = VoiceActivityDetector()
        var first: Int?
        var last = 0
        var start = 0
        while start < samples.count {
            let end = min(samples.count, start + frame)
            if vad.process(UnsafeBufferPointer(rebasing: samples[start..<end])) {
                // The decision comes `attackFrames` frames after the onset.
                if first == nil { first = max(0, start - vad.settings.attackFrames * frame) }
                last = end
            }
            start = end
        }
        guard let first else { return 0..<0 }
        let margin = sampleRate * marginMilliseconds / 1000
        return max(0, first - margin)..<min(samples.count, last + margin)
    }
}
