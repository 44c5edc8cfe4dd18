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
public final class EventLog: @unchecked Sendable {
    private let lock = NIOLock()
    private var handle: FileHandle?
    private var subscribers: [UInt64: @Sendable (CallEvent) -> Void] = [:]
    private var nextID: UInt64 = 0
    private let logger: Logger

    /// - Parameter path: file to append to, created if needed; nil writes to the log only.
    public init(path: String?, logger: Logger) throws {
        self.logger = logger
        if let path {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw ConfigError(file: path, line: nil, key: "--events", problem: "cannot create the event log")
                }
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw ConfigError(file: path, line: nil, key: "--events", problem: "cannot open the event log for writing")
            }
            h.seekToEndOfFile()
            handle = h
        }
    }

    public func emit(_ event: CallEvent) {
        let line = event.jsonLine
        var metadata: Logger.Metadata = ["call-id": .string(event.callID)]
        for (k, v) in event.fields {
            switch v {
            case let .string(s): metadata[k] = .string(s)
            case let .int(n): metadata[k] = .stringConvertible(n)
            }
        }
        logger.info("\(event.name)", metadata: metadata)
        let subs: [@Sendable (CallEvent) -> Void] = lock.withLock {
            handle?.write(Data((line + "\n").utf8))
            return Array(subscribers.values)
        }
        for s in subs { s(event) }
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

    public func close() {
        lock.withLock {
            try? handle?.synchronize()
            try? handle?.close()
            handle = nil
        }
    }
}
