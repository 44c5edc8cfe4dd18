#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The audio files under `<data_dir>/voicemail/`: one folder per tenant and mailbox, one
/// WAV per message or greeting, temporary files beside their final place (same file
/// system, so `rename` is atomic), a `quarantine/` folder for files no row claims.
///
/// Paths are built only from validated `MailboxKey`s and generated ids; a path read back
/// from a row is checked (`absolute(_:)`) before use. Blocking file I/O: never on a media
/// tick or an event-loop thread.
struct AudioFiles: Sendable {
    let dataDirectory: String

    static let root = "voicemail"
    static let quarantine = "quarantine"
    static let temporaryPrefix = ".tmp-"

    var rootDirectory: String { "\(dataDirectory)/\(Self.root)" }

    /// `voicemail/<tenant>/<mailbox>`, relative to the data directory.
    static func mailboxFolder(_ key: MailboxKey) -> String { "\(root)/\(key.tenant)/\(key.number)" }

    static func messagePath(_ key: MailboxKey, id: String) -> String { "\(mailboxFolder(key))/\(id).wav" }

    static func greetingPath(_ key: MailboxKey, kind: GreetingKind, id: String) -> String {
        "\(mailboxFolder(key))/greeting-\(kind.rawValue)-\(id).wav"
    }

    func temporaryPath(_ key: MailboxKey, id: String) -> String {
        "\(dataDirectory)/\(Self.mailboxFolder(key))/\(Self.temporaryPrefix)\(id).wav"
    }

    /// The absolute path of a relative audio path read from a row, or nil when the row's
    /// path could lead outside the voicemail folder (absolute, `..`, NUL, empty parts).
    func absolute(_ relative: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.first == Substring(Self.root), !relative.utf8.contains(0),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
        return "\(dataDirectory)/\(relative)"
    }

    /// Creates the mailbox's folder (and its parents) when absent, each new folder's entry
    /// made durable in its parent.
    func ensureMailboxFolder(_ key: MailboxKey) throws(StoreError) {
        try ensureDirectory(Self.mailboxFolder(key))
    }

    func ensureDirectory(_ relative: String) throws(StoreError) {
        var path = dataDirectory
        for part in relative.split(separator: "/") {
            let parent = path
            path += "/\(part)"
            if mkdir(path, 0o750) == 0 {
                try fsyncDirectory(parent)
            } else if errno != EEXIST {
                throw Self.ioError(path: path, operation: "mkdir", errno: errno)
            }
        }
    }

    /// Makes a finished temporary file durable and moves it to its final place:
    /// fsync(file), rename, fsync(folder). After this returns, the file survives a crash
    /// or power cut under its final name. `step` reports each stage (a test hook).
    func install(temporary: String, as relative: String, step: (DepositStep) -> Void) throws(StoreError) {
        guard let final = absolute(relative) else { throw .invalidArgument("bad audio path \(StoreError.quoted(relative))") }
        try fsyncFile(temporary)
        step(.audioSynced)
        guard rename(temporary, final) == 0 else { throw Self.ioError(path: final, operation: "rename", errno: errno) }
        step(.renamed)
        try fsyncDirectory((final as NSString).deletingLastPathComponent)
        step(.directorySynced)
    }

    /// Deletes a file named by a row (after the row is gone) and makes the deletion
    /// durable. A file already absent is fine.
    func remove(_ relative: String) {
        guard let path = absolute(relative) else { return }
        if unlink(path) == 0 { try? fsyncDirectory((path as NSString).deletingLastPathComponent) }
    }

    /// Deletes a temporary file (abandoned recording). Absent is fine.
    func removeTemporary(_ path: String) {
        _ = unlink(path)
    }

    /// Copies a stored file to a temporary path (for a forwarded copy), reporting a full
    /// disk as such. The caller installs or removes the copy.
    func copy(_ relative: String, toTemporary target: String) throws(StoreError) {
        guard let source = absolute(relative) else { throw .invalidArgument("bad audio path \(StoreError.quoted(relative))") }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Self.ioError(path: source, operation: "open", errno: errno) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard output >= 0 else { throw Self.ioError(path: target, operation: "open", errno: errno) }
        var failure: StoreError?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        copying: while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = Self.ioError(path: source, operation: "read", errno: errno); break
            }
            if n == 0 { break }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress.map { $0 + offset }, n - offset) }
                if w < 0 {
                    if errno == EINTR { continue }
                    failure = Self.ioError(path: target, operation: "write", errno: errno); break copying
                }
                offset += w
            }
        }
        if close(output) != 0, failure == nil { failure = Self.ioError(path: target, operation: "close", errno: errno) }
        if let failure {
            _ = unlink(target)
            throw failure
        }
    }

    func fsyncFile(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Self.ioError(path: path, operation: "fsync", errno: errno) }
    }

    func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Self.ioError(path: path, operation: "fsync", errno: errno) }
    }

    /// Moves a file no row claims to `voicemail/quarantine/<same relative folder>/`, never
    /// overwriting an earlier quarantined file. Returns the new relative path.
    func quarantine(_ relative: String) throws(StoreError) -> String {
        guard let source = absolute(relative) else { throw .invalidArgument("bad audio path \(StoreError.quoted(relative))") }
        let inside = relative.dropFirst(Self.root.count + 1)
        let folder = "\(Self.root)/\(Self.quarantine)/\((inside as NSString).deletingLastPathComponent)"
        try ensureDirectory(folder)
        let name = (String(inside) as NSString).lastPathComponent
        var target = "\(folder)/\(name)"
        var n = 1
        while access("\(dataDirectory)/\(target)", F_OK) == 0 {
            target = "\(folder)/\(name).\(n)"
            n += 1
        }
        guard rename(source, "\(dataDirectory)/\(target)") == 0 else {
            throw Self.ioError(path: source, operation: "rename to quarantine", errno: errno)
        }
        try fsyncDirectory("\(dataDirectory)/\(folder)")
        try fsyncDirectory((source as NSString).deletingLastPathComponent)
        return target
    }

    /// Entries of a folder (names only), or [] when it cannot be read.
    func entries(_ relative: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(dataDirectory)/\(relative)"))?.sorted() ?? []
    }

    func isDirectory(_ relative: String) -> Bool {
        var s = stat()
        return lstat("\(dataDirectory)/\(relative)", &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    static func ioError(path: String, operation: String, errno code: Int32) -> StoreError {
        if code == ENOSPC || code == EDQUOT { return .diskFull(path: path) }
        return .io(path: path, operation: operation, errno: code)
    }
}

/// The stages of a deposit, in order, as reported to a test hook (`--crash-after`).
public enum DepositStep: String, Sendable, CaseIterable {
    /// The temporary file is complete and closed, not yet fsynced.
    case audioWritten = "audio-written"
    /// The temporary file is fsynced.
    case audioSynced = "audio-synced"
    /// Renamed to its final name; the folder not yet fsynced.
    case renamed
    /// The folder is fsynced: the file is durable under its final name.
    case directorySynced = "directory-synced"
    /// The row is committed: the message exists.
    case committed
}
