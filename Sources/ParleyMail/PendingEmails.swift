import Foundation
import Logging
import ParleyStore

/// Voicemails whose email is `pending`, and the one way they reach the spool.
///
/// A deposit commits its row with email state `pending` in the same transaction as the
/// message itself (when the mailbox has an address and the tenant has mail), so a crash
/// between that commit and the spool write cannot lose the email: `reconcile` at the next
/// start finds the row without a spool file and spools it. The deposit hook and the
/// retries after a failed spool write (full disk) go through `spool(_:mailbox:)` as well.
///
/// Blocking file I/O (the WAV is read, the spool file fsynced): call from a task, never on
/// an event loop or a media thread.
public struct PendingEmails: Sendable {
    public let mailer: VoicemailMailer
    let store: SQLiteVoicemailStore
    /// The tenant's mail settings now (nil: mail is off for it).
    let settings: @Sendable (String) -> TenantMailSettings?
    let logger: Logger

    public init(mailer: VoicemailMailer, store: SQLiteVoicemailStore, logger: Logger = Logger(label: "parley.mail"),
                settings: @escaping @Sendable (String) -> TenantMailSettings?) {
        self.mailer = mailer
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// What became of one message's email.
    public enum Outcome: Sendable, Equatable {
        /// Durably in `new/` under this name; the row stays `pending` until delivery.
        case spooled(String)
        /// Nothing to send (no address any more): the row's state is now `none`.
        case notWanted
        /// It can never be sent (mail off for the tenant, a bad address, the audio to attach
        /// unreadable): the row's state is now `failed`.
        case refused(String)
        /// The spool could not be written (full disk, I/O error): the row stays `pending`
        /// and the email is tried again later; `diskFull` tells the two apart.
        case deferred(reason: String, diskFull: Bool)
    }

    /// Spools the email of a message whose row is `pending`; settles the row's state when
    /// the email cannot or need not be sent.
    public func spool(_ message: VoicemailMessage, mailbox: Mailbox, now: Date = Date()) async -> Outcome {
        guard let settings = settings(message.mailbox.tenant) else {
            return await settle(message, .failed, .refused("mail is not configured for tenant \(message.mailbox.tenant)"))
        }
        do {
            guard let name = try mailer.spool(message, mailbox: mailbox, settings: settings,
                                              audioFile: store.audioFile(message.audioPath), now: now) else {
                return await settle(message, .none, .notWanted)
            }
            return .spooled(name)
        } catch {
            if case let .spool(e) = error { return .deferred(reason: error.description, diskFull: e.isDiskFull) }
            return await settle(message, .failed, .refused(error.description))
        }
    }

    /// What one `reconcile` pass did.
    public struct Report: Sendable, Equatable {
        /// Message ids spooled now (their spool file was missing).
        public var spooled: [String] = []
        /// Pending messages whose email is already in the spool (`new/` or `sent/`).
        public var alreadyQueued = 0
        /// Message ids set `failed`: their email was refused for good before a crash let the
        /// row be updated, or it can never be sent.
        public var failed: [String] = []
        /// Message ids set `none`: their mailbox has no address any more.
        public var notWanted: [String] = []
        /// Message ids still `pending` without a spool file (the spool could not be written).
        public var deferred: [String] = []
        public init() {}
    }

    /// Spools the email of every `pending` message received before `cutoff` that no spool
    /// file refers to. `cutoff` must precede every deposit of this process (the server
    /// passes its start time), so a deposit spooling its own email right now is never taken
    /// for a lost one. The spool is listed before the rows are read: a file delivered
    /// meanwhile has already set its row `sent`.
    public func reconcile(receivedBefore cutoff: Date) async throws(StoreError) -> Report {
        let (queued, refused) = mailer.spool.voicemailReferences()
        var report = Report()
        var mailboxes: [MailboxKey: Mailbox?] = [:]
        try await store.forEachPendingEmail(receivedBefore: cutoff) { page in
            for message in page {
                if queued.contains(message.id) {
                    report.alreadyQueued += 1
                    continue
                }
                if refused.contains(message.id) {
                    _ = await settle(message, .failed, .refused("refused by the relay"))
                    report.failed.append(message.id)
                    continue
                }
                if mailboxes[message.mailbox] == nil { mailboxes[message.mailbox] = .some(try? await store.mailbox(message.mailbox)) }
                guard let found = mailboxes[message.mailbox], let mailbox = found else {
                    report.deferred.append(message.id)
                    continue
                }
                switch await spool(message, mailbox: mailbox) {
                case .spooled:
                    report.spooled.append(message.id)
                    logger.notice("voicemail email spooled at start: its row was pending without a spool file",
                                  metadata: ["mailbox": "\(message.mailbox)", "message": "\(message.id)"])
                case .notWanted: report.notWanted.append(message.id)
                case .refused: report.failed.append(message.id)
                case let .deferred(reason, _):
                    report.deferred.append(message.id)
                    logger.error("voicemail email still not spooled", metadata: ["mailbox": "\(message.mailbox)", "message": "\(message.id)",
                                                                                "error": "\(reason)"])
                }
            }
        }
        return report
    }

    private func settle(_ message: VoicemailMessage, _ state: EmailState, _ outcome: Outcome) async -> Outcome {
        do { try await store.database.setEmailState(state, of: message.id, in: message.mailbox) } catch {
            logger.error("voicemail email state not updated", metadata: ["message": "\(message.id)", "error": "\(error)"])
        }
        if case let .refused(why) = outcome {
            logger.error("voicemail email cannot be sent", metadata: ["mailbox": "\(message.mailbox)", "message": "\(message.id)",
                                                                     "reason": "\(why)"])
        }
        return outcome
    }
}
