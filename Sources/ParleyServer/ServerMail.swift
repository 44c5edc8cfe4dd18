import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import ParleyMail
import ParleyStore

/// Voicemail to email inside the server: the delivery service (a task over the spool) and
/// the mailer the deposit flow hands each committed message to. Present when `mail:` is
/// configured. Also what the admin API exposes (`status`, `retryNow`).
public final class ServerMail: Sendable {
    public let service: MailDeliveryService
    let mailer: VoicemailMailer
    /// The configuration the tenants' mail settings come from (swapped on reload).
    private let current: NIOLockedValueBox<ParleyConfig>
    var config: ParleyConfig { current.withLockedValue { $0 } }
    let store: SQLiteVoicemailStore
    let task: Task<Void, Never>
    let logger: Logger
    let events: EventLog?
    /// Messages whose spool write failed in this process (full disk), retried every
    /// `retryInterval` until spooled; at most `maximumRetries` (the rest wait for the
    /// start-up check of the next start).
    private let retries = NIOLockedValueBox([String: VoicemailMessage]())
    static let maximumRetries = 10_000
    private let retryTask = NIOLockedValueBox<Task<Void, Never>?>(nil)
    let spoolFailures = Counter(label: "parley_mail_spool_failures_total")

    init(service: MailDeliveryService, mailer: VoicemailMailer, config: ParleyConfig, store: SQLiteVoicemailStore,
         task: Task<Void, Never>, logger: Logger, events: EventLog? = nil) {
        self.service = service; self.mailer = mailer; current = NIOLockedValueBox(config); self.store = store; self.task = task
        self.logger = logger; self.events = events
    }

    /// Builds the spool, the SMTP client and the delivery service for `config.mail` and
    /// starts its task: first the emails a crash left `pending` without a spool file
    /// (messages received before `startedAt`) are spooled, then delivery runs. Nil when mail
    /// is not configured.
    static func start(config: ParleyConfig, store: SQLiteVoicemailStore, logger: Logger, events: EventLog? = nil,
                      startedAt: Date = Date(),
                      onMailboxChanged: @escaping @Sendable (MailboxKey) async -> Void = { _ in }) throws -> ServerMail? {
        guard let mail = config.mail else { return nil }
        let parts = try makeParts(config: config, mail: mail, store: store, logger: logger, onMailboxChanged: onMailboxChanged)
        let service = parts.service
        let pending = PendingEmails(mailer: parts.mailer, store: store, logger: logger) { config.mailSettings(tenant: $0) }
        let task = Task {
            await ServerMail.checkPending(pending, before: startedAt, logger: logger)
            await service.run()
        }
        return ServerMail(service: service, mailer: parts.mailer, config: config, store: store, task: task, logger: logger, events: events)
    }

    /// The start-up check of `pending` emails (`PendingEmails.reconcile`), logged.
    static func checkPending(_ pending: PendingEmails, before cutoff: Date, logger: Logger) async {
        do {
            let report = try await pending.reconcile(receivedBefore: cutoff)
            logger.info("pending voicemail emails checked", metadata: [
                "already_queued": "\(report.alreadyQueued)", "spooled": "\(report.spooled.count)", "failed": "\(report.failed.count)",
                "not_wanted": "\(report.notWanted.count)", "still_pending": "\(report.deferred.count)"])
        } catch {
            logger.error("pending voicemail emails not checked; they are checked again at the next start", metadata: ["error": "\(error)"])
        }
    }

    /// The pieces shared by the server and `parley mail deliver|send`.
    public static func makeParts(config: ParleyConfig, mail: ParleyConfig.Mail, store: SQLiteVoicemailStore?, logger: Logger,
                                 onMailboxChanged: @escaping @Sendable (MailboxKey) async -> Void = { _ in })
        throws -> (service: MailDeliveryService, mailer: VoicemailMailer) {
        let spool = try MailSpool(dataDirectory: config.storage.dataDirectory, logger: logger)
        let client = try SMTPClient(settings: mail.smtpSettings(), logger: logger)
        let observer = store.map { StoreEmailObserver(store: $0, logger: logger, onMailboxChanged: onMailboxChanged) }
        let service = MailDeliveryService(spool: spool, client: client, policy: mail.retryPolicy, observer: observer, logger: logger)
        let mailer = VoicemailMailer(spool: spool, composer: MailComposer(messageIDDomain: String(mail.from.domain)), logger: logger)
        return (service, mailer)
    }

    var pending: PendingEmails {
        let current = self.current
        return PendingEmails(mailer: mailer, store: store, logger: logger) { tenant in current.withLockedValue { $0.mailSettings(tenant: tenant) } }
    }

    /// Whether a new message of `mailbox` gets an email: the mailbox has an address and its
    /// tenant has mail settings. Decided before the row is committed (its state `pending`).
    func wantsEmail(_ mailbox: Mailbox) -> Bool {
        !mailbox.emails.isEmpty && config.mailSettings(tenant: mailbox.key.tenant) != nil
    }

    /// Spools the email for a message just committed `pending` to `mailbox`. Durable on
    /// return: call before the call's resources are released. A spool write that fails (full
    /// disk) keeps the message and its `pending` state, is logged, counted
    /// (`parley_mail_spool_failures_total`) and written to the event log (`mail.spool_failed`),
    /// and is retried every `retry_base` (at most a minute apart) until it succeeds.
    public func messageDeposited(_ message: VoicemailMessage, mailbox: Mailbox) async {
        guard message.emailState == .pending else { return }
        switch await pending.spool(message, mailbox: mailbox) {
        case .spooled, .notWanted:
            return
        case let .refused(reason):
            spoolFailed(message, reason: reason, diskFull: false, retried: false)
        case let .deferred(reason, diskFull):
            let queued = retries.withLockedValue { r -> Bool in
                guard r.count < Self.maximumRetries else { return false }
                r[message.id] = message
                return true
            }
            spoolFailed(message, reason: reason, diskFull: diskFull, retried: queued)
            if queued { startRetries() }
        }
    }

    private func spoolFailed(_ message: VoicemailMessage, reason: String, diskFull: Bool, retried: Bool) {
        spoolFailures.increment()
        logger.error("voicemail email not spooled", metadata: ["mailbox": "\(message.mailbox)", "message": "\(message.id)",
                                                              "error": "\(reason)", "retried": "\(retried)"])
        events?.emit(CallEvent("mail.spool_failed", callID: "", [
            ("tenant", .string(message.mailbox.tenant)), ("mailbox", .string(message.mailbox.number)), ("message", .string(message.id)),
            ("reason", .string(reason)), ("disk_full", .string("\(diskFull)")), ("retried", .string("\(retried)")),
        ]))
    }

    /// Seconds between retries of failed spool writes: the relay's `retry_base`, at most a minute.
    var retryInterval: Double { min(60, max(0.1, config.mail?.retryPolicy.retryBaseSeconds ?? 60)) }

    /// Starts the retry loop unless it runs; it ends when nothing is left to retry.
    private func startRetries() {
        retryTask.withLockedValue { task in
            guard task == nil else { return }
            task = Task { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(Int64(retryInterval * 1000)))
                    guard !Task.isCancelled else { return }
                    let done = await retryFailedSpools()
                    if done {
                        // Stop unless a failure came in since the pass took its list.
                        let stop = retryTask.withLockedValue { t -> Bool in
                            guard retries.withLockedValue({ $0.isEmpty }) else { return false }
                            t = nil
                            return true
                        }
                        if stop { return }
                    }
                }
            }
        }
    }

    /// One pass over the failed spool writes, oldest first; true when none is left. A pass
    /// stops at the first one the disk still has no room for (the others would fail alike).
    func retryFailedSpools() async -> Bool {
        let waiting = retries.withLockedValue { $0.values.sorted { $0.receivedAt < $1.receivedAt } }
        for message in waiting {
            let still: VoicemailMessage
            let mailbox: Mailbox?
            do throws(StoreError) {
                still = try await store.message(message.id, of: message.mailbox)
                mailbox = try await store.mailbox(message.mailbox)
            } catch {
                switch error {
                case .messageNotFound, .mailboxNotFound:
                    retries.withLockedValue { _ = $0.removeValue(forKey: message.id) }
                    continue
                default:
                    return false  // the store is busy or failing: next pass
                }
            }
            guard still.emailState == .pending, let mailbox else {
                retries.withLockedValue { _ = $0.removeValue(forKey: message.id) }
                continue
            }
            switch await pending.spool(still, mailbox: mailbox) {
            case .spooled:
                logger.notice("voicemail email spooled on retry", metadata: ["mailbox": "\(message.mailbox)", "message": "\(message.id)"])
                events?.emit(CallEvent("mail.spooled_on_retry", callID: "", [
                    ("tenant", .string(message.mailbox.tenant)), ("mailbox", .string(message.mailbox.number)), ("message", .string(message.id))]))
                retries.withLockedValue { _ = $0.removeValue(forKey: message.id) }
            case .notWanted, .refused:
                retries.withLockedValue { _ = $0.removeValue(forKey: message.id) }
            case .deferred:
                return false
            }
        }
        return retries.withLockedValue { $0.isEmpty }
    }

    /// A reloaded configuration: tenants' senders and texts apply to the next message; the
    /// relay settings (and turning mail on or off) take effect on restart only.
    func reload(_ loaded: ParleyConfig) {
        let relayChanged = current.withLockedValue { old in
            defer { if loaded.mail != nil { old = loaded } }
            return loaded.mail != old.mail
        }
        if relayChanged { logger.warning("mail: settings changed in the file; they take effect on restart only") }
    }

    public func status() async -> MailQueueStatus { await service.status() }

    /// Makes every queued message due now (the admin API's "retry now").
    public func retryNow() async { await service.retryNow() }

    func stop() async {
        let retrying = retryTask.withLockedValue { t -> Task<Void, Never>? in
            defer { t = nil }
            return t
        }
        retrying?.cancel()
        await retrying?.value
        task.cancel()
        await task.value
    }
}
