import Foundation
import ParleyApps
import ParleySIP
import ParleyStore

/// Voicemail retrieval on a call: a number's `voicemail_main: true` target, a menu's
/// `voicemail_main` action, or `*` during a deposit greeting where the tenant allows it.
extension CallController {
    /// The retrieval app for this call, on the tenant's configuration as it is now; nil when
    /// this server has no voicemail store or the tenant no voicemail licence. `mailbox` is the
    /// mailbox presumed to be the caller's (the From user part unless given).
    func retrievalApp(_ call: Call, mailbox: String? = nil) -> VoicemailRetrieval? {
        guard let voicemail, let tenant = config.tenants.first(where: { $0.name == call.tenant }),
              voicemailLicensed(tenant: tenant.name) else { return nil }
        let from = call.invite["From"].flatMap(NameAddress.init)
        let events = self.events
        let callID = call.id
        return VoicemailRetrieval(
            store: voicemail.store, tenant: tenant.name, mailboxNumber: mailbox ?? from.flatMap { SIPURI($0.uri)?.user },
            settings: VoicemailRetrieval.Settings(timeZone: tenant.attendant.schedule.timeZone),
            now: CallController.wallClock,
            observe: { events.emit(CallController.callEvent($0, callID: callID)) },
            mailboxChanged: { await voicemail.mailboxChanged($0) })
    }

    /// Runs retrieval as the call's flow (a number whose target is `voicemail_main`).
    func startRetrieval(_ call: Call) {
        if !voicemailLicensed(tenant: call.tenant) { return startUnlicensed(call, licence: "voicemail") }
        guard let app = retrievalApp(call) else {
            call.logger.error("voicemail is not available on this server; call ended")
            sendBye(call)
            return end(call, cause: "voicemail-unavailable")
        }
        startFlow(call) { flow, _ in try await app.run(flow) }
    }

    static func callEvent(_ event: RetrievalEvent, callID: String) -> CallEvent {
        switch event {
        case let .loggedIn(mailbox):
            return CallEvent("voicemail.login", callID: callID, [("mailbox", .string(mailbox))])
        case let .loginFailed(mailbox, reason):
            return CallEvent("voicemail.login_failed", callID: callID, [("mailbox", .string(mailbox)), ("reason", .string(reason))])
        case let .locked(mailbox, until):
            return CallEvent("voicemail.locked", callID: callID, [("mailbox", .string(mailbox)),
                                                                  ("until", .string(ISO8601DateFormatter().string(from: until)))])
        case let .played(id):
            return CallEvent("voicemail.message_played", callID: callID, [("message", .string(id))])
        case let .skipped(id, reason):
            return CallEvent("voicemail.message_skipped", callID: callID, [("message", .string(id)), ("reason", .string(reason))])
        case let .moved(id, folder):
            return CallEvent("voicemail.message_moved", callID: callID, [("message", .string(id)), ("folder", .string(folder.rawValue))])
        case let .undeleted(id, folder):
            return CallEvent("voicemail.message_undeleted", callID: callID, [("message", .string(id)), ("folder", .string(folder.rawValue))])
        case let .forwarded(id, to, introduction):
            return CallEvent("voicemail.message_forwarded", callID: callID, [("message", .string(id)), ("to", .string(to)),
                                                                              ("introduction", .string("\(introduction)"))])
        case let .greetingRecorded(kind):
            return CallEvent("voicemail.greeting_recorded", callID: callID, [("kind", .string(kind.rawValue))])
        case let .greetingRemoved(kind):
            return CallEvent("voicemail.greeting_removed", callID: callID, [("kind", .string(kind.rawValue))])
        case .pinChanged:
            return CallEvent("voicemail.pin_changed", callID: callID)
        case let .pinRefused(reason):
            return CallEvent("voicemail.pin_refused", callID: callID, [("reason", .string(reason))])
        case let .purged(count):
            return CallEvent("voicemail.purged", callID: callID, [("count", .int(count))])
        case let .storeFailed(what):
            return CallEvent("voicemail.store_failed", callID: callID, [("error", .string(what))])
        }
    }
}
