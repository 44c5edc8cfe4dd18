import Foundation
import Logging

/// The durable mail queue under `<data_dir>/spool/mail/`:
///
/// - `tmp/`    files being written (never read by delivery);
/// - `new/`    queued messages, one `SpoolFile` each; a file appears here only by
///             `rename(2)` after it and its folder were fsynced, so it is complete;
/// - `sent/`   accepted by the relay (moved here after its 250 to DATA), waiting for the
///             voicemail's update; a file here is never sent again;
/// - `failed/` refused for good (the server's reply in `NAME.reply` beside it), or not a
///             spool file of ours / truncated (`NAME.damaged` with the reason beside it).
///
/// File names start with the creation time in ms, so a listing sorted by name is oldest
/// first. Any file operation can throw `MailSpoolError` (with errno's text); nothing traps.
public final class MailSpool: Sendable {
    public let directory: String
    let logger: Logger

    public static func directory(dataDirectory: String) -> String { "\(dataDirectory)/spool/mail" }

    public init(dataDirectory: String, logger: Logger = Logger(label: "parley.mail")) throws(MailSpoolError) {
        directory = Self.directory(dataDirectory: dataDirectory)
        self.logger = logger
        try Self.makeDirectories(directory)
        for sub in ["tmp", "new", "sent", "failed"] { try Self.makeDirectories("\(directory)/\(sub)") }
    }

    var tmp: String { "\(directory)/tmp" }
    var new: String { "\(directory)/new" }
    var sent: String { "\(directory)/sent" }
    var failed: String { "\(directory)/failed" }

    // MARK: - Queue

    /// Writes a message into the queue durably: `tmp/NAME` is written and fsynced, renamed
    /// to `new/NAME`, and `new/` is fsynced. When this returns, the message survives a crash
    /// or power loss; when it throws, nothing was queued. Returns the file name.
    @discardableResult
    public func enqueue(_ envelope: SpoolEnvelope, body: Data) throws(MailSpoolError) -> String {
        let name = "\(SpoolFile.milliseconds(envelope.created))-\(UUID().uuidString.lowercased())"
        try writeDurably(SpoolFile.encode(envelope, body: body), as: "\(new)/\(name)", temporary: "\(tmp)/\(name)")
        logger.info("mail spooled", metadata: ["spool": "\(name)", "recipients": "\(envelope.recipients.count)",
                                               "bytes": "\(body.count)"])
        return name
    }

    /// Queued file names, oldest first.
    public func queued() -> [String] { names(in: new) }

    /// The largest spool file read: a voicemail email is a few MB at most; anything far
    /// bigger is not ours and is moved aside unread.
    public static let maximumFileBytes = 256 * 1024 * 1024

    /// Reads and checks one queued file.
    public func load(_ name: String) throws(MailSpoolError) -> Result<(SpoolEnvelope, Data), SpoolFileError> {
        let path = "\(new)/\(name)"
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > Self.maximumFileBytes {
            return .failure(.damaged("\(size) bytes, more than a spool file may hold"))
        }
        let data = try read(path)
        do throws(SpoolFileError) { return .success(try SpoolFile.decode(data)) } catch { return .failure(error) }
    }

    /// Reads only a queued file's head (status listings).
    public func head(_ name: String) -> SpoolEnvelope? { headAt("\(new)/\(name)") }

    func headAt(_ path: String) -> SpoolEnvelope? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: SpoolFile.maximumHeadBytes) else { return nil }
        return try? SpoolFile.decodeHead(data).0
    }

    /// Replaces a queued file's envelope (after a deferral or partial success), atomically.
    public func update(_ name: String, envelope: SpoolEnvelope, body: Data) throws(MailSpoolError) {
        try writeDurably(SpoolFile.encode(envelope, body: body), as: "\(new)/\(name)", temporary: "\(tmp)/\(name).update")
    }

    /// The relay accepted the message for every remaining recipient: `new/` → `sent/`.
    public func markSent(_ name: String) throws(MailSpoolError) {
        try move("\(new)/\(name)", to: "\(sent)/\(name)")
        try syncDirectory(new)
    }

    /// Files accepted but not yet finished (a crash came between 250 and the voicemail update).
    public func sentPending() -> [String] { names(in: sent) }

    public func loadSent(_ name: String) -> SpoolEnvelope? {
        guard let data = try? read("\(sent)/\(name)") else { return nil }
        return try? SpoolFile.decodeHead(data).0
    }

    public func removeSent(_ name: String) throws(MailSpoolError) {
        guard unlink("\(sent)/\(name)") == 0 || errno == ENOENT else { throw .io(path: "\(sent)/\(name)", operation: "unlink", errno: errno) }
        try syncDirectory(sent)
    }

    /// Every recipient refused the message for good: `new/NAME` → `failed/NAME`, with the
    /// server's reply in `failed/NAME.reply` (written first).
    public func fail(_ name: String, reply: String) throws(MailSpoolError) {
        try writeDurably(Data((reply + "\n").utf8), as: "\(failed)/\(name).reply", temporary: "\(tmp)/\(name).reply")
        try move("\(new)/\(name)", to: "\(failed)/\(name)")
        try syncDirectory(new)
        logger.warning("mail failed for good", metadata: ["spool": "\(name)", "reply": "\(reply)"])
    }

    /// A file in `new/` that is not a spool file of ours or is truncated: moved aside to
    /// `failed/NAME.damaged` with the reason beside it, so it never blocks the queue.
    public func quarantine(_ name: String, reason: SpoolFileError) {
        let target = "\(failed)/\(name).damaged"
        do {
            try writeDurably(Data("\(reason)\n".utf8), as: "\(target).reason", temporary: "\(tmp)/\(name).reason")
            try move("\(new)/\(name)", to: target)
            try syncDirectory(new)
            logger.error("spool file moved aside", metadata: ["spool": "\(name)", "reason": "\(reason)", "now_at": "\(target)"])
        } catch {
            logger.error("spool file is unreadable and cannot be moved aside", metadata: ["spool": "\(name)", "error": "\(error)"])
        }
    }

    /// Files in `tmp/` older than `age` were left by a writer that crashed before its rename
    /// (their caller never heard "queued"): removed.
    public func removeStaleTemporaries(olderThan age: TimeInterval, now: Date) {
        for name in names(in: tmp) {
            let path = "\(tmp)/\(name)"
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  let modified = attributes[.modificationDate] as? Date, now.timeIntervalSince(modified) > age else { continue }
            if unlink(path) == 0 { logger.notice("stale temporary spool file removed", metadata: ["spool": "\(name)"]) }
        }
    }

    /// The voicemails the spool holds an email for, by message id: `queued` in `new/` or
    /// `sent/` (delivery will finish them), `failed` in `failed/` (refused for good). Listed
    /// in the order files move (`new/`, then `sent/` and `failed/`), so a file moved during
    /// the listing is still seen once. Only heads are read. Damaged files are not counted:
    /// their email never went out.
    public func voicemailReferences() -> (queued: Set<String>, failed: Set<String>) {
        var queued = Set<String>()
        var failedIDs = Set<String>()
        for name in names(in: new) { if let id = headAt("\(new)/\(name)")?.voicemail?.messageID { queued.insert(id) } }
        for name in names(in: sent) { if let id = headAt("\(sent)/\(name)")?.voicemail?.messageID { queued.insert(id) } }
        for name in names(in: failed) where !name.hasSuffix(".reply") && !name.hasSuffix(".reason") && !name.hasSuffix(".damaged") {
            if let id = headAt("\(failed)/\(name)")?.voicemail?.messageID { failedIDs.insert(id) }
        }
        return (queued, failedIDs)
    }

    /// How many messages `failed/` holds (not counting the reply and reason files).
    public func failedCount() -> Int {
        names(in: failed).filter { !$0.hasSuffix(".reply") && !$0.hasSuffix(".reason") }.count
    }

    /// The messages in `failed/` with their reasons, newest last.
    public func failedEntries() -> [(name: String, reason: String)] {
        names(in: failed).filter { !$0.hasSuffix(".reply") && !$0.hasSuffix(".reason") }.map { name in
            let side = name.hasSuffix(".damaged") ? "\(failed)/\(name).reason" : "\(failed)/\(name).reply"
            let text = (try? String(contentsOfFile: side, encoding: .utf8)) ?? ""
            return (name, text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    // MARK: - Files

    func names(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func read(_ path: String) throws(MailSpoolError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .io(path: path, operation: "open", errno: ENOENT) }
        defer { try? handle.close() }
        do { return try handle.readToEnd() ?? Data() } catch { throw .io(path: path, operation: "read", errno: EIO) }
    }

    /// temp → write → fsync → rename → fsync folder. A full disk removes the partial file.
    func writeDurably(_ data: Data, as path: String, temporary: String) throws(MailSpoolError) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .io(path: temporary, operation: "open", errno: errno) }
        var failure: MailSpoolError?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .io(path: temporary, operation: "write", errno: errno)
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = .io(path: temporary, operation: "fsync", errno: errno) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        do throws(MailSpoolError) {
            try move(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    func move(_ from: String, to: String) throws(MailSpoolError) {
        guard rename(from, to) == 0 else { throw .io(path: from, operation: "rename to \(to)", errno: errno) }
        try syncDirectory((to as NSString).deletingLastPathComponent)
    }

    func syncDirectory(_ path: String) throws(MailSpoolError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open folder", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync folder", errno: errno) }
    }

    static func makeDirectories(_ directory: String) throws(MailSpoolError) {
        var path = directory.hasPrefix("/") ? "" : "."
        for part in directory.split(separator: "/") {
            path += "/\(part)"
            if mkdir(path, 0o750) != 0 && errno != EEXIST { throw .io(path: path, operation: "mkdir", errno: errno) }
        }
    }
}

/// A spool operation that failed on the file system.
public enum MailSpoolError: Error, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .io(path, operation, code): return "\(operation) \(path): \(String(cString: strerror(code)))"
        }
    }

    public var isDiskFull: Bool {
        if case let .io(_, _, code) = self { return code == ENOSPC || code == EDQUOT }
        return false
    }
}
