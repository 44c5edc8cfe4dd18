import Foundation

/// What the start-up pass found and did.
public struct ReconciliationReport: Sendable, Equatable {
    /// Files no row claims (including temporary files of recordings cut short), moved:
    /// (from, to), relative to the data directory.
    public var quarantined: [(from: String, to: String)] = []
    /// Rows whose file is missing, empty or not a playable WAV, newly flagged damaged.
    public var flaggedDamaged: [String] = []
    /// Rows flagged damaged earlier whose file is playable again (restored by hand).
    public var repaired: [String] = []
    /// Entries left alone because their names are not ones the store writes.
    public var ignored: [String] = []

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.quarantined.map { [$0.from, $0.to] } == b.quarantined.map { [$0.from, $0.to] }
            && a.flaggedDamaged == b.flaggedDamaged && a.repaired == b.repaired && a.ignored == b.ignored
    }
}

extension SQLiteVoicemailStore {
    /// Brings files and rows back into agreement after a crash or a hand edit. Run once at
    /// start-up, before any call can deposit (a deposit in flight would look like an
    /// orphan). Never deletes: orphans go to `voicemail/quarantine/`, damaged rows are
    /// flagged (the retrieval flow skips them with a prompt). Everything done is logged.
    @discardableResult
    public func reconcile() async throws(StoreError) -> ReconciliationReport {
        var report = ReconciliationReport()
        let references = try await database.audioReferences()
        let claimed = Set(references.map(\.audioPath))

        // 1. Files without rows.
        for tenant in files.entries(AudioFiles.root) where tenant != AudioFiles.quarantine {
            let tenantFolder = "\(AudioFiles.root)/\(tenant)"
            guard (try? MailboxKey.validate(tenant, what: "tenant")) != nil, files.isDirectory(tenantFolder) else {
                report.ignored.append(tenantFolder)
                continue
            }
            for number in files.entries(tenantFolder) {
                let folder = "\(tenantFolder)/\(number)"
                guard (try? MailboxKey.validate(number, what: "mailbox number")) != nil, files.isDirectory(folder) else {
                    report.ignored.append(folder)
                    continue
                }
                for name in files.entries(folder) where !claimed.contains("\(folder)/\(name)") {
                    let relative = "\(folder)/\(name)"
                    if files.isDirectory(relative) {
                        report.ignored.append(relative)
                        continue
                    }
                    let target = try files.quarantine(relative)
                    report.quarantined.append((relative, target))
                    logger.warning("voicemail file without a row quarantined", metadata: ["file": "\(relative)", "moved_to": "\(target)"])
                }
            }
        }

        // 2. Rows whose file is missing or unplayable (and damaged rows now playable).
        var changes: [(AudioReference, Bool)] = []
        for ref in references {
            let playable: Bool
            let reason: String
            if let path = files.absolute(ref.audioPath) {
                switch AudioProbe.probe(path: path) {
                case .playable: playable = true; reason = ""
                case let .unplayable(why): playable = false; reason = why
                }
            } else {
                playable = false; reason = "path outside the voicemail folder"
            }
            if !playable && !ref.damaged {
                changes.append((ref, true))
                report.flaggedDamaged.append(ref.audioPath)
                logger.error("voicemail audio damaged; row flagged", metadata: ["\(ref.table.rawValue)": "\(ref.rowKey)", "file": "\(ref.audioPath)", "reason": "\(reason)"])
            } else if playable && ref.damaged {
                changes.append((ref, false))
                report.repaired.append(ref.audioPath)
                logger.notice("voicemail audio playable again; flag cleared", metadata: ["\(ref.table.rawValue)": "\(ref.rowKey)", "file": "\(ref.audioPath)"])
            }
        }
        if !changes.isEmpty { try await database.setDamaged(changes) }
        return report
    }
}

extension SQLiteVoicemailStore {
    /// Every message whose email is `pending` and that was received before `cutoff`, oldest
    /// row first, read in pages of `pageSize` and handed to `body` page by page (the mail
    /// side checks each has a spool file). A deposit inserts its row already `pending` in the
    /// same transaction, so a crash between the commit and the spool leaves such a row.
    public func forEachPendingEmail(receivedBefore cutoff: Date, pageSize: Int = 500,
                                    _ body: ([VoicemailMessage]) async -> Void) async throws(StoreError) {
        var after: Int64 = 0
        while true {
            let (page, last) = try await database.pendingEmails(receivedBefore: cutoff, afterRow: after, limit: max(1, pageSize))
            guard last > after else { return }
            after = last
            if !page.isEmpty { await body(page) }
        }
    }
}
