import Clocks
import Foundation
import Testing
@testable import ParleyApps

@Suite("Conference entry: PIN tries, moderator PIN, refusals, keys in the room")
struct ConferenceEntryTests {
    /// A bridge with one room whose state the test reads.
    final class FakeBridge: ConferenceBridge, ConferenceMembership, @unchecked Sendable {
        let lock = NSLock()
        var settings: ConferenceRoomSettings
        var refusal: ConferenceRefusal?
        var count = 3
        var actions: [String] = []
        var joinedAsModerator: Bool?
        var muted = false
        init(_ settings: ConferenceRoomSettings) { self.settings = settings }
        func log(_ a: String) { lock.withLock { actions.append(a) } }
        var log: [String] { lock.withLock { actions } }

        func settings(room: String) -> ConferenceRoomSettings? { room == "300" ? settings : nil }
        func wouldRefuse(room: String) -> ConferenceRefusal? { refusal }
        func join(room: String, moderator: Bool) -> Result<any ConferenceMembership, ConferenceRefusal> {
            lock.withLock { joinedAsModerator = moderator }
            return .success(self)
        }
        var participantCount: Int { count }
        func toggleMute() -> Bool { lock.withLock { muted.toggle(); return muted } }
        func changeVolume(by step: Int) -> Int { log("volume \(step)"); return step }
        func toggleMuteOthers() -> Bool { log("mute-others"); return true }
        func toggleLock() -> Bool { log("lock"); return true }
        func kickLastJoined() -> Bool { log("kick"); return true }
        func leave() { log("leave") }
    }

    func run(_ bridge: FakeBridge) -> (FakeChannel, Task<Void, Error>) {
        let ch = FakeChannel(), clock = TestClock()
        let task = Task {
            let flow = CallFlow(channel: ch, clock: clock)
            try await ConferenceEntry(room: "300", bridge: bridge).run(flow)
        }
        return (ch, task)
    }

    func played(_ ch: FakeChannel, _ prompts: [String], sourceLocation: SourceLocation = #_sourceLocation) async {
        let cmd = await ch.next()
        guard case let .play(p, id) = cmd else {
            Issue.record("expected play \(prompts), got \(String(describing: cmd))", sourceLocation: sourceLocation)
            return
        }
        #expect(p == prompts, sourceLocation: sourceLocation)
        ch.send(.playbackFinished(id: id))
    }

    @Test("three wrong PINs: conf-invalid-pin after each, then goodbye and hang-up; never joined")
    func wrongPIN() async throws {
        let bridge = FakeBridge(.init(pin: "1234", moderatorPIN: nil, announceCount: true))
        let (ch, task) = run(bridge)
        for _ in 0..<3 {
            await played(ch, ["conf-enter-pin"])
            ch.press("1111#")
            await played(ch, ["conf-invalid-pin"])
        }
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        #expect(bridge.joinedAsModerator == nil)
    }

    @Test("the moderator PIN joins as moderator, hears the count, and 9 / 8 / 1 act; others' keys 7-9 do nothing")
    func moderator() async throws {
        let bridge = FakeBridge(.init(pin: "1234", moderatorPIN: "9999", announceCount: true))
        let (ch, task) = run(bridge)
        await played(ch, ["conf-enter-pin"])
        ch.press("9999#")
        await played(ch, ["conf-there-are", "num-3", "conf-participants"])
        #expect(bridge.joinedAsModerator == true)
        ch.press("9")
        await played(ch, ["conf-leave"])
        ch.press("8")
        await played(ch, ["conf-locked"])
        ch.press("1")
        await played(ch, ["conf-muted"])
        ch.press("6")
        await played(ch, ["beep"])
        #expect(bridge.log == ["kick", "lock", "volume 1"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(bridge.log.last == "leave")

        let caller = FakeBridge(.init(pin: "1234", moderatorPIN: "9999", announceCount: false))
        caller.count = 1
        let (ch2, task2) = run(caller)
        await played(ch2, ["conf-enter-pin"])
        ch2.press("1234#")
        await played(ch2, ["conf-first-participant"])
        ch2.press("9")
        ch2.press("2")
        await played(ch2, ["conf-first-participant"])
        #expect(caller.log.isEmpty)
        ch2.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task2.value }
    }

    @Test("a full room: conf-full and hang-up before any PIN is asked")
    func full() async throws {
        let bridge = FakeBridge(.init(pin: "1234", moderatorPIN: nil, announceCount: true))
        bridge.refusal = .full
        let (ch, task) = run(bridge)
        await played(ch, ["conf-full"])
        #expect(await ch.next() == .hangup)
        try await task.value
    }

    @Test("a menu key with { conference: ROOM } hands the call to the conference flow and leaves the menu")
    func fromMenu() async throws {
        let main = Menu(name: "main", greeting: .init(open: "main-open"), options: ["3": .conference("300")])
        let always = Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [BusinessSchedule.Range(start: 0, end: 1440)]) })
        let config = AttendantConfig(tenant: "acme", menus: ["main": main],
                                     schedule: BusinessSchedule(timeZone: TimeZone(identifier: "UTC") ?? .current, hours: always, holidays: []),
                                     extensions: [:])
        let bridge = FakeBridge(.init(pin: nil, moderatorPIN: nil, announceCount: true))
        bridge.count = 2
        let ch = FakeChannel(), clock = TestClock()
        let task = Task {
            let flow = CallFlow(channel: ch, clock: clock)
            let attendant = AutoAttendant(config: config, startMenu: "main", handoff: { action, flow throws(CallFlowError) in
                guard case let .conference(room) = action else { return false }
                try await ConferenceEntry(room: room, bridge: bridge).run(flow)
                return true
            })
            try await attendant.run(flow)
        }
        await played(ch, ["main-open"])
        ch.press("3")
        await played(ch, ["conf-one-participant"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(bridge.log == ["leave"])
    }
}
