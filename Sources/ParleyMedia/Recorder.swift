import Foundation
import NIOCore
import ParleyDSP
import Synchronization

/// Writes a leg's received audio (decoded, after the jitter buffer) to an 8 kHz 16-bit WAV.
///
/// A sink of the media plane: `receive` runs on the leg's media thread once per 20 ms tick (a
/// missing or not-yet-playing frame arrives as silence, so the file keeps wall-clock time).
/// Wideband legs are resampled to 8 kHz. With `silenceMilliseconds`, `onSilence` is called
/// once when that much silence has followed the start or the last speech (energy-based
/// `VoiceActivityDetector`).
///
/// The media thread never touches the disk: it copies each frame into a preallocated
/// single-producer/single-consumer ring (no lock, no allocation) and `RecordingWriter`'s thread
/// writes the ring to the file. A write error (full disk…), a ring overflowing because the
/// disk does not keep up, or a file that cannot be made durable at `finish` (fsync) stops
/// the recording and calls `onFailure` once (from either thread); `failure` keeps the
/// reason, so whoever closes the recording knows the file is not whole.
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
    private let onSilence: @Sendable () -> Void
    private let onFailure: @Sendable (String) -> Void

    /// Samples the ring holds: 5 s at 8 kHz, time enough for a slow disk or an fsync elsewhere.
    static let ringCapacity = 40_000
    private let ring: UnsafeMutableBufferPointer<Int16>
    /// Samples ever put in (media thread stores) and taken out (writer stores).
    private let produced = Atomic<Int>(0)
    private let consumed = Atomic<Int>(0)
    private let failed = Atomic<Bool>(false)
    /// Serializes the consumers (writer thread and `finish`); never taken on the media thread.
    private let consumer = NSLock()
    private var closed = false
    /// The file could not be written (under `consumer`): nothing more is written. After an
    /// overflow, by contrast, what was queued is still written.
    private var writeError = false
    /// Why the recording failed (see `failure`); set once, by `fail`, under `reasonLock`
    /// (taken on the media thread only when the ring overflows, which ends the recording).
    private var reason: String?
    private let reasonLock = NSLock()

    /// Creates the file now (on the caller's thread), so a bad path fails before recording starts.
    public init(path: String, silenceMilliseconds: Int?, onSilence: @escaping @Sendable () -> Void,
                onFailure: @escaping @Sendable (String) -> Void) throws(AudioFileError) {
        self.path = path
        writer = try AudioFileWriter(path: path, sampleRate: 8000)
        self.silenceMilliseconds = silenceMilliseconds
        self.onSilence = onSilence
        self.onFailure = onFailure
        ring = .allocate(capacity: Self.ringCapacity)
        ring.initialize(repeating: 0)
        RecordingWriter.shared.add(self)
    }

    deinit {
        ring.deallocate()
    }

    /// Why the recording failed, or nil while it has not: after `finish`, nil means every
    /// frame given to it is in the file and the file is on stable storage.
    public var failure: String? { reasonLock.withLock { reason } }

    /// Duration written to the file, in milliseconds (final after `finish`).
    public var durationMilliseconds: Int { consumer.withLock { writer.durationMilliseconds } }

    /// One frame of received audio at `rate` Hz (on the leg's media thread).
    func receive(_ frame: UnsafeBufferPointer<Int16>, rate: Int) {
        guard !failed.load(ordering: .relaxed) else { return }
        if rate == 8000 {
            push(frame)
        } else {
            if resampler?.inputRate != rate { resampler = try? Resampler(from: rate, to: 8000) }
            guard let resampler else { return }
            let n = resampled.withUnsafeMutableBufferPointer { resampler.process(frame, into: $0) }
            resampled.withUnsafeBufferPointer { push(UnsafeBufferPointer(rebasing: $0[0..<n])) }
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

    /// Producer side: copies into the ring, or fails the recording when it is full.
    private func push(_ samples: UnsafeBufferPointer<Int16>) {
        let head = produced.load(ordering: .relaxed)
        let tail = consumed.load(ordering: .acquiring)
        guard head - tail + samples.count <= Self.ringCapacity else {
            fail("the disk did not keep up: more than \(Self.ringCapacity / 8000) s of audio waited to be written")
            return
        }
        for (i, s) in samples.enumerated() { ring[(head + i) % Self.ringCapacity] = s }
        produced.store(head + samples.count, ordering: .releasing)
    }

    /// Consumer side (writer thread or `finish`): writes what the ring holds. False once closed.
    @discardableResult
    func drain() -> Bool {
        consumer.withLock {
            guard !closed else { return false }
            writeQueued()
            return true
        }
    }

    /// Under `consumer`.
    private func writeQueued() {
        let head = produced.load(ordering: .acquiring)
        var tail = consumed.load(ordering: .relaxed)
        while tail < head {
            let start = tail % Self.ringCapacity
            let n = min(head - tail, Self.ringCapacity - start)
            if !writeError {
                do {
                    try writer.write(UnsafeBufferPointer(rebasing: ring[start..<start + n]))
                } catch {
                    writeError = true
                    fail("\(error)")
                }
            }
            tail += n
            consumed.store(tail, ordering: .releasing)
        }
    }

    private func fail(_ reason: String) {
        guard failed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        reasonLock.withLock { self.reason = reason }
        onFailure(reason)
    }

    /// Writes what is left, flushes (fsync) and closes the file. Call after the leg let go of
    /// the recorder, off the media thread (it waits on the disk). A failure here (the last
    /// frames or the fsync hit a full disk) fails the recording like one during it: check
    /// `failure` afterwards. Idempotent.
    public func finish() {
        consumer.withLock {
            guard !closed else { return }
            writeQueued()
            do { try writer.close() } catch {
                if !writeError { fail("\(error)") }
            }
            closed = true
        }
        RecordingWriter.shared.remove(self)
    }
}

/// The one thread that writes every recording's audio: it wakes every `interval` and drains
/// each recorder's ring to its file, so disk latency never reaches a media tick.
final class RecordingWriter: @unchecked Sendable {
    static let shared = RecordingWriter()
    static let interval: TimeInterval = 0.1
    private let lock = NSLock()
    private var recorders: [ObjectIdentifier: Recorder] = [:]
    private var started = false

    func add(_ recorder: Recorder) {
        let start = lock.withLock { () -> Bool in
            recorders[ObjectIdentifier(recorder)] = recorder
            defer { started = true }
            return !started
        }
        if start {
            let thread = Thread { [self] in run() }
            thread.name = "parley-recording-writer"
            thread.start()
        }
    }

    func remove(_ recorder: Recorder) {
        _ = lock.withLock { recorders.removeValue(forKey: ObjectIdentifier(recorder)) }
    }

    private func run() {
        while true {
            Thread.sleep(forTimeInterval: Self.interval)
            let current = lock.withLock { Array(recorders.values) }
            for r in current where !r.drain() { remove(r) }
        }
    }
}

extension MediaLeg {
    /// Starts feeding the caller's audio to `recorder` (replacing any other).
    /// On the media thread, which reads it every tick.
    public func startRecording(_ recorder: Recorder) {
        _ = io.execute { self.recorder = recorder }
    }

    /// Stops feeding the recorder; completes (on `eventLoop`) once the media thread has let
    /// go of it, so no frame reaches it afterwards.
    public func stopRecording() -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        if !io.execute({ self.recorder = nil; promise.succeed(()) }) { promise.succeed(()) }
        return promise.futureResult
    }
}
