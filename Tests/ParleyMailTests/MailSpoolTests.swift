import Foundation
import Logging
import Testing
@testable import ParleyMail

/// A spool in a fresh temporary data directory.
struct SpoolFixture {
    let dataDirectory = NSTemporaryDirectory() + "parley-mail-\(UUID().uuidString)"
    let spool: MailSpool

    init() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        spool = try MailSpool(dataDirectory: dataDirectory, logger: logger)
    }

    func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(spool.directory)/\(folder)")) ?? []).sorted()
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dataDirectory) }

    static func envelope(created: Date = Date(timeIntervalSince1970: 1_795_300_000)) -> SpoolEnvelope {
        SpoolEnvelope(created: created, sender: MailAddress("vm@acme.example")!,
                      recipients: [MailAddress("a@x.example")!, MailAddress("b@x.example")!],
                      voicemail: VoicemailReference(tenant: "acme", mailbox: "100", messageID: "0b6c1f00-0000-4000-8000-000000000001"))
    }
}

@Suite("Mail spool files")
struct MailSpoolTests {
    @Test("A spool file round-trips its envelope and body")
    func roundTrip() throws {
        var e = SpoolFixture.envelope()
        e.attempts = 3
        e.nextAttempt = Date(timeIntervalSince1970: 1_795_300_123.456)
        e.delivered = [MailAddress("c@x.example")!]
        e.rejected = [.init(recipient: MailAddress("d@x.example")!, reply: "550 5.1.1 no such user")]
        e.lastReply = "451 4.3.0 try later"
        let body = Data("Subject: x\r\n\r\nhello\r\n".utf8)
        let (decoded, decodedBody) = try SpoolFile.decode(SpoolFile.encode(e, body: body))
        #expect(decoded == e)
        #expect(decodedBody == body)
    }

    @Test("Given a file cut short at any byte, decoding refuses it and never traps")
    func truncatedAnywhere() throws {
        let data = SpoolFile.encode(SpoolFixture.envelope(), body: Data(repeating: 0x41, count: 300))
        for length in 0..<data.count {
            #expect(throws: SpoolFileError.self) { try SpoolFile.decode(data.prefix(length)) }
        }
    }

    @Test("Foreign, other-version and altered files are told apart")
    func foreign() throws {
        #expect(throws: SpoolFileError.notASpoolFile) { try SpoolFile.decode(Data("From: someone\r\n\r\nhi".utf8)) }
        #expect(throws: SpoolFileError.unsupportedVersion) { try SpoolFile.decode(Data("PARLEY-MAIL-SPOOL 9\nx: y\n\n".utf8)) }
        var data = SpoolFile.encode(SpoolFixture.envelope(), body: Data("body".utf8))
        data[data.count - 1] = UInt8(ascii: "X")
        #expect(throws: SpoolFileError.damaged("body digest differs")) { try SpoolFile.decode(data) }
        var head = String(decoding: SpoolFile.encode(SpoolFixture.envelope(), body: Data()), as: UTF8.self)
        head = head.replacingOccurrences(of: "to: a@x.example", with: "to: a@x.example\r\nBcc: z@y.example")
        #expect(throws: SpoolFileError.self) { try SpoolFile.decode(Data(head.utf8)) }
    }

    @Test("A carriage return at the end of a head line is refused (it would merge two lines when the envelope is rewritten)")
    func carriageReturnInHead() throws {
        let good = SpoolFile.encode(SpoolFixture.envelope(), body: Data("Subject: x\r\n\r\nhello\r\n".utf8))
        #expect(throws: Never.self) { try SpoolFile.decode(good) }
        var bytes = [UInt8](good)
        let blank = try #require(SpoolFile.findBlankLine(bytes))
        bytes.insert(0x0D, at: blank)  // "...last value\r\n\n"
        #expect(throws: SpoolFileError.self) { try SpoolFile.decode(Data(bytes)) }
        #expect(throws: SpoolFileError.self) { try SpoolFile.decodeHead(Data(bytes)) }
    }

    @Test("Enqueue leaves exactly one complete file in new/ and nothing in tmp/")
    func enqueue() throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let name = try f.spool.enqueue(SpoolFixture.envelope(), body: Data("x".utf8))
        #expect(f.files("new") == [name])
        #expect(f.files("tmp").isEmpty)
        guard case let .success((e, body)) = try f.spool.load(name) else { Issue.record("not loaded"); return }
        #expect(e.recipients.count == 2)
        #expect(body == Data("x".utf8))
        #expect(f.spool.status(now: Date(timeIntervalSince1970: 1_795_300_060)).oldestAgeSeconds == 60)
    }

    @Test("Given a truncated and a foreign file ahead of a good one, a delivery pass moves both aside and still tries the good one")
    func damagedFilesNeverBlockTheQueue() async throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let good = try f.spool.enqueue(SpoolFixture.envelope(created: Date()), body: Data("x".utf8))
        let full = SpoolFile.encode(SpoolFixture.envelope(), body: Data(repeating: 0x42, count: 1000))
        _ = FileManager.default.createFile(atPath: "\(f.spool.directory)/new/0000-truncated", contents: full.prefix(full.count - 10))
        _ = FileManager.default.createFile(atPath: "\(f.spool.directory)/new/0001-foreign", contents: Data("hello".utf8))
        // A relay on a port nothing listens on: the good message is deferred, not lost.
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = try SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: 9, startTLS: .off, heloName: "test"), logger: logger)
        let service = MailDeliveryService(spool: f.spool, client: client, policy: MailRetryPolicy(retryBaseSeconds: 60),
                                          observer: nil, logger: logger)
        #expect(await service.deliverOnce())
        #expect(f.files("new") == [good])
        #expect(Set(f.files("failed")) == ["0000-truncated.damaged", "0000-truncated.damaged.reason",
                                           "0001-foreign.damaged", "0001-foreign.damaged.reason"])
        let reason = try String(contentsOfFile: "\(f.spool.directory)/failed/0000-truncated.damaged.reason", encoding: .utf8)
        #expect(reason.hasPrefix("truncated"))
        let head = try #require(f.spool.head(good))
        #expect(head.attempts == 1)
        #expect(head.recipients.count == 2)
        #expect(head.nextAttempt > Date().addingTimeInterval(50))
        let status = f.spool.status(now: Date())
        #expect(status.queued == 1 && status.deferred == 1 && status.failed == 2 && status.deferredTotal == 1)
    }

    @Test("Back-off doubles from the base up to the cap")
    func backoff() {
        let p = MailRetryPolicy(retryBaseSeconds: 10, retryCapSeconds: 100, maxAgeSeconds: 1000)
        #expect([1, 2, 3, 4, 5, 40].map(p.delay(afterAttempts:)) == [10, 20, 40, 80, 100, 100])
    }
}
