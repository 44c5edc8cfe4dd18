import Foundation
import ParleyApps

/// A `CallChannel` for flow tests: every command is recorded in order (and can be awaited),
/// events are pushed by the test. No media, no sockets: the flow logic alone.
final class FakeChannel: CallChannel, @unchecked Sendable {
    enum Command: Equatable {
        case play([String], id: Int)
        case playFile(String, offset: Int, id: Int)
        case stop
        case record(String, id: Int, silenceMilliseconds: Int?)
        case stopRecording(id: Int)
        case transfer(String)
        case hangup
        /// `setRecordingPlayout(on)`.
        case recordingPlayout(Bool)
    }

    let events: AsyncStream<CallChannelEvent>
    private let eventInput: AsyncStream<CallChannelEvent>.Continuation
    /// Events pushed by the test and events the flow has taken: `settled()` waits for them to
    /// match, so a test advances its clock only after the flow has seen every key (otherwise,
    /// on a busy machine, the flow could start its timer after the advance and wait forever).
    private var pushed = 0
    private var consumed = 0
    private var commands: AsyncStream<Command>.AsyncIterator
    private let commandInput: AsyncStream<Command>.Continuation
    private let lock = NSLock()
    private var _transferResult = TransferResult.failed(status: 486, reason: "Busy Here")
    var missingPrompts: Set<String> = []
    /// `startRecording` throws this (a recorder that cannot create its file: full disk).
    var recordingError: CallChannelError?
    /// `stopRecording` reports this failure (the last frames or the fsync hit a full disk).
    var failureAtClose: String?

    init() {
        let (raw, input) = AsyncStream<CallChannelEvent>.makeStream()
        eventInput = input
        let source = IteratorBox(raw.makeAsyncIterator())
        events = AsyncStream<CallChannelEvent>(unfolding: { [source] in await source.next() })
        defer { source.channel = self }
        let (c, ci) = AsyncStream<Command>.makeStream()
        commands = c.makeAsyncIterator()
        commandInput = ci
    }

    var transferResult: TransferResult {
        get { lock.withLock { _transferResult } }
        set { lock.withLock { _transferResult = newValue } }
    }

    /// The next command the flow gave (waits for it).
    func next() async -> Command? { await commands.next() }

    func send(_ event: CallChannelEvent) { lock.withLock { pushed += 1 }; eventInput.yield(event) }
    func press(_ keys: String) { for k in keys { send(.digit(k)) } }

    /// Waits (up to 5 s of real time) until the flow has taken every event pushed so far, then
    /// lets it run on to its next wait.
    func settled() async {
        let deadline = Date().addingTimeInterval(5)
        while lock.withLock({ consumed < pushed }), Date() < deadline { try? await Task.sleep(for: .milliseconds(1)) }
        for _ in 0..<20 { await Task.yield() }
        try? await Task.sleep(for: .milliseconds(10))
    }

    fileprivate func tookEvent() { lock.withLock { consumed += 1 } }

    func play(_ prompts: [String], id: Int) throws(CallChannelError) {
        if let missing = prompts.first(where: missingPrompts.contains) {
            throw .promptUnavailable(name: missing, reason: "not found")
        }
        commandInput.yield(.play(prompts, id: id))
    }
    /// Refuses, like the server's channel, a file that is missing or empty (no decoding here).
    func playFile(_ path: String, offsetMilliseconds: Int, id: Int) throws(CallChannelError) {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size, size > 0 else { throw .audioUnavailable(path: path, reason: size == nil ? "not found" : "empty") }
        commandInput.yield(.playFile(path, offset: offsetMilliseconds, id: id))
    }
    func stopPlayback() { commandInput.yield(.stop) }
    func startRecording(to path: String, id: Int, silenceMilliseconds: Int?) throws(CallChannelError) {
        if let recordingError { throw recordingError }
        commandInput.yield(.record(path, id: id, silenceMilliseconds: silenceMilliseconds))
    }
    func stopRecording(id: Int) async -> RecordingInfo {
        commandInput.yield(.stopRecording(id: id))
        return RecordingInfo(durationMilliseconds: 1234, failure: failureAtClose)
    }
    func transfer(to target: String) async -> TransferResult {
        commandInput.yield(.transfer(target))
        return transferResult
    }
    func setRecordingPlayout(_ on: Bool) { commandInput.yield(.recordingPlayout(on)) }
    func hangup() {
        commandInput.yield(.hangup)
        eventInput.yield(.hangup)
    }
}

/// The flow's side of the event stream: counts what it takes.
private final class IteratorBox: @unchecked Sendable {
    private var iterator: AsyncStream<CallChannelEvent>.AsyncIterator
    weak var channel: FakeChannel?
    init(_ iterator: AsyncStream<CallChannelEvent>.AsyncIterator) { self.iterator = iterator }
    func next() async -> CallChannelEvent? {
        let event = await iterator.next()
        if event != nil { channel?.tookEvent() }
        return event
    }
}
