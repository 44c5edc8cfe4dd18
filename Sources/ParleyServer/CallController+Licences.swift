import Foundation

/// Licence checks and usage, read on the SIP loop where the calls live.
extension CallController {
    /// Calls of `tenant` not yet ended: what its concurrent-call licence counts.
    func callsInUse(tenant: String) -> Int {
        calls.values.filter { $0.tenant == tenant && $0.state != .ended }.count
    }

    /// Whether `tenant` may run voicemail in its call flows (deposit and retrieval). The
    /// voicemail flows check this where they start; without it the caller hears not-available.
    func voicemailLicensed(tenant: String) -> Bool {
        config.tenants.first { $0.name == tenant }?.voicemailLicensed ?? false
    }

    /// A number whose app the tenant has no licence for: the caller hears not-available and
    /// goodbye, then the call ends (a menu action says not-available and the menu goes on).
    func startUnlicensed(_ call: Call, licence: String) {
        call.logger.notice("the tenant has no licence for this; the caller hears not-available", metadata: ["licence": "\(licence)"])
        events.emit(CallEvent("licence.refused", callID: call.id, [("tenant", .string(call.tenant)), ("licence", .string(licence))]))
        startFlow(call) { flow, _ in
            try await flow.play(["not-available", "goodbye"])
            flow.hangup()
        }
    }

    /// Every tenant's licences with what is in use now, in configuration order.
    /// `occupancy` holds the participants of each active room, by tenant and room
    /// (`ConferenceRegistry.occupancy()`, read off the SIP loop by the caller).
    func licenceUsage(occupancy: [ConferenceRegistry.RoomKey: Int] = [:]) -> [LicenceUsage] {
        config.tenants.map { t in
            let rooms = t.conferences.keys.sorted().map { room in
                LicenceUsage.Conference.Room(room: room, inUse: occupancy[.init(tenant: t.name, room: room)] ?? 0,
                                             limit: t.conferenceLimit(room))
            }
            return LicenceUsage(tenant: t.name,
                                concurrentCalls: .init(inUse: callsInUse(tenant: t.name), limit: t.concurrentCalls),
                                autoAttendant: t.autoAttendantLicense.rawValue,
                                voicemail: t.voicemailLicensed,
                                conference: .init(tier: t.conferenceLicense.rawValue, seatsPerRoom: t.conferenceLicense.seats, rooms: rooms))
        }
    }
}
