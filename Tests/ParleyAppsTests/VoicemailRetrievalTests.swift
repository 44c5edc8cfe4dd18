import Clocks
import Foundation
import ParleyDSP
@testable import ParleyStore
import Testing
@testable import ParleyApps

/// The retrieval flow key by key, over a fake channel and a real `SQLiteVoicemailStore` in a
/// temporary folder (real SQLite file, real WAVs).
@Suite("Voicemail retrieval: login, lockout, messages and keys, forward, greetings, PIN")
struct VoicemailRetrievalTests {
    static let newYork = TimeZone(identifier: "America/New_York") ?? .current
    /// 2027-01-15 08:00:00 UTC = 03:00 in New York.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let box1001 = (try? MailboxKey(tenant: "acme", number: "1001"))!
    static let box1002 = (try? MailboxKey(tenant: "acme", number: "1002"))!

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var _events: [RetrievalEvent] = []
        private var _changed: [MailboxKey] = []
        func add(_ e: RetrievalEvent) { lock.withLock { _events.append(e) } }
        func changed(_ k: MailboxKey) { lock.withLock { _changed.append(k) } }
        var events: [RetrievalEvent] { lock.withLock { _events } }
        var changes: [MailboxKey] { lock.withLock { _changed } }
    }

    /// A data folder with mailboxes 1001 and 1002 of acme (PIN 2580, 4826).
    final class Fixture {
        let directory = NSTemporaryDirectory() + "parley-retrieval-\(UUID().uuidString)"
        var store: SQLiteVoicemailStore
        let log = Log()

        init(lockout: LockoutPolicy = LockoutPolicy()) async throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            store = try SQLiteVoicemailStore.open(dataDirectory: "\(directory)/data", lockout: lockout, pinCostLog2: 10)
            try await store.createMailbox(Mailbox(key: box1001, name: "Alice"), pin: "2580", now: t0)
            try await store.createMailbox(Mailbox(key: box1002, name: "Bob"), pin: "4826", now: t0)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// Reopens the store on the same folder: what a server restart does.
        func reopen(lockout: LockoutPolicy = LockoutPolicy()) throws {
            store = try SQLiteVoicemailStore.open(dataDirectory: "\(directory)/data", lockout: lockout, pinCostLog2: 10)
        }

        @discardableResult
        func deposit(_ key: MailboxKey = box1001, seconds: Double = 20, caller: String = "5551234", at: Date = t0, urgent: Bool = false) async throws -> VoicemailMessage {
            try await store.deposit(Self.tone(seconds: seconds), into: key,
                                    envelope: MessageEnvelope(callerNumber: caller, callerName: "Carol", receivedAt: at, urgent: urgent))
        }

        static func tone(seconds: Double) -> PCMAudio {
            PCMAudio(sampleRate: 8000, samples: (0..<Int(seconds * 8000)).map { Int16(6000 * sin(Double($0) * 0.3)) })
        }

        func run(caller: String?, now: Date = t0) -> (FakeChannel, TestClock<Duration>, Task<Void, Error>) {
            let ch = FakeChannel(), clock = TestClock()
            let app = VoicemailRetrieval(store: store, tenant: "acme", mailboxNumber: caller,
                                         settings: .init(timeZone: newYork, scratchDirectory: directory),
                                         now: { now }, observe: { [log] in log.add($0) }, mailboxChanged: { [log] in log.changed($0) })
            let task = Task {
                let flow = CallFlow(channel: ch, clock: clock)
                try await app.run(flow)
            }
            return (ch, clock, task)
        }

        func path(_ m: VoicemailMessage) -> String { store.audioFile(m.audioPath) ?? "" }
    }

    // MARK: Helpers

    /// Expects a play command of exactly these prompts; finishes it unless told not to.
    @discardableResult
    func played(_ ch: FakeChannel, _ prompts: [String], finish: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async -> Int {
        let cmd = await ch.next()
        guard case let .play(p, id) = cmd else {
            Issue.record("expected play \(prompts), got \(String(describing: cmd))", sourceLocation: sourceLocation)
            return -1
        }
        #expect(p == prompts, sourceLocation: sourceLocation)
        if finish { ch.send(.playbackFinished(id: id)) }
        return id
    }

    /// Expects the prompts, then presses keys during them (barge-in: the flow stops them).
    func answer(_ ch: FakeChannel, _ prompts: [String], with keys: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        await played(ch, prompts, finish: false, sourceLocation: sourceLocation)
        ch.press(keys)
        #expect(await ch.next() == .stop, sourceLocation: sourceLocation)
    }

    /// Expects the file to be queued at this offset; returns the request id.
    @discardableResult
    func playedFile(_ ch: FakeChannel, _ path: String, offset: Int, sourceLocation: SourceLocation = #_sourceLocation) async -> Int {
        let cmd = await ch.next()
        guard case let .playFile(p, o, id) = cmd else {
            Issue.record("expected playFile \(path)@\(offset), got \(String(describing: cmd))", sourceLocation: sourceLocation)
            return -1
        }
        #expect(p == path && o == offset, sourceLocation: sourceLocation)
        return id
    }

    static let mainMenu = ["vm-main-menu"]
    static let messageMenu = ["vm-message-menu"]

    /// Envelope of a message received at t0 (03:00 New York), said on the same day.
    /// Envelope of a message received at t0 (03:00 New York), or `hoursBefore` whole hours before, said on the same day.
    static func envelope(_ n: Int, urgent: Bool = false, hoursBefore: Int = 0,
                         caller: [String] = ["digit-5", "digit-5", "digit-5", "digit-1", "digit-2", "digit-3", "digit-4"]) -> [String] {
        ["vm-message", "num-\(n)"] + (urgent ? ["vm-urgent"] : [])
            + ["say-received", "say-today", "say-at", "num-\(3 - hoursBefore)", "time-oclock", "time-am", "say-from"] + caller
    }
    static let hourEarlier = t0.addingTimeInterval(-3600)
    static let twoHoursEarlier = t0.addingTimeInterval(-7200)

    /// Logs in from the caller's own number (1001) and reaches the main menu.
    func login(_ ch: FakeChannel, summary: [String]) async {
        await answer(ch, ["enter-pin"], with: "2580#")
        await played(ch, summary + Self.mainMenu, finish: false)
    }

    // MARK: Login and lockout

    @Test("own number: PIN only; counts; urgent first with envelope in the tenant's zone; delete moves on; purge at hang-up")
    func ownNumberListenDelete() async throws {
        let f = try await Fixture()
        let plain = try await f.deposit(at: Self.hourEarlier)
        let urgent = try await f.deposit(caller: "+1 (212) 555", urgent: true)
        try await f.store.move(plain.id, of: Self.box1001, to: .saved)
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-1", "vm-new", "vm-message", "say-and", "num-1", "vm-saved", "vm-message"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        await played(ch, Self.envelope(1, urgent: true, caller: ["digit-1", "digit-2", "digit-1", "digit-2", "digit-5", "digit-5", "digit-5"]))
        let id = await playedFile(ch, f.path(urgent), offset: 0)
        // Heard: out of new, and message-waiting was told.
        #expect(try await f.store.message(urgent.id, of: Self.box1001).folder == .old)
        #expect(f.log.changes == [Self.box1001])
        ch.send(.playbackFinished(id: id))
        await answer(ch, Self.messageMenu, with: "7")
        // Deleted, then the next (older, saved) message follows.
        await played(ch, ["vm-message-deleted"] + Self.envelope(2, hoursBefore: 1), finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        // Purged at hang-up: the row and the file are gone; the saved one stays.
        let all = try await f.store.allMessages(of: Self.box1001)
        #expect(all.map(\.id) == [plain.id])
        #expect(!FileManager.default.fileExists(atPath: f.path(urgent)))
        #expect(f.log.events.contains(.moved(messageID: urgent.id, to: .deleted)))
        #expect(f.log.events.contains(.purged(count: 1)))
    }

    @Test("entering the mailbox number; an unknown mailbox is asked its PIN and refused like a wrong PIN")
    func enterMailbox() async throws {
        let f = try await Fixture()
        let (ch, _, task) = f.run(caller: "5550000")
        await answer(ch, ["vm-enter-mailbox"], with: "9999#")
        await answer(ch, ["enter-pin"], with: "1111#")
        await answer(ch, ["vm-invalid-pin", "vm-enter-mailbox"], with: "1002#")
        await answer(ch, ["enter-pin"], with: "4826#")
        await played(ch, ["vm-no-messages"] + Self.mainMenu, finish: false)
        ch.press("#")
        #expect(await ch.next() == .stop)
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        #expect(f.log.events.prefix(2) == [.loginFailed(mailbox: "9999", reason: "no such mailbox"), .loggedIn(mailbox: "1002")])
    }

    @Test("five wrong PINs over two calls lock the mailbox; the lock survives a restart; the right PIN is refused while locked")
    func lockoutAcrossCallsAndRestart() async throws {
        let f = try await Fixture()
        // Call 1: three wrong PINs, then goodbye.
        var (ch, _, task) = f.run(caller: "1001")
        await answer(ch, ["enter-pin"], with: "1111#")
        await answer(ch, ["vm-invalid-pin", "enter-pin"], with: "2222#")
        await answer(ch, ["vm-invalid-pin", "enter-pin"], with: "3333#")
        await played(ch, ["vm-invalid-pin", "goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        // Call 2: the fifth failure locks.
        (ch, _, task) = f.run(caller: "1001", now: Self.t0.addingTimeInterval(10))
        await answer(ch, ["enter-pin"], with: "4444#")
        await answer(ch, ["vm-invalid-pin", "enter-pin"], with: "5555#")
        await played(ch, ["vm-locked", "goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        // Restart, call 3 within the minute: the right PIN is not even checked.
        try f.reopen()
        (ch, _, task) = f.run(caller: "1001", now: Self.t0.addingTimeInterval(30))
        await answer(ch, ["enter-pin"], with: "2580#")
        await played(ch, ["vm-locked", "goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        #expect(f.log.events.contains { if case .locked(mailbox: "1001", _) = $0 { return true } else { return false } })
        // After the lock: in.
        (ch, _, task) = f.run(caller: "1001", now: Self.t0.addingTimeInterval(200))
        await login(ch, summary: ["vm-no-messages"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    // MARK: Playback keys

    @Test("during playback: * back 5 s, # ahead 5 s, 0 pause and resume, # past the end → message menu; after: * last 5 s, # main menu")
    func seekAndPause() async throws {
        let f = try await Fixture()
        let m = try await f.deposit(seconds: 20)
        let (ch, clock, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-1", "vm-new", "vm-message"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        await played(ch, Self.envelope(1))
        let path = f.path(m)
        await playedFile(ch, path, offset: 0)
        await clock.advance(by: .seconds(7))
        ch.press("*")                                             // at 7 s → 2 s
        #expect(await ch.next() == .stop)
        await playedFile(ch, path, offset: 2000)
        await clock.advance(by: .seconds(1))
        ch.press("#")                                             // at 3 s → 8 s
        #expect(await ch.next() == .stop)
        await playedFile(ch, path, offset: 8000)
        await clock.advance(by: .seconds(2))
        ch.press("0")                                             // pause at 10 s
        #expect(await ch.next() == .stop)
        await answer(ch, ["vm-paused"], with: "0")
        await playedFile(ch, path, offset: 10000)
        await clock.advance(by: .seconds(6))
        ch.press("#")                                             // 16 s + 5 > 20 s: the menu
        #expect(await ch.next() == .stop)
        await answer(ch, Self.messageMenu, with: "*")             // the last 5 s
        let id = await playedFile(ch, path, offset: 15000)
        ch.send(.playbackFinished(id: id))
        await answer(ch, Self.messageMenu, with: "#")             // back to the main menu
        await played(ch, Self.mainMenu, finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("previous at the first, next, save, 5 replays, delete then undelete, next past the end")
    func navigateSaveUndelete() async throws {
        let f = try await Fixture()
        let a = try await f.deposit(at: Self.hourEarlier)
        let b = try await f.deposit()
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-2", "vm-new", "vm-messages"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        await answer(ch, Self.envelope(1, hoursBefore: 1), with: "4")             // no previous
        await answer(ch, ["vm-no-previous-message"] + Self.messageMenu, with: "9")
        #expect(try await f.store.message(a.id, of: Self.box1001).folder == .saved)
        await answer(ch, ["vm-message-saved"] + Self.envelope(2), with: "5")
        await played(ch, Self.envelope(2))
        let id = await playedFile(ch, f.path(b), offset: 0)
        ch.press("7")                                             // delete during the audio
        #expect(await ch.next() == .stop)
        await answer(ch, ["vm-message-deleted", "vm-end-of-messages"] + Self.mainMenu, with: "1")
        _ = id
        // The walk reloads: a (saved) is now the only one; b is deleted-pending.
        await answer(ch, Self.envelope(1, hoursBefore: 1), with: "6")
        await answer(ch, ["vm-end-of-messages"] + Self.mainMenu, with: "#")
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        #expect(try await f.store.allMessages(of: Self.box1001).map(\.id) == [a.id])
    }

    @Test("7 on a deleted message undeletes it")
    func undelete() async throws {
        let f = try await Fixture()
        let a = try await f.deposit(at: Self.hourEarlier)
        let b = try await f.deposit()
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-2", "vm-new", "vm-messages"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        await answer(ch, Self.envelope(1, hoursBefore: 1), with: "7")
        await answer(ch, ["vm-message-deleted"] + Self.envelope(2), with: "4")
        await answer(ch, Self.envelope(1, hoursBefore: 1), with: "7")             // a is deleted: 7 undeletes
        await answer(ch, ["vm-message-undeleted"] + Self.messageMenu, with: "#")
        await played(ch, Self.mainMenu, finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        // Never heard: a is back in new; b untouched.
        #expect(try await f.store.message(a.id, of: Self.box1001).folder == .new)
        #expect(try await f.store.message(b.id, of: Self.box1001).folder == .new)
    }

    @Test("a zero-length file and a damaged row are announced and skipped, never a stuck caller")
    func damagedMessages() async throws {
        let f = try await Fixture()
        let a = try await f.deposit(at: Self.twoHoursEarlier)
        let b = try await f.deposit(at: Self.hourEarlier)
        let c = try await f.deposit()
        // a: file emptied after the fact; b: file gone and flagged by reconciliation.
        #expect(truncate(f.path(a), 0) == 0)
        #expect(unlink(f.path(b)) == 0)
        _ = try await f.store.reconcile()
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-3", "vm-new", "vm-messages"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        // a's header check at reconcile also flags it; either way the caller hears it skipped.
        await played(ch, ["vm-message", "num-1", "vm-message-damaged"])
        await played(ch, ["vm-message", "num-2", "vm-message-damaged"])
        await played(ch, Self.envelope(3))
        await playedFile(ch, f.path(c), offset: 0)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(f.log.events.filter { if case .skipped = $0 { return true } else { return false } }.count == 2)
    }

    @Test("a file that breaks after start-up is skipped at play time")
    func unreadableAtPlayTime() async throws {
        let f = try await Fixture()
        let a = try await f.deposit()
        #expect(truncate(f.path(a), 0) == 0)
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-1", "vm-new", "vm-message"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        await played(ch, Self.envelope(1))
        await played(ch, ["vm-message-damaged"])
        await played(ch, ["vm-end-of-messages"] + Self.mainMenu, finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    // MARK: Forward

    @Test("8 forwards to another mailbox of the tenant, as is and with a recorded introduction; unknown numbers are refused")
    func forward() async throws {
        let f = try await Fixture()
        let m = try await f.deposit(seconds: 2)
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-you-have", "num-1", "vm-new", "vm-message"])
        ch.press("1")
        #expect(await ch.next() == .stop)
        await answer(ch, Self.envelope(1), with: "8")
        await answer(ch, ["vm-forward-enter-mailbox"], with: "7777#")
        await answer(ch, ["vm-no-such-mailbox", "vm-forward-enter-mailbox"], with: "1002#")
        await answer(ch, ["vm-forward-options"], with: "2")
        await answer(ch, ["vm-message-forwarded"] + Self.messageMenu, with: "8")
        await answer(ch, ["vm-forward-enter-mailbox"], with: "1002#")
        await answer(ch, ["vm-forward-options"], with: "1")
        await played(ch, ["vm-record-introduction", "beep"])
        guard case let .record(path, rid, _) = await ch.next() else { Issue.record("no recording"); return }
        // What the caller said: one second.
        let writer = try AudioFileWriter(path: path, sampleRate: 8000)
        let intro = Fixture.tone(seconds: 1)
        try intro.samples.withUnsafeBufferPointer { (p) throws(AudioFileError) in try writer.write(p) }
        writer.finish()
        ch.press("#")
        #expect(await ch.next() == .stopRecording(id: rid))
        await played(ch, ["vm-message-forwarded"] + Self.messageMenu, finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        let copies = try await f.store.messages(in: .new, of: Self.box1002)
        #expect(copies.count == 2)
        #expect(copies.allSatisfy { $0.callerNumber == "5551234" })
        // One copy is the message; the other is intro + 0.25 s + message.
        #expect(Set(copies.map(\.durationMilliseconds)) == [2000, 3250])
        #expect(f.log.changes.filter { $0 == Self.box1002 }.count == 2)
        #expect(!FileManager.default.fileExists(atPath: path))
        _ = m
    }

    // MARK: Mailbox options

    @Test("0 1: record the unavailable greeting, listen, re-record, accept; 4 then removes a temporary greeting")
    func greetings() async throws {
        let f = try await Fixture()
        _ = try await f.store.setGreeting(.temporary, audio: Fixture.tone(seconds: 1), for: Self.box1001, now: Self.t0)
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-temp-greeting-active", "vm-no-messages"])
        ch.press("0")
        #expect(await ch.next() == .stop)
        await answer(ch, ["vm-options-menu"], with: "1")
        var take = ""
        for seconds in [2.0, 3.0] {
            await played(ch, ["vm-record-greeting", "beep"])
            guard case let .record(path, rid, silence) = await ch.next() else { Issue.record("no recording"); return }
            #expect(silence == 5000)
            let writer = try AudioFileWriter(path: path, sampleRate: 8000)
            try Fixture.tone(seconds: seconds).samples.withUnsafeBufferPointer { (p) throws(AudioFileError) in try writer.write(p) }
            writer.finish()
            ch.press("#")
            #expect(await ch.next() == .stopRecording(id: rid))
            await answer(ch, ["vm-greeting-review"], with: "2")
            let id = await playedFile(ch, path, offset: 0)
            ch.send(.playbackFinished(id: id))
            await answer(ch, ["vm-greeting-review"], with: seconds == 2 ? "3" : "1")
            take = path
        }
        await answer(ch, ["vm-greeting-recorded", "vm-options-menu"], with: "4")
        await answer(ch, ["vm-temp-greeting-active", "vm-temp-greeting-options"], with: "2")
        await answer(ch, ["vm-temp-greeting-removed", "vm-options-menu"], with: "*")
        await played(ch, Self.mainMenu, finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        let greeting = try await f.store.greeting(.unavailable, for: Self.box1001)
        #expect(greeting?.durationMilliseconds == 3000)
        #expect(try await f.store.greeting(.temporary, for: Self.box1001) == nil)
        #expect(!FileManager.default.fileExists(atPath: take))
        #expect(f.log.events.contains(.greetingRecorded(.unavailable)) && f.log.events.contains(.greetingRemoved(.temporary)))
    }

    @Test("0 5: a trivial PIN is refused, a mistyped confirmation too, then the new PIN works")
    func changePIN() async throws {
        let f = try await Fixture()
        let (ch, _, task) = f.run(caller: "1001")
        await login(ch, summary: ["vm-no-messages"])
        ch.press("0")
        #expect(await ch.next() == .stop)
        await answer(ch, ["vm-options-menu"], with: "5")
        await answer(ch, ["vm-enter-new-pin"], with: "1234#")
        await answer(ch, ["vm-pin-refused", "vm-enter-new-pin"], with: "739164#")
        await answer(ch, ["vm-reenter-pin"], with: "739165#")
        await answer(ch, ["vm-pins-differ", "vm-enter-new-pin"], with: "739164#")
        await answer(ch, ["vm-reenter-pin"], with: "739164#")
        await played(ch, ["vm-pin-changed", "vm-options-menu"], finish: false)
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(try await f.store.verifyPIN("739164", for: Self.box1001, now: Self.t0) == .ok)
        #expect(try await f.store.verifyPIN("2580", for: Self.box1001, now: Self.t0) == .wrong(attemptsBeforeLockout: 4))
        // The PIN itself never reaches the events.
        #expect(!f.log.events.map { "\($0)" }.joined().contains("739164"))
    }

    @Test("no key at the main menu: offered again, then goodbye")
    func idleCaller() async throws {
        let f = try await Fixture()
        let (ch, clock, task) = f.run(caller: "1001")
        await answer(ch, ["enter-pin"], with: "2580#")
        for round in 0..<3 {
            await played(ch, (round == 0 ? ["vm-no-messages"] : []) + Self.mainMenu)
            await ch.settled(); await clock.advance(by: .seconds(6))
        }
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
    }

    @Test("envelope: another day says the date; an anonymous caller is unknown")
    func envelopePhrases() {
        let m = VoicemailMessage(id: "x", mailbox: Self.box1001, folder: .new, urgent: false, callerNumber: "anonymous", callerName: "",
                                 receivedAt: Self.t0, durationMilliseconds: 1000, audioPath: "", emailState: .none, damaged: false)
        let phrases = VoicemailEnvelope.phrases(for: m, position: 12, now: Self.t0.addingTimeInterval(3 * 86400), timeZone: Self.newYork)
        #expect(phrases == ["vm-message", "num-12", "say-received", "day-friday", "month-january", "ord-15",
                            "say-at", "num-3", "time-oclock", "time-am", "say-from", "vm-unknown-caller"])
        let yesterday = VoicemailEnvelope.phrases(for: m, position: 1, now: Self.t0.addingTimeInterval(86400), timeZone: Self.newYork)
        #expect(yesterday.contains("say-yesterday"))
        var counts = FolderCounts()
        counts.new = 1; counts.old = 2; counts.saved = 1
        #expect(VoicemailEnvelope.summary(counts) == ["vm-you-have", "num-1", "vm-new", "vm-message", "say-and", "num-3", "vm-saved", "vm-messages"])
    }
}
