import Foundation
import ParleyDSP

/// What the voicemail call flows need from storage. `SQLiteVoicemailStore` implements it
/// on one node; a shared PostgreSQL back end for several nodes can implement it later.
///
/// Every method may block on the disk or the database: call it from the control plane
/// (async tasks), never from a media tick or an event-loop thread. Errors are `StoreError`.
public protocol VoicemailStore: Sendable {
    /// The mailbox, or nil when the tenant has no such number.
    func mailbox(_ key: MailboxKey) async throws(StoreError) -> Mailbox?

    /// Checks a PIN, counting failures and applying the lockout policy. While locked, no
    /// PIN is checked and the attempt is not counted. `now` is the caller's clock (UTC).
    func verifyPIN(_ pin: String, for key: MailboxKey, now: Date) async throws(StoreError) -> PINVerification

    /// Changes the PIN by the owner's request, under `PINPolicy`; clears failures.
    func changePIN(_ pin: String, for key: MailboxKey) async throws(StoreError)

    /// Messages per folder, urgent ones counted apart.
    func counts(_ key: MailboxKey) async throws(StoreError) -> FolderCounts

    /// The messages of one folder, urgent first, then oldest first. Damaged ones are
    /// listed (flagged) so the flow can say it skipped one.
    func messages(in folder: Folder, of key: MailboxKey) async throws(StoreError) -> [VoicemailMessage]

    /// Starts a recording for the mailbox: refuses a full mailbox at once
    /// (`.mailboxFull`), else hands out a temporary file to write (mono WAV).
    func beginRecording(for key: MailboxKey) async throws(StoreError) -> AudioRecording

    /// Turns a finished recording into a message in `new`: checks it (readable, not empty,
    /// not longer than the mailbox allows, mailbox not full), makes the file durable under
    /// its final name, then commits the row. On any error nothing is kept.
    func commitMessage(_ recording: AudioRecording, envelope: MessageEnvelope) async throws(StoreError) -> VoicemailMessage

    /// Turns a finished recording into the mailbox's greeting of that kind (replacing it).
    func commitGreeting(_ recording: AudioRecording, kind: GreetingKind, now: Date) async throws(StoreError) -> Greeting

    /// Throws a recording away (caller hung up before sending, re-record, error).
    func discard(_ recording: AudioRecording) async

    /// Deposits audio held in memory: `beginRecording` + write + `commitMessage`.
    func deposit(_ audio: PCMAudio, into key: MailboxKey, envelope: MessageEnvelope) async throws(StoreError) -> VoicemailMessage

    /// One message of the mailbox (`.messageNotFound` when it is not this mailbox's).
    func message(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> VoicemailMessage

    /// Moves a message to another folder (`.deleted` = deleted, pending purge).
    func move(_ messageID: String, of key: MailboxKey, to folder: Folder) async throws(StoreError)

    /// Returns a deleted-pending message to the folder it came from; returns that folder.
    func undelete(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> Folder

    /// Removes every deleted-pending message of the mailbox (rows, then files); returns how many.
    func purgeDeleted(of key: MailboxKey) async throws(StoreError) -> Int

    /// Copies a message into another mailbox of the same tenant, as new.
    func forward(_ messageID: String, of key: MailboxKey, to target: MailboxKey, now: Date) async throws(StoreError) -> VoicemailMessage

    /// Sets a greeting from audio in memory (replacing the one of that kind).
    func setGreeting(_ kind: GreetingKind, audio: PCMAudio, for key: MailboxKey, now: Date) async throws(StoreError) -> Greeting

    /// The greeting of that kind, unless none is recorded or its file is damaged.
    func greeting(_ kind: GreetingKind, for key: MailboxKey) async throws(StoreError) -> Greeting?

    func clearGreeting(_ kind: GreetingKind, for key: MailboxKey) async throws(StoreError)

    /// The absolute path of a stored audio file (a message's or greeting's `audioPath`),
    /// or nil when the path is not one the store writes.
    func audioFile(_ relativePath: String) -> String?
}

extension VoicemailStore {
    public func markDeleted(_ messageID: String, of key: MailboxKey) async throws(StoreError) {
        try await move(messageID, of: key, to: .deleted)
    }
}
