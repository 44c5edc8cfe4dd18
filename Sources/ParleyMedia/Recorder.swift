import NIOCore
import ParleyDSP

/// Writes a leg's received audio (decoded, after the jitter buffer) to an 8 kHz 16-bit WAV.
///
/// A sink of the media plane: `receive` runs on the leg's loop once per 20 ms tick (a
/// missing or not-yet-playing frame arrives as silence, so the file keeps wall-clock time).
/// Wideband legs are resampled to 8 kHz. With `silenceMilliseconds`, `onSilence` is called
/// once when that much silence has followed the start or the last speech (energy-based
/// `VoiceActivityDetector`). A write error stops the recording and calls `onFailure` once.
public final class Recorder: @unchecked Sendable {
    public let path: String
    private let writer: AudioFileWriter
    private var resampler: Resampler?
    private var resampled = [Int16](repeating: 0, count: 1024)
    private var vad = VoiceActivityDetector()
    private let silenceMilliseconds: Int?
    private var silentMilliseconds = 0
    private var silenceReported = false
    private var inSpeech = false
    private var failed = false
    private let onSilence: @Sendable () -> Void
    private let onFailure: @Sendable (String) -> Void

    /// Creates the file now (on the caller's thread), so a bad path fails before recording starts.
    public init(path: String, silenceMilliseconds: Int?, onSilence: @escaping @Sendable () -> Void,
                onFailure: @escaping @Sendable (String) -> Void) throws(AudioFileError) {
        self.path = path
        writer = try AudioFileWriter(path: path, sampleRate: 8000)
        self.silenceMilliseconds = silenceMilliseconds
        self.onSilence = onSilence
        self.onFailure = onFailure
    }

    /// Duration written, in milliseconds.
    public var durationMilliseconds: Int { writer.durationMilliseconds }

    /// One frame of received audio at `rate` Hz (on the leg's loop).
    func receive(_ frame: UnsafeBufferPointer<Int16>, rate: Int) {
        guard !failed else { return }
        do {
            if rate == 8000 {
                try writer.write(frame)
            } else {
                if resampler?.inputRate != rate { resampler = try? Resampler(from: rate, to: 8000) }
                guard let resampler else { return }
                let n = resampled.withUnsafeMutableBufferPointer { resampler.process(frame, into: $0) }
                try resampled.withUnsafeBufferPointer { try writer.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            }
        } catch {
            failed = true
            onFailure("\(error)")
            return
        }
        guard let limit = silenceMilliseconds, !silenceReported else { return }
        let frameMilliseconds = frame.count * 1000 / rate
        if vad.process(frame) {
            inSpeech = true
            silentMilliseconds = 0
        } else {
            if inSpeech {
                // The detector holds "speech" for its hangover after the talker stops: count it.
                inSpeech = false
                silentMilliseconds = vad.settings.hangoverFrames * frameMilliseconds
            }
            silentMilliseconds += frameMilliseconds
            if silentMilliseconds >= limit {
                silenceReported = true
                onSilence()
            }
        }
    }

    /// Flushes (fsync) and closes the file. Call after the leg let go of the recorder.
    public func finish() { writer.finish() }
}

extension MediaLeg {
    /// Starts feeding the caller's audio to `recorder` (replacing any other).
    public func startRecording(_ recorder: Recorder) {
        eventLoop.execute { self.recorder = recorder }
    }

    /// Stops feeding the recorder; completes on the leg's loop once no more frames reach it.
    public func stopRecording() -> EventLoopFuture<Void> {
        eventLoop.submit { self.recorder = nil }
    }
}
