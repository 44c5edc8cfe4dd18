import Foundation

/// What the attendant did, for the call's event log.
public enum AttendantEvent: Sendable, Equatable {
    case menuEntered(menu: String, state: ScheduleState)
    case selected(menu: String, keys: String, action: MenuAction)
    case invalid(menu: String, keys: String)
    case noInput(menu: String)
    case fallback(menu: String, action: MenuAction)
    /// An action whose app does not exist in this build (voicemail, conference).
    case unavailable(menu: String, action: MenuAction)
    case transferred(target: String, result: TransferResult)
}

/// Hands a call to another app (voicemail, conference) from a menu action; see `AutoAttendant.handoff`.
public typealias AttendantHandoff = @Sendable (MenuAction, CallFlow) async throws(CallFlowError) -> Bool

/// The auto attendant: plays a menu's greeting for the schedule state, takes a key (or a
/// whole extension) with barge-in and type-ahead, and acts on it.
///
/// It runs on a snapshot (`AttendantConfig`) taken when the call started. `now` gives the
/// wall-clock time for the schedule (injected, so tests pick the instant).
public struct AutoAttendant: Sendable {
    public let config: AttendantConfig
    public let startMenu: String
    public let now: @Sendable () -> Date
    public let observe: @Sendable (AttendantEvent) -> Void
    /// Runs the app of a `voicemail`, `voicemail_main` or `conference` action on the call;
    /// returns false when no such app is available (the caller then hears not-available and
    /// the menu resumes). When it returns true, the call has left the attendant.
    public let handoff: AttendantHandoff?

    public init(config: AttendantConfig, startMenu: String, now: @escaping @Sendable () -> Date = { Date() },
                handoff: AttendantHandoff? = nil, observe: @escaping @Sendable (AttendantEvent) -> Void = { _ in }) {
        self.config = config; self.startMenu = startMenu; self.now = now; self.handoff = handoff; self.observe = observe
    }

    /// Runs until the caller hangs up, the call is transferred, or a hang-up action.
    public func run(_ flow: CallFlow) async throws(CallFlowError) {
        var stack = [startMenu]
        var failures = 0
        var greet = true
        var prefix: [String] = []
        var state = config.schedule.state(at: now())
        while let name = stack.last, let menu = config.menus[name] {
            if greet {
                state = config.schedule.state(at: now())
                observe(.menuEntered(menu: name, state: state))
            }
            let prompts = prefix + [menu.greeting.prompt(for: state)]
            prefix = []
            greet = true
            let keys = try await flow.playAndCollect(prompts, max: maxKeys(menu), timeout: menu.timeout,
                                                     interDigitTimeout: menu.interDigitTimeout,
                                                     terminator: menu.extensionDialing && menu.options["#"] == nil ? "#" : nil,
                                                     isComplete: { self.isComplete($0, in: menu) })
            var action: MenuAction?
            if keys.isEmpty {
                observe(.noInput(menu: name))
                prefix = [menu.noInputPrompt]
            } else if keys.count == 1, let key = keys.first, let a = menu.options[key] {
                action = a
            } else if menu.extensionDialing, let a = config.extensions[keys] {
                action = a
            } else {
                observe(.invalid(menu: name, keys: keys))
                prefix = [keys.count > 1 && menu.extensionDialing ? "aa-no-such-extension" : menu.invalidPrompt]
            }
            guard let action else {
                greet = false
                failures += 1
                if failures > menu.retries {
                    observe(.fallback(menu: name, action: menu.fallback))
                    try await flow.play(["aa-too-many-tries"])
                    failures = 0
                    guard try await perform(menu.fallback, keys: "", menu: menu, stack: &stack, prefix: &prefix, greet: &greet, flow: flow) else { return }
                }
                continue
            }
            failures = 0
            observe(.selected(menu: name, keys: keys, action: action))
            guard try await perform(action, keys: keys, menu: menu, stack: &stack, prefix: &prefix, greet: &greet, flow: flow) else { return }
        }
        // A menu name that does not exist cannot come from a validated configuration.
        try await flow.play(["not-available"])
        flow.hangup()
    }

    /// Carries out an action; false when the call is leaving the attendant.
    private func perform(_ action: MenuAction, keys: String, menu: Menu, stack: inout [String], prefix: inout [String],
                         greet: inout Bool, flow: CallFlow) async throws(CallFlowError) -> Bool {
        switch action {
        case let .menu(next):
            stack.append(next)
        case .previous:
            if stack.count > 1 { stack.removeLast() }
        case .repeat:
            break
        case let .transfer(target):
            try await flow.play(["aa-transferring"])
            let result = try await flow.transfer(to: target)
            observe(.transferred(target: target, result: result))
            if case .succeeded = result { return false }
            prefix = ["aa-transfer-failed"]
            greet = false
        case .hangup:
            try await flow.play(["goodbye"])
            flow.hangup()
            return false
        case let .play(prompt):
            try await flow.play([prompt])
            greet = false
        case .voicemail, .voicemailMain, .conference:
            if let handoff, try await handoff(action, flow) { return false }
            observe(.unavailable(menu: menu.name, action: action))
            prefix = ["not-available"]
            greet = false
        }
        return true
    }

    func maxKeys(_ menu: Menu) -> Int {
        guard menu.extensionDialing else { return 1 }
        return max(1, config.extensions.keys.map(\.count).max() ?? 1)
    }

    /// Whether the keys so far are a whole answer: a single option key no extension starts
    /// with, an extension no longer one starts with, or keys nothing can start with.
    func isComplete(_ keys: String, in menu: Menu) -> Bool {
        guard menu.extensionDialing else { return true }
        let longer = config.extensions.keys.contains { $0.count > keys.count && $0.hasPrefix(keys) }
        if longer { return false }
        return true
    }
}
