import Foundation
import ParleyStore

extension VoicemailRetrieval {
    /// Mailbox number (unless the caller's own number is a mailbox) and PIN, at most
    /// `loginAttempts` times. An unknown mailbox is asked its PIN like a known one and refused
    /// with the same words, so numbers cannot be probed. A locked mailbox hears `vm-locked`.
    /// Returns nil when the call is over (the flow has said goodbye and hung up).
    func login(_ flow: CallFlow) async throws(CallFlowError) -> Mailbox? {
        var own: Mailbox?
        if let mailboxNumber, let key = try? MailboxKey(tenant: tenant, number: mailboxNumber),
           case let .success(found) = await attempt("mailbox lookup", { () async throws(StoreError) in try await store.mailbox(key) }) {
            own = found
        }
        var prefix: [String] = []
        for _ in 0..<max(1, settings.loginAttempts) {
            var mailbox = own
            var number = own?.key.number ?? ""
            if own == nil {
                // One key more than the longest number, so the `#` ends the entry and is not left over.
                number = try await flow.playAndCollect(prefix + ["vm-enter-mailbox"], max: MailboxKey.maximumLength + 1,
                                                       timeout: settings.menuTimeout, interDigitTimeout: settings.interDigitTimeout)
                prefix = []
                guard !number.isEmpty else {
                    observe(.loginFailed(mailbox: "", reason: "no mailbox entered"))
                    continue
                }
                if let key = try? MailboxKey(tenant: tenant, number: number) {
                    switch await attempt("mailbox lookup", { () async throws(StoreError) in try await store.mailbox(key) }) {
                    case let .success(found): mailbox = found
                    case .failure: return try await unavailable(flow)
                    }
                }
            }
            let pin = try await flow.playAndCollect(prefix + ["enter-pin"], max: PINPolicy.lengthRange.upperBound + 1,
                                                    timeout: settings.menuTimeout, interDigitTimeout: settings.interDigitTimeout)
            prefix = ["vm-invalid-pin"]
            guard let mailbox else {
                observe(.loginFailed(mailbox: number, reason: "no such mailbox"))
                continue
            }
            guard !pin.isEmpty else {
                observe(.loginFailed(mailbox: number, reason: "no PIN entered"))
                continue
            }
            let checked = await attempt("PIN check") { () async throws(StoreError) in try await store.verifyPIN(pin, for: mailbox.key, now: now()) }
            switch checked {
            case .success(.ok):
                observe(.loggedIn(mailbox: number))
                return mailbox
            case .success(.wrong):
                observe(.loginFailed(mailbox: number, reason: "wrong PIN"))
            case let .success(.locked(until)):
                observe(.locked(mailbox: number, until: until))
                try await flow.play(["vm-locked", "goodbye"])
                flow.hangup()
                return nil
            case .failure:
                return try await unavailable(flow)
            }
        }
        try await flow.play(prefix + ["goodbye"])
        flow.hangup()
        return nil
    }

    /// The store cannot answer: say so and end the call.
    func unavailable(_ flow: CallFlow) async throws(CallFlowError) -> Mailbox? {
        try await flow.play(["vm-error", "goodbye"])
        flow.hangup()
        return nil
    }
}
