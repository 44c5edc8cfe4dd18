import Foundation
import Logging
import ParleyDSP

/// `VoicemailStore` on one node: `AppDatabase` (SQLite, WAL) for rows, `AudioFiles` for the
/// WAVs under `<data_dir>/voicemail/`.
///
/// Ordering, so that a crash at any instant leaves a message either complete or absent,
/// never a row without audio:
/// - add: write a temporary file beside the final one, fsync it, rename it, fsync the
///   folder, *then* commit the row (a crash before the commit leaves a file no row claims,
///   quarantined by `reconcile()` at the next start);
/// - remove: commit the row's deletion, *then* unlink the file (a crash between leaves an
///   orphan file, quarantined likewise).
public final class SQLiteVoicemailStore: VoicemailStore {
    public let database: AppDatabase
    let files: AudioFiles
    public let lockout: LockoutPolicy
    let pinCostLog2: Int
    let logger: Logger
    let stepObserver: (@Sendable (DepositStep) -> Void)?

    /// The database's file name inside the data directory.
    public static let databaseFileName = "parley.sqlite"

    /// Opens the store under `dataDirectory` (created when absent). Does not reconcile:
    /// the server calls `reconcile()` once at start-up, before taking calls; the CLI,
    /// which may run beside a live server, never does.
    ///
    /// - Parameters:
    ///   - busyTimeout: seconds a write waits for another process's lock.
    ///   - pinCostLog2: scrypt cost for new PIN hashes (`PINHash.defaultCostLog2`).
    ///   - stepObserver: test-only hook told of each deposit stage (crash tests).
    public static func open(dataDirectory: String, busyTimeout: TimeInterval = 5, lockout: LockoutPolicy = LockoutPolicy(),
                            pinCostLog2: Int = PINHash.defaultCostLog2, logger: Logger = Logger(label: "parley.store"),
                            stepObserver: (@Sendable (DepositStep) -> Void)? = nil) throws(StoreError) -> SQLiteVoicemailStore {
        // The data directory and its missing parents (`mkdir -p`).
        var path = dataDirectory.hasPrefix("/") ? "" : "."
        for part in dataDirectory.split(separator: "/") {
            path += "/\(part)"
            if mkdir(path, 0o750) != 0 && errno != EEXIST {
                throw AudioFiles.ioError(path: path, operation: "mkdir", errno: errno)
            }
        }
        let files = AudioFiles(dataDirectory: dataDirectory)
        try files.ensureDirectory(AudioFiles.root)
        let database = try AppDatabase.open(path: "\(dataDirectory)/\(databaseFileName)", busyTimeout: busyTimeout)
        return SQLiteVoicemailStore(database: database, files: files, lockout: lockout, pinCostLog2: pinCostLog2,
                                    logger: logger, stepObserver: stepObserver)
    }

    init(database: AppDatabase, files: AudioFiles, lockout: LockoutPolicy, pinCostLog2: Int, logger: Logger,
         stepObserver: (@Sendable (DepositStep) -> Void)?) {
        self.database = database
        self.files = files
        self.lockout = lockout
        self.pinCostLog2 = pinCostLog2
        self.logger = logger
        self.stepObserver = stepObserver
    }

    public var dataDirectory: String { files.dataDirectory }

    public func audioFile(_ relativePath: String) -> String? { files.absolute(relativePath) }

    // MARK: - Mailboxes and PINs

    public func mailbox(_ key: MailboxKey) async throws(StoreError) -> Mailbox? {
        try await database.mailbox(key)
    }

    public func verifyPIN(_ pin: String, for key: MailboxKey, now: Date) async throws(StoreError) -> PINVerification {
        // The attempt is counted before the hash is checked (AppDatabase+Login.swift).
        let checked = PINCheckFlag()
        let answer = try await database.verifyPIN(key, now: now, policy: lockout) { checked.set(); return $0.verify(pin: pin) }
        switch answer {
        case let .locked(until) where checked.value:
            logger.warning("voicemail login: wrong PIN, mailbox locked", metadata: ["mailbox": "\(key)", "locked_until": "\(until)"])
        case let .locked(until):
            logger.notice("voicemail login refused: mailbox locked", metadata: ["mailbox": "\(key)", "locked_until": "\(until)"])
        case let .wrong(left):
            logger.notice("voicemail login: wrong PIN", metadata: ["mailbox": "\(key)", "attempts_before_lockout": "\(left)"])
        case .ok:
            break
        }
        return answer
    }

    public func changePIN(_ pin: String, for key: MailboxKey) async throws(StoreError) {
        try PINPolicy.check(pin, mailboxNumber: key.number)
        let hash = try PINHash.make(pin: pin, costLog2: pinCostLog2)
        try await database.setPINHash(hash, for: key)
        logger.info("voicemail PIN changed", metadata: ["mailbox": "\(key)"])
    }

    // MARK: - Messages

    public func counts(_ key: MailboxKey) async throws(StoreError) -> FolderCounts {
        try await database.counts(key)
    }

    public func messages(in folder: Folder, of key: MailboxKey) async throws(StoreError) -> [VoicemailMessage] {
        try await database.messages(in: folder, of: key)
    }

    public func beginRecording(for key: MailboxKey) async throws(StoreError) -> AudioRecording {
        let mailbox = try await database.roomForMessage(key)
        try files.ensureMailboxFolder(key)
        let id = MessageID.make()
        return AudioRecording(id: id, mailbox: key, temporaryPath: files.temporaryPath(key, id: id), maximumSeconds: mailbox.maxMessageSeconds)
    }

    public func discard(_ recording: AudioRecording) async {
        files.removeTemporary(recording.temporaryPath)
    }

    public func commitMessage(_ recording: AudioRecording, envelope: MessageEnvelope) async throws(StoreError) -> VoicemailMessage {
        let relative = AudioFiles.messagePath(recording.mailbox, id: recording.id)
        do throws(StoreError) {
            let duration = try await checkRecording(recording)
            // Refuse a full mailbox before the file is put in place (the insert checks again).
            _ = try await database.roomForMessage(recording.mailbox)
            let e = envelope.sanitized()
            let message = VoicemailMessage(id: recording.id, mailbox: recording.mailbox, folder: .new, urgent: e.urgent,
                                           callerNumber: e.callerNumber, callerName: e.callerName, receivedAt: e.receivedAt,
                                           durationMilliseconds: duration, audioPath: relative, emailState: e.emailState, damaged: false)
            try install(recording, as: relative)
            do throws(StoreError) {
                try await database.insertMessage(message)
            } catch {
                // The row did not commit: the file must not outlive it as an orphan.
                files.remove(relative)
                throw error
            }
            stepObserver?(.committed)
            logger.info("voicemail message stored", metadata: ["mailbox": "\(recording.mailbox)", "message": "\(message.id)",
                                                               "duration_ms": "\(duration)", "urgent": "\(message.urgent)"])
            return message
        } catch {
            files.removeTemporary(recording.temporaryPath)
            logger.error("voicemail message not stored", metadata: ["mailbox": "\(recording.mailbox)", "error": "\(error)"])
            throw error
        }
    }

    public func deposit(_ audio: PCMAudio, into key: MailboxKey, envelope: MessageEnvelope) async throws(StoreError) -> VoicemailMessage {
        let recording = try await beginRecording(for: key)
        try write(audio, to: recording)
        return try await commitMessage(recording, envelope: envelope)
    }

    public func move(_ messageID: String, of key: MailboxKey, to folder: Folder) async throws(StoreError) {
        try await database.moveMessage(messageID, of: key, to: folder)
    }

    public func undelete(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> Folder {
        try await database.undeleteMessage(messageID, of: key)
    }

    public func purgeDeleted(of key: MailboxKey) async throws(StoreError) -> Int {
        let paths = try await database.purgeDeleted(key)
        for path in paths { files.remove(path) }
        if !paths.isEmpty { logger.info("voicemail messages purged", metadata: ["mailbox": "\(key)", "count": "\(paths.count)"]) }
        return paths.count
    }

    /// Deletes one message now, whatever its folder (operator's request): row, then file.
    public func deleteMessage(_ messageID: String, of key: MailboxKey) async throws(StoreError) {
        let path = try await database.deleteMessage(messageID, of: key)
        files.remove(path)
        logger.info("voicemail message deleted", metadata: ["mailbox": "\(key)", "message": "\(messageID)"])
    }

    public func message(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> VoicemailMessage {
        try await database.message(messageID, of: key)
    }

    public func forward(_ messageID: String, of key: MailboxKey, to target: MailboxKey, now: Date) async throws(StoreError) -> VoicemailMessage {
        guard key.tenant == target.tenant else { throw .crossTenant(from: key, to: target) }
        let original = try await database.message(messageID, of: key)
        let recording = try await beginRecording(for: target)
        do {
            try files.copy(original.audioPath, toTemporary: recording.temporaryPath)
        } catch {
            files.removeTemporary(recording.temporaryPath)
            throw error
        }
        let envelope = MessageEnvelope(callerNumber: original.callerNumber, callerName: original.callerName, receivedAt: now, urgent: original.urgent)
        return try await commitMessage(recording, envelope: envelope)
    }

    // MARK: - Greetings

    public func commitGreeting(_ recording: AudioRecording, kind: GreetingKind, now: Date) async throws(StoreError) -> Greeting {
        let relative = AudioFiles.greetingPath(recording.mailbox, kind: kind, id: recording.id)
        do throws(StoreError) {
            let duration = try await checkRecording(recording)
            try install(recording, as: relative)
            let greeting = Greeting(kind: kind, audioPath: relative, durationMilliseconds: duration, recordedAt: now)
            let replaced: String?
            do throws(StoreError) {
                replaced = try await database.setGreeting(greeting, for: recording.mailbox)
            } catch {
                files.remove(relative)
                throw error
            }
            if let replaced, replaced != relative { files.remove(replaced) }
            logger.info("voicemail greeting stored", metadata: ["mailbox": "\(recording.mailbox)", "kind": "\(kind.rawValue)"])
            return greeting
        } catch {
            files.removeTemporary(recording.temporaryPath)
            throw error
        }
    }

    /// Sets a greeting from audio in memory.
    public func setGreeting(_ kind: GreetingKind, audio: PCMAudio, for key: MailboxKey, now: Date) async throws(StoreError) -> Greeting {
        guard let options = try await database.mailbox(key)?.options else { throw .mailboxNotFound(key) }
        try files.ensureMailboxFolder(key)
        let id = MessageID.make()
        let recording = AudioRecording(id: id, mailbox: key, temporaryPath: files.temporaryPath(key, id: id), maximumSeconds: options.maxMessageSeconds)
        try write(audio, to: recording)
        return try await commitGreeting(recording, kind: kind, now: now)
    }

    public func greeting(_ kind: GreetingKind, for key: MailboxKey) async throws(StoreError) -> Greeting? {
        try await database.greeting(kind, for: key)
    }

    public func clearGreeting(_ kind: GreetingKind, for key: MailboxKey) async throws(StoreError) {
        if let path = try await database.clearGreeting(kind, for: key) { files.remove(path) }
    }

    // MARK: - Steps shared by messages and greetings

    /// Reads the finished temporary file's header back: it must be a WAV with samples, no
    /// longer than the mailbox allows. Returns its duration (ms), measured, not trusted.
    func checkRecording(_ recording: AudioRecording) async throws(StoreError) -> Int {
        guard recording.temporaryPath == files.temporaryPath(recording.mailbox, id: recording.id) else {
            throw .invalidArgument("recording \(StoreError.quoted(recording.temporaryPath)) was not handed out by this store")
        }
        switch AudioProbe.probe(path: recording.temporaryPath) {
        case let .unplayable(reason):
            throw .unreadableRecording(path: recording.temporaryPath, reason: reason)
        case let .playable(duration):
            guard duration <= recording.maximumSeconds * 1000 else {
                throw .recordingTooLong(durationMilliseconds: duration, maximumSeconds: recording.maximumSeconds)
            }
            stepObserver?(.audioWritten)
            return duration
        }
    }

    func install(_ recording: AudioRecording, as relative: String) throws(StoreError) {
        try files.install(temporary: recording.temporaryPath, as: relative) { stepObserver?($0) }
    }

    /// Writes audio in memory to the recording's temporary file (16-bit PCM WAV), refusing
    /// it beforehand when longer than allowed. A full disk removes the partial file.
    func write(_ audio: PCMAudio, to recording: AudioRecording) throws(StoreError) {
        guard audio.durationMilliseconds <= recording.maximumSeconds * 1000 else {
            throw .recordingTooLong(durationMilliseconds: audio.durationMilliseconds, maximumSeconds: recording.maximumSeconds)
        }
        do {
            let writer = try AudioFileWriter(path: recording.temporaryPath, sampleRate: audio.sampleRate)
            try audio.samples.withUnsafeBufferPointer { (p) throws(AudioFileError) in try writer.write(p) }
            try writer.close()
        } catch {
            files.removeTemporary(recording.temporaryPath)
            throw Self.map(error, path: recording.temporaryPath)
        }
    }

    /// libsndfile reports errno's text; a full disk must read as such.
    static func map(_ error: AudioFileError, path: String) -> StoreError {
        let text = error.description
        if text.contains(String(cString: strerror(ENOSPC))) || text.contains(String(cString: strerror(EDQUOT))) {
            return .diskFull(path: path)
        }
        return .audioWriteFailed(path: path, reason: text)
    }
}
