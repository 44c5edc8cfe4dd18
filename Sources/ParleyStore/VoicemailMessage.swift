import Foundation

/// One stored message.
public struct VoicemailMessage: Sendable, Equatable, Identifiable {
    /// A lowercase UUID; also the audio file's name.
    public var id: String
    public var mailbox: MailboxKey
    public var folder: Folder
    public var urgent: Bool
    /// The caller's number as received (may be empty: anonymous).
    public var callerNumber: String
    public var callerName: String
    /// When the deposit ended (UTC).
    public var receivedAt: Date
    public var durationMilliseconds: Int
    /// The WAV file, relative to the data directory.
    public var audioPath: String
    public var emailState: EmailState
    /// The audio file was missing, empty or unreadable at the last reconciliation: the
    /// retrieval flow skips it with a prompt instead of playing it.
    public var damaged: Bool
}

/// What the deposit flow knows about a message besides its audio.
public struct MessageEnvelope: Sendable, Equatable {
    public var callerNumber: String
    public var callerName: String
    public var receivedAt: Date
    public var urgent: Bool
    public var emailState: EmailState

    public init(callerNumber: String = "", callerName: String = "", receivedAt: Date, urgent: Bool = false, emailState: EmailState = .none) {
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.receivedAt = receivedAt
        self.urgent = urgent
        self.emailState = emailState
    }

    static let maximumFieldLength = 128

    /// Caller number and name come from SIP headers: bounded, no control characters.
    func sanitized() -> MessageEnvelope {
        func clean(_ s: String) -> String {
            String(String.UnicodeScalarView(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).prefix(Self.maximumFieldLength))
        }
        var e = self
        e.callerNumber = clean(callerNumber)
        e.callerName = clean(callerName)
        return e
    }
}

/// The kinds of greeting a mailbox can have recorded.
public enum GreetingKind: String, Sendable, CaseIterable, Codable {
    case unavailable, busy, temporary, name
}

/// A recorded greeting.
public struct Greeting: Sendable, Equatable {
    public var kind: GreetingKind
    /// The WAV file, relative to the data directory.
    public var audioPath: String
    public var durationMilliseconds: Int
    public var recordedAt: Date
}

/// The answer to a PIN check.
public enum PINVerification: Sendable, Equatable {
    case ok
    /// Wrong PIN; `attemptsBeforeLockout` more failures lock the mailbox.
    case wrong(attemptsBeforeLockout: Int)
    /// Locked: no PIN is checked before `until` (the attempt is not counted).
    case locked(until: Date)
}

/// An audio file being recorded for a mailbox: a temporary file in the mailbox's folder,
/// written by the caller (e.g. with `AudioFileWriter`), then handed back to `commit` or
/// `discard`.
public struct AudioRecording: Sendable, Equatable {
    public var id: String
    public var mailbox: MailboxKey
    /// Absolute path of the temporary file to write.
    public var temporaryPath: String
    /// Longest recording the mailbox accepts, in seconds (stop the recorder there).
    public var maximumSeconds: Int
}
