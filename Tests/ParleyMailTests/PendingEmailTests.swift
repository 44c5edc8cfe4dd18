import Foundation
import Logging
import ParleyDSP
import ParleyStore
import Testing
@testable import ParleyMail

/// A message row and its pending email are committed together; a row left `pending` without a
/// spool file (a crash between the commit and the spool write) is spooled at the next start,
/// once; a full spool keeps the row `pending`. Real store and spool files in a temporary folder.
@Suite("Pending voicemail emails")
struct PendingEmailTests {
    static func quiet() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    struct Fixture {
        let f: SpoolFixture
        let store: SQLiteVoicemailStore
        let key: MailboxKey
        let mailbox: Mailbox
        let pending: PendingEmails

        init() async throws {
            f = try SpoolFixture()
            store = try SQLiteVoicemailStore.open(dataDirectory: f.dataDirectory, logger: PendingEmailTests.quiet())
            key = try MailboxKey(tenant: "acme", number: "100")
            mailbox = Mailbox(key: key, name: "Sales", emails: ["a@x.example"], options: MailboxOptions())
            try await store.createMailbox(mailbox, pin: "2468", now: Date())
            let settings = TenantMailSettings(from: MailAddress("vm@acme.example")!, timeZone: TimeZone(identifier: "UTC")!)
            let mailer = VoicemailMailer(spool: f.spool, composer: MailComposer(messageIDDomain: "acme.example"), logger: PendingEmailTests.quiet())
            pending = PendingEmails(mailer: mailer, store: store, logger: PendingEmailTests.quiet()) { $0 == "acme" ? settings : nil }
        }

        func deposit(_ state: EmailState) async throws -> VoicemailMessage {
            let audio = PCMAudio(sampleRate: 8000, samples: [Int16](repeating: 1000, count: 8000))
            return try await store.deposit(audio, into: key, envelope: MessageEnvelope(receivedAt: Date(), emailState: state))
        }
    }

    @Test("Given a deposit committed pending, the row is pending at once (same transaction as the message)")
    func committedPending() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        let message = try await x.deposit(.pending)
        #expect(try await x.store.message(message.id, of: x.key).emailState == .pending)
    }

    @Test("Given a pending row without a spool file, reconcile spools it once; a second pass finds it queued")
    func spooledOnce() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        let lost = try await x.deposit(.pending)
        let plain = try await x.deposit(.none)
        let first = try await x.pending.reconcile(receivedBefore: Date().addingTimeInterval(60))
        #expect(first.spooled == [lost.id] && first.alreadyQueued == 0)
        #expect(x.f.files("new").count == 1)
        let name = try #require(x.f.files("new").first)
        let head = try #require(x.f.spool.head(name))
        #expect(head.voicemail?.messageID == lost.id)
        let second = try await x.pending.reconcile(receivedBefore: Date().addingTimeInterval(60))
        #expect(second.spooled.isEmpty && second.alreadyQueued == 1)
        #expect(x.f.files("new").count == 1)
        #expect(try await x.store.message(plain.id, of: x.key).emailState == EmailState.none)
    }

    @Test("Given five pending rows and pages of two, the listing hands out every one once, oldest row first, and skips the others")
    func pages() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        var ids: [String] = []
        for i in 0..<7 { ids.append(try await x.deposit(i % 3 == 2 ? .none : .pending).id) }
        var seen: [[String]] = []
        try await x.store.forEachPendingEmail(receivedBefore: Date().addingTimeInterval(60), pageSize: 2) { page in
            seen.append(page.map(\.id))
        }
        #expect(seen.flatMap { $0 } == [ids[0], ids[1], ids[3], ids[4], ids[6]])
        #expect(seen.allSatisfy { $0.count <= 2 })
    }

    @Test("Given a pending row received after the cutoff (a deposit of this process), reconcile leaves it alone")
    func cutoff() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        let start = Date().addingTimeInterval(-1)
        _ = try await x.deposit(.pending)
        let report = try await x.pending.reconcile(receivedBefore: start)
        #expect(report == PendingEmails.Report())
        #expect(x.f.files("new").isEmpty)
    }

    @Test("Given a pending row whose email was refused for good before a crash, reconcile sets it failed and sends nothing")
    func refusedBeforeTheCrash() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        let message = try await x.deposit(.pending)
        guard case let .spooled(name) = await x.pending.spool(message, mailbox: x.mailbox) else { Issue.record("not spooled"); return }
        try x.f.spool.fail(name, reply: "550 no such user")
        let report = try await x.pending.reconcile(receivedBefore: Date().addingTimeInterval(60))
        #expect(report.failed == [message.id] && report.spooled.isEmpty)
        #expect(x.f.files("new").isEmpty)
        #expect(try await x.store.message(message.id, of: x.key).emailState == .failed)
    }

    @Test("Given a tenant without mail settings, a pending email can never go: the row is set failed")
    func noSettings() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        let message = try await x.deposit(.pending)
        let other = PendingEmails(mailer: x.pending.mailer, store: x.store, logger: Self.quiet()) { _ in nil }
        guard case .refused = await other.spool(message, mailbox: x.mailbox) else { Issue.record("not refused"); return }
        #expect(try await x.store.message(message.id, of: x.key).emailState == .failed)
    }

    @Test("Given the spool on a full tmpfs, spooling is deferred as a full disk, leaves no file and keeps the row pending; with room it succeeds",
          .enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
    func fullSpool() async throws {
        let x = try await Fixture()
        defer { x.f.cleanUp() }
        let message = try await x.deposit(.pending)
        let spoolDir = x.f.spool.directory
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", spoolDir]
        try mounted.run()
        mounted.waitUntilExit()
        try #require(mounted.terminationStatus == 0)
        defer {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/umount")
            p.arguments = ["-l", spoolDir]
            try? p.run()
            p.waitUntilExit()
        }
        let spool = try MailSpool(dataDirectory: x.f.dataDirectory, logger: Self.quiet())
        let mailer = VoicemailMailer(spool: spool, composer: MailComposer(messageIDDomain: "acme.example"), logger: Self.quiet())
        let settings = TenantMailSettings(from: MailAddress("vm@acme.example")!, timeZone: TimeZone(identifier: "UTC")!)
        let pending = PendingEmails(mailer: mailer, store: x.store, logger: Self.quiet()) { _ in settings }
        // The attachment (16 KB of WAV, base64) fits once in 64 KiB; fill the rest.
        let filler = "\(spoolDir)/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 7, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        guard case let .deferred(reason, diskFull) = await pending.spool(message, mailbox: x.mailbox) else {
            Issue.record("not deferred"); return
        }
        #expect(diskFull && reason.contains(String(cString: strerror(ENOSPC))), "\(reason)")
        #expect(x.f.files("tmp").isEmpty && x.f.files("new").isEmpty)
        #expect(try await x.store.message(message.id, of: x.key).emailState == .pending)
        unlink(filler)
        guard case .spooled = await pending.spool(message, mailbox: x.mailbox) else { Issue.record("not spooled with room"); return }
        #expect(x.f.files("new").count == 1)
    }
}
