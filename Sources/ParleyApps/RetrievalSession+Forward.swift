import Foundation
import ParleyDSP
import ParleyStore

/// Forwarding (`8` on a message): the target mailbox number (same tenant only, followed by
/// `#`; nothing entered cancels), then `1` to record a spoken introduction first (played before
/// the message, like Asterisk's "prepend") or `2` to send it as it is (`*` cancels). The copy
/// arrives in the target's `new` folder with the original caller's number and urgency.
extension RetrievalSession {
    /// Returns what to say before the message menu.
    func forward(_ message: VoicemailMessage) async throws(CallFlowError) -> [String] {
        var prefix: [String] = []
        for _ in 0..<max(1, settings.loginAttempts) {
            let number = try await flow.playAndCollect(prefix + ["vm-forward-enter-mailbox"], max: MailboxKey.maximumLength + 1,
                                                       timeout: settings.menuTimeout, interDigitTimeout: settings.interDigitTimeout)
            guard !number.isEmpty else { return [] }
            guard let target = try? MailboxKey(tenant: key.tenant, number: number),
                  case let .success(found) = await app.attempt("mailbox lookup", { () async throws(StoreError) in try await app.store.mailbox(target) }),
                  found != nil else {
                prefix = ["vm-no-such-mailbox"]
                continue
            }
            let choice = try await flow.playAndCollect(["vm-forward-options"], max: 1, timeout: settings.menuTimeout,
                                                       interDigitTimeout: settings.interDigitTimeout, terminator: nil)
            switch choice {
            case "1": return try await forwardWithIntroduction(message, to: target)
            case "2": return await send(message, to: target, introduction: false) { () async throws(StoreError) in
                    _ = try await app.store.forward(message.id, of: key, to: target, now: app.now())
                }
            default: return []
            }
        }
        return prefix
    }

    /// Records the introduction, then deposits introduction + message as one new message.
    func forwardWithIntroduction(_ message: VoicemailMessage, to target: MailboxKey) async throws(CallFlowError) -> [String] {
        let path = scratchPath()
        defer { unlink(path) }
        let take = try await recordTake("vm-record-introduction", to: path)
        guard take.ok else { return take.problem }
        guard let original = app.store.audioFile(message.audioPath).flatMap({ try? PCMAudio.read(path: $0) }),
              let intro = try? PCMAudio.read(path: path) else { return ["vm-message-damaged"] }
        // The introduction, a quarter second of silence, then the message, at the message's rate.
        let joined = PCMAudio(sampleRate: original.sampleRate,
                              samples: intro.resampled(to: original.sampleRate).samples
                                  + [Int16](repeating: 0, count: original.sampleRate / 4) + original.samples)
        let envelope = MessageEnvelope(callerNumber: message.callerNumber, callerName: message.callerName,
                                       receivedAt: app.now(), urgent: message.urgent)
        return await send(message, to: target, introduction: true) { () async throws(StoreError) in
            _ = try await app.store.deposit(joined, into: target, envelope: envelope)
        }
    }

    func send(_ message: VoicemailMessage, to target: MailboxKey, introduction: Bool,
              _ body: () async throws(StoreError) -> Void) async -> [String] {
        switch await app.attempt("forward", body) {
        case .success:
            app.observe(.forwarded(messageID: message.id, to: target.number, introduction: introduction))
            await app.mailboxChanged(target)
            return ["vm-message-forwarded"]
        case .failure(.mailboxFull): return ["vm-mailbox-full"]
        case .failure: return ["vm-error"]
        }
    }
}
