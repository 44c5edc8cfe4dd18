/// What the conference entry flow did, for the call's event log.
public enum ConferenceEntryEvent: Sendable, Equatable {
    case pinRejected(room: String, attempt: Int)
    /// A guess came during the room's back-off and was not checked.
    case pinTooSoon(room: String, attempt: Int)
    /// The room refused the caller's PIN because of its lockout.
    case pinLockedOut(room: String)
    case joined(room: String, moderator: Bool, participants: Int)
    case refused(room: String, ConferenceRefusal)
    case key(room: String, Character, action: String)
}

/// The caller's way into a conference room and the keys in it.
///
/// PIN (three tries; the moderator PIN makes the caller moderator; wrong guesses are
/// counted per room across calls by `pinGate`, which may make the caller wait before the next
/// try or refuse every PIN while the room is locked out), then the join: "you are
/// the first participant" (the room plays hold music while they are alone) or the count;
/// the room plays the join and leave chimes. In the room one key at a time:
///
/// | key | everyone                         | moderator only                          |
/// |-----|----------------------------------|-----------------------------------------|
/// | 1   | mute / unmute yourself           |                                         |
/// | 2   | hear how many are in the room    |                                         |
/// | 4   | listening volume down            |                                         |
/// | 6   | listening volume up              |                                         |
/// | 7   |                                  | mute / unmute everyone else             |
/// | 8   |                                  | lock / unlock the room                  |
/// | 9   |                                  | remove the participant who joined last  |
public struct ConferenceEntry: Sendable {
    public static let pinTries = 3
    public static let keyMap: [Character: String] = [
        "1": "mute-self", "2": "count", "4": "volume-down", "6": "volume-up",
        "7": "mute-others", "8": "lock", "9": "kick-last",
    ]
    public let room: String
    public let bridge: any ConferenceBridge
    public let observe: @Sendable (ConferenceEntryEvent) -> Void
    /// Counts wrong guesses per room across calls; nil: none (three tries per call only).
    public let pinGate: (any ConferencePINGate)?

    public init(room: String, bridge: any ConferenceBridge, pinGate: (any ConferencePINGate)? = nil,
                observe: @escaping @Sendable (ConferenceEntryEvent) -> Void = { _ in }) {
        self.room = room; self.bridge = bridge; self.pinGate = pinGate; self.observe = observe
    }

    /// Runs until the caller hangs up or is removed (the server then ends the call).
    public func run(_ flow: CallFlow) async throws(CallFlowError) {
        guard let settings = bridge.settings(room: room) else { return try await refuse(.noSuchRoom, flow) }
        if let refusal = bridge.wouldRefuse(room: room) { return try await refuse(refusal, flow) }
        var moderator = false
        if settings.pin != nil || settings.moderatorPIN != nil {
            var accepted = false
            for attempt in 1...ConferenceEntry.pinTries {
                flow.clearTypeAhead()
                let entered = try await flow.playAndCollect(["conf-enter-pin"], max: 16, timeout: .seconds(10), interDigitTimeout: .seconds(5))
                let isModerator = settings.moderatorPIN.map { entered == $0 } ?? false
                let correct = isModerator || entered == (settings.pin ?? "")
                let verdict = pinGate?.guess(room: room, correct: correct) ?? (correct ? .accepted : .rejected(retryAfter: .zero))
                var wait = Duration.zero
                switch verdict {
                case .accepted:
                    moderator = isModerator
                    accepted = true
                case let .rejected(retryAfter):
                    observe(.pinRejected(room: room, attempt: attempt))
                    wait = retryAfter
                case let .tooSoon(retryAfter):
                    observe(.pinTooSoon(room: room, attempt: attempt))
                    wait = retryAfter
                case .lockedOut:
                    observe(.pinLockedOut(room: room))
                    try await flow.play(["conf-locked", "goodbye"])
                    flow.hangup()
                    return
                }
                if accepted { break }
                try await flow.play(["conf-invalid-pin"])
                // The room's back-off: the next try is not asked for before it may be taken.
                if attempt != ConferenceEntry.pinTries && wait > Duration.zero { try await flow.pause(wait) }
            }
            guard accepted else {
                try await flow.play(["goodbye"])
                flow.hangup()
                return
            }
        }
        let membership: any ConferenceMembership
        switch bridge.join(room: room, moderator: moderator) {
        case let .failure(refusal): return try await refuse(refusal, flow)
        case let .success(m): membership = m
        }
        defer { membership.leave() }
        let count = membership.participantCount
        observe(.joined(room: room, moderator: moderator, participants: count))
        if count <= 1 {
            try await flow.play(["conf-first-participant"])
        } else if settings.announceCount {
            try await flow.play(ConferenceEntry.countPrompts(count))
        }
        while true {
            let keys = try await flow.collect(max: 1, timeout: .seconds(86_400), interDigitTimeout: .seconds(1), terminator: nil)
            guard let key = keys.first else { continue }
            try await handle(key, membership: membership, moderator: moderator, flow: flow)
        }
    }

    func handle(_ key: Character, membership: any ConferenceMembership, moderator: Bool, flow: CallFlow) async throws(CallFlowError) {
        guard let action = ConferenceEntry.keyMap[key] else { return }
        let moderatorOnly: Set<Character> = ["7", "8", "9"]
        guard moderator || !moderatorOnly.contains(key) else { return }
        observe(.key(room: room, key, action: action))
        switch key {
        case "1": try await flow.play([membership.toggleMute() ? "conf-muted" : "conf-unmuted"])
        case "2": try await flow.play(ConferenceEntry.countPrompts(membership.participantCount))
        case "4": _ = membership.changeVolume(by: -1); try await flow.play(["beep"])
        case "6": _ = membership.changeVolume(by: 1); try await flow.play(["beep"])
        case "7": try await flow.play([membership.toggleMuteOthers() ? "conf-muted" : "conf-unmuted"])
        case "8": try await flow.play(membership.toggleLock() ? ["conf-locked"] : ["beep"])
        case "9": try await flow.play([membership.kickLastJoined() ? "conf-leave" : "beep"])
        default: break
        }
    }

    /// "There is one other participant" / "There are N participants in this conference" (N counts the caller).
    public static func countPrompts(_ count: Int) -> [String] {
        if count <= 1 { return ["conf-first-participant"] }
        if count == 2 { return ["conf-one-participant"] }
        return ["conf-there-are"] + SayPhrases.number(count) + ["conf-participants"]
    }

    /// Every prompt the flow may play.
    public static let prompts = ["conf-enter-pin", "conf-invalid-pin", "conf-first-participant", "conf-full", "conf-locked",
                                 "conf-muted", "conf-unmuted", "conf-there-are", "conf-participants", "conf-one-participant",
                                 "conf-join", "conf-leave", "music-on-hold", "beep", "goodbye", "not-available"]
                                 + (0...20).flatMap { SayPhrases.number($0) }

    private func refuse(_ refusal: ConferenceRefusal, _ flow: CallFlow) async throws(CallFlowError) {
        observe(.refused(room: room, refusal))
        switch refusal {
        case .full: try await flow.play(["conf-full"])
        case .locked: try await flow.play(["conf-locked"])
        case .noSuchRoom: try await flow.play(["not-available"])
        }
        flow.hangup()
    }
}
