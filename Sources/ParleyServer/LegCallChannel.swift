import Foundation
import NIOConcurrencyHelpers
import NIOCore
import ParleyApps
import ParleyDSP
import ParleyMedia

/// `CallChannel` over a call's `MediaLeg`: prompts go to the leg's play queue (labelled
/// `name#id` so the leg's `promptFinished` tells which request ended), key presses come
/// from `MediaEvent.digit`, a `Recorder` takes the caller's audio.
///
/// Commands come from the flow's task (any thread); `mediaEvent` and `ended` are called on
/// the SIP loop. Shared state is behind a lock.
final class LegCallChannel: CallChannel, @unchecked Sendable {
    let events: AsyncStream<CallChannelEvent>
    private let continuation: AsyncStream<CallChannelEvent>.Continuation
    private let leg: MediaLeg
    private let tenant: String
    private let library: PromptLibrary
    private let onHangup: @Sendable () -> Void
    private let onTransfer: @Sendable (String, @escaping @Sendable (TransferResult) -> Void) -> Void
    private struct State {
        /// Prompts still to finish, per play request.
        var pending: [Int: Int] = [:]
        var recorder: (id: Int, recorder: Recorder)?
        var task: Task<Void, Never>?
        var ended = false
        /// The recording open at hang-up, being stopped and flushed.
        var closing: EventLoopFuture<Void>?
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
        let (task, recording) = state.withLockedValue { s -> (Task<Void, Never>?, Recorder?) in
            s.ended = true
            let r = s.recorder?.recorder
            s.recorder = nil
            return (s.task, r)
        }
        continuation.yield(.hangup)
        continuation.finish()
        task?.cancel()
        if let recording {
            let closing = leg.stopRecording().always { _ in recording.finish() }
            state.withLockedValue { $0.closing = closing }
        }
    }

    /// Returns once the flow's task has finished and a recording open at hang-up is flushed
    /// and closed: what shutdown waits for before the media threads stop.
    func settled() async {
        let (task, closing) = state.withLockedValue { ($0.task, $0.closing) }
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
            do { audio.append((name, try library.audio(name, tenant: tenant, rate: leg.sendRate))) } catch {
                throw .promptUnavailable(name: name, reason: "\(error)")
            }
        }
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
        guard let recorder else { return RecordingInfo(durationMilliseconds: 0) }
        try? await leg.stopRecording().get()
        // The leg no longer feeds it: flushing (fsync) happens here, off the media loop.
        recorder.finish()
        return RecordingInfo(durationMilliseconds: recorder.durationMilliseconds)
    }

    func transfer(to target: String) async -> TransferResult {
        await withCheckedContinuation { (done: CheckedContinuation<TransferResult, Never>) in
            onTransfer(target) { done.resume(returning: $0) }
        }
    }

    func hangup() { onHangup() }
}
