import Foundation
import Logging
import ParleyDSP
import ParleyStore
import Testing
@testable import ParleyMail

/// What a crash between the relay's 250 and the end of the voicemail update leaves, and what
/// the next start makes of it: a real store (SQLite and audio files) in a temporary folder.
@Suite("Mail delivery recovery after a crash")
struct MailRecoveryTests {
    func quietLogger() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// A store in the fixture's data directory with mailbox acme/100 (delete-after-email).
    func storeWithMailbox(_ f: SpoolFixture) async throws -> (SQLiteVoicemailStore, MailboxKey) {
        let store = try SQLiteVoicemailStore.open(dataDirectory: f.dataDirectory, logger: quietLogger())
        let key = try MailboxKey(tenant: "acme", number: "100")
        let mailbox = Mailbox(key: key, name: "Sales", emails: ["a@x.example"], options: MailboxOptions(deleteAfterEmail: true))
        try await store.createMailbox(mailbox, pin: "2468", now: Date())
        return (store, key)
    }

    func oneSecond() -> PCMAudio { PCMAudio(sampleRate: 8000, samples: [Int16](repeating: 1000, count: 8000)) }

    @Test("Given a file in sent/ (a crash after the relay's 250), the next pass sets the message sent, deletes it after email and removes the file, without sending again")
    func sentFileIsFinishedAtTheNextStart() async throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let (store, key) = try await storeWithMailbox(f)
        let kept = try await store.deposit(oneSecond(), into: key, envelope: MessageEnvelope(receivedAt: Date()))
        let message = try await store.deposit(oneSecond(), into: key, envelope: MessageEnvelope(receivedAt: Date()))
        var envelope = SpoolFixture.envelope(created: Date())
        envelope.voicemail = VoicemailReference(tenant: "acme", mailbox: "100", messageID: message.id)
        envelope.delivered = envelope.recipients
        envelope.recipients = []
        let name = try f.spool.enqueue(envelope, body: Data("x".utf8))
        try f.spool.markSent(name)
        // The relay is unreachable: nothing may be sent, the file in sent/ is done already.
        let client = try SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: 9, startTLS: .off, heloName: "test"), logger: quietLogger())
        let service = MailDeliveryService(spool: f.spool, client: client, policy: MailRetryPolicy(),
                                          observer: StoreEmailObserver(store: store, logger: quietLogger()), logger: quietLogger())
        #expect(await service.deliverOnce())
        #expect(f.files("sent").isEmpty && f.files("new").isEmpty)
        await #expect(throws: StoreError.self) { try await store.message(message.id, of: key) }
        #expect(try await store.message(kept.id, of: key).emailState == EmailState.none)
        // Finishing twice is harmless (the observer is idempotent).
        try await StoreEmailObserver(store: store, logger: quietLogger()).emailDelivered(envelope.voicemail!, toEveryone: true)
    }

    @Test("Given a partial success, the voicemail is marked sent but not deleted after email")
    func partialSuccessKeepsTheVoicemail() async throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let (store, key) = try await storeWithMailbox(f)
        let message = try await store.deposit(oneSecond(), into: key, envelope: MessageEnvelope(receivedAt: Date()))
        let ref = VoicemailReference(tenant: "acme", mailbox: "100", messageID: message.id)
        try await StoreEmailObserver(store: store, logger: quietLogger()).emailDelivered(ref, toEveryone: false)
        #expect(try await store.message(message.id, of: key).emailState == .sent)
    }
}
