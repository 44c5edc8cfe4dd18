import Foundation
import ParleyMail
import ParleyStore

extension ParleyServer {
    /// Starts voicemail to email when `mail:` is configured, over the server's voicemail
    /// store, and connects it to the deposit hook: each committed message is spooled before
    /// the deposit flow goes on (the hook is awaited), so the email is durable before the
    /// call's resources are released. A message deleted after its email updates message waiting.
    func startMail() throws -> ServerMail? {
        let voicemail = self.voicemail
        guard let mail = try ServerMail.start(config: config, store: voicemail.sqlite, logger: logger,
                                              onMailboxChanged: { key in await voicemail.mailboxChanged(key) }) else { return nil }
        voicemail.onMessageDeposited { message, mailbox in
            await mail.messageDeposited(message, mailbox: mailbox)
        }
        return mail
    }
}
