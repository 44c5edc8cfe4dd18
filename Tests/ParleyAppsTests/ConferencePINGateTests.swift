import Clocks
import Foundation
import Testing
@testable import ParleyApps

@Suite("Conference entry: the room's PIN gate")
struct ConferencePINGateTests {
    final class Gate: ConferencePINGate, @unchecked Sendable {
        let lock = NSLock()
        var answers: [ConferencePINVerdict]
        var asked: [Bool] = []
        init(_ answers: [ConferencePINVerdict]) { self.answers = answers }
        func guess(room: String, correct: Bool) -> ConferencePINVerdict {
            lock.withLock { asked.append(correct); return answers.isEmpty ? .lockedOut : answers.removeFirst() }
        }
    }

    func run(_ gate: Gate) -> (FakeChannel, ConferenceEntryTests.FakeBridge, Task<Void, Error>) {
        let ch = FakeChannel(), clock = TestClock()
        let bridge = ConferenceEntryTests.FakeBridge(.init(pin: "1234", moderatorPIN: nil, announceCount: false))
        let task = Task {
            let flow = CallFlow(channel: ch, clock: clock)
            try await ConferenceEntry(room: "300", bridge: bridge, pinGate: gate).run(flow)
        }
        return (ch, bridge, task)
    }

    @Test("Given a room locked out, when the caller enters the right PIN, then they hear conf-locked and are hung up, never joined")
    func lockedOut() async throws {
        let gate = Gate([.lockedOut])
        let (ch, bridge, task) = run(gate)
        await ConferenceEntryTests().played(ch, ["conf-enter-pin"])
        ch.press("1234#")
        await ConferenceEntryTests().played(ch, ["conf-locked", "goodbye"])
        #expect(await ch.next() == .hangup)
        try await task.value
        #expect(bridge.joinedAsModerator == nil)
        #expect(gate.asked == [true])
    }

    @Test("Given a wrong guess and then a guess during the room's back-off, when the third is right and accepted, then the caller joins")
    func backOffThenAccepted() async throws {
        let gate = Gate([.rejected(retryAfter: .zero), .tooSoon(retryAfter: .zero), .accepted])
        let (ch, bridge, task) = run(gate)
        for pin in ["1111#", "1234#"] {
            await ConferenceEntryTests().played(ch, ["conf-enter-pin"])
            ch.press(pin)
            await ConferenceEntryTests().played(ch, ["conf-invalid-pin"])
        }
        await ConferenceEntryTests().played(ch, ["conf-enter-pin"])
        ch.press("1234#")
        // Three are in the room and the count is not announced: the join is silent.
        for _ in 0..<10_000 where bridge.joinedAsModerator == nil { await Task.yield() }
        task.cancel()
        #expect(gate.asked == [false, true, true])
        #expect(bridge.joinedAsModerator == false)
    }
}
