import Foundation
import Logging
import Testing
@testable import ParleyDSP
@testable import ParleyMail
@testable import ParleyStore

@Suite("Mail attachment format (attach: gsm)")
struct MailAttachmentFormatTests {
    func mailer(_ f: SpoolFixture) -> VoicemailMailer {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return VoicemailMailer(spool: f.spool, composer: MailComposer(messageIDDomain: "parley.test"), logger: logger)
    }

    func speechWAV() throws -> Data {
        let path = TestAudio.temporaryPath("mail-speech.wav")
        let samples: [Int16] = (0..<16_000).map { (i: Int) -> Int16 in
            let t = Double(i)
            let envelope: Double = 0.5 + 0.5 * sin(t / 900)
            return Int16(7000.0 * sin(2.0 * Double.pi * 300.0 * t / 16_000.0) * envelope)
        }
        let writer = try AudioFileWriter(path: path, sampleRate: 16_000)
        try samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test("gsm converts the stored 16 kHz WAV to an 8 kHz GSM 6.10 WAV under a fifth of its size; wav leaves it as it is")
    func gsmConverts() throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let wav = try speechWAV()
        let m = mailer(f)
        #expect(m.attachment(wav, format: .wav, name: "x.wav") == wav)
        let gsm = m.attachment(wav, format: .gsm, name: "x.wav")
        #expect(gsm.count * 5 < wav.count)
        let back = try PCMAudio.decode(bytes: [UInt8](gsm))
        #expect(back.sampleRate == 8000)
        #expect(abs(back.samples.count - 8000) <= 320)
    }

    @Test("a recording the converter cannot read is attached as it is: the email is not lost")
    func failedConversionAttachesTheWAV() throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let damaged = Data("RIFF\u{0}\u{0}\u{0}\u{0}WAVEnot audio".utf8)
        #expect(mailer(f).attachment(damaged, format: .gsm, name: "damaged.wav") == damaged)
    }

    @Test("spooling with gsm puts the converted audio in the message")
    func spooledMessageCarriesGSM() throws {
        let f = try SpoolFixture()
        defer { f.cleanUp() }
        let wav = try speechWAV()
        let path = "\(f.dataDirectory)-speech.wav"
        try wav.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let message = try sampleMessage(callerName: "Ann")
        let mailbox = Mailbox(key: message.mailbox, name: "Sales", emails: ["alice@example.com"])
        let settings = TenantMailSettings(from: MailAddress("voicemail@acme.example")!, timeZone: TimeZone(identifier: "UTC")!,
                                          audioFormat: .gsm)
        let name = try #require(try mailer(f).spool(message, mailbox: mailbox, settings: settings, audioFile: path))
        let (_, body) = try SpoolFile.decode(try Data(contentsOf: URL(fileURLWithPath: "\(f.spool.directory)/new/\(name)")))
        let expected = MIMEEncoding.base64Lines(Data(try PCMAudio.decode(bytes: [UInt8](wav)).gsm610WAV()))
        #expect(String(decoding: body, as: UTF8.self).contains(expected))
    }
}

enum TestAudio {
    static func temporaryPath(_ name: String) -> String {
        // Unique per call: the tests of a suite run in parallel and each removes its file.
        NSTemporaryDirectory() + "parley-mail-tests-\(getpid())-\(UUID().uuidString)-\(name)"
    }
}
