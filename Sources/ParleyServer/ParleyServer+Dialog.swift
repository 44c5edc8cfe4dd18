import ParleyApps
import ParleySIP

/// What the applications (voicemail, call flows) ask of the SIP side, from any thread.
extension ParleyServer {
    /// A mailbox changed: NOTIFY its subscribers and its configured `mwi:` target (RFC 3842).
    public func publishMessageSummary(tenant: String, mailbox: String, summary: MessageSummary) {
        controller.publishMessageSummary(tenant: tenant, mailbox: mailbox, summary: summary)
    }

    /// Where SUBSCRIBE answers take a mailbox's counts from (the voicemail store).
    public func setMessageSummaryProvider(_ provider: any MessageSummaryProvider) {
        let controller = self.controller
        controller.loop.execute { controller.messageSummaries = provider }
    }

    /// Blind-transfers the caller of `callID` to `target` (REFER, RFC 3515); see `CallController.transfer`.
    public func transfer(callID: String, to target: String, completion: @escaping @Sendable (TransferResult) -> Void) {
        controller.transfer(callID: callID, to: target, completion: completion)
    }
}
