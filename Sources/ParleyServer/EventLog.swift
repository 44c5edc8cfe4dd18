#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOConcurrencyHelpers

/// A value in a call event.
public enum EventValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
}

/// One call event: its name, the call it belongs to and its fields, in order.
public struct CallEvent: Sendable, Equatable {
    public var name: String
    public var callID: String
    public var fields: [(String, EventValue)]
    public var timestamp: Date

    public init(_ name: String, callID: String, _ fields: [(String, EventValue)] = [], timestamp: Date = Date()) {
        self.name = name; self.callID = callID; self.fields = fields; self.timestamp = timestamp
    }

    public static func == (a: CallEvent, b: CallEvent) -> Bool {
        a.name == b.name && a.callID == b.callID && a.timestamp == b.timestamp
            && a.fields.map { $0.0 } == b.fields.map { $0.0 } && a.fields.map { $0.1 } == b.fields.map { $0.1 }
    }

    /// One line of JSON: `{"ts":…,"event":…,"call_id":…, fields…}`.
    public var jsonLine: String {
        var s = "{\"ts\":\(CallEvent.quote(CallEvent.timestampString(timestamp))),\"event\":\(CallEvent.quote(name)),\"call_id\":\(CallEvent.quote(callID))"
        for (k, v) in fields {
            s += ",\(CallEvent.quote(k)):"
            switch v {
            case let .string(t): s += CallEvent.quote(t)
            case let .int(n): s += String(n)
            }
        }
        return s + "}"
    }

    static func timestampString(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }

    /// JSON string literal with RFC 8259 escapes.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// Writes call events as JSON lines to an optional file and to the normal log, and
/// hands them to subscribers (the admin API's live stream). Thread-safe.
///
/// The file is written with write(2) on a serial queue of its own, never on the caller's
/// thread (the SIP loop must not wait on a disk): `emit` appends the line to a bounded queue
/// and returns. A full queue, or a write that fails (ENOSPC on a full disk, EIO, EDQUOT),
/// drops lines and counts them (`droppedCount`, logged at most once a minute) instead of
/// trapping as `FileHandle.write(_:)` does; writing resumes when the disk has room again.
public final class EventLog: @unchecked Sendable {
    /// Lines waiting for the writer; beyond this many, new lines are dropped.
    public static let defaultQueueCapacity = 4096

    private let lock = NIOLock()
    private var fd: Int32 = -1
    private var pending: [String] = []
    private var writerScheduled = false
    private let capacity: Int
    private let writer = DispatchQueue(label: "parley.event-log")
    private var dropped = 0
    private var lastDropReport: UInt64 = 0
    private var subscribers: [UInt64: @Sendable (CallEvent) -> Void] = [:]
    private var nextID: UInt64 = 0
    private let logger: Logger

    /// - Parameter path: file to append to, created if needed; nil writes to the log only.
    /// - Parameter queueCapacity: lines that may wait for the writer.
    public init(path: String?, logger: Logger, queueCapacity: Int = EventLog.defaultQueueCapacity) throws {
        self.logger = logger
        self.capacity = max(1, queueCapacity)
        if let path {
            let opened = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw ConfigError(file: path, line: nil, key: "--events", problem: "cannot open the event log for writing: \(String(cString: strerror(errno)))")
            }
            fd = opened
        }
    }

    /// Lines not written: the queue was full, or the write failed (full disk).
    public var droppedCount: Int { lock.withLock { dropped } }

    public func emit(_ event: CallEvent) {
        // Only what is used is built, on the caller's thread (the SIP loop): the log line's
        // metadata when the level lets it through, the JSON line when a file takes it.
        if logger.logLevel <= .info {
            var metadata: Logger.Metadata = ["call-id": .string(event.callID)]
            for (k, v) in event.fields {
                switch v {
                case let .string(s): metadata[k] = .string(s)
                case let .int(n): metadata[k] = .stringConvertible(n)
                }
            }
            logger.info("\(event.name)", metadata: metadata)
        }
        let line = lock.withLock { fd >= 0 } ? event.jsonLine + "\n" : nil
        let (subs, wake): ([@Sendable (CallEvent) -> Void], Bool) = lock.withLock {
            var wake = false
            if fd >= 0, let line {
                if pending.count < capacity {
                    pending.append(line)
                    wake = !writerScheduled
                    writerScheduled = true
                } else {
                    dropped += 1
                    ParleyMetrics.eventLogLineDropped()
                }
            }
            return (subscribers.isEmpty ? [] : Array(subscribers.values), wake)
        }
        if wake { writer.async { self.writePending() } }
        for s in subs { s(event) }
    }

    /// On the writer queue: writes what is queued, batch by batch, until the queue is empty.
    private func writePending() {
        while true {
            let (batch, fd): ([String], Int32) = lock.withLock {
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { writerScheduled = false }
                return (batch, self.fd)
            }
            guard !batch.isEmpty else { return }
            guard fd >= 0 else { continue }
            for line in batch where !EventLog.writeAll(fd, line) {
                let error = errno
                ParleyMetrics.eventLogLineDropped()
                let report: Int? = lock.withLock {
                    dropped += 1
                    let now = DispatchTime.now().uptimeNanoseconds
                    guard lastDropReport == 0 || now - lastDropReport >= 60_000_000_000 else { return nil }
                    lastDropReport = now
                    return dropped
                }
                if let report {
                    logger.error("event log write failed; lines dropped", metadata: [
                        "error": "\(String(cString: strerror(error)))", "dropped": "\(report)"])
                }
            }
        }
    }

    /// write(2) until the whole line is out (a short write continues, EINTR retries).
    /// False on any other error; a line cut short by one is lost, the next starts afresh.
    static func writeAll(_ fd: Int32, _ line: String) -> Bool {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0, errno == EINTR { continue }
                return false
            }
            return true
        }
    }

    /// Waits until every line emitted so far was written (or dropped).
    public func flush() {
        writer.sync {}
    }

    /// Registers a subscriber; returns a token for `unsubscribe`.
    public func subscribe(_ handler: @escaping @Sendable (CallEvent) -> Void) -> UInt64 {
        lock.withLock {
            nextID += 1
            subscribers[nextID] = handler
            return nextID
        }
    }

    public func unsubscribe(_ token: UInt64) {
        _ = lock.withLock { subscribers.removeValue(forKey: token) }
    }

    /// Writes what is queued, syncs and closes the file; later events go to the log only.
    public func close() {
        flush()
        let fd: Int32 = lock.withLock {
            let fd = self.fd
            self.fd = -1
            pending.removeAll()
            return fd
        }
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = Glibc.close(fd)
    }
}
