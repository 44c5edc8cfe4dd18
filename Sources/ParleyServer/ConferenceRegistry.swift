import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import ParleyApps
import ParleyDSP
import ParleyMedia

/// Every conference room of every tenant: created on the first join, closed when the last
/// participant leaves. The control side of the rooms — the entry flows join and leave through
/// it, and the admin API lists, mutes, kicks and locks through it (any thread; one lock,
/// held only for bookkeeping: the media work is queued to the room's thread).
public final class ConferenceRegistry: @unchecked Sendable {
    /// One participant as the control API shows it.
    public struct ParticipantInfo: Sendable, Equatable {
        public var id: Int
        public var callID: String
        public var moderator: Bool
        public var muted: Bool
        public var talking: Bool
        public var joinedAt: Date
    }

    /// One room as the control API shows it.
    public struct RoomInfo: Sendable, Equatable {
        public var tenant: String
        public var room: String
        public var locked: Bool
        public var limit: Int
        public var mixingRate: Int
        public var recording: String?
        public var participants: [ParticipantInfo]
    }

    /// One participant's receive quality (from its leg, read on the leg's thread).
    public struct LegQuality: Sendable, Equatable {
        public var id: Int
        public var callID: String
        /// Loss, interarrival jitter and jitter-buffer delay of the participant's stream.
        public var receive: ReceiveQuality
        /// Frames lost between the leg and the room's thread (both directions).
        public var portFramesMissing: Int
    }

    public enum ControlError: Error, Equatable, CustomStringConvertible {
        case noSuchRoom(tenant: String, room: String)
        case noSuchParticipant(Int)
        public var description: String {
            switch self {
            case let .noSuchRoom(t, r): return "no active room '\(r)' for tenant '\(t)'"
            case let .noSuchParticipant(id): return "no participant \(id) in that room"
            }
        }
    }

    final class Member {
        let id: Int
        let callID: String
        let leg: MediaLeg
        let port: ConferencePort
        let moderator: Bool
        var muted = false
        var volume = 0
        let joinedAt = Date()
        let hangup: @Sendable () -> Void
        init(id: Int, callID: String, leg: MediaLeg, port: ConferencePort, moderator: Bool, hangup: @escaping @Sendable () -> Void) {
            self.id = id; self.callID = callID; self.leg = leg; self.port = port; self.moderator = moderator; self.hangup = hangup
        }
    }

    final class Room {
        let tenant: String
        let name: String
        let media: ConferenceRoom
        let settings: ParleyConfig.ConferenceSettings
        let limit: Int
        var members: [Member] = []
        var locked = false
        var othersMuted = false
        var recording: String?
        init(tenant: String, name: String, media: ConferenceRoom, settings: ParleyConfig.ConferenceSettings, limit: Int) {
            self.tenant = tenant; self.name = name; self.media = media; self.settings = settings; self.limit = limit
        }
    }

    /// Prompt audio for a tenant (chimes, hold music) at a rate; nil when missing.
    public typealias Audio = @Sendable (_ tenant: String, _ name: String, _ rate: Int) -> PCMAudio?
    private let lock = NIOLock()
    private var rooms: [String: Room] = [:]
    private var nextID = 1
    private var refusedFull = 0
    private let fullCounter = Counter(label: "parley_conference_refused_total", dimensions: [("reason", "full")])
    private let joinCounter = Counter(label: "parley_conference_joins_total")
    private let roomsGauge = Gauge(label: "parley_conference_rooms")
    private let participantsGauge = Gauge(label: "parley_conference_participants")
    private let pinLockoutCounter = Counter(label: "parley_conference_pin_lockouts_total")
    /// Wrong PINs per room (`tenant/room`) across calls; guarded by `lock`.
    private var pinGuesses = GuessThrottle<String>(capacity: ConferenceRegistry.maxTrackedPINRooms)
    /// Rooms whose wrong PINs are remembered at once (a room is only a key once it had one).
    static let maxTrackedPINRooms = 10_000
    /// Milliseconds on a monotonic clock; tests pass their own.
    private let clock: @Sendable () -> Int64
    private let audio: Audio
    private let dataDirectory: String
    private let logger: Logger
    private let emit: @Sendable (CallEvent) -> Void
    /// Where talker events leave the rooms' media threads (serial: one room's events stay in order).
    private let talkerQueue = DispatchQueue(label: "parley.conference.talkers")

    public init(dataDirectory: String, logger: Logger, audio: @escaping Audio, emit: @escaping @Sendable (CallEvent) -> Void = { _ in },
                clock: @escaping @Sendable () -> Int64 = { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }) {
        self.dataDirectory = dataDirectory; self.logger = logger; self.audio = audio; self.emit = emit; self.clock = clock
    }

    /// Callers refused because their room was full, since start.
    public var refusedBecauseFull: Int { lock.withLock { refusedFull } }

    static func key(_ tenant: String, _ room: String) -> String { "\(tenant)/\(room)" }

    // MARK: PIN guesses (entry flows)

    /// Decides one PIN guess for `tenant`'s `room` (`ConferencePINGate`): under the lock, the
    /// room's back-off and lockout are checked, then a wrong guess is counted, so parallel
    /// callers share one count and none slips a guess in during the wait. A right guess does
    /// not forget the room's wrong ones: otherwise a guesser could start afresh each time a
    /// participant joins. The guess that locks the room emits `conference.pin_locked` and a log line.
    func guess(tenant: ParleyConfig.Tenant, room: String, correct: Bool, callID: String) -> ConferencePINVerdict {
        guard let settings = tenant.conferences[room] else { return .lockedOut }
        let key = ConferenceRegistry.key(tenant.name, room)
        let now = clock()
        let policy = settings.pinGuessing.policy
        let (verdict, locked): (ConferencePINVerdict, (failures: Int, until: Int64)?) = lock.withLock {
            switch pinGuesses.verdict(key, now: now) {
            case .locked: return (.lockedOut, nil)
            case let .backOff(until): return (.tooSoon(retryAfter: .milliseconds(until - now)), nil)
            case .allowed: break
            }
            if correct { return (.accepted, nil) }
            switch pinGuesses.recordFailure(key, now: now, policy: policy) {
            case let .counted(_, retryAt): return (.rejected(retryAfter: .milliseconds(retryAt - now)), nil)
            case let .lockedOut(failures, until): return (.lockedOut, (failures, until))
            }
        }
        if let locked {
            let seconds = Int((locked.until - now + 999) / 1000)
            pinLockoutCounter.increment()
            logger.warning("conference PIN entry locked after wrong PINs",
                           metadata: ["room": "\(key)", "failures": "\(locked.failures)", "seconds": "\(seconds)", "call-id": "\(callID)"])
            emit(CallEvent("conference.pin_locked", callID: callID, [("room", .string(room)), ("failures", .int(locked.failures)),
                                                                     ("seconds", .int(seconds))]))
        }
        return verdict
    }

    // MARK: Joining and leaving (entry flows)

    /// Why `tenant`'s caller could not join `room` now, if they could not (a full room is
    /// logged and counted here and in `join`; the flow reports the refusal to the event log).
    func refusal(tenant: ParleyConfig.Tenant, room: String, callID: String) -> ConferenceRefusal? {
        guard tenant.conferences[room] != nil else { return .noSuchRoom }
        let key = ConferenceRegistry.key(tenant.name, room)
        let refusal: ConferenceRefusal? = lock.withLock {
            guard let r = rooms[key] else { return nil }
            if r.locked { return .locked }
            guard r.members.count >= r.limit else { return nil }
            refusedFull += 1
            return .full
        }
        if refusal == .full { logFull(key, limit: tenant.conferenceLimit(room), callID: callID) }
        return refusal
    }

    private func logFull(_ key: String, limit: Int, callID: String) {
        fullCounter.increment()
        logger.notice("conference full: caller refused", metadata: ["room": "\(key)", "limit": "\(limit)", "call-id": "\(callID)"])
    }

    /// Joins `leg` to the room (created if it is the first); the member's id, or why not.
    func join(tenant: ParleyConfig.Tenant, room name: String, moderator: Bool, callID: String, leg: MediaLeg,
              hangup: @escaping @Sendable () -> Void) -> Result<Int, ConferenceRefusal> {
        guard let settings = tenant.conferences[name] else { return .failure(.noSuchRoom) }
        let key = ConferenceRegistry.key(tenant.name, name)
        let limit = tenant.conferenceLimit(name)
        let audio = self.audio
        let tenantName = tenant.name
        let outcome: Result<(Int, Int, Bool), ConferenceRefusal> = lock.withLock {
            let room: Room
            var created = false
            if let r = rooms[key] {
                room = r
            } else {
                let music = audio(tenantName, "music-on-hold", 8000)
                room = Room(tenant: tenantName, name: name,
                            media: ConferenceRoom(name: key, capacity: limit, loudest: settings.loudest, holdMusic: music,
                                                  onTalking: { [weak self] id, talking in self?.talkerChanged(key: key, room: name, id: id, talking) }),
                            settings: settings, limit: limit)
                created = true
            }
            if room.locked { return .failure(.locked) }
            guard room.members.count < room.limit else {
                refusedFull += 1
                return .failure(.full)
            }
            if created {
                guard room.media.start(on: leg) else { return .failure(.noSuchRoom) }
                rooms[key] = room
            }
            let id = nextID
            nextID += 1
            let port = ConferencePort(sendRate: leg.sendRate)
            let member = Member(id: id, callID: callID, leg: leg, port: port, moderator: moderator, hangup: hangup)
            room.members.append(member)
            room.media.enqueue(.join(id: id, port: port, rate: leg.sendRate))
            if room.othersMuted, !moderator {
                member.muted = true
                room.media.enqueue(.mute(id: id, true))
            }
            leg.attachConference(port)
            if room.members.count > 1, let chime = audio(tenantName, "conf-join", 8000) { room.media.enqueue(.tone(chime)) }
            if created, settings.record { startRecording(room) }
            return .success((id, room.members.count, created))
        }
        switch outcome {
        case let .failure(refusal):
            if refusal == .full { logFull(key, limit: limit, callID: callID) }
            return .failure(refusal)
        case let .success((id, count, _)):
            joinCounter.increment()
            recordSizes()
            emit(CallEvent("conference.joined", callID: callID, [("room", .string(name)), ("participant", .int(id)),
                                                                 ("moderator", .string(moderator ? "yes" : "no")), ("count", .int(count))]))
            return .success(id)
        }
    }

    /// From a room's media thread: a participant started or stopped talking. The event is
    /// emitted on `talkerQueue` (the event log writes a file), in the order the room saw them.
    private func talkerChanged(key: String, room: String, id: Int, _ talking: Bool) {
        talkerQueue.async { [self] in
            let callID: String? = lock.withLock { rooms[key]?.members.first { $0.id == id }?.callID }
            guard let callID else { return } // left in the meantime
            emit(CallEvent("conference.talking", callID: callID, [("room", .string(room)), ("participant", .int(id)),
                                                                   ("talking", .string(talking ? "true" : "false"))]))
        }
    }

    private func startRecording(_ room: Room) {
        let folder = "\(dataDirectory)/conferences/\(room.tenant)"
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let path = "\(folder)/\(room.name)-\(stamp).wav"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let logger = self.logger
            let recorder = try Recorder(path: path, silenceMilliseconds: nil, onSilence: {},
                                        onFailure: { logger.error("conference recording stopped", metadata: ["path": "\(path)", "why": "\($0)"]) })
            room.recording = path
            room.media.enqueue(.recordMix(recorder))
        } catch {
            logger.error("cannot record conference", metadata: ["path": "\(path)", "why": "\(error)"])
        }
    }

    /// The member leaves (hang-up, kick, end of the flow). Idempotent.
    func leave(tenant: String, room name: String, id: Int) {
        let key = ConferenceRegistry.key(tenant, name)
        let (toHangUp, left): ([@Sendable () -> Void], Member?) = lock.withLock {
            guard let room = rooms[key], let index = room.members.firstIndex(where: { $0.id == id }) else { return ([], nil) }
            let member = room.members.remove(at: index)
            member.leg.detachConference()
            room.media.enqueue(.leave(id: id))
            var hangups: [@Sendable () -> Void] = []
            if room.members.isEmpty {
                room.media.enqueue(.close)
                rooms[key] = nil
            } else {
                if let chime = audio(tenant, "conf-leave", 8000) { room.media.enqueue(.tone(chime)) }
                if member.moderator, room.settings.endWhenModeratorLeaves, !room.members.contains(where: \.moderator) {
                    hangups = room.members.map(\.hangup)
                }
            }
            return (hangups, member)
        }
        guard let left else { return }
        recordSizes()
        emit(CallEvent("conference.left", callID: left.callID, [("room", .string(name)), ("participant", .int(id))]))
        if !toHangUp.isEmpty { logger.info("moderator left; ending the conference", metadata: ["room": "\(key)"]) }
        for h in toHangUp { h() }
    }

    private func recordSizes() {
        let (rooms, participants) = lock.withLock { (self.rooms.count, self.rooms.values.reduce(0) { $0 + $1.members.count }) }
        roomsGauge.record(rooms)
        participantsGauge.record(participants)
    }

    private func withRoom<T>(_ tenant: String, _ room: String, _ body: (Room) throws -> T) throws -> T {
        try lock.withLock {
            guard let r = rooms[ConferenceRegistry.key(tenant, room)] else { throw ControlError.noSuchRoom(tenant: tenant, room: room) }
            return try body(r)
        }
    }

    // MARK: Control API (admin HTTP API, moderator keys)

    /// Every active room with its participants (talking as of the room's last tick).
    public func list(tenant: String? = nil) -> [RoomInfo] {
        let snapshot: [(Room, [Member], Bool)] = lock.withLock {
            rooms.values.filter { tenant == nil || $0.tenant == tenant }.map { ($0, $0.members, $0.locked) }
        }
        return snapshot.map { room, members, locked in
            let talking = Dictionary(room.media.states.map { ($0.id, $0.talking) }, uniquingKeysWith: { a, _ in a })
            return RoomInfo(tenant: room.tenant, room: room.name, locked: locked, limit: room.limit, mixingRate: room.media.mixingRate,
                            recording: room.recording,
                            participants: members.map {
                                ParticipantInfo(id: $0.id, callID: $0.callID, moderator: $0.moderator, muted: $0.muted,
                                                talking: talking[$0.id] ?? false, joinedAt: $0.joinedAt)
                            })
        }.sorted { ($0.tenant, $0.room) < ($1.tenant, $1.room) }
    }

    /// Receive quality of every participant of a room, read from the legs.
    public func quality(tenant: String, room: String) async throws -> [LegQuality] {
        let members = try withRoom(tenant, room) { $0.members }
        var out: [LegQuality] = []
        for m in members {
            let q = (try? await m.leg.receiveQuality().get()) ?? ReceiveQuality()
            let c = m.port.currentCounters
            out.append(LegQuality(id: m.id, callID: m.callID, receive: q, portFramesMissing: c.inboundMissing + c.outboundMissing))
        }
        return out
    }

    public func setMuted(tenant: String, room: String, participant id: Int, _ muted: Bool) throws {
        try withRoom(tenant, room) { r in
            guard let m = r.members.first(where: { $0.id == id }) else { throw ControlError.noSuchParticipant(id) }
            m.muted = muted
            r.media.enqueue(.mute(id: id, muted))
        }
    }

    /// Mutes everyone but the moderators (or unmutes them); new participants follow.
    public func setOthersMuted(tenant: String, room: String, _ muted: Bool) throws {
        try withRoom(tenant, room) { r in
            r.othersMuted = muted
            for m in r.members where !m.moderator {
                m.muted = muted
                r.media.enqueue(.mute(id: m.id, muted))
            }
        }
    }

    public func setLocked(tenant: String, room: String, _ locked: Bool) throws {
        try withRoom(tenant, room) { $0.locked = locked }
    }

    /// Ends the participant's call (they hear nothing more; the call gets a BYE).
    public func kick(tenant: String, room: String, participant id: Int) throws {
        let (hangup, callID) = try withRoom(tenant, room) { r -> (@Sendable () -> Void, String) in
            guard let m = r.members.first(where: { $0.id == id }) else { throw ControlError.noSuchParticipant(id) }
            return (m.hangup, m.callID)
        }
        emit(CallEvent("conference.kicked", callID: callID, [("room", .string(room)), ("participant", .int(id))]))
        leave(tenant: tenant, room: room, id: id)
        hangup()
    }

    /// The last participant to join who is not a moderator, if any.
    func lastJoined(tenant: String, room: String) -> Int? {
        try? withRoom(tenant, room) { r in r.members.last(where: { !$0.moderator })?.id }
    }

    /// A room by its tenant and name.
    public struct RoomKey: Hashable, Sendable {
        public var tenant: String
        public var room: String
        public init(tenant: String, room: String) { self.tenant = tenant; self.room = room }
    }

    /// Participants of every active room now (any thread; bookkeeping only, no media state).
    public func occupancy() -> [RoomKey: Int] {
        lock.withLock {
            Dictionary(rooms.values.map { (RoomKey(tenant: $0.tenant, room: $0.name), $0.members.count) }, uniquingKeysWith: +)
        }
    }

    func count(tenant: String, room: String) -> Int { (try? withRoom(tenant, room) { $0.members.count }) ?? 0 }

    func toggleMuted(tenant: String, room: String, participant id: Int) -> Bool {
        (try? withRoom(tenant, room) { r -> Bool in
            guard let m = r.members.first(where: { $0.id == id }) else { return false }
            m.muted.toggle()
            r.media.enqueue(.mute(id: id, m.muted))
            return m.muted
        }) ?? false
    }

    func changeVolume(tenant: String, room: String, participant id: Int, by step: Int) -> Int {
        (try? withRoom(tenant, room) { r -> Int in
            guard let m = r.members.first(where: { $0.id == id }) else { return 0 }
            m.volume = min(4, max(-4, m.volume + step))
            // 3 dB a step: 256 × 2^(volume / 2).
            r.media.enqueue(.volume(id: id, gainQ8: Int32((256 * pow(2, Double(m.volume) / 2)).rounded())))
            return m.volume
        }) ?? 0
    }

    func othersMuted(tenant: String, room: String) -> Bool { (try? withRoom(tenant, room) { $0.othersMuted }) ?? false }
    func locked(tenant: String, room: String) -> Bool { (try? withRoom(tenant, room) { $0.locked }) ?? false }
}
