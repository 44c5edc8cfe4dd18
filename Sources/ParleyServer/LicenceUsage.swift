/// One tenant's licences and their use right now ("in use / limit"), as the admin API shows them.
public struct LicenceUsage: Sendable, Equatable, Codable {
    /// A counted licence: how many are taken and the ceiling (nil: unlimited).
    public struct Counted: Sendable, Equatable, Codable {
        public var inUse: Int
        public var limit: Int?
        public init(inUse: Int, limit: Int?) { self.inUse = inUse; self.limit = limit }

        enum CodingKeys: String, CodingKey { case inUse = "in_use", limit }
    }

    /// The conference licence: its tier, the seats it gives each room, and each configured
    /// room's participants now against that room's limit (its `max_participants` capped by the seats).
    public struct Conference: Sendable, Equatable, Codable {
        public struct Room: Sendable, Equatable, Codable {
            public var room: String
            public var inUse: Int
            public var limit: Int
            public init(room: String, inUse: Int, limit: Int) { self.room = room; self.inUse = inUse; self.limit = limit }

            enum CodingKeys: String, CodingKey { case room, inUse = "in_use", limit }
        }

        /// `basic` (3 seats a room) or `premium` (15).
        public var tier: String
        public var seatsPerRoom: Int
        /// Every room of the tenant's configuration, by name (in use 0 when no one is in it).
        public var rooms: [Room]
        public init(tier: String, seatsPerRoom: Int, rooms: [Room]) { self.tier = tier; self.seatsPerRoom = seatsPerRoom; self.rooms = rooms }

        enum CodingKeys: String, CodingKey { case tier, seatsPerRoom = "seats_per_room", rooms }
    }

    public var tenant: String
    /// Calls up at once (enforced at INVITE: 503 + Retry-After beyond the limit).
    public var concurrentCalls: Counted
    /// Auto-attendant tier: `basic` or `standard`.
    public var autoAttendant: String
    /// Voicemail in call flows.
    public var voicemail: Bool
    /// Conference seats.
    public var conference: Conference

    public init(tenant: String, concurrentCalls: Counted, autoAttendant: String, voicemail: Bool, conference: Conference) {
        self.tenant = tenant; self.concurrentCalls = concurrentCalls; self.autoAttendant = autoAttendant; self.voicemail = voicemail
        self.conference = conference
    }

    enum CodingKeys: String, CodingKey {
        case tenant, concurrentCalls = "concurrent_calls", autoAttendant = "auto_attendant", voicemail, conference
    }
}
