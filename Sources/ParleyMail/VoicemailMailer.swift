import Foundation
import Logging
import ParleyDSP
import ParleyStore

/// A tenant's mail settings, resolved from the configuration.
public struct TenantMailSettings: Sendable, Equatable {
    public var from: MailAddress
    public var fromName: String
    public var template: MailTemplate
    public var timeZone: TimeZone
    /// Attach the recording (global `attach: wav|gsm`; a mailbox can still turn it off).
    public var attachAudio: Bool
    /// The attachment's encoding (global `attach:`).
    public var audioFormat: MailAudioFormat

    public init(from: MailAddress, fromName: String = "Voicemail", template: MailTemplate = .standard, timeZone: TimeZone,
                attachAudio: Bool = true, audioFormat: MailAudioFormat = .wav) {
        self.from = from
        self.fromName = fromName
        self.template = template
        self.timeZone = timeZone
        self.attachAudio = attachAudio
        self.audioFormat = audioFormat
    }
}

/// Turns a stored voicemail into a spooled email: composes it (with the WAV read from the
/// store) and writes it durably into the spool. When `spool` returns, the email survives a
/// crash; call it before the call's resources are released.
public struct VoicemailMailer: Sendable {
    public let spool: MailSpool
    public let composer: MailComposer
    let logger: Logger

    public init(spool: MailSpool, composer: MailComposer, logger: Logger = Logger(label: "parley.mail")) {
        self.spool = spool
        self.composer = composer
        self.logger = logger
    }

    /// Spools the email for `message` to the mailbox's addresses. Returns the spool file's
    /// name, or nil when the mailbox has no address (nothing to send).
    @discardableResult
    public func spool(_ message: VoicemailMessage, mailbox: Mailbox, settings: TenantMailSettings,
                      audioFile: String?, now: Date = Date()) throws(VoicemailMailError) -> String? {
        var recipients: [MailAddress] = []
        for text in mailbox.emails {
            guard let a = MailAddress(text) else { throw .invalidAddress(text) }
            if !recipients.contains(a) { recipients.append(a) }
        }
        guard !recipients.isEmpty else { return nil }
        var audio: Data?
        if settings.attachAudio && mailbox.options.attachAudio {
            guard let audioFile, let data = FileManager.default.contents(atPath: audioFile) else {
                throw .audioUnreadable(audioFile ?? message.audioPath)
            }
            audio = attachment(data, format: settings.audioFormat, name: audioFile)
        }
        let email = VoicemailEmail(message: message, mailboxName: mailbox.name, from: settings.from, fromName: settings.fromName,
                                   recipients: recipients, template: settings.template, timeZone: settings.timeZone, audio: audio)
        let body = composer.compose(email, now: now)
        let envelope = SpoolEnvelope(created: now, sender: settings.from, recipients: recipients,
                                     voicemail: VoicemailReference(tenant: message.mailbox.tenant, mailbox: message.mailbox.number,
                                                                   messageID: message.id))
        do { return try spool.enqueue(envelope, body: body) } catch { throw .spool(error) }
    }

    /// The bytes to attach: the stored WAV, or it converted to `format`. A failed conversion
    /// is logged and the WAV attached instead, so the email is never lost to it.
    func attachment(_ wav: Data, format: MailAudioFormat, name: String) -> Data {
        switch format {
        case .wav:
            return wav
        case .gsm:
            do {
                return Data(try PCMAudio.decode(bytes: [UInt8](wav), name: name).gsm610WAV(name: name))
            } catch {
                logger.warning("GSM 6.10 conversion failed; attaching the WAV", metadata: ["file": "\(name)", "error": "\(error)"])
                return wav
            }
        }
    }
}

public enum VoicemailMailError: Error, CustomStringConvertible {
    case invalidAddress(String)
    case audioUnreadable(String)
    case spool(MailSpoolError)

    public var description: String {
        switch self {
        case let .invalidAddress(a): return "'\(a)' is not an email address"
        case let .audioUnreadable(path): return "\(path): the recording cannot be read for the email"
        case let .spool(e): return "spooling the email failed: \(e)"
        }
    }
}
