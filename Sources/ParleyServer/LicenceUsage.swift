/// One tenant's licences and their use right now ("in use / limit"), as the admin API shows them.
public struct LicenceUsage: Sendable, Equatable, Codable {
    /// A counted licence: how many are taken and the ceiling (nil: unlimited).
    public struct Counted: Sendable, Equatable, Codable {
        public var inUse: Int
        public var limit: Int?
        public init(inUse: Int, limit: Int?) { self.inUse = inUse; self.limit = limit }

        enum CodingKeys: String, CodingKey { case inUse = "in_use", limit }
    }

    public var tenant: String
    /// Calls up at once (enforced at INVITE: 503 + Retry-After beyond the limit).
    public var concurrentCalls: Counted
    /// Auto-attendant tier: `basic` or `standard`.
    public var autoAttendant: String
    /// Voicemail in call flows.
    public var voicemail: Bool

    public init(tenant: String, concurrentCalls: Counted, autoAttendant: String, voicemail: Bool) {
        self.tenant = tenant; self.concurrentCalls = concurrentCalls; self.autoAttendant = autoAttendant; self.voicemail = voicemail
    }

    enum CodingKeys: String, CodingKey {
        case tenant, concurrentCalls = "concurrent_calls", autoAttendant = "auto_attendant", voicemail
    }
}
