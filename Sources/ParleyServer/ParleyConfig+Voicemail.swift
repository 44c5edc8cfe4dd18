import Foundation
import ParleyApps
import ParleyStore

extension ParleyConfig {
    /// One mailbox as configured under `tenants.<t>.mailboxes`. Created in the store at start
    /// and on reload (`VoicemailProvisioning`); the PIN is hashed by the store.
    public struct MailboxSettings: Sendable, Equatable {
        public var number: String
        public var name: String
        /// The PIN the configuration provisions (read from `pin` or the variable `pin_env`).
        public var pin: String
        public var emails: [String]
        public var options: MailboxOptions
    }

    /// A tenant's voicemail behaviour (`tenants.<t>.voicemail`).
    public struct VoicemailSettings: Sendable, Equatable {
        /// `*` during a deposit greeting leads to the mailbox login. Off by default: a caller
        /// who guesses a PIN could otherwise reach the mailbox from outside (toll fraud).
        public var loginFromGreeting = false
        /// Recordings shorter than this (after trimming silence) are discarded, in ms.
        public var minimumMessageMilliseconds: Int64 = 1000
        /// Silence that ends a recording, in ms.
        public var silenceTimeoutMilliseconds: Int64 = 5000
    }

    static let mailboxKeys: Set<String> = ["name", "pin", "pin_env", "email", "attach_audio", "delete_after_email",
                                           "max_messages", "max_message_length"]

    /// `mailboxes: { "2001": { name: Alice, pin: "4711", email: [a@x.example], attach_audio: true,
    /// delete_after_email: false, max_messages: 100, max_message_length: 3m } }`.
    /// Mailbox numbers and names are checked with the store's own rules (ASCII letters and digits;
    /// no control characters), so nothing in the file can reach a path or a log line unchecked.
    static func parseMailboxes(_ r: YAMLReader, tenant entries: [(String, YAMLReader.Value)], name tenant: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String: MailboxSettings] {
        guard let node = r.field(entries, "mailboxes") else { return [:] }
        do throws(StoreError) { try MailboxKey.validate(tenant, what: "tenant") } catch {
            throw r.error(node, "tenant name '\(tenant)' cannot have mailboxes: \(error)")
        }
        var out: [String: MailboxSettings] = [:]
        for (number, value) in try r.mapping(node) {
            do throws(StoreError) { try MailboxKey.validate(number, what: "mailbox number") } catch {
                throw r.error(value, "\(error)")
            }
            let m = try r.mapping(value, allowed: mailboxKeys)
            let pin: String
            switch (r.field(m, "pin"), r.field(m, "pin_env")) {
            case let (p?, nil): pin = try r.string(p)
            case let (nil, e?):
                let variable = try r.string(e)
                guard let p = environment[variable] else { throw r.error(e, "environment variable \(variable) is not set") }
                pin = p
            default: throw r.error(value, "needs exactly one of pin or pin_env")
            }
            do throws(StoreError) { try PINPolicy.checkFormat(pin) } catch {
                throw r.error(r.field(m, "pin") ?? r.field(m, "pin_env") ?? value, "the PIN must be 4 to 10 digits")
            }
            var options = MailboxOptions()
            if let v = r.field(m, "attach_audio") { options.attachAudio = try r.bool(v) }
            if let v = r.field(m, "delete_after_email") { options.deleteAfterEmail = try r.bool(v) }
            if let v = r.field(m, "max_messages") { options.maxMessages = try r.int(v, in: MailboxOptions.maxMessagesRange) }
            if let v = r.field(m, "max_message_length") {
                let ms = try r.duration(v)
                let range = MailboxOptions.maxMessageSecondsRange
                guard ms % 1000 == 0, range.contains(Int(ms / 1000)) else {
                    throw r.error(v, "expected whole seconds from \(range.lowerBound)s to \(range.upperBound / 60)m")
                }
                options.maxMessageSeconds = Int(ms / 1000)
            }
            let emails = try r.field(m, "email").map { try r.strings($0) } ?? []
            let mailboxName = try r.field(m, "name").map { try r.string($0) } ?? ""
            // The store's own checks (name length and characters, addresses), reported here.
            do throws(StoreError) {
                let key = try MailboxKey(tenant: tenant, number: number)
                try Mailbox(key: key, name: mailboxName, emails: emails, options: options).validate()
            } catch {
                throw r.error(value, "\(error)")
            }
            out[number] = MailboxSettings(number: number, name: mailboxName, pin: pin, emails: emails, options: options)
        }
        return out
    }

    /// `voicemail: { login_from_greeting: false, minimum_message: 1s, silence_timeout: 5s }`.
    static func parseVoicemailSettings(_ r: YAMLReader, tenant entries: [(String, YAMLReader.Value)]) throws -> VoicemailSettings {
        var s = VoicemailSettings()
        guard let node = r.field(entries, "voicemail") else { return s }
        let m = try r.mapping(node, allowed: ["login_from_greeting", "minimum_message", "silence_timeout"])
        if let v = r.field(m, "login_from_greeting") { s.loginFromGreeting = try r.bool(v) }
        if let v = r.field(m, "minimum_message") {
            s.minimumMessageMilliseconds = try r.duration(v)
            guard s.minimumMessageMilliseconds <= 60_000 else { throw r.error(v, "expected at most 60s") }
        }
        if let v = r.field(m, "silence_timeout") {
            s.silenceTimeoutMilliseconds = try r.duration(v)
            guard (1000...60_000).contains(s.silenceTimeoutMilliseconds) else { throw r.error(v, "expected 1s to 60s") }
        }
        return s
    }

    /// A `voicemail: MAILBOX` reference (number target or menu action): the mailbox must be
    /// one of the tenant's `mailboxes`.
    static func mailboxReference(_ r: YAMLReader, _ v: YAMLReader.Value, mailboxes: Set<String>) throws -> String {
        let number = try r.string(v)
        guard mailboxes.contains(number) else {
            let known = mailboxes.isEmpty ? "the tenant has no mailboxes" : "known: \(mailboxes.sorted().joined(separator: ", "))"
            throw r.error(v, "no mailbox '\(number)' in this tenant's mailboxes (\(known))")
        }
        return number
    }

    /// The mailbox numbers under `mailboxes`, read before numbers and menus so references can be checked.
    static func mailboxNumbers(_ r: YAMLReader, tenant t: [(String, YAMLReader.Value)]) throws -> Set<String> {
        guard let node = r.field(t, "mailboxes") else { return [] }
        return Set(try r.mapping(node).map(\.0))
    }

    /// System prompts the deposit and retrieval flows play, for tenants that have mailboxes. Checked at start
    /// and by check-config like the menus' prompts, but loaded at 8 kHz only: other rates are
    /// converted on first use, on the call's flow task (some are long; converting them all at
    /// start made it seconds slower).
    public var voicemailPrompts: [(tenant: String, prompt: String, usedBy: String)] {
        tenants.filter { !$0.mailboxes.isEmpty }.flatMap { t in
            (VoicemailDepositPrompts.all + VoicemailRetrieval.prompts.filter { !VoicemailDepositPrompts.all.contains($0) })
                .map { (t.name, $0, "tenants.\(t.name).mailboxes (system prompt)") }
        }
    }
}
