import Foundation
import Logging
import NIOConcurrencyHelpers
import ParleySIP
import ParleyStore

/// The server's voicemail: the store opened at start (`storage.data_dir`), reconciled once
/// before any call, mailboxes provisioned from the configuration (start and reload), the
/// message-waiting counts the SIP side reads, and the observers told of each new message.
///
/// Call flows reach the store through `store` (the `VoicemailStore` protocol); after any
/// change to a mailbox's messages they call `mailboxChanged` so subscribers hear it.
public final class VoicemailService: Sendable {
    /// What call flows may do with voicemail storage.
    public var store: any VoicemailStore { sqlite }
    /// The single-node implementation (operator functions: provisioning, listing).
    public let sqlite: SQLiteVoicemailStore
    /// Message counts per mailbox for `message-summary` NOTIFYs, read on the SIP loop.
    public let summaries = StoreMessageSummaries()
    let logger: Logger
    private struct State {
        /// The PIN this process last applied or verified per mailbox (skips scrypt on reload).
        var knownPINs: [MailboxKey: String] = [:]
        var publish: (@Sendable (String, String, MessageSummary) -> Void)?
        var depositObservers: [@Sendable (VoicemailMessage, Mailbox) async -> Void] = []
        /// Whether a new message of this mailbox gets an email (set by the mail side).
        var wantsEmail: (@Sendable (Mailbox) -> Bool)?
    }
    private let state = NIOLockedValueBox(State())

    /// When this service started: every deposit of this process is later (the start-up
    /// check of pending emails only looks at messages before it).
    let startedAt: Date

    init(store: SQLiteVoicemailStore, logger: Logger, startedAt: Date = Date()) {
        sqlite = store
        self.logger = logger
        self.startedAt = startedAt
    }

    /// Opens the store under the configuration's data directory, reconciles files and rows
    /// (logging what it found), provisions the configured mailboxes and loads their counts.
    static func start(config: ParleyConfig, logger: Logger) async throws -> VoicemailService {
        let startedAt = Date()
        let store: SQLiteVoicemailStore
        do {
            store = try SQLiteVoicemailStore.open(dataDirectory: config.storage.dataDirectory,
                                                  busyTimeout: Double(config.storage.busyTimeoutMilliseconds) / 1000,
                                                  logger: logger)
        } catch {
            throw ConfigError(file: config.file, line: nil, key: "storage.data_dir",
                              problem: "cannot open the voicemail store in \(config.storage.dataDirectory) (\(error)): "
                                  + "make that folder writable by this user, or point storage.data_dir at one that is")
        }
        let report: ReconciliationReport
        do { report = try await store.reconcile() } catch {
            throw ConfigError(file: config.file, line: nil, key: "storage.data_dir", problem: "voicemail start-up check failed: \(error)")
        }
        logger.info("voicemail store opened and reconciled", metadata: [
            "data_dir": "\(config.storage.dataDirectory)", "quarantined": "\(report.quarantined.count)",
            "flagged_damaged": "\(report.flaggedDamaged.count)", "repaired": "\(report.repaired.count)", "ignored": "\(report.ignored.count)",
        ])
        let service = VoicemailService(store: store, logger: logger, startedAt: startedAt)
        let problems = await service.provision(config)
        if let first = problems.first { throw first }
        await service.loadSummaries()
        return service
    }

    // MARK: Provisioning

    /// Creates or updates every configured mailbox (rule in `SQLiteVoicemailStore.provision`).
    /// Returns the mailboxes that could not be provisioned (each is logged); the others are.
    /// Mailboxes in the store that the file no longer names are kept (with their messages) and logged.
    @discardableResult
    func provision(_ config: ParleyConfig, now: Date = Date()) async -> [ConfigError] {
        var problems: [ConfigError] = []
        var configured = Set<MailboxKey>()
        for tenant in config.tenants {
            for (number, settings) in tenant.mailboxes.sorted(by: { $0.key < $1.key }) {
                let where_ = "tenants.\(tenant.name).mailboxes.\(number)"
                do throws(StoreError) {
                    let key = try MailboxKey(tenant: tenant.name, number: number)
                    configured.insert(key)
                    let mailbox = Mailbox(key: key, name: settings.name, emails: settings.emails, options: settings.options)
                    let known = state.withLockedValue { $0.knownPINs[key] }
                    let outcome = try await sqlite.provision(mailbox, pin: settings.pin, knownPIN: known, now: now)
                    state.withLockedValue { $0.knownPINs[key] = settings.pin }
                    if outcome != .unchanged {
                        logger.info("voicemail mailbox provisioned", metadata: ["mailbox": "\(key)", "outcome": "\(outcome.rawValue)"])
                    }
                } catch {
                    logger.error("voicemail mailbox not provisioned", metadata: ["mailbox": "\(tenant.name)/\(number)", "error": "\(error)"])
                    problems.append(ConfigError(file: config.file, line: nil, key: where_, problem: "\(error)"))
                }
            }
        }
        if let stored = try? await sqlite.mailboxes() {
            for m in stored where !configured.contains(m.key) && config.tenants.contains(where: { $0.name == m.key.tenant && !$0.mailboxes.isEmpty }) {
                logger.notice("voicemail mailbox in the store but not in the configuration; kept", metadata: ["mailbox": "\(m.key)"])
            }
        }
        return problems
    }

    // MARK: Message waiting

    /// Where a changed summary goes (the SIP side's `publishMessageSummary`).
    func setPublisher(_ publish: @escaping @Sendable (String, String, MessageSummary) -> Void) {
        state.withLockedValue { $0.publish = publish }
    }

    /// Reads every mailbox's counts into the summaries (at start).
    func loadSummaries() async {
        guard let all = try? await sqlite.mailboxes() else { return }
        for m in all {
            if let counts = try? await sqlite.counts(m.key) { summaries.set(m.key, Self.summary(counts)) }
        }
    }

    /// Re-reads a mailbox's counts; when its new-message counts changed, every subscriber and
    /// the configured target hear the new summary. Call after any change to its messages.
    public func mailboxChanged(_ key: MailboxKey) async {
        let counts: FolderCounts
        do { counts = try await sqlite.counts(key) } catch {
            return logger.error("voicemail counts unreadable; message waiting not updated", metadata: ["mailbox": "\(key)", "error": "\(error)"])
        }
        let summary = Self.summary(counts)
        let changed = summaries.set(key, summary)
        guard changed, let publish = state.withLockedValue({ $0.publish }) else { return }
        publish(key.tenant, key.number, summary)
    }

    static func summary(_ c: FolderCounts) -> MessageSummary {
        // RFC 3842: "old" is every message already heard (old and saved folders).
        MessageSummary(newMessages: c.new, oldMessages: c.old + c.saved, urgentNew: c.urgentNew, urgentOld: c.urgentOld + c.urgentSaved)
    }

    // MARK: Deposits

    /// Adds an observer told of every message deposited, after its row is committed (e.g. the
    /// mail spool). Observers run one after the other on a task of their own; a slow one delays
    /// only the next observers, never the caller.
    public func onMessageDeposited(_ observer: @escaping @Sendable (VoicemailMessage, Mailbox) async -> Void) {
        state.withLockedValue { $0.depositObservers.append(observer) }
    }

    /// Sets who decides whether a new message gets an email (the mail side, when `mail:` is
    /// configured); without it no message does.
    func setEmailPolicy(_ wantsEmail: @escaping @Sendable (Mailbox) -> Bool) {
        state.withLockedValue { $0.wantsEmail = wantsEmail }
    }

    /// Commits a finished recording as a new message, then tells message waiting and the
    /// observers. When the mailbox gets email, the row is inserted with email state
    /// `pending` in the same transaction as the message, so a crash before the spool write
    /// leaves a row the next start spools (`PendingEmails.reconcile`), never a lost email.
    func commitDeposit(_ recording: AudioRecording, envelope: MessageEnvelope) async throws(StoreError) -> VoicemailMessage {
        let mailbox = try await sqlite.mailbox(recording.mailbox)
        var e = envelope
        if let mailbox, let wants = state.withLockedValue({ $0.wantsEmail }), wants(mailbox) { e.emailState = .pending }
        let message = try await store.commitMessage(recording, envelope: e)
        await mailboxChanged(message.mailbox)
        let observers = state.withLockedValue { $0.depositObservers }
        guard !observers.isEmpty, let mailbox else { return message }
        for observer in observers { await observer(message, mailbox) }
        return message
    }
}

/// `MessageSummaryProvider` over counts kept in memory: the SIP loop must not wait on the
/// database, so `VoicemailService` refreshes an entry after every change and the loop reads it.
public final class StoreMessageSummaries: MessageSummaryProvider {
    private let entries = NIOLockedValueBox([MailboxKey: MessageSummary]())

    public init() {}

    public func summary(tenant: String, mailbox: String) -> MessageSummary {
        guard let key = try? MailboxKey(tenant: tenant, number: mailbox) else { return MessageSummary() }
        return entries.withLockedValue { $0[key] } ?? MessageSummary()
    }

    /// Stores a summary; true when it differs from the one kept.
    @discardableResult
    func set(_ key: MailboxKey, _ summary: MessageSummary) -> Bool {
        entries.withLockedValue { e in
            defer { e[key] = summary }
            return e[key] != summary
        }
    }
}
