import Foundation
import GRDB
import Testing
@testable import ParleyStore

@Suite("Store: hostile identifiers and names")
struct PathSafetyTests {
    static let hostile = ["../acme", "..", ".", "/", "/etc/passwd", "acme/../../x", "a\0b", "a'b", "a\"b", "1001' OR '1'='1",
                          "1001; DROP TABLE mailbox;--", "a b", "acme\n1001", "", String(repeating: "9", count: 33), "ünï", "%2e%2e", "a*b"]

    @Test("tenants and mailbox numbers with path or SQL tricks are refused before any path or query", arguments: hostile)
    func refusedIdentifiers(value: String) {
        #expect(throws: StoreError.self) { _ = try MailboxKey(tenant: value, number: "1001") }
        #expect(throws: StoreError.self) { _ = try MailboxKey(tenant: "acme", number: value) }
    }

    @Test("the error message escapes control characters of the refused value")
    func escapedError() {
        #expect(throws: StoreError.invalidIdentifier(what: "tenant", value: "a\0b\nc", reason: "only ASCII letters and digits are allowed")) {
            _ = try MailboxKey(tenant: "a\0b\nc", number: "1")
        }
        let text = StoreError.invalidIdentifier(what: "tenant", value: "a\0b\nc", reason: "x").description
        #expect(!text.contains("\n") && !text.contains("\0") && text.contains("\\0") && text.contains("\\n"))
    }

    @Test("message ids from outside are checked; SQL in one matches nothing and changes nothing",
          arguments: ["x' OR '1'='1", "../../parley.sqlite", "00000000-0000-0000-0000-00000000000Z", ""])
    func hostileMessageIDs(id: String) async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        _ = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
        await #expect(throws: StoreError.self) { try await store.deleteMessage(id, of: StoreFixture.acme1001) }
        await #expect(throws: StoreError.self) { try await store.move(id, of: StoreFixture.acme1001, to: .deleted) }
        #expect(try await store.counts(StoreFixture.acme1001).new == 1)
    }

    @Test("names, caller ids and addresses with SQL in them are stored verbatim as data; control characters are dropped")
    func hostileFreeText() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open()
        let key = StoreFixture.acme1001
        let name = "Robert'); DROP TABLE message;--"
        try await store.createMailbox(Mailbox(key: key, name: name, emails: ["bob@example.com"]), pin: "2580", now: StoreFixture.t0)
        let envelope = MessageEnvelope(callerNumber: "1' OR 1=1;--", callerName: "Eve\r\nX-Injected: 1\0", receivedAt: StoreFixture.t0)
        let m = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: envelope)
        #expect(try await store.mailbox(key)?.name == name)
        #expect(m.callerNumber == "1' OR 1=1;--")
        #expect(m.callerName == "EveX-Injected: 1")
        #expect(try await store.messages(in: .new, of: key) == [m])
        await #expect(throws: StoreError.self) {
            try await store.createMailbox(Mailbox(key: StoreFixture.acme1002, name: "x", emails: ["a@b.c>\r\nBcc: x@y.z"]), pin: "2580", now: StoreFixture.t0)
        }
        await #expect(throws: StoreError.self) {
            try await store.createMailbox(Mailbox(key: StoreFixture.acme1002, name: "line\nbreak"), pin: "2580", now: StoreFixture.t0)
        }
    }

    @Test("an audio path read back from a row is not followed outside the voicemail folder")
    func rowPathsChecked() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open()
        for bad in ["/etc/passwd", "voicemail/../parley.sqlite", "voicemail/acme/../../x.wav", "other/acme/1001/x.wav", "voicemail//x.wav", "voicemail/a\0/x.wav"] {
            #expect(store.audioFile(bad) == nil, "\(bad)")
        }
        #expect(store.audioFile("voicemail/acme/1001/x.wav") == "\(f.dataDirectory)/voicemail/acme/1001/x.wav")
    }

    @Test("rows edited by hand with values of the wrong type are left out of listings; nothing traps")
    func wrongTypesInRows() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let key = StoreFixture.acme1001
        let good = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        let bad = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())
        try await store.database.writer.write { db in
            try db.execute(sql: "UPDATE message SET urgent = 'maybe', received_at = 'not a date', duration_ms = 'long' WHERE id = ?", arguments: [bad.id])
        }
        #expect(try await store.messages(in: .new, of: key).map(\.id) == [good.id])
        #expect(try await store.counts(key).new == 2)
        await #expect(throws: StoreError.self) { _ = try await store.message(bad.id, of: key) }
        #expect(try await store.reconcile().flaggedDamaged.isEmpty)
    }

    @Test("a row with a path that leaves the voicemail folder is flagged damaged at reconciliation, never opened")
    func hostileRowPath() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try await f.openWithMailboxes()
        let m = try await store.deposit(StoreFixture.tone(seconds: 1), into: StoreFixture.acme1001, envelope: StoreFixture.envelope())
        try await store.database.writer.write { db in
            try db.execute(sql: "UPDATE message SET audio_path = '../../../../etc/passwd' WHERE id = ?", arguments: [m.id])
        }
        let report = try await store.reconcile()
        #expect(report.flaggedDamaged == ["../../../../etc/passwd"])
        #expect(try await store.message(m.id, of: StoreFixture.acme1001).damaged)
    }
}
