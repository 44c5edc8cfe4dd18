import ParleyApps

extension ParleyConfig {
    /// `licenses.conference`: seats per room. Basic holds 3 parties, premium 15.
    public enum ConferenceLicense: String, Sendable, Equatable {
        case basic, premium
        public var seats: Int { self == .basic ? 3 : 15 }
    }

    /// How a tenant's rooms take PIN guesses: `tenants.<t>.conferences."*"`, the entry that
    /// holds what every room of the tenant shares. Wrong PINs are counted per room across
    /// calls (`ConferenceRegistry.guess`): the first `pin_free_failures` cost nothing, each
    /// further one makes the room wait `pin_backoff` before the next guess, doubling up to
    /// `pin_max_backoff`; `pin_lockout_after` wrong PINs within `pin_window` lock the room's
    /// PIN entry for `pin_lockout` (event `conference.pin_locked`). Rooms' PINs must be at
    /// least `min_pin_length` digits: a four-digit PIN is 10,000 guesses, a two-digit one 100.
    public struct ConferencePINGuessing: Sendable, Equatable {
        public var minimumLength = 4
        public var lockoutAfter = 10
        public var windowMilliseconds: Int64 = 600_000
        public var lockoutMilliseconds: Int64 = 600_000
        public var freeFailures = 3
        public var backoffMilliseconds: Int64 = 1_000
        public var maxBackoffMilliseconds: Int64 = 30_000
        public init() {}

        var policy: GuessThrottle<String>.Policy {
            GuessThrottle.Policy(lockoutAfter: lockoutAfter, windowMilliseconds: windowMilliseconds, lockoutMilliseconds: lockoutMilliseconds,
                                 freeFailures: freeFailures, firstDelayMilliseconds: backoffMilliseconds,
                                 maxDelayMilliseconds: maxBackoffMilliseconds)
        }
    }

    /// One room under `tenants.<t>.conferences.<room>`.
    public struct ConferenceSettings: Sendable, Equatable {
        public var pin: String?
        public var moderatorPIN: String?
        /// The room's own limit; the licence's seats cap it (`ParleyConfig.Tenant.conferenceLimit`).
        public var maxParticipants: Int?
        public var endWhenModeratorLeaves = false
        /// Record the room's mix to `<data_dir>/conferences/<tenant>/<room>-<time>.wav`.
        public var record = false
        public var announceCount = true
        /// Mix only the loudest this many talkers (nil: every talker).
        public var loudest: Int?
        /// The tenant's PIN guessing rules (from its `"*"` entry).
        public var pinGuessing = ConferencePINGuessing()

        public var entry: ConferenceRoomSettings {
            ConferenceRoomSettings(pin: pin, moderatorPIN: moderatorPIN, announceCount: announceCount)
        }
    }

    /// Parses `licenses.conference` and `conferences` of one tenant:
    /// `conferences: { "300": { pin: "1234", moderator_pin: "9999", max_participants: 10, end_when_moderator_leaves: true, record: false, announce_count: true, loudest: 4 } }`.
    /// The entry `"*"` is not a room: it holds the tenant's PIN guessing rules (`ConferencePINGuessing`).
    static func parseConferences(_ r: YAMLReader, tenant t: [(String, YAMLReader.Value)]) throws -> ([String: ConferenceSettings], ConferenceLicense) {
        var license = ConferenceLicense.basic
        if let lv = r.field(t, "licenses"), let v = r.field(try r.mapping(lv), "conference") {
            guard let l = ConferenceLicense(rawValue: try r.string(v)) else { throw r.error(v, "expected basic or premium") }
            license = l
        }
        var rooms: [String: ConferenceSettings] = [:]
        guard let node = r.field(t, "conferences") else { return (rooms, license) }
        func pin(_ v: YAMLReader.Value) throws -> String {
            let text = try r.string(v)
            guard (1...16).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw r.error(v, "expected 1 to 16 digits") }
            return text
        }
        let entries = try r.mapping(node)
        var guessing = ConferencePINGuessing()
        if let shared = entries.first(where: { $0.0 == "*" })?.1 { guessing = try parsePINGuessing(r, shared) }
        for (name, value) in entries where name != "*" {
            guard (1...32).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLetter || "-_".contains($0)) }) else {
                throw r.error(value, "room '\(name)' may hold only letters, digits, - and _ (1-32)")
            }
            var room = ConferenceSettings()
            room.pinGuessing = guessing
            if case .scalar = value.node {
                // `"300": {}` written as `"300": ~` or empty: all defaults.
                rooms[name] = room
                continue
            }
            let m = try r.mapping(value, allowed: ["pin", "moderator_pin", "max_participants", "end_when_moderator_leaves", "record",
                                                   "announce_count", "loudest"])
            if let v = r.field(m, "pin") { room.pin = try pin(v) }
            if let v = r.field(m, "moderator_pin") {
                room.moderatorPIN = try pin(v)
                if room.moderatorPIN == room.pin { throw r.error(v, "must differ from the room's pin") }
            }
            if let v = r.field(m, "max_participants") { room.maxParticipants = try r.int(v, in: 2...1000) }
            if let v = r.field(m, "end_when_moderator_leaves") { room.endWhenModeratorLeaves = try r.bool(v) }
            if let v = r.field(m, "record") { room.record = try r.bool(v) }
            if let v = r.field(m, "announce_count") { room.announceCount = try r.bool(v) }
            if let v = r.field(m, "loudest") { room.loudest = try r.int(v, in: 1...64) }
            // After the other checks, so that "must differ" is reported for two equal short PINs.
            for key in ["pin", "moderator_pin"] {
                if let v = r.field(m, key), try r.string(v).count < guessing.minimumLength {
                    throw r.error(v, "shorter than min_pin_length (\(guessing.minimumLength) digits): a short PIN is quickly guessed")
                }
            }
            rooms[name] = room
        }
        return (rooms, license)
    }

    /// Reads the `"*"` entry of a tenant's `conferences`.
    static func parsePINGuessing(_ r: YAMLReader, _ node: YAMLReader.Value) throws -> ConferencePINGuessing {
        let m = try r.mapping(node, allowed: ["min_pin_length", "pin_lockout_after", "pin_window", "pin_lockout", "pin_free_failures",
                                              "pin_backoff", "pin_max_backoff"])
        var g = ConferencePINGuessing()
        if let v = r.field(m, "min_pin_length") { g.minimumLength = try r.int(v, in: 1...16) }
        if let v = r.field(m, "pin_lockout_after") { g.lockoutAfter = try r.int(v, in: 1...10_000) }
        if let v = r.field(m, "pin_free_failures") { g.freeFailures = try r.int(v, in: 0...10_000) }
        if let ms = try r.duration(m, "pin_window", in: 1_000...86_400_000) { g.windowMilliseconds = ms }
        if let ms = try r.duration(m, "pin_lockout", in: 1_000...86_400_000) { g.lockoutMilliseconds = ms }
        if let ms = try r.duration(m, "pin_backoff", in: 0...3_600_000) { g.backoffMilliseconds = ms }
        if let ms = try r.duration(m, "pin_max_backoff", in: 0...3_600_000) { g.maxBackoffMilliseconds = ms }
        if g.maxBackoffMilliseconds < g.backoffMilliseconds, let v = r.field(m, "pin_max_backoff") {
            throw r.error(v, "must not be shorter than pin_backoff")
        }
        return g
    }

    /// Every number and menu action naming a room must name one of the tenant's rooms.
    static func checkConferenceTargets(_ tenant: Tenant, file: String) throws {
        for (number, n) in tenant.numbers {
            if case let .conference(room) = n.target, tenant.conferences[room] == nil {
                throw ConfigError(file: file, line: nil, key: "tenants.\(tenant.name).numbers.\(number).conference",
                                  problem: "no room '\(room)' in this tenant's conferences")
            }
        }
        for (name, menu) in tenant.attendant.menus {
            for (key, action) in menu.options.sorted(by: { $0.key < $1.key }).map({ (String($0.key), $0.value) }) + [("fallback", menu.fallback)] {
                if case let .conference(room) = action, tenant.conferences[room] == nil {
                    throw ConfigError(file: file, line: nil, key: "tenants.\(tenant.name).menus.\(name).\(key)",
                                      problem: "no room '\(room)' in this tenant's conferences")
                }
            }
        }
    }

    /// The prompts a tenant with rooms may play (for the preload and check-config).
    static func conferencePrompts(_ tenant: Tenant) -> [(tenant: String, prompt: String, usedBy: String)] {
        guard !tenant.conferences.isEmpty else { return [] }
        return ConferenceEntry.prompts.map { (tenant.name, $0, "tenants.\(tenant.name).conferences (system prompt)") }
    }
}

extension ParleyConfig.Tenant {
    /// How many a room may hold: its own setting capped by the licence's seats.
    public func conferenceLimit(_ room: String) -> Int {
        min(conferences[room]?.maxParticipants ?? conferenceLicense.seats, conferenceLicense.seats)
    }
}
