import Clocks
import Foundation
import Testing
@testable import ParleyApps

/// A full disk at any point of a recording fails that message, tells the caller when they are
/// still there, keeps nothing and always reports the outcome.
@Suite("Voicemail deposit: a recording that cannot be written")
struct DepositWriteFailureTests {
    let t = VoicemailDepositTests()
    static let greeting = ["vm-person-at", "digit-2", "digit-0", "digit-0", "digit-1", "vm-unavailable", "vm-leave-message"]

    @Test("Given a recorder that cannot create its file, the caller hears the apology and the outcome is failed with the reason")
    func cannotCreate() async throws {
        let backend = FakeDepositBackend(box: VoicemailDepositTests.box)
        let (ch, _, task) = t.run(backend)
        ch.recordingError = .recordingUnavailable(path: "/tmp/r1.wav", reason: "No space left on device")
        await t.played(ch, Self.greeting)
        await t.played(ch, ["beep"])
        #expect(await ch.next() == .recordingPlayout(true))
        #expect(await ch.next() == .recordingPlayout(false))
        await t.played(ch, ["vm-record-failed", "goodbye"])
        #expect(await ch.next() == .hangup)
        #expect(try await task.value == .failed("cannot record to /tmp/r1.wav: No space left on device"))
        #expect(backend.calls == [.begin("r1"), .discard("r1")])
    }

    @Test("Given the last frames or the fsync failing at close, the take is not kept: apology, discarded, never sent")
    func failsAtClose() async throws {
        let backend = FakeDepositBackend(box: VoicemailDepositTests.box)
        let (ch, _, task) = t.run(backend)
        ch.failureAtClose = "fsync: No space left on device"
        await t.played(ch, Self.greeting)
        let id = await t.recordingStarts(ch, "/tmp/r1.wav")
        ch.press("#")
        await t.recordingStops(ch, id)
        await t.played(ch, ["vm-record-failed", "goodbye"])
        #expect(await ch.next() == .hangup)
        #expect(try await task.value == .failed("fsync: No space left on device"))
        #expect(backend.calls == [.begin("r1"), .discard("r1")])
    }

    @Test("Given a caller who hangs up while the close fails, nothing is played, nothing kept, and the outcome is still failed")
    func failsAfterHangup() async throws {
        let backend = FakeDepositBackend(box: VoicemailDepositTests.box)
        let (ch, _, task) = t.run(backend)
        ch.failureAtClose = "No space left on device"
        await t.played(ch, Self.greeting)
        let id = await t.recordingStarts(ch, "/tmp/r1.wav")
        ch.send(.hangup)
        await t.recordingStops(ch, id)
        #expect(try await task.value == .failed("No space left on device"))
        #expect(backend.calls == [.begin("r1"), .discard("r1")])
    }
}
