import Foundation

/// What `parley mail status` and the admin API show.
public struct MailQueueStatus: Sendable, Equatable, Codable {
    /// Messages in `new/` (waiting for their first attempt or for a retry).
    public var queued: Int
    /// Of those, messages tried at least once (waiting for a retry).
    public var deferred: Int
    /// Age of the oldest queued message, seconds (0 when the queue is empty).
    public var oldestAgeSeconds: Int
    /// Messages in `failed/` (refused for good, expired, or damaged files moved aside).
    public var failed: Int
    /// Since the spool was created: messages the relay accepted, deferrals, messages failed.
    public var deliveredTotal: Int
    public var deferredTotal: Int
    public var failedTotal: Int
    /// The most recent error reply of a queued message, if any.
    public var lastReply: String?
}

/// Totals kept in `<spool>/stats` by the delivery service (the one process holding the
/// spool lock), so `parley mail status` in another process can show them.
struct MailTotals: Equatable {
    var delivered = 0
    var deferred = 0
    var failed = 0

    init() {}

    init(text: String) {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int(parts[1]), n >= 0 else { continue }
            switch parts[0] {
            case "delivered": delivered = n
            case "deferred": deferred = n
            case "failed": failed = n
            default: continue
            }
        }
    }

    var text: String { "delivered \(delivered)\ndeferred \(deferred)\nfailed \(failed)\n" }
}

extension MailSpool {
    var statsPath: String { "\(directory)/stats" }

    func readTotals() -> MailTotals {
        MailTotals(text: (try? String(contentsOfFile: statsPath, encoding: .utf8)) ?? "")
    }

    func writeTotals(_ totals: MailTotals) {
        do {
            try writeDurably(Data(totals.text.utf8), as: statsPath, temporary: "\(tmp)/stats")
        } catch {
            logger.warning("mail totals not saved", metadata: ["error": "\(error)"])
        }
    }

    /// The queue as it is on disk now (any process may call it).
    public func status(now: Date) -> MailQueueStatus {
        var deferred = 0
        var oldest: Date?
        var lastReply: String?
        let names = queued()
        for name in names {
            guard let e = head(name) else { continue }
            if e.attempts > 0 { deferred += 1 }
            if oldest.map({ e.created < $0 }) ?? true { oldest = e.created }
            if !e.lastReply.isEmpty { lastReply = e.lastReply }
        }
        let totals = readTotals()
        return MailQueueStatus(queued: names.count, deferred: deferred,
                               oldestAgeSeconds: oldest.map { max(0, Int(now.timeIntervalSince($0))) } ?? 0,
                               failed: failedCount(), deliveredTotal: totals.delivered, deferredTotal: totals.deferred,
                               failedTotal: totals.failed, lastReply: lastReply)
    }
}
