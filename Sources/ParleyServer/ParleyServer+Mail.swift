import Foundation
import ParleyMail
import ParleyStore

extension ParleyServer {
    /// Starts voicemail to email when `mail:` is configured, over the server's voicemail
    /// store, and connects it to the deposit: the mail side decides which new messages get an
    /// email (their row is committed `pending`), and each committed message is spooled before
    /// the deposit flow goes on (the hook is awaited), so the email is durable before the
    /// call's resources are released. Emails a crash left `pending` without a spool file are
    /// spooled before delivery starts. A message deleted after its email updates message waiting.
    func startMail() throws -> ServerMail? {
        let voicemail = self.voicemail
        guard let mail = try ServerMail.start(config: config, store: voicemail.sqlite, logger: logger, events: events,
                                              startedAt: voicemail.startedAt,
                                              onMailboxChanged: { key in await voicemail.mailboxChanged(key) }) else { return nil }
        voicemail.setEmailPolicy { mailbox in mail.wantsEmail(mailbox) }
        voicemail.onMessageDeposited { message, mailbox in
            await mail.messageDeposited(message, mailbox: mailbox)
        }
        return mail
    }
}
