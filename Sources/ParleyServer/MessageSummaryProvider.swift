import ParleySIP

/// Where the server gets a mailbox's current message counts, for the NOTIFY that answers a
/// SUBSCRIBE. The voicemail store will provide it; until then `EmptyMailboxes` says every
/// mailbox is empty. Called on the SIP event loop: it must not block.
public protocol MessageSummaryProvider: Sendable {
    func summary(tenant: String, mailbox: String) -> MessageSummary
}

/// Every mailbox empty: zero counts, no messages waiting.
public struct EmptyMailboxes: MessageSummaryProvider {
    public init() {}
    public func summary(tenant: String, mailbox: String) -> MessageSummary { MessageSummary() }
}
