import Foundation
import Logging
import ParleyStore

/// Told what became of a voicemail's email, after the spool file has left the queue.
/// Must be idempotent: after a crash between the relay's 250 and the end of this call, it
/// is called again for the same message at the next start.
public protocol VoicemailEmailObserver: Sendable {
    /// `toEveryone` is false when some recipients refused it for good (partial success).
    func emailDelivered(_ voicemail: VoicemailReference, toEveryone: Bool) async throws
    func emailFailed(_ voicemail: VoicemailReference) async throws
}

/// The store side: sets the message's email state; after a delivery to every recipient,
/// deletes the message when its mailbox says delete-after-email (`deleteMessage`: row, then
/// audio file). A message already gone is not an error.
public struct StoreEmailObserver: VoicemailEmailObserver {
    let store: SQLiteVoicemailStore
    let logger: Logger
    /// Told after a message was deleted, so message-waiting indicators can be updated.
    let onMailboxChanged: @Sendable (MailboxKey) async -> Void

    public init(store: SQLiteVoicemailStore, logger: Logger = Logger(label: "parley.mail"),
                onMailboxChanged: @escaping @Sendable (MailboxKey) async -> Void = { _ in }) {
        self.store = store
        self.logger = logger
        self.onMailboxChanged = onMailboxChanged
    }

    public func emailDelivered(_ voicemail: VoicemailReference, toEveryone: Bool) async throws {
        guard let key = try? MailboxKey(tenant: voicemail.tenant, number: voicemail.mailbox) else { return }
        do throws(StoreError) {
            try await store.database.setEmailState(.sent, of: voicemail.messageID, in: key)
            guard toEveryone, let mailbox = try await store.mailbox(key), mailbox.options.deleteAfterEmail else { return }
            try await store.deleteMessage(voicemail.messageID, of: key)
            logger.info("voicemail deleted after email", metadata: ["mailbox": "\(key)", "message": "\(voicemail.messageID)"])
            await onMailboxChanged(key)
        } catch {
            switch error {
            case .messageNotFound, .mailboxNotFound, .invalidIdentifier: return
            default: throw error
            }
        }
    }

    public func emailFailed(_ voicemail: VoicemailReference) async throws {
        guard let key = try? MailboxKey(tenant: voicemail.tenant, number: voicemail.mailbox) else { return }
        do throws(StoreError) {
            try await store.database.setEmailState(.failed, of: voicemail.messageID, in: key)
        } catch {
            switch error {
            case .messageNotFound, .mailboxNotFound, .invalidIdentifier: return
            default: throw error
            }
        }
    }
}
