import Foundation
import ParleyDSP
import Testing
@testable import ParleyStore

@Suite("Store: messages")
struct DepositTests {
    @Test("a deposit stores the audio under voicemail/<tenant>/<mailbox>/<id>.wav and a row that matches it")
    func depositRoundTrip() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let audio = StoreFixture.tone(seconds: 2.5)
        let m = try await store.deposit(audio, into: StoreFixture.acme1001, envelope: StoreFixture.envelope(urgent: true))
        #expect(m.audioPath == "voicemail/acme/1001/\(m.id).wav")
        #expect(m.durationMilliseconds == 2500)
        #expect(m.folder == .new && m.urgent && m.callerNumber == "3225551234" && m.receivedAt == StoreFixture.t0)
        #expect(f.files(in: StoreFixture.acme1001) == ["\(m.id).wav"])
        let path = try #require(store.audioFile(m.audioPath))
        #expect(try PCMAudio.read(path: path) == audio)
        #expect(try await store.messages(in: .new, of: StoreFixture.acme1001) == [m])
        var expected = FolderCounts(); expected.new = 1; expected.urgentNew = 1
        #expect(try await store.counts(StoreFixture.acme1001) == expected)
    }

    @Test("listing: urgent first, then oldest first; folders move, delete and undelete, purge removes rows then files")
    func foldersAndOrder() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        let t = StoreFixture.t0
        let a = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope("1", at: t.addingTimeInterval(30)))
        let b = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope("2", at: t.addingTimeInterval(10)))
        let c = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope("3", at: t.addingTimeInterval(50), urgent: true))
        #expect(try await store.messages(in: .new, of: key).map(\.id) == [c.id, b.id, a.id])

        try await store.move(b.id, of: key, to: .old)
        try await store.move(a.id, of: key, to: .saved)
        try await store.markDeleted(a.id, of: key)
        var counts = try await store.counts(key)
        #expect((counts.new, counts.urgentNew, counts.old, counts.saved, counts.deleted) == (1, 1, 1, 0, 1))
        #expect(try await store.undelete(a.id, of: key) == .saved)
        try await store.markDeleted(a.id, of: key)
        try await store.markDeleted(b.id, of: key)
        #expect(try await store.purgeDeleted(of: key) == 2)
        #expect(f.files(in: key) == ["\(c.id).wav"])
        counts = try await store.counts(key)
        #expect((counts.new, counts.old, counts.saved, counts.deleted) == (1, 0, 0, 0))
        await #expect(throws: StoreError.messageNotFound(mailbox: key, id: a.id)) { try await store.move(a.id, of: key, to: .new) }
    }

    @Test("messages of one mailbox cannot be reached through another, even of the same tenant")
    func isolation() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let m = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
        await #expect(throws: StoreError.messageNotFound(mailbox: StoreFixture.acme1002, id: m.id)) {
            try await store.markDeleted(m.id, of: StoreFixture.acme1002)
        }
        await #expect(throws: StoreError.messageNotFound(mailbox: StoreFixture.globex1001, id: m.id)) {
            try await store.deleteMessage(m.id, of: StoreFixture.globex1001)
        }
    }

    @Test("forward copies the audio into another mailbox of the same tenant as new; across tenants it is refused")
    func forward() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let m = try await store.deposit(StoreFixture.tone(seconds: 1.5), into: StoreFixture.acme1001, envelope: StoreFixture.envelope(urgent: true))
        try await store.move(m.id, of: StoreFixture.acme1001, to: .saved)
        let copy = try await store.forward(m.id, of: StoreFixture.acme1001, to: StoreFixture.acme1002, now: StoreFixture.t0.addingTimeInterval(99))
        #expect(copy.id != m.id && copy.folder == .new && copy.urgent && copy.durationMilliseconds == 1500)
        #expect(copy.receivedAt == StoreFixture.t0.addingTimeInterval(99))
        let original = try Data(contentsOf: URL(fileURLWithPath: try #require(store.audioFile(m.audioPath))))
        let copied = try Data(contentsOf: URL(fileURLWithPath: try #require(store.audioFile(copy.audioPath))))
        #expect(original == copied)
        #expect(f.files(in: StoreFixture.acme1002) == ["\(copy.id).wav"])
        await #expect(throws: StoreError.crossTenant(from: StoreFixture.acme1001, to: StoreFixture.globex1001)) {
            _ = try await store.forward(m.id, of: StoreFixture.acme1001, to: StoreFixture.globex1001, now: StoreFixture.t0)
        }
        #expect(f.files(in: StoreFixture.globex1001).isEmpty)
    }

    @Test("a full mailbox refuses before recording and at commit; deleted-pending messages do not count")
    func fullMailbox() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes(maxMessages: 2)
        let key = StoreFixture.acme1001
        let first = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        // A recording started while there was room, committed after the mailbox filled up.
        let late = try await store.beginRecording(for: key)
        _ = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        await #expect(throws: StoreError.mailboxFull(key, maximum: 2)) { _ = try await store.beginRecording(for: key) }
        try store.write(StoreFixture.tone(seconds: 1), to: late)
        await #expect(throws: StoreError.mailboxFull(key, maximum: 2)) {
            _ = try await store.commitMessage(late, envelope: StoreFixture.envelope())
        }
        #expect(f.files(in: key).count == 2)
        try await store.markDeleted(first.id, of: key)
        _ = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        #expect(try await store.counts(key).kept == 2)
    }

    @Test("concurrent deposits into a mailbox with room for 3: exactly 3 stored, the rest refused as full, no orphan file")
    func concurrentDeposits() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes(maxMessages: 3)
        let key = StoreFixture.acme1001
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do { _ = try await store.deposit(StoreFixture.tone(seconds: 0.5), into: key, envelope: StoreFixture.envelope()); return true }
                    catch { return false }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 3)
        #expect(try await store.counts(key).new == 3)
        #expect(f.files(in: key).count == 3)
        #expect(f.files(in: key).allSatisfy { !$0.hasPrefix(".tmp-") })
    }

    @Test("recordings longer than max_message_seconds are refused, in memory and as written files; nothing is left behind")
    func oversized() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes(maxMessageSeconds: 2)
        let key = StoreFixture.acme1001
        await #expect(throws: StoreError.recordingTooLong(durationMilliseconds: 2100, maximumSeconds: 2)) {
            _ = try await store.deposit(StoreFixture.tone(seconds: 2.1), into: key, envelope: StoreFixture.envelope())
        }
        // A recorder that ignored the limit: the committed file is measured, not trusted.
        let recording = try await store.beginRecording(for: key)
        #expect(recording.maximumSeconds == 2)
        let writer = try AudioFileWriter(path: recording.temporaryPath, sampleRate: 8000)
        let long = StoreFixture.tone(seconds: 3)
        try long.samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
        await #expect(throws: StoreError.recordingTooLong(durationMilliseconds: 3000, maximumSeconds: 2)) {
            _ = try await store.commitMessage(recording, envelope: StoreFixture.envelope())
        }
        #expect(f.files(in: key).isEmpty)
        #expect(try await store.counts(key).new == 0)
        _ = try await store.deposit(StoreFixture.tone(seconds: 2), into: key, envelope: StoreFixture.envelope())
    }

    @Test("a recording streamed by the caller is committed; an empty or foreign file is refused and removed")
    func streamedRecording() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        let rec = try await store.beginRecording(for: key)
        let writer = try AudioFileWriter(path: rec.temporaryPath, sampleRate: 8000)
        for _ in 0..<50 { try [Int16](repeating: 1000, count: 160).withUnsafeBufferPointer { try writer.write($0) } }
        writer.finish()
        let m = try await store.commitMessage(rec, envelope: StoreFixture.envelope())
        #expect(m.durationMilliseconds == 1000)

        let empty = try await store.beginRecording(for: key)
        try AudioFileWriter(path: empty.temporaryPath, sampleRate: 8000).finish()
        await #expect(throws: StoreError.self) { _ = try await store.commitMessage(empty, envelope: StoreFixture.envelope()) }
        let foreign = try await store.beginRecording(for: key)
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: foreign.temporaryPath))
        await #expect(throws: StoreError.self) { _ = try await store.commitMessage(foreign, envelope: StoreFixture.envelope()) }
        let abandoned = try await store.beginRecording(for: key)
        try Data("partial".utf8).write(to: URL(fileURLWithPath: abandoned.temporaryPath))
        await store.discard(abandoned)
        #expect(f.files(in: key) == ["\(m.id).wav"])
        #expect(try await store.counts(key).new == 1)
    }

    @Test("greetings: set, replace (old file removed), get, clear")
    func greetings() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        #expect(try await store.greeting(.busy, for: key) == nil)
        let g1 = try await store.setGreeting(.busy, audio: StoreFixture.tone(seconds: 1), for: key, now: StoreFixture.t0)
        let g2 = try await store.setGreeting(.busy, audio: StoreFixture.tone(seconds: 2), for: key, now: StoreFixture.t0)
        let name = try await store.setGreeting(.name, audio: StoreFixture.tone(seconds: 0.5), for: key, now: StoreFixture.t0)
        #expect(g1.audioPath != g2.audioPath)
        #expect(try await store.greeting(.busy, for: key) == g2)
        #expect(try await store.greeting(.name, for: key) == name)
        #expect(f.files(in: key) == [g2.audioPath, name.audioPath].map { ($0 as NSString).lastPathComponent }.sorted())
        try await store.clearGreeting(.busy, for: key)
        #expect(try await store.greeting(.busy, for: key) == nil)
        #expect(f.files(in: key) == [(name.audioPath as NSString).lastPathComponent])
    }

    @Test("email state is kept per message")
    func emailState() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let m = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
        try await store.database.setEmailState(.sent, of: m.id, in: StoreFixture.acme1001)
        #expect(try await store.message(m.id, of: StoreFixture.acme1001).emailState == .sent)
    }

    @Test("removing a mailbox removes its rows, then its files and folder")
    func removeMailbox() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        _ = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        _ = try await store.setGreeting(.unavailable, audio: StoreFixture.tone(seconds: 1), for: key, now: StoreFixture.t0)
        #expect(try await store.removeMailbox(key) == 2)
        #expect(try await store.mailbox(key) == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(f.dataDirectory)/voicemail/acme/1001"))
        #expect(try await store.mailbox(StoreFixture.acme1002) != nil)
    }
}
