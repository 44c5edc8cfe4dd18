import Foundation
import NIOConcurrencyHelpers
import NIOCore
import ParleyApps
import ParleyDSP
import ParleyMedia
import ParleyRTP

/// `CallChannel` over a call's `MediaLeg`: prompts go to the leg's play queue (labelled
/// `name#id` so the leg's `promptFinished` tells which request ended), key presses come
/// from `MediaEvent.digit`, a `Recorder` takes the caller's audio.
///
/// Commands come from the flow's task (any thread); `mediaEvent` and `ended` are called on
/// the SIP loop. Shared state is behind a lock.
final class LegCallChannel: CallChannel, @unchecked Sendable {
    let events: AsyncStream<CallChannelEvent>
    private let continuation: AsyncStream<CallChannelEvent>.Continuation
    let leg: MediaLeg
    private let tenant: String
    private let library: PromptLibrary
    private let onHangup: @Sendable () -> Void
    private let onTransfer: @Sendable (String, @escaping @Sendable (TransferResult) -> Void) -> Void
    private struct State {
        /// Prompts still to finish, per play request.
        var pending: [Int: Int] = [:]
        var recorder: (id: Int, recorder: Recorder)?
        /// The recorder the call's end closed, until the flow's `stopRecording` collects it.
        var closedRecorder: (id: Int, recorder: Recorder, closed: Task<Void, Never>)?
        var task: Task<Void, Never>?
        var ended = false
    }
    private let state = NIOLockedValueBox(State())

    init(leg: MediaLeg, tenant: String, library: PromptLibrary, onHangup: @escaping @Sendable () -> Void,
         onTransfer: @escaping @Sendable (String, @escaping @Sendable (TransferResult) -> Void) -> Void) {
        (events, continuation) = AsyncStream<CallChannelEvent>.makeStream()
        self.leg = leg; self.tenant = tenant; self.library = library
        self.onHangup = onHangup; self.onTransfer = onTransfer
    }

    /// Runs the flow as this call's one task; `ended` cancels it.
    func run(_ body: @escaping @Sendable (LegCallChannel) async -> Void) {
        let task = Task { await body(self) }
        let cancelNow = state.withLockedValue { s -> Bool in
            s.task = task
            return s.ended
        }
        if cancelNow { task.cancel() }
    }

    // MARK: From the call (SIP loop)

    func mediaEvent(_ event: MediaEvent) {
        switch event {
        case let .digit(d, _):
            continuation.yield(.digit(d))
        case let .promptFinished(label):
            guard let id = LegCallChannel.requestID(label) else { return }
            let done = state.withLockedValue { s -> Bool in
                guard let left = s.pending[id] else { return false }
                if left <= 1 { s.pending[id] = nil; return true }
                s.pending[id] = left - 1
                return false
            }
            if done { continuation.yield(.playbackFinished(id: id)) }
        default:
            break
        }
    }

    /// The call ended: the flow sees `.hangup`, its task is cancelled, a recording is closed.
    func ended() {
        let leg = self.leg
        let task = state.withLockedValue { s -> Task<Void, Never>? in
            s.ended = true
            if let (id, recorder) = s.recorder {
                // Closed here in any case; a flow still running waits for it in `stopRecording`
                // (a message left by hanging up is then read back whole).
                // `finish` waits on the disk (fsync): in a task, never on the media loop.
                let closed = Task.detached {
                    try? await leg.stopRecording().get()
                    recorder.finish()
                }
                s.closedRecorder = (id, recorder, closed)
            }
            s.recorder = nil
            return s.task
        }
        continuation.yield(.hangup)
        continuation.finish()
        task?.cancel()
    }

    /// Returns once the flow's task has finished and a recording open at hang-up is flushed
    /// and closed: what shutdown waits for before the media threads stop.
    func settled() async {
        let (task, closing) = state.withLockedValue { ($0.task, $0.closedRecorder?.closed) }
        await task?.value
        try? await closing?.get()
    }

    /// `welcome#12` → 12; the prompt name itself is what the event log shows.
    static func requestID(_ label: String) -> Int? {
        guard let hash = label.lastIndex(of: "#") else { return nil }
        return Int(label[label.index(after: hash)...])
    }

    static func promptName(_ label: String) -> String {
        guard let hash = label.lastIndex(of: "#"), requestID(label) != nil else { return label }
        return String(label[..<hash])
    }

    // MARK: CallChannel (flow task)

    func play(_ prompts: [String], id: Int) throws(CallChannelError) {
        var audio: [(String, PCMAudio)] = []
        for name in prompts {
            if name.hasPrefix(CallFlow.audioFilePrefix) {
                // A recorded greeting or message: read now (the flow's task, not the media loop).
                let path = String(name.dropFirst(CallFlow.audioFilePrefix.count))
                do { audio.append(("file", try LegCallChannel.readAudio(path, rate: leg.sendRate))) } catch {
                    throw .promptUnavailable(name: path, reason: "\(error)")
                }
                continue
            }
            do { audio.append((name, try library.audio(name, tenant: tenant, rate: leg.sendRate))) } catch {
                throw .promptUnavailable(name: name, reason: "\(error)")
            }
        }
        enqueue(audio, id: id)
    }

    /// Queues audio at the leg's rate as play request `id` (nothing: finished at once).
    func enqueue(_ audio: [(String, PCMAudio)], id: Int) {
        guard !audio.isEmpty else {
            continuation.yield(.playbackFinished(id: id))
            return
        }
        state.withLockedValue { $0.pending[id] = audio.count }
        for (name, pcm) in audio { leg.play("\(name)#\(id)", audio: pcm) }
    }

    func stopPlayback() {
        state.withLockedValue { $0.pending.removeAll() }
        leg.stopPlayback()
    }

    func startRecording(to path: String, id: Int, silenceMilliseconds: Int?) throws(CallChannelError) {
        let continuation = self.continuation
        let recorder: Recorder
        do {
            recorder = try Recorder(path: path, silenceMilliseconds: silenceMilliseconds,
                                    onSilence: { continuation.yield(.recordingSilence(id: id)) },
                                    onFailure: { continuation.yield(.recordingFailed(id: id, reason: $0)) })
        } catch {
            throw .recordingUnavailable(path: path, reason: "\(error)")
        }
        state.withLockedValue { $0.recorder = (id, recorder) }
        leg.startRecording(recorder)
    }

    func stopRecording(id: Int) async -> RecordingInfo {
        let recorder = state.withLockedValue { s -> Recorder? in
            guard let r = s.recorder, r.id == id else { return nil }
            s.recorder = nil
            return r.recorder
        }
        guard let recorder else {
            let closed = state.withLockedValue { s -> (Recorder, Task<Void, Never>)? in
                guard let c = s.closedRecorder, c.id == id else { return nil }
                s.closedRecorder = nil
                return (c.recorder, c.closed)
            }
            guard let (recorder, task) = closed else { return RecordingInfo(durationMilliseconds: 0) }
            await task.value
            return RecordingInfo(durationMilliseconds: recorder.durationMilliseconds, failure: recorder.failure)
        }
        try? await leg.stopRecording().get()
        // The leg no longer feeds it: flushing (fsync) happens here, off the media loop. A
        // failure then (full disk) reaches the flow, which keeps nothing of the take.
        recorder.finish()
        return RecordingInfo(durationMilliseconds: recorder.durationMilliseconds, failure: recorder.failure)
    }

    func transfer(to target: String) async -> TransferResult {
        await withCheckedContinuation { (done: CheckedContinuation<TransferResult, Never>) in
            onTransfer(target) { done.resume(returning: $0) }
        }
    }

    func hangup() { onHangup() }

    func setRecordingPlayout(_ on: Bool) { leg.setPlayoutMode(on ? .recording : .interactive) }

    /// A WAV file at the leg's rate (8, 16 or 48 kHz sources).
    static func readAudio(_ path: String, rate: Int) throws -> PCMAudio {
        let audio = try PCMAudio.read(path: path)
        guard PromptCache.rates.contains(audio.sampleRate) else { throw PromptError.wrongRate(name: path, rate: audio.sampleRate) }
        return audio.sampleRate == rate ? audio : PromptCache.convert(audio, to: rate)
    }
}
