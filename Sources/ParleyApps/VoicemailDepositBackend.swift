import Foundation

/// Why the caller reached voicemail, from the call's diversion information (SIP Diversion,
/// History-Info or a `cause` URI parameter); picks the busy or the unavailable greeting.
public enum DiversionReason: String, Sendable, Equatable {
    case busy
    /// No answer, unavailable, unreachable, do-not-disturb, away…
    case unavailable
}

/// The mailbox as the deposit flow sees it when the call starts. Greetings are audio files
/// (absolute paths) recorded by the owner; nil when none is recorded or it is damaged.
public struct DepositMailbox: Sendable, Equatable {
    public var number: String
    public var temporaryGreeting: String?
    public var busyGreeting: String?
    public var unavailableGreeting: String?
    /// The owner's recorded name, said inside the system sentence.
    public var nameRecording: String?
    /// The mailbox holds its maximum of messages: nothing is recorded.
    public var isFull: Bool
    /// Longest message, in seconds.
    public var maximumSeconds: Int

    public init(number: String, temporaryGreeting: String? = nil, busyGreeting: String? = nil, unavailableGreeting: String? = nil,
                nameRecording: String? = nil, isFull: Bool = false, maximumSeconds: Int = 180) {
        self.number = number; self.temporaryGreeting = temporaryGreeting; self.busyGreeting = busyGreeting
        self.unavailableGreeting = unavailableGreeting; self.nameRecording = nameRecording; self.isFull = isFull
        self.maximumSeconds = maximumSeconds
    }
}

/// A recording in progress: the file the channel writes (a temporary file of the store).
public struct DepositRecording: Sendable, Equatable {
    public var id: String
    public var path: String
    public var maximumSeconds: Int
    public init(id: String, path: String, maximumSeconds: Int) { self.id = id; self.path = path; self.maximumSeconds = maximumSeconds }
}

/// What the caller left, for the store's row.
public struct DepositEnvelope: Sendable, Equatable {
    public var callerNumber: String
    public var callerName: String
    public var urgent: Bool
    public init(callerNumber: String, callerName: String, urgent: Bool) {
        self.callerNumber = callerNumber; self.callerName = callerName; self.urgent = urgent
    }
}

public enum DepositError: Error, Sendable, Equatable, CustomStringConvertible {
    case mailboxFull
    /// The mailbox is gone or storage cannot be used now (locked database, I/O error).
    case unavailable(String)
    /// The disk is full or the file could not be written: nothing was kept.
    case writeFailed(String)

    public var description: String {
        switch self {
        case .mailboxFull: return "the mailbox is full"
        case let .unavailable(why): return "voicemail storage unavailable: \(why)"
        case let .writeFailed(why): return "the message could not be written: \(why)"
        }
    }
}

/// What the deposit flow needs from voicemail storage. The server implements it over the
/// store (`ParleyStore`); tests with a fake. Every method may wait on the disk: called from
/// the flow's task only.
public protocol VoicemailDepositBackend: Sendable {
    /// The mailbox now (greetings, full or not); nil when it does not exist.
    func mailbox(_ number: String) async throws(DepositError) -> DepositMailbox?
    /// A temporary file to record into; `.mailboxFull` when the mailbox cannot take more.
    func beginRecording(_ number: String) async throws(DepositError) -> DepositRecording
    /// After the recorder closed the file: trims leading and trailing silence in place and
    /// returns the duration kept, in ms (0: nothing but silence).
    func finishRecording(_ recording: DepositRecording) async throws(DepositError) -> Int
    /// Turns the recording into a new message (durable file, then row); the message-waiting
    /// and message observers are told after the commit.
    func send(_ recording: DepositRecording, envelope: DepositEnvelope) async throws(DepositError)
    /// Throws the recording away.
    func discard(_ recording: DepositRecording) async
}
