import Foundation
import Logging
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

    init(service: MailDeliveryService, mailer: VoicemailMailer, config: ParleyConfig, store: SQLiteVoicemailStore,
         task: Task<Void, Never>, logger: Logger) {
        self.service = service; self.mailer = mailer; current = NIOLockedValueBox(config); self.store = store; self.task = task
        self.logger = logger
    }

    /// Builds the spool, the SMTP client and the delivery service for `config.mail` and
    /// starts delivering; nil when mail is not configured.
    static func start(config: ParleyConfig, store: SQLiteVoicemailStore, logger: Logger,
                      onMailboxChanged: @escaping @Sendable (MailboxKey) async -> Void = { _ in }) throws -> ServerMail? {
        guard let mail = config.mail else { return nil }
        let parts = try makeParts(config: config, mail: mail, store: store, logger: logger, onMailboxChanged: onMailboxChanged)
        let service = parts.service
        let task = Task { await service.run() }
        return ServerMail(service: service, mailer: parts.mailer, config: config, store: store, task: task, logger: logger)
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

    /// Spools the email for a message just committed to `mailbox` (nothing when the mailbox
    /// has no address). Durable on return: call before the call's resources are released.
    /// Sets the message's email state to pending (failed when it cannot be spooled).
    public func messageDeposited(_ message: VoicemailMessage, mailbox: Mailbox) async {
        guard let settings = config.mailSettings(tenant: message.mailbox.tenant), !mailbox.emails.isEmpty else { return }
        // Pending first: the delivery service may send the message (and set it sent) as
        // soon as it is spooled.
        try? await store.database.setEmailState(.pending, of: message.id, in: message.mailbox)
        do {
            try mailer.spool(message, mailbox: mailbox, settings: settings, audioFile: store.audioFile(message.audioPath))
        } catch {
            logger.error("voicemail email not spooled", metadata: ["mailbox": "\(message.mailbox)", "message": "\(message.id)",
                                                                  "error": "\(error)"])
            try? await store.database.setEmailState(.failed, of: message.id, in: message.mailbox)
        }
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
        task.cancel()
        await task.value
    }
}
