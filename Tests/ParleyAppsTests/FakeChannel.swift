import Foundation
import ParleyApps

/// A `CallChannel` for flow tests: every command is recorded in order (and can be awaited),
/// events are pushed by the test. No media, no sockets: the flow logic alone.
final class FakeChannel: CallChannel, @unchecked Sendable {
    enum Command: Equatable {
        case play([String], id: Int)
        case stop
        case record(String, id: Int, silenceMilliseconds: Int?)
        case stopRecording(id: Int)
        case transfer(String)
        case hangup
    }

    let events: AsyncStream<CallChannelEvent>
    private let eventInput: AsyncStream<CallChannelEvent>.Continuation
    private var commands: AsyncStream<Command>.AsyncIterator
    private let commandInput: AsyncStream<Command>.Continuation
    private let lock = NSLock()
    private var _transferResult = TransferResult.failed(status: 486, reason: "Busy Here")
    var missingPrompts: Set<String> = []

    init() {
        (events, eventInput) = AsyncStream<CallChannelEvent>.makeStream()
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

    func send(_ event: CallChannelEvent) { eventInput.yield(event) }
    func press(_ keys: String) { for k in keys { eventInput.yield(.digit(k)) } }

    func play(_ prompts: [String], id: Int) throws(CallChannelError) {
        if let missing = prompts.first(where: missingPrompts.contains) {
            throw .promptUnavailable(name: missing, reason: "not found")
        }
        commandInput.yield(.play(prompts, id: id))
    }
    func stopPlayback() { commandInput.yield(.stop) }
    func startRecording(to path: String, id: Int, silenceMilliseconds: Int?) throws(CallChannelError) {
        commandInput.yield(.record(path, id: id, silenceMilliseconds: silenceMilliseconds))
    }
    func stopRecording(id: Int) async -> RecordingInfo {
        commandInput.yield(.stopRecording(id: id))
        return RecordingInfo(durationMilliseconds: 1234)
    }
    func transfer(to target: String) async -> TransferResult {
        commandInput.yield(.transfer(target))
        return transferResult
    }
    func hangup() {
        commandInput.yield(.hangup)
        eventInput.yield(.hangup)
    }
}
