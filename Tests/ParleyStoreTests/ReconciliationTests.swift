import Foundation
import GRDB
import Testing
@testable import ParleyStore

@Suite("Store: start-up reconciliation")
struct ReconciliationTests {
    @Test("files no row claims (stray WAVs, temporaries of cut recordings, a removed mailbox's folder) are quarantined, not deleted")
    func orphansQuarantined() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let kept = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
        let folder = "\(f.dataDirectory)/voicemail/acme/1001"
        try Data("stray".utf8).write(to: URL(fileURLWithPath: "\(folder)/0b6f8a3e-0000-4000-8000-000000000001.wav"))
        try Data("cut".utf8).write(to: URL(fileURLWithPath: "\(folder)/.tmp-0b6f8a3e-0000-4000-8000-000000000002.wav"))
        try FileManager.default.createDirectory(atPath: "\(f.dataDirectory)/voicemail/gone/7", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: "\(f.dataDirectory)/voicemail/gone/7/a.wav"))
        try FileManager.default.createDirectory(atPath: "\(f.dataDirectory)/voicemail/not.a.tenant", withIntermediateDirectories: true)

        let report = try await store.reconcile()
        #expect(report.quarantined.map(\.from).sorted() == [
            "voicemail/acme/1001/.tmp-0b6f8a3e-0000-4000-8000-000000000002.wav",
            "voicemail/acme/1001/0b6f8a3e-0000-4000-8000-000000000001.wav",
            "voicemail/gone/7/a.wav",
        ])
        #expect(report.ignored == ["voicemail/not.a.tenant"])
        #expect(report.flaggedDamaged.isEmpty)
        #expect(f.files(in: StoreFixture.acme1001) == ["\(kept.id).wav"])
        #expect(f.quarantined() == ["acme/1001/.tmp-0b6f8a3e-0000-4000-8000-000000000002.wav",
                                    "acme/1001/0b6f8a3e-0000-4000-8000-000000000001.wav", "gone/7/a.wav"])
        // The content survives in quarantine.
        #expect(try String(contentsOfFile: "\(f.dataDirectory)/voicemail/quarantine/gone/7/a.wav", encoding: .utf8) == "old")
        // A second pass has nothing to do; quarantine is never re-scanned.
        #expect(try await store.reconcile() == ReconciliationReport(ignoredOnly: ["voicemail/not.a.tenant"]))
    }

    @Test("rows whose file is missing, empty or not a WAV are flagged damaged (listed, skipped by the flow); a restored file clears the flag")
    func damagedFlagged() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        var ids: [String] = []
        for i in 0..<4 {
            ids.append(try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope(at: StoreFixture.t0.addingTimeInterval(Double(i)))).id)
        }
        let greeting = try await store.setGreeting(.unavailable, audio: StoreFixture.tone(seconds: 1), for: key, now: StoreFixture.t0)
        let path = { (id: String) in "\(f.dataDirectory)/voicemail/acme/1001/\(id).wav" }
        let good = try Data(contentsOf: URL(fileURLWithPath: path(ids[3])))
        try FileManager.default.removeItem(atPath: path(ids[0]))
        try Data().write(to: URL(fileURLWithPath: path(ids[1])))
        try Data("RIFF\u{24}\0\0\0WAVEfmt garbage garbage garbage".utf8).write(to: URL(fileURLWithPath: path(ids[2])))
        try Data("corrupt".utf8).write(to: URL(fileURLWithPath: try #require(store.audioFile(greeting.audioPath))))

        let report = try await store.reconcile()
        #expect(Set(report.flaggedDamaged) == Set(ids[0...2].map { "voicemail/acme/1001/\($0).wav" } + [greeting.audioPath]))
        #expect(report.quarantined.isEmpty)
        let listed = try await store.messages(in: .new, of: key)
        #expect(listed.map(\.id) == ids)
        #expect(listed.map(\.damaged) == [true, true, true, false])
        #expect(try await store.greeting(.unavailable, for: key) == nil)

        try good.write(to: URL(fileURLWithPath: path(ids[0])))
        let second = try await store.reconcile()
        #expect(second.repaired == ["voicemail/acme/1001/\(ids[0]).wav"])
        #expect(try await store.message(ids[0], of: key).damaged == false)
    }
}

extension ReconciliationReport {
    init(ignoredOnly: [String]) {
        self.init()
        ignored = ignoredOnly
    }
}
