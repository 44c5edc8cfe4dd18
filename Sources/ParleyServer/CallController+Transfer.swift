import ParleyApps
import NIOCore
import ParleySIP

/// Blind transfer of the caller (RFC 3515): REFER in the call's dialog, then the NOTIFYs of
/// its implicit subscription (`Event: refer`, `message/sipfrag` bodies) until a final status.
/// `ReferProgress` decides; this file sends, answers and reports.
///
/// Runs on the SIP event loop.
extension CallController {
    /// A transfer waiting for its outcome; at most one per call.
    final class PendingTransfer {
        let target: String
        var progress: ReferProgress
        let completion: @Sendable (TransferResult) -> Void
        var timer: Scheduled<Void>?

        init(target: String, progress: ReferProgress, completion: @escaping @Sendable (TransferResult) -> Void) {
            self.target = target; self.progress = progress; self.completion = completion
        }
    }

    /// Asks the caller of `callID` to call `target` (a SIP URI) instead of us. `completion` runs
    /// once, on the SIP loop: `.succeeded` after the transferee reports a 2xx from the target
    /// (we then send BYE), `.failed` when the REFER is refused, the target refuses, or no final
    /// NOTIFY comes within `config.sip.transferTimeoutMilliseconds`; the call then stays up.
    ///
    /// Events: `call.transfer` (target), then `call.transferred` or `call.transfer_failed` (status).
    /// Safe from any thread (hops to the SIP loop).
    func transfer(callID: String, to target: String, completion: @escaping @Sendable (TransferResult) -> Void) {
        guard loop.inEventLoop else {
            return loop.execute { self.transfer(callID: callID, to: target, completion: completion) }
        }
        guard let call = calls[callID: callID], call.state == .confirmed else {
            return completion(.failed(status: nil, reason: "no confirmed call \(callID)"))
        }
        guard call.transfer == nil else { return completion(.failed(status: nil, reason: "a transfer is already in progress")) }
        let bare = target.hasPrefix("<") && target.hasSuffix(">") ? String(target.dropFirst().dropLast()) : target
        guard let uri = SIPURI(bare), ["sip", "sips"].contains(uri.scheme.lowercased()) else {
            return completion(.failed(status: nil, reason: "transfer target '\(target)' is not a SIP URI"))
        }
        guard let (request, destination) = dialogRequest(call, method: "REFER") else {
            return completion(.failed(status: nil, reason: "the call has no dialog to send REFER in"))
        }
        var refer = request
        refer.append("Contact", localContact(call))
        refer.append("Refer-To", "<\(bare)>")
        refer.append("Referred-By", localContact(call))
        refer.append("Event", "refer")
        refer.append("Allow", SIPResponses.allow)

        let pending = PendingTransfer(target: bare, progress: ReferProgress(now: nowMilliseconds, timeout: config.sip.transferTimeoutMilliseconds),
                                      completion: completion)
        call.transfer = pending
        events.emit(CallEvent("call.transfer", callID: call.id, [("target", .string(bare))]))
        call.logger.info("transferring", metadata: ["target": "\(bare)"])
        pending.timer = loop.scheduleTask(in: .milliseconds(config.sip.transferTimeoutMilliseconds)) { [weak self] in
            guard let self else { return }
            if let result = pending.progress.tick(now: self.nowMilliseconds) { self.finishTransfer(call, pending, result) }
        }
        startClientTransaction(refer, to: destination) { [weak self] event in
            guard let self, let status = event.finalStatus else { return }
            if let result = pending.progress.referAnswered(status: status) { self.finishTransfer(call, pending, result) }
        }
    }

    /// NOTIFY: matched to the call's dialog first (481, 500, 403: `callInDialog`); one for its
    /// REFER (`Event: refer`) is answered 200 and its sipfrag fed to the transfer. Any other
    /// NOTIFY matches no subscription of ours: 481 (RFC 6665 §4.1.3).
    func handleNotify(_ notify: SIPMessage, from source: SIPPeer) {
        let event = notify["Event"].map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
        guard let call = callInDialog(notify, from: source) else { return }
        guard event == "refer" else {
            return send(SIPResponses.response(to: notify, status: 481, reason: "Subscription Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        handleReferNotify(notify, call: call, from: source)
    }

    private func handleReferNotify(_ notify: SIPMessage, call: Call, from source: SIPPeer) {
        guard let pending = call.transfer else {
            // A late NOTIFY after the outcome (or after the call ended): acknowledged, nothing more.
            return send(SIPResponses.response(to: notify, status: 200, reason: "OK", toTag: call.localTag), source)
        }
        send(SIPResponses.response(to: notify, status: 200, reason: "OK", toTag: call.localTag), source)
        let type = (notify["Content-Type"] ?? "").lowercased()
        let fragment = type.hasPrefix("message/sipfrag") ? SIPFrag(notify.bodyText) : nil
        let subscription = notify["Subscription-State"].flatMap(SubscriptionState.init)
        if let fragment { call.logger.debug("transfer progress", metadata: ["sipfrag": "\(fragment.status)"]) }
        if let result = pending.progress.notified(fragment, subscription: subscription) { finishTransfer(call, pending, result) }
    }


    /// The call ended while a transfer was pending (the caller hung up, or we did).
    func abandonTransfer(_ call: Call) {
        guard let pending = call.transfer else { return }
        finishTransfer(call, pending, .failed(status: nil, reason: "the call ended before the transfer completed"))
    }

    private func finishTransfer(_ call: Call, _ pending: PendingTransfer, _ result: ReferProgress.Result) {
        guard call.transfer === pending else { return }
        call.transfer = nil
        pending.timer?.cancel()
        let outcome: TransferResult
        switch result {
        case let .succeeded(status):
            outcome = .succeeded(status: status)
            events.emit(CallEvent("call.transferred", callID: call.id, [("target", .string(pending.target)), ("status", .int(status))]))
        case let .failed(status, reason):
            outcome = .failed(status: status, reason: reason)
            call.logger.notice("transfer failed", metadata: ["target": "\(pending.target)", "why": "\(reason)"])
            events.emit(CallEvent("call.transfer_failed", callID: call.id, [("target", .string(pending.target))]
                + (status.map { [("status", .int($0))] } ?? []) + [("reason", .string(reason))]))
        }
        pending.completion(outcome)
        if case .succeeded = outcome, call.state == .confirmed {
            // RFC 5589 §6.1: the transferor ends its dialog with the transferee once the transfer succeeded.
            sendBye(call)
            end(call, cause: "transferred")
        }
    }
}
