import Clocks
import Foundation
import Testing
@testable import ParleyApps

@Suite("Auto attendant: menus, retries, fallback, extensions, transfer, schedule")
struct AutoAttendantTests {
    static let utc = TimeZone(identifier: "UTC") ?? .current

    /// main: 1 → sales, 3 → transfer, 5 → voicemail, 0 → hang up; sales: 2 → support, * → previous;
    /// support: * → previous, # → repeat. Extensions 1001 (transfer) and 200 (a prompt).
    static func config(extensionDialing: Bool = false, retries: Int = 1) -> AttendantConfig {
        let main = Menu(name: "main", greeting: .init(open: "main-open", closed: "main-closed", holiday: "main-holiday"),
                        options: ["1": .menu("sales"), "3": .transfer("sip:desk@pbx.example"), "5": .voicemail("1001"), "0": .hangup],
                        extensionDialing: extensionDialing, timeout: .seconds(5), interDigitTimeout: .seconds(2), retries: retries,
                        fallback: .hangup)
        let sales = Menu(name: "sales", greeting: .init(open: "sales"), options: ["2": .menu("support"), "*": .previous])
        let support = Menu(name: "support", greeting: .init(open: "support"), options: ["*": .previous, "#": .repeat])
        // Open 09:00-17:00 every day.
        let hours = Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [BusinessSchedule.Range(start: 540, end: 1020)]) })
        let schedule = BusinessSchedule(timeZone: utc, hours: hours, holidays: [.init(year: 2026, month: 12, day: 25)])
        return AttendantConfig(tenant: "acme", menus: ["main": main, "sales": sales, "support": support], schedule: schedule,
                               extensions: ["1001": .transfer("sip:alice@pbx.example"), "200": .play("ext-200")])
    }

    static func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso) ?? .distantPast }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var _events: [AttendantEvent] = []
        func add(_ e: AttendantEvent) { lock.withLock { _events.append(e) } }
        var events: [AttendantEvent] { lock.withLock { _events } }
    }

    func run(_ config: AttendantConfig, at iso: String = "2026-11-23T10:00:00Z", log: Log = Log())
        -> (FakeChannel, TestClock<Duration>, Task<Void, Error>) {
        let ch = FakeChannel(), clock = TestClock()
        let now = Self.date(iso)
        let task = Task {
            let flow = CallFlow(channel: ch, clock: clock)
            try await AutoAttendant(config: config, startMenu: "main", now: { now }, observe: { log.add($0) }).run(flow)
        }
        return (ch, clock, task)
    }

    /// Expects a play command of these prompts and lets it finish.
    func played(_ ch: FakeChannel, _ prompts: [String], finish: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async {
        let cmd = await ch.next()
        guard case let .play(p, id) = cmd else {
            Issue.record("expected play \(prompts), got \(String(describing: cmd))", sourceLocation: sourceLocation)
            return
        }
        #expect(p == prompts, sourceLocation: sourceLocation)
        if finish { ch.send(.playbackFinished(id: id)) }
    }

    @Test("three levels down and back: sub-menus, barge-in, previous, invalid key, hang-up")
    func navigate() async throws {
        let (ch, _, task) = run(Self.config())
        await played(ch, ["main-open"])
        ch.press("1")
        await played(ch, ["sales"], finish: false)
        ch.press("2")                                     // barge-in on the sales greeting
        #expect(await ch.next() == .stop)
        await played(ch, ["support"])
        ch.press("#")                                     // repeat
        await played(ch, ["support"])
        ch.press("*")                                     // previous → sales
        await played(ch, ["sales"])
        ch.press("7")                                     // not an option
        await played(ch, ["invalid-option", "sales"])
        ch.press("*")
        await played(ch, ["main-open"])
        ch.press("0")
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
    }

    @Test("keys typed ahead walk several levels without waiting for the greetings")
    func typeAhead() async throws {
        let (ch, _, task) = run(Self.config())
        await played(ch, ["main-open"], finish: false)
        ch.press("12")
        #expect(await ch.next() == .stop)
        // "2" was typed ahead: the sales greeting is cut at once, support plays.
        await played(ch, ["sales"], finish: false)
        #expect(await ch.next() == .stop)
        await played(ch, ["support"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("no key, then a wrong key: after `retries` the fallback runs")
    func fallback() async throws {
        let log = Log()
        let (ch, clock, task) = run(Self.config(retries: 1), log: log)
        await played(ch, ["main-open"])
        await ch.settled(); await clock.advance(by: .seconds(5))
        await played(ch, ["aa-no-input", "main-open"])
        ch.press("8")
        await played(ch, ["aa-too-many-tries"])
        await played(ch, ["goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        #expect(log.events.contains(.fallback(menu: "main", action: .hangup)))
        #expect(log.events.contains(.noInput(menu: "main")) && log.events.contains(.invalid(menu: "main", keys: "8")))
    }

    @Test("a failed transfer is announced and the menu resumes")
    func transferFails() async throws {
        let log = Log()
        let (ch, _, task) = run(Self.config(), log: log)
        await played(ch, ["main-open"])
        ch.press("3")
        await played(ch, ["aa-transferring"])
        #expect(await ch.next() == .transfer("sip:desk@pbx.example"))
        await played(ch, ["aa-transfer-failed", "main-open"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(log.events.contains(.transferred(target: "sip:desk@pbx.example", result: .failed(status: 486, reason: "Busy Here"))))
    }

    @Test("a successful transfer ends the flow")
    func transferSucceeds() async throws {
        let (ch, _, task) = run(Self.config())
        ch.transferResult = .succeeded(status: 200)
        await played(ch, ["main-open"])
        ch.press("3")
        await played(ch, ["aa-transferring"])
        #expect(await ch.next() == .transfer("sip:desk@pbx.example"))
        try await task.value
    }

    @Test("voicemail is not available yet: the caller hears so and the menu resumes")
    func voicemailUnavailable() async throws {
        let log = Log()
        let (ch, _, task) = run(Self.config(), log: log)
        await played(ch, ["main-open"])
        ch.press("5")
        await played(ch, ["not-available", "main-open"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(log.events.contains(.unavailable(menu: "main", action: .voicemail("1001"))))
    }

    @Test("extension dialling, fast typist: 1001 typed at once transfers, the 1 is not taken as option 1")
    func fastTypist() async throws {
        let (ch, _, task) = run(Self.config(extensionDialing: true))
        await played(ch, ["main-open"])
        ch.press("1001")
        await played(ch, ["aa-transferring"])
        #expect(await ch.next() == .transfer("sip:alice@pbx.example"))
        await played(ch, ["aa-transfer-failed", "main-open"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("extension dialling, slow typist within the inter-digit timeout still reaches 200; option 1 alone waits for the timeout")
    func slowTypist() async throws {
        let (ch, clock, task) = run(Self.config(extensionDialing: true))
        await played(ch, ["main-open"])
        ch.press("2")
        await ch.settled(); await clock.advance(by: .milliseconds(1900))
        ch.press("0")
        await ch.settled(); await clock.advance(by: .milliseconds(1900))
        ch.press("0")                                   // 200 is complete: no longer extension starts with it
        await played(ch, ["ext-200"])
        await played(ch, ["main-open"])
        ch.press("1")                                   // 1 could begin 1001: wait for more keys
        await ch.settled(); await clock.advance(by: .seconds(2))
        await played(ch, ["sales"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("extension dialling, too slow: the pause ends the entry; 10 is no extension")
    func tooSlow() async throws {
        let (ch, clock, task) = run(Self.config(extensionDialing: true))
        await played(ch, ["main-open"])
        ch.press("1")
        await ch.settled(); await clock.advance(by: .milliseconds(1500))
        ch.press("0")
        await ch.settled(); await clock.advance(by: .seconds(2))
        await played(ch, ["aa-no-such-extension", "main-open"])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("the greeting follows the schedule state", arguments: [
        ("2026-11-23T10:00:00Z", "main-open", ScheduleState.open),
        ("2026-11-23T20:00:00Z", "main-closed", .closed),
        ("2026-12-25T10:00:00Z", "main-holiday", .holiday),
    ])
    func greeting(iso: String, prompt: String, state: ScheduleState) async throws {
        let log = Log()
        let (ch, _, task) = run(Self.config(), at: iso, log: log)
        await played(ch, [prompt])
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
        #expect(log.events.first == .menuEntered(menu: "main", state: state))
    }
}
