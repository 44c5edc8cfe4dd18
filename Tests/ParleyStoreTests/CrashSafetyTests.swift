import Foundation
import ParleyDSP
import Testing
@testable import ParleyStore

/// Deposits run in a child process (`parley messages deposit --crash-after STEP`, a
/// test-only hook that sends SIGKILL to itself at that step); the parent then opens the
/// store as a restarted server would.
@Suite("Store: crash safety (kill -9 during a deposit)", .serialized)
struct CrashSafetyTests {
    static func prepare(_ f: StoreFixture) async throws -> String {
        do {
            let store = try f.open()
            try await store.createMailbox(Mailbox(key: StoreFixture.acme1001, name: "A"), pin: "2580", now: StoreFixture.t0)
        }
        let input = "\(f.directory)/input.wav"
        let writer = try AudioFileWriter(path: input, sampleRate: 8000)
        try StoreFixture.tone(seconds: 1.5).samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
        return input
    }

    @Test("a crash at each step leaves either a complete message (row + playable file) or none, never a row without audio",
          arguments: DepositStep.allCases)
    func crashAtStep(step: DepositStep) async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let input = try await Self.prepare(f)
        let result = try runProcess(parleyBinary(), ["messages", "deposit", "--data-dir", f.dataDirectory, "acme", "1001", input,
                                                     "--caller-number", "5551234", "--crash-after", step.rawValue])
        #expect(result.signaled && result.status == SIGKILL, "the child must die by SIGKILL at \(step.rawValue): \(result.stderr)")

        // Restart.
        let store = try f.open()
        let report = try await store.reconcile()
        let messages = try await store.allMessages(of: StoreFixture.acme1001)
        // The invariant, whatever the step: every row has its complete audio.
        for m in messages {
            #expect(!m.damaged)
            let audio = try PCMAudio.read(path: try #require(store.audioFile(m.audioPath)))
            #expect(audio == StoreFixture.tone(seconds: 1.5))
        }
        if step == .committed {
            #expect(messages.count == 1)
            #expect(report.quarantined.isEmpty)
        } else {
            // Not committed: no message; the file written so far is kept aside, not deleted.
            #expect(messages.isEmpty)
            #expect(report.quarantined.count == 1)
            #expect(f.files(in: StoreFixture.acme1001).isEmpty)
        }
        #expect(report.flaggedDamaged.isEmpty)
        // The mailbox still works after the crash.
        _ = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
    }

    @Test("without the hook, the child deposits and exits 0 with the message id")
    func noCrash() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let input = try await Self.prepare(f)
        let result = try runProcess(parleyBinary(), ["messages", "deposit", "--data-dir", f.dataDirectory, "acme", "1001", input])
        #expect(result.status == 0 && !result.signaled, "\(result.stderr)")
        let store = try f.open()
        let messages = try await store.messages(in: .new, of: StoreFixture.acme1001)
        #expect(messages.map(\.id) == [result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
    }
}
