import ParleyApps
import ParleyMedia

/// `ConferenceBridge` for one call: its tenant (as configured when the call started), its
/// leg, and how to hang it up.
struct CallConferenceBridge: ConferenceBridge {
    let registry: ConferenceRegistry
    let tenant: ParleyConfig.Tenant
    let leg: MediaLeg
    let callID: String
    let hangup: @Sendable () -> Void

    func settings(room: String) -> ConferenceRoomSettings? { tenant.conferences[room]?.entry }

    func wouldRefuse(room: String) -> ConferenceRefusal? { registry.refusal(tenant: tenant, room: room, callID: callID) }

    func join(room: String, moderator: Bool) -> Result<any ConferenceMembership, ConferenceRefusal> {
        registry.join(tenant: tenant, room: room, moderator: moderator, callID: callID, leg: leg, hangup: hangup)
            .map { CallConferenceMembership(registry: registry, tenant: tenant.name, room: room, id: $0) }
    }
}

/// A call's place in a room, through the registry.
struct CallConferenceMembership: ConferenceMembership {
    let registry: ConferenceRegistry
    let tenant: String
    let room: String
    let id: Int

    var participantCount: Int { registry.count(tenant: tenant, room: room) }
    func toggleMute() -> Bool { registry.toggleMuted(tenant: tenant, room: room, participant: id) }
    func changeVolume(by step: Int) -> Int { registry.changeVolume(tenant: tenant, room: room, participant: id, by: step) }

    func toggleMuteOthers() -> Bool {
        let muted = !registry.othersMuted(tenant: tenant, room: room)
        try? registry.setOthersMuted(tenant: tenant, room: room, muted)
        return muted
    }

    func toggleLock() -> Bool {
        let locked = !registry.locked(tenant: tenant, room: room)
        try? registry.setLocked(tenant: tenant, room: room, locked)
        return locked
    }

    func kickLastJoined() -> Bool {
        guard let last = registry.lastJoined(tenant: tenant, room: room), last != id else { return false }
        return (try? registry.kick(tenant: tenant, room: room, participant: last)) != nil
    }

    func leave() { registry.leave(tenant: tenant, room: room, id: id) }
}
