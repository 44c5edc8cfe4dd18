import Clocks
import Foundation
import Testing
@testable import ParleyApps

/// Storage for the deposit flow, in memory: what the flow asked for, in order.
final class FakeDepositBackend: VoicemailDepositBackend, @unchecked Sendable {
    enum Call: Equatable {
        case begin(String)
        case finish(String)
        case send(String, DepositEnvelope)
        case discard(String)
    }
    private let lock = NSLock()
    private var _calls: [Call] = []
    private var recordings = 0
    let box: DepositMailbox?
    /// Durations `finishRecording` returns, one per recording (then the last again).
    var kept: [Int]
    var beginError: DepositError?
    var sendError: DepositError?

    init(box: DepositMailbox?, kept: [Int] = [4000]) { self.box = box; self.kept = kept }

    var calls: [Call] { lock.withLock { _calls } }
    private func log(_ c: Call) { lock.withLock { _calls.append(c) } }

    func mailbox(_ number: String) async throws(DepositError) -> DepositMailbox? { box }
    func beginRecording(_ number: String) async throws(DepositError) -> DepositRecording {
        if let beginError { throw beginError }
        let n = lock.withLock { recordings += 1; return recordings }
        log(.begin("r\(n)"))
        return DepositRecording(id: "r\(n)", path: "/tmp/r\(n).wav", maximumSeconds: 120)
    }
    func finishRecording(_ recording: DepositRecording) async throws(DepositError) -> Int {
        log(.finish(recording.id))
        return lock.withLock { kept.count > 1 ? kept.removeFirst() : kept.first ?? 0 }
    }
    func send(_ recording: DepositRecording, envelope: DepositEnvelope) async throws(DepositError) {
        log(.send(recording.id, envelope))
        if let sendError { throw sendError }
    }
    func discard(_ recording: DepositRecording) async { log(.discard(recording.id)) }
}

@Suite("Voicemail deposit: greeting choice, recording, review keys, full mailbox, failures")
struct VoicemailDepositTests {
    static let box = DepositMailbox(number: "2001", maximumSeconds: 120)

    func run(_ backend: FakeDepositBackend, diversion: DiversionReason? = nil, settings: DepositSettings = DepositSettings())
        -> (FakeChannel, TestClock<Duration>, Task<DepositOutcome, Error>) {
        let ch = FakeChannel(), clock = TestClock()
        let task = Task {
            let flow = CallFlow(channel: ch, clock: clock)
            return try await VoicemailDeposit(mailbox: "2001", diversion: diversion, callerNumber: "+3225550100", callerName: "Bob",
                                              settings: settings, backend: backend).run(flow)
        }
        return (ch, clock, task)
    }

    /// Expects the next command to play these prompts; finishes it unless told not to.
    func played(_ ch: FakeChannel, _ prompts: [String], finish: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async {
        let cmd = await ch.next()
        guard case let .play(p, id) = cmd else {
            Issue.record("expected play \(prompts), got \(String(describing: cmd))", sourceLocation: sourceLocation)
            return
        }
        #expect(p == prompts, sourceLocation: sourceLocation)
        if finish { ch.send(.playbackFinished(id: id)) }
    }

    /// Beep, recording-mode play-out, the recorder started on `path`; returns the record id.
    func recordingStarts(_ ch: FakeChannel, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) async -> Int {
        await played(ch, ["beep"], sourceLocation: sourceLocation)
        #expect(await ch.next() == .recordingPlayout(true), sourceLocation: sourceLocation)
        guard case let .record(p, id, silence) = await ch.next() else {
            Issue.record("expected the recorder to start", sourceLocation: sourceLocation)
            return -1
        }
        #expect(p == path && silence == 5000, sourceLocation: sourceLocation)
        return id
    }

    func recordingStops(_ ch: FakeChannel, _ id: Int, sourceLocation: SourceLocation = #_sourceLocation) async {
        #expect(await ch.next() == .stopRecording(id: id), sourceLocation: sourceLocation)
        #expect(await ch.next() == .recordingPlayout(false), sourceLocation: sourceLocation)
    }

    @Test("greeting: temporary first; busy or unavailable by the diversion; recorded name in the sentence; else the number as digits")
    func greetingChoice() {
        func deposit(_ d: DiversionReason?) -> VoicemailDeposit {
            VoicemailDeposit(mailbox: "2001", diversion: d, callerNumber: "", callerName: "", settings: DepositSettings(),
                             backend: FakeDepositBackend(box: nil))
        }
        let all = DepositMailbox(number: "2001", temporaryGreeting: "/g/t.wav", busyGreeting: "/g/b.wav", unavailableGreeting: "/g/u.wav",
                                 nameRecording: "/g/n.wav")
        #expect(deposit(.busy).greeting(for: all) == ["file:/g/t.wav"])
        var noTemp = all; noTemp.temporaryGreeting = nil
        #expect(deposit(.busy).greeting(for: noTemp) == ["file:/g/b.wav"])
        #expect(deposit(.unavailable).greeting(for: noTemp) == ["file:/g/u.wav"])
        #expect(deposit(nil).greeting(for: noTemp) == ["file:/g/u.wav"])
        var nameOnly = DepositMailbox(number: "2001", nameRecording: "/g/n.wav")
        #expect(deposit(.busy).greeting(for: nameOnly) == ["vm-person-at", "file:/g/n.wav", "vm-busy"])
        #expect(deposit(nil).greeting(for: nameOnly) == ["vm-person-at", "file:/g/n.wav", "vm-unavailable"])
        nameOnly.nameRecording = nil
        #expect(deposit(nil).greeting(for: nameOnly) == ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable"])
        // Only a busy greeting, caller not busy: the system sentence, not the busy greeting.
        #expect(deposit(.unavailable).greeting(for: DepositMailbox(number: "7", busyGreeting: "/g/b.wav")) == ["vm-person-at", "digit-7", "vm-unavailable"])
    }

    @Test("record until #, mark urgent (4), send (1): the row gets caller and urgency; the call ends with goodbye")
    func recordReviewSend() async throws {
        let backend = FakeDepositBackend(box: Self.box, kept: [4000])
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        let id = await recordingStarts(ch, "/tmp/r1.wav")
        ch.press("#")
        await recordingStops(ch, id)
        await played(ch, ["vm-review"], finish: false)
        ch.press("4")
        #expect(await ch.next() == .stop)
        await played(ch, ["vm-marked-urgent"])
        await played(ch, ["vm-review"], finish: false)
        ch.press("1")
        #expect(await ch.next() == .stop)
        await played(ch, ["vm-message-sent", "goodbye"])
        #expect(await ch.next() == .hangup)
        #expect(try await task.value == .sent(durationMilliseconds: 4000, urgent: true))
        #expect(backend.calls == [.begin("r1"), .finish("r1"), .send("r1", DepositEnvelope(callerNumber: "+3225550100", callerName: "Bob", urgent: true))])
    }

    @Test("2 plays the recording back; 3 throws it away and records again")
    func listenAndRerecord() async throws {
        let backend = FakeDepositBackend(box: Self.box, kept: [3000, 5000])
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        let first = await recordingStarts(ch, "/tmp/r1.wav")
        ch.press("#")
        await recordingStops(ch, first)
        await played(ch, ["vm-review"], finish: false)
        ch.press("2")
        #expect(await ch.next() == .stop)
        await played(ch, ["file:/tmp/r1.wav"])
        await played(ch, ["vm-review"], finish: false)
        ch.press("3")
        #expect(await ch.next() == .stop)
        let second = await recordingStarts(ch, "/tmp/r2.wav")
        ch.send(.recordingSilence(id: second))
        await recordingStops(ch, second)
        await played(ch, ["vm-review"], finish: false)
        ch.press("1")
        #expect(await ch.next() == .stop)
        await played(ch, ["vm-message-sent", "goodbye"])
        #expect(try await task.value == .sent(durationMilliseconds: 5000, urgent: false))
        #expect(backend.calls.map { if case let .send(id, _) = $0 { "send \(id)" } else { "\($0)" } }
                == ["begin(\"r1\")", "finish(\"r1\")", "discard(\"r1\")", "begin(\"r2\")", "finish(\"r2\")", "send r2"])
    }

    @Test("a recording under the minimum is discarded and offered again; hanging up after speaking sends it")
    func tooShortThenHangup() async throws {
        let backend = FakeDepositBackend(box: Self.box, kept: [400, 2500])
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        let first = await recordingStarts(ch, "/tmp/r1.wav")
        ch.press("#")
        await recordingStops(ch, first)
        await played(ch, ["vm-too-short"])
        let second = await recordingStarts(ch, "/tmp/r2.wav")
        ch.send(.hangup)
        await recordingStops(ch, second)
        #expect(try await task.value == .sent(durationMilliseconds: 2500, urgent: false))
        #expect(backend.calls == [.begin("r1"), .finish("r1"), .discard("r1"), .begin("r2"), .finish("r2"),
                                  .send("r2", DepositEnvelope(callerNumber: "+3225550100", callerName: "Bob", urgent: false))])
    }

    @Test("no key at the review: after three offers the message is sent")
    func reviewTimeoutSends() async throws {
        let backend = FakeDepositBackend(box: Self.box)
        let (ch, clock, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        let id = await recordingStarts(ch, "/tmp/r1.wav")
        ch.press("#")
        await recordingStops(ch, id)
        for _ in 0..<3 {
            await played(ch, ["vm-review"])
            await ch.settled(); await clock.advance(by: .seconds(5))
        }
        await played(ch, ["vm-message-sent", "goodbye"])
        #expect(try await task.value == .sent(durationMilliseconds: 4000, urgent: false))
    }

    @Test("a full mailbox says so after the greeting and records nothing")
    func fullMailbox() async throws {
        var box = Self.box
        box.isFull = true
        box.nameRecording = "/g/name.wav"
        let backend = FakeDepositBackend(box: box)
        let (ch, _, task) = run(backend, diversion: .busy)
        await played(ch, ["vm-person-at", "file:/g/name.wav", "vm-busy", "vm-mailbox-full"])
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        #expect(try await task.value == .mailboxFull)
        #expect(backend.calls.isEmpty)
    }

    @Test("the mailbox filling up between the greeting and the tone: said, nothing recorded")
    func fullAtBegin() async throws {
        let backend = FakeDepositBackend(box: Self.box)
        backend.beginError = .mailboxFull
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        await played(ch, ["vm-mailbox-full", "goodbye"])
        #expect(try await task.value == .mailboxFull)
    }

    @Test("* during the greeting does not lead to login unless the tenant allows it; # skips the greeting")
    func starDuringGreeting() async throws {
        let backend = FakeDepositBackend(box: Self.box)
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"], finish: false)
        ch.press("*#")   // * is ignored; # skips the rest of the greeting
        #expect(await ch.next() == .stop)
        _ = await recordingStarts(ch, "/tmp/r1.wav")   // on to the tone: no login
        ch.send(.hangup)
        _ = try? await task.value

        let (ch2, _, task2) = run(FakeDepositBackend(box: Self.box), settings: DepositSettings(loginFromGreeting: true))
        await played(ch2, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"], finish: false)
        ch2.press("*")
        #expect(await ch2.next() == .stop)
        #expect(try await task2.value == .loginRequested)
    }

    @Test("the recorder failing (full disk) stops cleanly: discarded, the caller is told, the call ends")
    func writeFailure() async throws {
        let backend = FakeDepositBackend(box: Self.box)
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        let id = await recordingStarts(ch, "/tmp/r1.wav")
        ch.send(.recordingFailed(id: id, reason: "No space left on device"))
        await recordingStops(ch, id)
        await played(ch, ["vm-record-failed", "goodbye"])
        #expect(await ch.next() == .hangup)
        #expect(try await task.value == .failed("No space left on device"))
        #expect(backend.calls == [.begin("r1"), .discard("r1")])
    }

    @Test("a commit that fails (disk full at the rename) tells the caller; nothing is claimed sent")
    func sendFailure() async throws {
        let backend = FakeDepositBackend(box: Self.box)
        backend.sendError = .writeFailed("disk full")
        let (ch, _, task) = run(backend)
        await played(ch, ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"])
        let id = await recordingStarts(ch, "/tmp/r1.wav")
        ch.press("#")
        await recordingStops(ch, id)
        await played(ch, ["vm-review"], finish: false)
        ch.press("1")
        #expect(await ch.next() == .stop)
        await played(ch, ["vm-record-failed", "goodbye"])
        #expect(try await task.value == .failed("the message could not be written: disk full"))
    }

    @Test("a mailbox that does not exist says not available")
    func missingMailbox() async throws {
        let (ch, _, task) = run(FakeDepositBackend(box: nil))
        await played(ch, ["not-available"])
        #expect(await ch.next() == .hangup)
        #expect(try await task.value == .unavailable("no mailbox 2001"))
    }
}
