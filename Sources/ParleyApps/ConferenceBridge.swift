/// A room as its callers see it (taken from the configuration when the call starts).
public struct ConferenceRoomSettings: Sendable, Equatable {
    /// Callers' PIN; nil: no PIN (callers are asked only when a moderator PIN exists).
    public var pin: String?
    public var moderatorPIN: String?
    /// Say how many are in the room on entry.
    public var announceCount: Bool
    public init(pin: String?, moderatorPIN: String?, announceCount: Bool) {
        self.pin = pin; self.moderatorPIN = moderatorPIN; self.announceCount = announceCount
    }
}

/// Why a caller could not join.
public enum ConferenceRefusal: Error, Sendable, Equatable {
    /// The room holds as many as its setting and the tenant's licence allow.
    case full
    /// The moderator locked the room.
    case locked
    case noSuchRoom
}

/// What the conference entry flow needs from the server: one per call (it knows the call's
/// tenant and media leg). `ParleyServer`'s `ConferenceRegistry` implements it.
public protocol ConferenceBridge: Sendable {
    func settings(room: String) -> ConferenceRoomSettings?
    /// A refusal the caller would get now (checked before asking for the PIN, again at `join`).
    func wouldRefuse(room: String) -> ConferenceRefusal?
    /// Joins the call's leg to the room; the membership, or why not.
    func join(room: String, moderator: Bool) -> Result<any ConferenceMembership, ConferenceRefusal>
}

/// A call's place in a room: what its keys can do. Thread-safe.
public protocol ConferenceMembership: Sendable {
    /// Participants in the room, this caller included.
    var participantCount: Int { get }
    /// Toggles this caller's mute; the new state.
    func toggleMute() -> Bool
    /// Listening volume one step up (+1) or down (−1); the new level (−4...4).
    func changeVolume(by step: Int) -> Int
    /// Moderator: mutes (or unmutes) everyone else; the new state.
    func toggleMuteOthers() -> Bool
    /// Moderator: locks or unlocks the room; the new state.
    func toggleLock() -> Bool
    /// Moderator: ends the call of the participant who joined last (not the moderator); false when nobody.
    func kickLastJoined() -> Bool
    /// Leaves the room (idempotent; hang-up does it too).
    func leave()
}
