import Clocks
import Foundation
import Testing
@testable import ParleyApps

/// Runs `body` as the call's flow task; returns the task.
func startFlow<T: Sendable>(_ channel: FakeChannel, _ clock: TestClock<Duration>,
                            _ body: @escaping @Sendable (CallFlow) async throws -> T) -> Task<T, Error> {
    Task {
        let flow = CallFlow(channel: channel, clock: clock)
        return try await body(flow)
    }
}

@Suite("CallFlow: prompts, collecting keys, recording")
struct CallFlowTests {
    @Test("play waits for the end of its prompts; keys pressed meanwhile are typed ahead")
    func playKeepsTypeAhead() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            try await flow.play(["welcome", "thank-you"])
            return try await flow.collect(max: 2, timeout: .seconds(5), interDigitTimeout: .seconds(2))
        }
        #expect(await ch.next() == .play(["welcome", "thank-you"], id: 1))
        ch.press("42")
        ch.send(.playbackFinished(id: 1))
        #expect(try await task.value == "42")
    }

    @Test("playAndCollect: the first key stops the prompt (barge-in) and counts")
    func bargeIn() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            try await flow.playAndCollect(["menu"], max: 1, timeout: .seconds(5), interDigitTimeout: .seconds(2))
        }
        #expect(await ch.next() == .play(["menu"], id: 1))
        ch.press("3")
        #expect(await ch.next() == .stop)
        #expect(try await task.value == "3")
    }

    @Test("playAndCollect with keys typed ahead plays nothing")
    func typeAheadSkipsPrompt() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            try await flow.play(["intro"])
            let a = try await flow.playAndCollect(["menu"], max: 1, timeout: .seconds(5), interDigitTimeout: .seconds(2))
            let b = try await flow.playAndCollect(["submenu"], max: 1, timeout: .seconds(5), interDigitTimeout: .seconds(2))
            return a + b
        }
        #expect(await ch.next() == .play(["intro"], id: 1))
        ch.press("21")
        ch.send(.playbackFinished(id: 1))
        #expect(try await task.value == "21")
    }

    @Test("collect: nothing pressed returns an empty answer after the timeout; a pause between keys ends the entry")
    func timeouts() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            let none = try await flow.collect(max: 4, timeout: .seconds(5), interDigitTimeout: .seconds(2))
            let some = try await flow.collect(max: 4, timeout: .seconds(5), interDigitTimeout: .seconds(2))
            return [none, some]
        }
        await ch.settled(); await clock.advance(by: .seconds(4))
        await ch.settled(); await clock.advance(by: .seconds(1))
        ch.press("1")
        await ch.settled(); await clock.advance(by: .milliseconds(1500))
        ch.press("2")
        await ch.settled(); await clock.advance(by: .milliseconds(1500))   // still within 2 s of the last key
        ch.press("3")
        await ch.settled(); await clock.advance(by: .seconds(2))
        #expect(try await task.value == ["", "123"])
    }

    @Test("collect ends at the terminator (not returned) and at max; extra keys stay typed ahead")
    func terminatorAndMax() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            let a = try await flow.collect(max: 10, timeout: .seconds(5), interDigitTimeout: .seconds(2), terminator: "#")
            let b = try await flow.collect(max: 2, timeout: .seconds(5), interDigitTimeout: .seconds(2))
            let c = try await flow.collect(max: 2, timeout: .seconds(5), interDigitTimeout: .seconds(2))
            return [a, b, c]
        }
        ch.press("12#3456")
        #expect(try await task.value == ["12", "34", "56"])
    }

    @Test("hang-up ends any wait with CallFlowError.hungUp")
    func hangupEndsWait() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            try await flow.collect(max: 4, timeout: .seconds(60), interDigitTimeout: .seconds(2))
        }
        ch.send(.hangup)
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("cancelling the flow's task (the server does on hang-up) ends it too")
    func cancellation() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            try await flow.play(["long"])
        }
        #expect(await ch.next() == .play(["long"], id: 1))
        task.cancel()
        await #expect(throws: CallFlowError.hungUp) { try await task.value }
    }

    @Test("record ends at a terminator key, at silence, or at the maximum length")
    func record() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            let a = try await flow.record(to: "/tmp/a.wav", maxLength: .seconds(60), silence: .seconds(3))
            let b = try await flow.record(to: "/tmp/b.wav", maxLength: .seconds(60), silence: .seconds(3))
            let c = try await flow.record(to: "/tmp/c.wav", maxLength: .seconds(10))
            return [a.endedBy, b.endedBy, c.endedBy]
        }
        #expect(await ch.next() == .record("/tmp/a.wav", id: 1, silenceMilliseconds: 3000))
        ch.press("#")
        #expect(await ch.next() == .stopRecording(id: 1))
        #expect(await ch.next() == .record("/tmp/b.wav", id: 2, silenceMilliseconds: 3000))
        ch.send(.recordingSilence(id: 2))
        #expect(await ch.next() == .stopRecording(id: 2))
        #expect(await ch.next() == .record("/tmp/c.wav", id: 3, silenceMilliseconds: nil))
        await ch.settled(); await clock.advance(by: .seconds(10))
        #expect(await ch.next() == .stopRecording(id: 3))
        #expect(try await task.value == [.terminator("#"), .silence, .maxLength])
    }

    @Test("a hang-up during a recording keeps it (ended by hangup) instead of throwing")
    func recordHangup() async throws {
        let ch = FakeChannel(), clock = TestClock()
        let task = startFlow(ch, clock) { flow in
            try await flow.record(to: "/tmp/a.wav", maxLength: .seconds(60))
        }
        #expect(await ch.next() == .record("/tmp/a.wav", id: 1, silenceMilliseconds: nil))
        ch.send(.hangup)
        #expect(await ch.next() == .stopRecording(id: 1))
        let r = try await task.value
        #expect(r.endedBy == .hangup && r.durationMilliseconds == 1234)
    }

    @Test("a prompt that exists nowhere is an error naming it, not a silent skip")
    func missingPrompt() async throws {
        let ch = FakeChannel(), clock = TestClock()
        ch.missingPrompts = ["nope"]
        let task = startFlow(ch, clock) { flow in try await flow.play(["nope"]) }
        await #expect(throws: CallFlowError.channel(.promptUnavailable(name: "nope", reason: "not found"))) { try await task.value }
    }
}
