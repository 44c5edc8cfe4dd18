import Foundation

/// What a call's media channel reports to its flow, in the order it happened.
public enum CallChannelEvent: Sendable, Equatable {
    /// A key press (RFC 4733, in-band or SIP INFO, already merged and de-duplicated).
    case digit(Character)
    /// Every prompt of the play request `id` has been played to its end (a stopped
    /// request never reports).
    case playbackFinished(id: Int)
    /// The recorder of request `id` heard `silence` without a break (the flow asked for it).
    case recordingSilence(id: Int)
    /// The recorder of request `id` stopped on its own: it could not write.
    case recordingFailed(id: Int, reason: String)
    /// The caller hung up, or the call ended for another reason; nothing follows.
    case hangup
}

/// How a blind transfer ended: the REFER was accepted and the far end answered (the call
/// is leaving us), or it failed with the SIP status where there was one.
public enum TransferResult: Sendable, Equatable {
    case succeeded(status: Int)
    case failed(status: Int?, reason: String)
}

/// What a finished recording holds.
public struct RecordingInfo: Sendable, Equatable {
    /// Audio written, in milliseconds (8 kHz samples / 8).
    public var durationMilliseconds: Int
    /// Why the file is not whole (the last frames or the fsync at close hit a full disk), or
    /// nil when it is.
    public var failure: String?
    public init(durationMilliseconds: Int, failure: String? = nil) {
        self.durationMilliseconds = durationMilliseconds
        self.failure = failure
    }
}

/// Why `play` or `record` could not start.
public enum CallChannelError: Error, Equatable, CustomStringConvertible {
    /// The prompt exists nowhere (neither the tenant's folder nor the system prompts).
    case promptUnavailable(name: String, reason: String)
    case recordingUnavailable(path: String, reason: String)
    /// An audio file (a message, a greeting) is missing, empty or unreadable.
    case audioUnavailable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .promptUnavailable(name, reason): return "prompt '\(name)' cannot be played: \(reason)"
        case let .recordingUnavailable(path, reason): return "cannot record to \(path): \(reason)"
        case let .audioUnavailable(path, reason): return "audio file \(path) cannot be played: \(reason)"
        }
    }
}

/// One call's media as a flow sees it: commands go in, events come out of `events`.
///
/// The server implements it over the call's media leg (`ParleyServer`'s `LegCallChannel`);
/// tests implement it with a fake. Commands return at once (they are queued to the media
/// plane); their results arrive as `CallChannelEvent`s. Implementations are thread-safe.
public protocol CallChannel: Sendable {
    /// The events of this call; the stream finishes after `.hangup`.
    var events: AsyncStream<CallChannelEvent> { get }
    /// Queues the prompts after those already playing; `.playbackFinished(id)` follows the last.
    func play(_ prompts: [String], id: Int) throws(CallChannelError)
    /// Queues an audio file (a stored message or greeting: WAV, any rate, mixed to mono),
    /// starting `offsetMilliseconds` into it; `.playbackFinished(id)` follows its end (at
    /// once when the offset is past the end). Throws `.audioUnavailable` when the file is
    /// missing, empty or unreadable, so the flow can say so and move on.
    func playFile(_ path: String, offsetMilliseconds: Int, id: Int) throws(CallChannelError)
    /// Stops the prompt playing now and drops the queue (no `.playbackFinished` for them).
    func stopPlayback()
    /// Starts writing the caller's audio to `path` (8 kHz 16-bit mono WAV). With
    /// `silenceMilliseconds`, `.recordingSilence(id)` is reported once that much silence follows speech or the start.
    func startRecording(to path: String, id: Int, silenceMilliseconds: Int?) throws(CallChannelError)
    /// Stops the recorder, flushes and closes the file.
    func stopRecording(id: Int) async -> RecordingInfo
    /// Blind transfer of the call to a SIP URI (REFER, RFC 3515).
    func transfer(to target: String) async -> TransferResult
    /// Ends the call (BYE).
    func hangup()
    /// While a message is recorded the leg's jitter buffer may hold up to about a second (a
    /// deposit is not interactive); `false` returns to interactive play-out.
    func setRecordingPlayout(_ on: Bool)
}

extension CallChannel {
    public func setRecordingPlayout(_ on: Bool) {}
}

extension CallFlow {
    /// A prompt entry that plays an audio file (a recorded greeting or message, absolute
    /// path) instead of a named prompt; it can stand anywhere in a prompt list. Prompt names
    /// never contain `:`, so the two cannot be confused.
    public static func audioFile(_ path: String) -> String { "\(audioFilePrefix)\(path)" }
    public static let audioFilePrefix = "file:"
}
