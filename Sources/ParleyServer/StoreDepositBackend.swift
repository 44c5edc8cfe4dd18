import Foundation
import ParleyApps
import ParleyDSP
import ParleyStore

/// The deposit flow's storage for one call: `VoicemailDepositBackend` over the voicemail
/// store of one tenant.
///
/// Store work runs in tasks of its own, not the flow's: the call's task is cancelled when the
/// caller hangs up, and a message left by hanging up must still be committed.
struct StoreDepositBackend: VoicemailDepositBackend {
    let service: VoicemailService
    let tenant: String
    /// Recordings handed out, so `send` and `discard` get the store's own values back.
    private let recordings = RecordingTable()

    init(service: VoicemailService, tenant: String) {
        self.service = service
        self.tenant = tenant
    }

    func mailbox(_ number: String) async throws(DepositError) -> DepositMailbox? {
        let store = service.store
        let key = try key(number)
        let result: Result<DepositMailbox?, StoreError> = await Task {
            do throws(StoreError) {
                guard let box = try await store.mailbox(key) else { return .success(nil) }
                func file(_ kind: GreetingKind) async throws(StoreError) -> String? {
                    try await store.greeting(kind, for: key).flatMap { store.audioFile($0.audioPath) }
                }
                let counts = try await store.counts(key)
                return .success(DepositMailbox(number: number, temporaryGreeting: try await file(.temporary),
                                               busyGreeting: try await file(.busy), unavailableGreeting: try await file(.unavailable),
                                               nameRecording: try await file(.name), isFull: counts.kept >= box.options.maxMessages,
                                               maximumSeconds: box.options.maxMessageSeconds))
            } catch {
                return .failure(error)
            }
        }.value
        switch result {
        case let .success(box): return box
        case let .failure(error): throw Self.map(error)
        }
    }

    func beginRecording(_ number: String) async throws(DepositError) -> DepositRecording {
        let store = service.store
        let key = try key(number)
        let result = await Task { () -> Result<AudioRecording, StoreError> in
            do throws(StoreError) { return .success(try await store.beginRecording(for: key)) } catch { return .failure(error) }
        }.value
        switch result {
        case let .success(recording):
            recordings.add(recording)
            return DepositRecording(id: recording.id, path: recording.temporaryPath, maximumSeconds: recording.maximumSeconds)
        case let .failure(error):
            throw Self.map(error)
        }
    }

    /// Trims leading and trailing silence: the trimmed audio is written beside the file and
    /// renamed over it (a crash leaves one file or the other; both are temporary files that
    /// reconciliation quarantines), at most the mailbox's maximum length. Returns the duration kept in ms.
    func finishRecording(_ recording: DepositRecording) async throws(DepositError) -> Int {
        let path = recording.path
        let maximumSeconds = recording.maximumSeconds
        let result = await Task.detached { () -> Result<Int, DepositError> in
            let audio: PCMAudio
            do { audio = try PCMAudio.read(path: path) } catch {
                return .failure(.writeFailed("the recording cannot be read back: \(error)"))
            }
            var keep = audio.samples.withUnsafeBufferPointer { SilenceTrimmer.speechRange($0, sampleRate: audio.sampleRate) }
            guard !keep.isEmpty else { return .success(0) }
            // The recorder stops a frame or two after the maximum: the message never exceeds it.
            keep = keep.lowerBound..<min(keep.upperBound, keep.lowerBound + maximumSeconds * audio.sampleRate)
            let kept = (keep.count * 1000) / max(1, audio.sampleRate)
            if keep.count == audio.samples.count { return .success(kept) }
            let trimmedPath = path + ".trim"
            do {
                let writer = try AudioFileWriter(path: trimmedPath, sampleRate: audio.sampleRate)
                try audio.samples.withUnsafeBufferPointer { (p) throws(AudioFileError) in try writer.write(UnsafeBufferPointer(rebasing: p[keep])) }
                try writer.close()
            } catch {
                unlink(trimmedPath)
                return .failure(.writeFailed("\(error)"))
            }
            guard rename(trimmedPath, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(trimmedPath)
                return .failure(.writeFailed("rename: \(reason)"))
            }
            return .success(kept)
        }.value
        return try result.get()
    }

    func send(_ recording: DepositRecording, envelope: DepositEnvelope) async throws(DepositError) {
        guard let stored = recordings.take(recording.id) else { throw .unavailable("recording \(recording.id) was not begun here") }
        let service = self.service
        let e = MessageEnvelope(callerNumber: envelope.callerNumber, callerName: envelope.callerName, receivedAt: Date(), urgent: envelope.urgent)
        let result = await Task { () -> Result<VoicemailMessage, StoreError> in
            do throws(StoreError) {
                return .success(try await service.commitDeposit(stored, envelope: e))
            } catch {
                return .failure(error)
            }
        }.value
        if case let .failure(error) = result { throw Self.map(error) }
    }

    func discard(_ recording: DepositRecording) async {
        guard let stored = recordings.take(recording.id) else { return }
        await service.store.discard(stored)
    }

    private func key(_ number: String) throws(DepositError) -> MailboxKey {
        do throws(StoreError) { return try MailboxKey(tenant: tenant, number: number) } catch { throw .unavailable("\(error)") }
    }

    static func map(_ error: StoreError) -> DepositError {
        switch error {
        case .mailboxFull: return .mailboxFull
        case .diskFull, .audioWriteFailed, .unreadableRecording, .recordingTooLong, .io: return .writeFailed(error.description)
        default: return .unavailable(error.description)
        }
    }
}

/// The store's recordings by id, for one call.
private final class RecordingTable: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: AudioRecording] = [:]
    func add(_ r: AudioRecording) { lock.withLock { entries[r.id] = r } }
    func take(_ id: String) -> AudioRecording? { lock.withLock { entries.removeValue(forKey: id) } }
}
