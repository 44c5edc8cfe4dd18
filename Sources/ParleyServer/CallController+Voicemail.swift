import Foundation
import ParleyApps
import ParleySIP

/// The voicemail deposit on a call: from a number's `voicemail:` target or a menu's
/// `voicemail:` action. The caller's number and name come from From; the greeting follows the
/// diversion cause (`CallDiversion`).
extension CallController {
    /// What a deposit on this call needs, taken on the SIP loop when the call starts.
    struct DepositContext: Sendable {
        let backend: StoreDepositBackend
        let settings: DepositSettings
        let diversion: DiversionReason?
        let callerNumber: String
        let callerName: String
        /// Where `*` during the greeting leads when the tenant allows it (retrieval, PIN asked).
        let retrieval: VoicemailRetrieval?
    }

    func depositContext(_ call: Call) -> DepositContext? {
        guard let voicemail, let tenant = config.tenants.first(where: { $0.name == call.tenant }),
              voicemailLicensed(tenant: tenant.name) else { return nil }
        let from = call.invite["From"].flatMap(NameAddress.init)
        let diversion: DiversionReason? = switch CallDiversion.cause(of: call.invite) {
        case .busy: .busy
        case .noAnswer, .unavailable: .unavailable
        case .other, nil: nil
        }
        let v = tenant.voicemail
        let settings = DepositSettings(loginFromGreeting: v.loginFromGreeting, minimumMessage: .milliseconds(v.minimumMessageMilliseconds),
                                       silenceTimeout: .milliseconds(v.silenceTimeoutMilliseconds))
        return DepositContext(backend: StoreDepositBackend(service: voicemail, tenant: tenant.name), settings: settings, diversion: diversion,
                              callerNumber: from.flatMap { SIPURI($0.uri)?.user } ?? "", callerName: from?.displayName ?? "",
                              retrieval: retrievalApp(call))
    }

    /// Runs the deposit as the call's flow (a number whose target is `voicemail:`).
    func startDeposit(_ call: Call, mailbox: String) {
        if !voicemailLicensed(tenant: call.tenant) { return startUnlicensed(call, licence: "voicemail") }
        guard let context = depositContext(call) else {
            call.logger.error("voicemail is not available on this server; call ended", metadata: ["mailbox": "\(mailbox)"])
            sendBye(call)
            return end(call, cause: "voicemail-unavailable")
        }
        let events = self.events
        let callID = call.id
        startFlow(call) { flow, _ in
            _ = try await CallController.runDeposit(context, mailbox: mailbox, flow: flow, events: events, callID: callID)
        }
    }

    /// What a menu hands a call to: the deposit for `voicemail: MBOX`; other apps are not
    /// available here (the attendant says so).
    func appHandoff(_ call: Call) -> AttendantHandoff? {
        guard let context = depositContext(call) else { return nil }
        let events = self.events
        let callID = call.id
        let retrieval = retrievalApp(call)
        return { action, flow throws(CallFlowError) in
            switch action {
            case let .voicemail(mailbox):
                _ = try await CallController.runDeposit(context, mailbox: mailbox, flow: flow, events: events, callID: callID)
                return true
            case .voicemailMain:
                guard let retrieval else { return false }
                try await retrieval.run(flow)
                return true
            default:
                return false
            }
        }
    }

    static func runDeposit(_ c: DepositContext, mailbox: String, flow: CallFlow, events: EventLog, callID: String) async throws(CallFlowError) -> DepositOutcome {
        events.emit(CallEvent("voicemail.deposit_started", callID: callID, [("mailbox", .string(mailbox)),
                                                                           ("diversion", .string(c.diversion?.rawValue ?? ""))]))
        let deposit = VoicemailDeposit(mailbox: mailbox, diversion: c.diversion, callerNumber: c.callerNumber, callerName: c.callerName,
                                       settings: c.settings, backend: c.backend)
        let outcome = try await deposit.run(flow)
        var fields: [(String, EventValue)] = [("mailbox", .string(mailbox))]
        switch outcome {
        case let .sent(ms, urgent): fields += [("outcome", "sent"), ("duration_ms", .int(ms)), ("urgent", .string("\(urgent)"))]
        case .nothingRecorded: fields += [("outcome", "nothing_recorded")]
        case .mailboxFull: fields += [("outcome", "mailbox_full")]
        case let .unavailable(why): fields += [("outcome", "unavailable"), ("reason", .string(why))]
        case let .failed(why): fields += [("outcome", "failed"), ("reason", .string(why))]
        case .loginRequested:
            fields += [("outcome", "login_requested")]
        }
        events.emit(CallEvent("voicemail.deposit", callID: callID, fields))
        if case .loginRequested = outcome {
            // `*` during the greeting (voicemail.login_from_greeting): retrieval of that mailbox; the PIN is asked.
            if let retrieval = c.retrieval?.loggingInto(mailbox) {
                try await retrieval.run(flow)
            } else {
                try await flow.play(["not-available", "goodbye"])
                flow.hangup()
            }
        }
        return outcome
    }
}
