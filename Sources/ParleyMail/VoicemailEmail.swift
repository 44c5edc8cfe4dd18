import Foundation
import ParleyStore

/// Everything needed to compose one voicemail's email: the message, where it goes, the
/// tenant's settings, and the audio to attach (nil: no attachment).
public struct VoicemailEmail: Sendable {
    public var message: VoicemailMessage
    public var mailboxName: String
    public var from: MailAddress
    public var fromName: String
    public var recipients: [MailAddress]
    public var template: MailTemplate
    public var timeZone: TimeZone
    /// The WAV file's bytes.
    public var audio: Data?

    public init(message: VoicemailMessage, mailboxName: String, from: MailAddress, fromName: String = "Voicemail",
                recipients: [MailAddress], template: MailTemplate = .standard, timeZone: TimeZone, audio: Data?) {
        self.message = message
        self.mailboxName = mailboxName
        self.from = from
        self.fromName = fromName
        self.recipients = recipients
        self.template = template
        self.timeZone = timeZone
        self.audio = audio
    }
}
