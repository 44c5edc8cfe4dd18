import Foundation
import ParleyApps
import ParleyMedia
import ParleySIP

extension ParleyConfig {
    /// The tenant's auto-attendant licence: `basic` allows one menu level (no `menu:` option
    /// leading to another menu) and no holiday greeting; `standard` allows both.
    public enum AutoAttendantLicense: String, Sendable { case basic, standard }

    static let menuKeys: Set<String> = ["greeting", "options", "extension_dialing", "timeout", "inter_digit_timeout",
                                        "retries", "invalid", "no_input", "fallback"]
    static let actionKeys: Set<String> = ["transfer", "menu", "previous", "repeat", "voicemail", "voicemail_main",
                                          "conference", "hangup", "play"]

    /// The names under `menus`, read before the numbers so a `menu:` target can be checked.
    static func menuNames(_ r: YAMLReader, tenant t: [(String, YAMLReader.Value)]) throws -> Set<String> {
        guard let mv = r.field(t, "menus") else { return [] }
        return Set(try r.mapping(mv).map(\.0))
    }

    /// A number's target: `play: PROMPT`, `menu: NAME`, `transfer: SIP-URI`, `voicemail: MAILBOX` or `voicemail_main: true`.
    static func parseNumberTarget(_ r: YAMLReader, entry: [(String, YAMLReader.Value)], value: YAMLReader.Value,
                                  menuNames: Set<String>, mailboxes: Set<String> = []) throws -> Target {
        let given = entry.map(\.0).filter { ["play", "menu", "transfer", "voicemail", "voicemail_main", "conference"].contains($0) }
        guard given.count == 1, let kind = given.first, let v = r.field(entry, kind) else {
            throw r.error(value, "needs exactly one target (play: PROMPT, menu: NAME, transfer: SIP-URI, voicemail: MAILBOX, voicemail_main: true or conference: ROOM)")
        }
        if kind == "voicemail" { return .voicemail(try mailboxReference(r, v, mailboxes: mailboxes)) }
        if kind == "voicemail_main" {
            guard try r.bool(v) else { throw r.error(v, "voicemail_main can only be true (remove the number to turn it off)") }
            return .voicemailMain
        }
        let text = try r.string(v)
        switch kind {
        case "menu":
            guard menuNames.contains(text) else { throw r.error(v, "no menu '\(text)' in this tenant's menus") }
            return .menu(text)
        case "transfer":
            return .transfer(try transferTarget(r, v, alongside: entry))
        case "conference":
            return .conference(text)
        default:
            guard PromptCache.isValidName(text) else { throw r.error(v, "'\(text)' is not a valid prompt name") }
            return .play(prompt: text)
        }
    }

    /// `licenses.auto_attendant`, `menus` and the schedule of one tenant, checked against the licence.
    static func parseAttendant(_ r: YAMLReader, tenant t: [(String, YAMLReader.Value)], name: String,
                               license: AutoAttendantLicense, numbers: [String: Number], mailboxes: Set<String> = []) throws -> AttendantConfig {
        let schedule = try parseSchedule(r, tenant: t)
        var extensions: [String: MenuAction] = [:]
        for (number, n) in numbers where number.allSatisfy(\.isNumber) {
            switch n.target {
            case let .play(prompt): extensions[number] = .play(prompt)
            case let .menu(menu): extensions[number] = .menu(menu)
            case let .transfer(uri): extensions[number] = .transfer(uri)
            case let .conference(room): extensions[number] = .conference(room)
            case let .voicemail(mailbox): extensions[number] = .voicemail(mailbox)
            case .voicemailMain: extensions[number] = .voicemailMain
            }
        }
        var menus: [String: Menu] = [:]
        guard let mv = r.field(t, "menus") else {
            return AttendantConfig(tenant: name, menus: [:], schedule: schedule, extensions: extensions)
        }
        let entries = try r.mapping(mv)
        let names = Set(entries.map(\.0))
        // Where each menu is entered from (menu, key), for the licence check's message.
        var enteredFrom: [String: (String, String)] = [:]
        for (menuName, value) in entries {
            guard PromptCache.isValidName(menuName), !menuName.contains("/") else {
                throw r.error(value, "menu name '\(menuName)' may hold only letters, digits, '-', '_' and '.'")
            }
            let m = try r.mapping(value, allowed: menuKeys)
            let greetingValue = try r.required(m, "greeting", in: value)
            var greeting: Menu.Greeting
            if case .scalar = greetingValue.node {
                greeting = Menu.Greeting(open: try prompt(r, greetingValue))
            } else {
                let g = try r.mapping(greetingValue, allowed: ["open", "closed", "holiday"])
                greeting = Menu.Greeting(open: try prompt(r, try r.required(g, "open", in: greetingValue)))
                greeting.closed = try r.field(g, "closed").map { try prompt(r, $0) }
                if let hv = r.field(g, "holiday") {
                    if license == .basic {
                        throw r.error(hv, "the basic auto-attendant licence has no holiday greeting (licenses.auto_attendant: standard allows it)")
                    }
                    greeting.holiday = try prompt(r, hv)
                }
            }
            var menu = Menu(name: menuName, greeting: greeting)
            if let ov = r.field(m, "options") {
                for (key, av) in try r.mapping(ov) {
                    guard key.count == 1, let k = key.first, "0123456789*#".contains(k) else {
                        throw r.error(av, "option key '\(key)' must be one key: 0-9, * or #")
                    }
                    let action = try parseAction(r, av, menus: names, mailboxes: mailboxes)
                    if case let .menu(target) = action, target != menuName, enteredFrom[target] == nil { enteredFrom[target] = (menuName, key) }
                    menu.options[k] = action
                }
            }
            if let v = r.field(m, "extension_dialing") { menu.extensionDialing = try r.bool(v) }
            if let v = r.field(m, "timeout") { menu.timeout = .milliseconds(try positiveDuration(r, v)) }
            if let v = r.field(m, "inter_digit_timeout") { menu.interDigitTimeout = .milliseconds(try positiveDuration(r, v)) }
            if let v = r.field(m, "retries") { menu.retries = try r.int(v, in: 0...20) }
            if let v = r.field(m, "invalid") { menu.invalidPrompt = try prompt(r, v) }
            if let v = r.field(m, "no_input") { menu.noInputPrompt = try prompt(r, v) }
            if let v = r.field(m, "fallback") {
                menu.fallback = try parseAction(r, v, menus: names, mailboxes: mailboxes)
                if case let .menu(target) = menu.fallback, target != menuName, enteredFrom[target] == nil { enteredFrom[target] = (menuName, "fallback") }
            }
            menus[menuName] = menu
        }
        if license == .basic {
            for (menuName, value) in entries {
                guard let (parent, key) = enteredFrom[menuName] else { continue }
                throw r.error(value, "the basic auto-attendant licence allows one menu level, but this menu is a sub-menu of '\(parent)' (\(key == "fallback" ? "its fallback" : "key \(key)")); licenses.auto_attendant: standard allows sub-menus")
            }
        }
        return AttendantConfig(tenant: name, menus: menus, schedule: schedule, extensions: extensions)
    }

    /// One action: `{ transfer: URI }`, `{ menu: NAME }`, `{ voicemail: MAILBOX }`, `{ conference: ROOM }`,
    /// `{ play: PROMPT }`, or the words `previous`, `repeat`, `hangup`, `voicemail_main`.
    static func parseAction(_ r: YAMLReader, _ v: YAMLReader.Value, menus: Set<String>, mailboxes: Set<String> = []) throws -> MenuAction {
        let kind: String
        var argument: YAMLReader.Value?
        if case .scalar = v.node {
            kind = try r.string(v)
        } else {
            let m = try r.mapping(v, allowed: actionKeys)
            guard m.count == 1, let (k, a) = m.first else { throw r.error(v, "expected one action (one of: \(actionKeys.sorted().joined(separator: ", ")))") }
            kind = k
            argument = a
        }
        func text() throws -> String {
            guard let argument else { throw r.error(v, "'\(kind)' needs a value, e.g. { \(kind): ... }") }
            return try r.string(argument)
        }
        switch kind {
        case "previous": return .previous
        case "repeat": return .repeat
        case "hangup": return .hangup
        case "voicemail_main": return .voicemailMain
        case "transfer":
            let uri = try text()
            guard SIPURI(uri) != nil else { throw r.error(argument ?? v, "'\(uri)' is not a SIP URI (e.g. sip:sales@pbx.example.com)") }
            return .transfer(uri)
        case "menu":
            let name = try text()
            guard menus.contains(name) else { throw r.error(argument ?? v, "no menu '\(name)' in this tenant's menus") }
            return .menu(name)
        case "voicemail":
            guard let argument else { throw r.error(v, "'voicemail' needs a mailbox, e.g. { voicemail: \"2001\" }") }
            return .voicemail(try mailboxReference(r, argument, mailboxes: mailboxes))
        case "conference": return .conference(try text())
        case "play": return .play(try prompt(r, argument ?? v))
        default:
            throw r.error(v, "unknown action '\(kind)' (expected one of: \(actionKeys.sorted().joined(separator: ", ")))")
        }
    }

    static func prompt(_ r: YAMLReader, _ v: YAMLReader.Value) throws -> String {
        let name = try r.string(v)
        guard PromptCache.isValidName(name) else { throw r.error(v, "'\(name)' is not a valid prompt name") }
        return name
    }

    static func positiveDuration(_ r: YAMLReader, _ v: YAMLReader.Value) throws -> Int64 {
        let ms = try r.duration(v)
        guard ms >= 100, ms <= 600_000 else { throw r.error(v, "expected a duration from 100ms to 10m") }
        return ms
    }
}

extension ParleyConfig {
    /// Every prompt a tenant's calls may play — numbers' prompts, menus' prompts and the
    /// system prompts the attendant plays (listed under `tenants.NAME.menus`) — with the key
    /// that names it. A tenant's own recording of a name counts (PromptLibrary).
    public var menuPrompts: [(tenant: String, prompt: String, usedBy: String)] {
        var out: [(String, String, String)] = []
        for t in tenants {
            for (number, n) in t.numbers.sorted(by: { $0.key < $1.key }) {
                if case let .play(prompt) = n.target { out.append((t.name, prompt, "tenants.\(t.name).numbers.\(number)")) }
            }
            if t.numbers.values.contains(where: { if case .transfer = $0.target { return true } else { return false } }) {
                for p in ["aa-transferring", "aa-transfer-failed", "goodbye"] { out.append((t.name, p, "tenants.\(t.name).numbers (system prompt)")) }
            }
            out += ParleyConfig.conferencePrompts(t)
            guard !t.attendant.menus.isEmpty else { continue }
            for (name, menu) in t.attendant.menus.sorted(by: { $0.key < $1.key }) {
                let key = "tenants.\(t.name).menus.\(name)"
                out.append((t.name, menu.greeting.open, "\(key).greeting"))
                if let c = menu.greeting.closed { out.append((t.name, c, "\(key).greeting.closed")) }
                if let h = menu.greeting.holiday { out.append((t.name, h, "\(key).greeting.holiday")) }
                out.append((t.name, menu.invalidPrompt, "\(key).invalid"))
                out.append((t.name, menu.noInputPrompt, "\(key).no_input"))
                for (k, action) in menu.options.sorted(by: { $0.key < $1.key }) {
                    if case let .play(p) = action { out.append((t.name, p, "\(key).options.\(k)")) }
                }
                if case let .play(p) = menu.fallback { out.append((t.name, p, "\(key).fallback")) }
            }
            for p in AttendantConfig.systemPrompts { out.append((t.name, p, "tenants.\(t.name).menus (system prompt)")) }
        }
        return out
    }
}
