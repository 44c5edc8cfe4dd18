import Foundation
import ParleyMail

extension ParleyConfig {
    /// `mail:` — voicemail to email through the spool (ParleyMail). Absent: no email.
    public struct Mail: Sendable, Equatable {
        public var relayHost: String
        public var relayPort: Int
        public var from: MailAddress
        public var startTLS: SMTPSettings.StartTLS = .opportunistic
        public var username: String?
        public var password: String?
        /// A message not delivered after this long fails (moved to `failed/`), in ms.
        public var maxAgeMilliseconds: Int64 = 5 * 86_400_000
        /// The first retry waits this long; each next one twice as long (at most an hour), in ms.
        public var retryBaseMilliseconds: Int64 = 60_000
        /// `attach: wav` (the default) attaches the recording; `attach: gsm` attaches it as
        /// GSM 6.10 in WAV (about a tenth of the size); `attach: none` sends text only.
        public var attachAudio = true
        public var attachFormat: MailAudioFormat = .wav
        /// `ca_file`: PEM certificate authorities for the relay's certificate (a private relay).
        public var caFile: String?
    }

    /// `tenants.<t>.mail:` — the tenant's sender and text (each optional).
    public struct TenantMail: Sendable, Equatable {
        public var from: MailAddress?
        public var subject: String?
        public var template: String?
    }

    /// Parses `mail: { relay: "host:port", from, starttls: off|required|opportunistic,
    /// username, password (write "${ENV_NAME}" to keep it out of the file), max_age, retry_base,
    /// attach: wav|gsm|none, ca_file }` and every tenant's `mail: { from, subject, template }`.
    static func parseMail(_ r: YAMLReader, _ top: [(String, YAMLReader.Value)], config: inout ParleyConfig) throws {
        if let node = r.field(top, "mail") {
            let m = try r.mapping(node, allowed: ["relay", "from", "starttls", "username", "password", "max_age", "retry_base", "attach",
                                                  "ca_file"])
            let relayNode = try r.required(m, "relay", in: node)
            guard let (host, port) = parseRelay(try r.string(relayNode)) else {
                throw r.error(relayNode, "expected host:port (e.g. smtp.example.com:587 or [::1]:25)")
            }
            var mail = Mail(relayHost: host, relayPort: port, from: try address(r, try r.required(m, "from", in: node)))
            if let v = r.field(m, "starttls") {
                guard let mode = SMTPSettings.StartTLS(rawValue: try r.string(v).lowercased()) else {
                    throw r.error(v, "expected off, opportunistic or required")
                }
                mail.startTLS = mode
            }
            if let v = r.field(m, "username") { mail.username = try r.string(v) }
            // `${NAME}` references are resolved by YAMLReader, as in every string value.
            if let v = r.field(m, "password") { mail.password = try r.string(v) }
            if (mail.username == nil) != (mail.password == nil) { throw r.error(node, "username and password go together") }
            if let v = r.field(m, "max_age") {
                mail.maxAgeMilliseconds = try r.duration(v)
                guard mail.maxAgeMilliseconds >= 1000 else { throw r.error(v, "must be at least 1s") }
            }
            if let v = r.field(m, "retry_base") {
                mail.retryBaseMilliseconds = try r.duration(v)
                guard (100...3_600_000).contains(mail.retryBaseMilliseconds) else { throw r.error(v, "must be between 100ms and 1h") }
            }
            if let v = r.field(m, "attach") {
                let text = try r.string(v).lowercased()
                if text == "none" {
                    mail.attachAudio = false
                } else if let format = MailAudioFormat(rawValue: text) {
                    mail.attachFormat = format
                } else {
                    throw r.error(v, "expected wav, gsm or none")
                }
            }
            if let v = r.field(m, "ca_file") {
                var path = try r.string(v)
                let base = (config.file as NSString).deletingLastPathComponent
                if !path.hasPrefix("/") && !base.isEmpty { path = "\(base)/\(path)" }
                guard FileManager.default.isReadableFile(atPath: path) else { throw r.error(v, "cannot read \(path)") }
                mail.caFile = path
            }
            config.mail = mail
        }
        // Each tenant's `mail:` (the tenants mapping was checked by `parse`).
        guard let tenantsNode = r.field(top, "tenants") else { return }
        for (name, tv) in try r.mapping(tenantsNode) {
            let tenant = try r.mapping(tv)
            try checkMailboxAddresses(r, tenant: tenant)
            guard let node = r.field(tenant, "mail"), let index = config.tenants.firstIndex(where: { $0.name == name }) else { continue }
            guard config.mail != nil else { throw r.error(node, "needs the top-level mail: section (the relay)") }
            let m = try r.mapping(node, allowed: ["from", "subject", "template"])
            var tenantMail = TenantMail()
            if let v = r.field(m, "from") { tenantMail.from = try address(r, v) }
            if let v = r.field(m, "subject") { tenantMail.subject = try templateText(r, v) }
            if let v = r.field(m, "template") { tenantMail.template = try templateText(r, v) }
            config.tenants[index].mail = tenantMail
        }
    }

    /// Every `tenants.<t>.mailboxes.<n>.email` entry must be an address `MailAddress` takes
    /// (what the SMTP envelope will carry), whether or not mail is configured yet.
    static func checkMailboxAddresses(_ r: YAMLReader, tenant: [(String, YAMLReader.Value)]) throws {
        guard let mailboxes = r.field(tenant, "mailboxes"), case .mapping = mailboxes.node else { return }
        for (_, box) in try r.mapping(mailboxes) {
            guard case .mapping = box.node, let email = r.field(try r.mapping(box), "email") else { continue }
            if case let .sequence(list) = email.node {
                for (i, node) in list.enumerated() { _ = try address(r, YAMLReader.Value(node: node, key: "\(email.key)[\(i)]")) }
            } else {
                _ = try address(r, email)
            }
        }
    }

    /// An email address anywhere in the file (also mailbox email lists): refused at load
    /// when it is not one, with the reason.
    static func address(_ r: YAMLReader, _ v: YAMLReader.Value) throws -> MailAddress {
        let text = try r.string(v)
        if let problem = MailAddress.problem(text) { throw r.error(v, "'\(text)' is not an email address (\(problem))") }
        guard let a = MailAddress(text) else { throw r.error(v, "'\(text)' is not an email address") }
        return a
    }

    static func templateText(_ r: YAMLReader, _ v: YAMLReader.Value) throws -> String {
        let text = try r.string(v)
        if let unknown = MailTemplate.unknownPlaceholder(in: text) {
            throw r.error(v, "unknown placeholder {\(unknown)} (known: \(MailTemplate.placeholders.sorted().joined(separator: ", ")))")
        }
        return text
    }

    static func parseRelay(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else { return nil }
        return (host, port)
    }
}

extension ParleyConfig.Mail {
    public func smtpSettings(heloName: String = ProcessInfo.processInfo.hostName) -> SMTPSettings {
        var settings = SMTPSettings(host: relayHost, port: relayPort, startTLS: startTLS, username: username, password: password,
                                    heloName: heloName.isEmpty ? "localhost" : heloName)
        settings.caFile = caFile
        return settings
    }

    public var retryPolicy: MailRetryPolicy {
        MailRetryPolicy(retryBaseSeconds: Double(retryBaseMilliseconds) / 1000,
                        retryCapSeconds: max(Double(retryBaseMilliseconds) / 1000, 3600),
                        maxAgeSeconds: Double(maxAgeMilliseconds) / 1000)
    }
}

extension ParleyConfig {
    /// The mail settings of a tenant (its own sender and text over the global ones), or nil
    /// when mail is not configured or the tenant is unknown.
    public func mailSettings(tenant name: String) -> TenantMailSettings? {
        guard let mail, let tenant = tenants.first(where: { $0.name == name }) else { return nil }
        let standard = MailTemplate.standard
        let template = MailTemplate(subject: tenant.mail.subject ?? standard.subject, body: tenant.mail.template ?? standard.body)
        return TenantMailSettings(from: tenant.mail.from ?? mail.from, template: template,
                                  timeZone: tenant.attendant.schedule.timeZone, attachAudio: mail.attachAudio,
                                  audioFormat: mail.attachFormat)
    }
}
