/// Everything the voicemail store can refuse or fail at. Each case names what failed and
/// where; none carries a PIN. GRDB and POSIX errors are converted here and travel no further.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A tenant, mailbox number or message id that may not reach a path or a query.
    case invalidIdentifier(what: String, value: String, reason: String)
    case mailboxNotFound(MailboxKey)
    case mailboxExists(MailboxKey)
    case messageNotFound(mailbox: MailboxKey, id: String)
    /// The mailbox holds `maximum` messages already (deleted-pending ones do not count).
    case mailboxFull(MailboxKey, maximum: Int)
    /// A recording longer than the mailbox allows.
    case recordingTooLong(durationMilliseconds: Int, maximumSeconds: Int)
    /// A recording with no samples, or one libsndfile cannot read back.
    case unreadableRecording(path: String, reason: String)
    /// Writing audio failed for another reason than a full disk.
    case audioWriteFailed(path: String, reason: String)
    case pinPolicy(String)
    /// Forwarding or other operations across tenants are refused.
    case crossTenant(from: MailboxKey, to: MailboxKey)
    case invalidArgument(String)
    /// The database stayed locked by another connection or process past the busy timeout.
    case databaseBusy(path: String, waitedMilliseconds: Int)
    /// No space left on the device holding the database or the audio.
    case diskFull(path: String)
    /// A file-system operation failed (`operation` is the call, e.g. "rename").
    case io(path: String, operation: String, errno: Int32)
    case database(String)

    public var description: String {
        switch self {
        case let .invalidIdentifier(what, value, reason):
            return "invalid \(what) \(Self.quoted(value)): \(reason)"
        case let .mailboxNotFound(key): return "mailbox \(key) does not exist"
        case let .mailboxExists(key): return "mailbox \(key) exists already"
        case let .messageNotFound(key, id): return "mailbox \(key) has no message \(Self.quoted(id))"
        case let .mailboxFull(key, maximum): return "mailbox \(key) is full (\(maximum) messages)"
        case let .recordingTooLong(ms, maximum):
            return "recording of \(ms) ms is longer than the mailbox's maximum of \(maximum) s"
        case let .unreadableRecording(path, reason): return "\(path): unreadable recording: \(reason)"
        case let .audioWriteFailed(path, reason): return "\(path): writing audio failed: \(reason); nothing was saved"
        case let .pinPolicy(reason): return "PIN refused: \(reason)"
        case let .crossTenant(from, to): return "cannot act across tenants (\(from) to \(to))"
        case let .invalidArgument(text): return text
        case let .databaseBusy(path, waited):
            return "\(path): database is locked by another connection or process (waited \(waited) ms); nothing was changed"
        case let .diskFull(path): return "\(path): no space left on device; nothing was saved"
        case let .io(path, operation, code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case let .database(text): return "database error: \(text)"
        }
    }

    /// Quotes a value for a message, with control characters escaped (a NUL or newline in
    /// hostile input must not break a log line).
    static func quoted(_ value: String) -> String {
        var out = "'"
        for scalar in value.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "'" || scalar == "\\" {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + (value.unicodeScalars.count > 64 ? "…'" : "'")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
