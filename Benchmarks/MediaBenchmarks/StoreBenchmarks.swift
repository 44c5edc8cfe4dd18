import Benchmark
import Foundation
import ParleyDSP
import ParleyStore

/// Voicemail storage on a real SQLite file in a temporary folder: a deposit (WAV written,
/// fsynced, renamed, folder fsynced, row committed), listing and counting a folder of
/// 1,000 messages, and one PIN check (scrypt, 2^14).
func registerStoreBenchmarks() {
    final class State: @unchecked Sendable {
        var directory = ""
        var store: SQLiteVoicemailStore?
        let key = try? MailboxKey(tenant: "acme", number: "1001")

        func open(messages: Int) async throws {
            directory = NSTemporaryDirectory() + "parley-store-bench-\(UUID().uuidString)"
            let store = try SQLiteVoicemailStore.open(dataDirectory: directory)
            guard let key else { return }
            try await store.createMailbox(Mailbox(key: key, name: "Bench", options: MailboxOptions(maxMessages: 10_000)),
                                          pin: "2580", now: Date())
            let audio = PCMAudio(sampleRate: 8000, samples: [Int16](repeating: 100, count: 800))
            for i in 0..<messages {
                _ = try await store.deposit(audio, into: key, envelope: MessageEnvelope(callerNumber: "\(i)", receivedAt: Date(), urgent: i % 10 == 0))
            }
            self.store = store
        }

        func close() {
            store = nil
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
    let perCall = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one,
                                          maxDuration: .seconds(3), maxIterations: 2_000)

    let deposit = State()
    let second = PCMAudio(sampleRate: 8000, samples: (0..<8000).map { Int16(8000 * sin(Double($0) * 0.345)) })
    Benchmark("Store deposit, 1 s at 8 kHz (fsync file + folder, commit)", configuration: perCall, closure: { benchmark in
        guard let store = deposit.store, let key = deposit.key else { return }
        for _ in benchmark.scaledIterations {
            blackHole(try await store.deposit(second, into: key, envelope: MessageEnvelope(callerNumber: "1", receivedAt: Date())))
        }
    }, setup: { try await deposit.open(messages: 0) }, teardown: { deposit.close() })

    let listing = State()
    Benchmark("Store list a folder of 1,000 messages", configuration: perCall, closure: { benchmark in
        guard let store = listing.store, let key = listing.key else { return }
        for _ in benchmark.scaledIterations { blackHole(try await store.messages(in: .new, of: key)) }
    }, setup: { try await listing.open(messages: 1_000) }, teardown: { listing.close() })
    Benchmark("Store counts per folder, 1,000 messages", configuration: perCall, closure: { benchmark in
        guard let store = listing.store, let key = listing.key else { return }
        for _ in benchmark.scaledIterations { blackHole(try await store.counts(key)) }
    }, setup: { try await listing.open(messages: 1_000) }, teardown: { listing.close() })

    let pin = State()
    Benchmark("Store verify PIN (scrypt N=2^14, r=8)", configuration: .init(metrics: [.wallClock], scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200),
              closure: { benchmark in
        guard let store = pin.store, let key = pin.key else { return }
        for _ in benchmark.scaledIterations { blackHole(try await store.verifyPIN("2580", for: key, now: Date())) }
    }, setup: { try await pin.open(messages: 0) }, teardown: { pin.close() })
}
