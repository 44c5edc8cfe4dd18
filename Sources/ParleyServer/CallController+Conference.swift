import ParleyApps
import ParleyMedia

extension CallController {
    /// The conference entry flow for this call (number `conference: ROOM`, menu action
    /// `{ conference: ROOM }`); nil when the call has no leg or its tenant no rooms.
    func conferenceRunner(_ call: Call) -> (@Sendable (String, CallFlow) async throws(CallFlowError) -> Void)? {
        guard let leg = call.leg, let tenant = config.tenants.first(where: { $0.name == call.tenant }), !tenant.conferences.isEmpty else {
            return nil
        }
        let loop = self.loop
        let callID = call.id
        let events = self.events
        let bridge = CallConferenceBridge(registry: conferences, tenant: tenant, leg: leg, callID: callID,
                                          hangup: { [weak self] in loop.execute { self?.hangUpFromApp(callID: callID) } })
        let gate = RoomPINGate(registry: conferences, tenant: tenant, callID: callID)
        return { room, flow throws(CallFlowError) in
            let entry = ConferenceEntry(room: room, bridge: bridge, pinGate: gate) { event in
                switch event {
                case let .pinRejected(room, attempt):
                    events.emit(CallEvent("conference.pin_rejected", callID: callID, [("room", .string(room)), ("attempt", .int(attempt))]))
                case let .pinTooSoon(room, attempt):
                    events.emit(CallEvent("conference.pin_rejected", callID: callID, [("room", .string(room)), ("attempt", .int(attempt)),
                                                                                      ("reason", .string("backing off"))]))
                case let .pinLockedOut(room):
                    events.emit(CallEvent("conference.refused", callID: callID, [("room", .string(room)), ("reason", .string("pin locked out"))]))
                case let .key(room, key, action):
                    events.emit(CallEvent("conference.key", callID: callID, [("room", .string(room)), ("key", .string(String(key))),
                                                                             ("action", .string(action))]))
                case let .refused(room, refusal):
                    events.emit(CallEvent("conference.refused", callID: callID, [("room", .string(room)), ("reason", .string("\(refusal)"))]))
                case .joined:
                    break // the registry reports it, with the participant's id
                }
            }
            try await entry.run(flow)
        }
    }

    /// The attendant's hand-off with `{ conference: ROOM }` menu actions added to `handoff`'s.
    func withConference(_ handoff: AttendantHandoff?, call: Call) -> AttendantHandoff? {
        guard let conference = conferenceRunner(call) else { return handoff }
        return { action, flow throws(CallFlowError) in
            if case let .conference(room) = action {
                try await conference(room, flow)
                return true
            }
            return try await handoff?(action, flow) ?? false
        }
    }

    /// Runs the conference entry flow on a confirmed call to a `conference:` number.
    func startConference(_ call: Call, room: String) {
        let runner = conferenceRunner(call)
        startFlow(call) { flow, _ in
            guard let runner else {
                try await flow.play(["not-available"])
                return flow.hangup()
            }
            try await runner(room, flow)
        }
    }
}

/// A call's `ConferencePINGate`: its tenant's rooms in the registry.
struct RoomPINGate: ConferencePINGate {
    let registry: ConferenceRegistry
    let tenant: ParleyConfig.Tenant
    let callID: String

    func guess(room: String, correct: Bool) -> ConferencePINVerdict {
        registry.guess(tenant: tenant, room: room, correct: correct, callID: callID)
    }
}
