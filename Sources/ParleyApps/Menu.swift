import Foundation

/// What a menu key (or a dialled extension, or the fallback) does.
public indirect enum MenuAction: Sendable, Equatable, CustomStringConvertible {
    /// Blind transfer (REFER) to a SIP URI; on failure the menu says so and resumes.
    case transfer(String)
    /// Go to another menu of the tenant (a sub-menu).
    case menu(String)
    /// Back to the menu this one was entered from.
    case previous
    /// Play this menu again.
    case `repeat`
    /// Leave a message in a mailbox.
    case voicemail(String)
    /// Voicemail retrieval (the caller logs in to a mailbox).
    case voicemailMain
    /// Join a conference room.
    case conference(String)
    /// Say goodbye and end the call.
    case hangup
    /// Play a prompt, then return to the menu (a dialled number whose target is a prompt).
    case play(String)

    public var description: String {
        switch self {
        case let .transfer(t): return "transfer \(t)"
        case let .menu(m): return "menu \(m)"
        case .previous: return "previous"
        case .repeat: return "repeat"
        case let .voicemail(m): return "voicemail \(m)"
        case .voicemailMain: return "voicemail_main"
        case let .conference(c): return "conference \(c)"
        case .hangup: return "hangup"
        case let .play(p): return "play \(p)"
        }
    }
}

/// One auto-attendant menu, as configured.
public struct Menu: Sendable, Equatable {
    /// The greeting prompt for each schedule state (the holiday greeting falls back to the
    /// closed one, the closed one to the open one, when not configured).
    public struct Greeting: Sendable, Equatable {
        public var open: String
        public var closed: String?
        public var holiday: String?
        public init(open: String, closed: String? = nil, holiday: String? = nil) {
            self.open = open; self.closed = closed; self.holiday = holiday
        }
        public func prompt(for state: ScheduleState) -> String {
            switch state {
            case .open: return open
            case .closed: return closed ?? open
            case .holiday: return holiday ?? closed ?? open
            }
        }
    }

    public var name: String
    public var greeting: Greeting
    public var options: [Character: MenuAction]
    /// Callers may dial a tenant number directly (multi-digit, `#` ends early).
    public var extensionDialing: Bool
    /// Wait for the first key after the greeting, and between the keys of an extension.
    public var timeout: Duration
    public var interDigitTimeout: Duration
    /// How many times the menu is offered again after a wrong or missing key; the next
    /// failure runs `fallback`.
    public var retries: Int
    public var invalidPrompt: String
    public var noInputPrompt: String
    public var fallback: MenuAction

    public init(name: String, greeting: Greeting, options: [Character: MenuAction] = [:], extensionDialing: Bool = false,
                timeout: Duration = .seconds(5), interDigitTimeout: Duration = .seconds(3), retries: Int = 3,
                invalidPrompt: String = "invalid-option", noInputPrompt: String = "aa-no-input", fallback: MenuAction = .hangup) {
        self.name = name; self.greeting = greeting; self.options = options; self.extensionDialing = extensionDialing
        self.timeout = timeout; self.interDigitTimeout = interDigitTimeout; self.retries = retries
        self.invalidPrompt = invalidPrompt; self.noInputPrompt = noInputPrompt; self.fallback = fallback
    }

    /// Every prompt this menu may play, named explicitly or not.
    public var prompts: [String] {
        var out = [greeting.open, invalidPrompt, noInputPrompt]
        if let c = greeting.closed { out.append(c) }
        if let h = greeting.holiday { out.append(h) }
        for action in options.values { if case let .play(p) = action { out.append(p) } }
        if case let .play(p) = fallback { out.append(p) }
        return out
    }
}

/// A tenant's auto attendant: its menus, schedule and dialable extensions. A flow holds
/// one value of it for the whole call, so a reload never changes a call in progress.
public struct AttendantConfig: Sendable, Equatable {
    public var tenant: String
    public var menus: [String: Menu]
    public var schedule: BusinessSchedule
    /// Numbers of the tenant a caller may dial from a menu with extension dialling.
    public var extensions: [String: MenuAction]

    public init(tenant: String, menus: [String: Menu], schedule: BusinessSchedule, extensions: [String: MenuAction]) {
        self.tenant = tenant; self.menus = menus; self.schedule = schedule; self.extensions = extensions
    }

    /// System prompts the attendant plays besides those a menu names.
    public static let systemPrompts = ["aa-no-such-extension", "aa-transferring", "aa-transfer-failed",
                                       "aa-too-many-tries", "goodbye", "not-available"]
}
