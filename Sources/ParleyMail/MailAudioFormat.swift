/// How the recording is attached to a voicemail email (`mail.attach`).
public enum MailAudioFormat: String, Sendable, Equatable, CaseIterable {
    /// The stored WAV as it is.
    case wav
    /// GSM 6.10 in a WAV container, 8 kHz (about a tenth of 16-bit PCM); the WAV when the
    /// conversion fails.
    case gsm
}
