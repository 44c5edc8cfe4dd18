import Foundation
import ParleyApps
import ParleyMedia
import ParleySIP

/// The server's configuration, validated. See `ParleyConfig.load(path:)` and README.md.
public struct ParleyConfig: Sendable, Equatable {
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        public enum Transport: String, Sendable { case udp, tcp }
        public var transport: Transport
        public var host: String
        public var port: Int
        public var description: String { "\(transport.rawValue):\(host.contains(":") ? "[\(host)]" : host):\(port)" }
    }

    /// When to run the in-band DTMF detector: on every leg, only on legs whose peer
    /// negotiated no telephone-event (`auto`), or never.
    public enum InbandDTMF: String, Sendable { case always, auto, never }

    public struct SIP: Sendable, Equatable {
        public var listen: [ListenAddress]
        /// Networks that may send INVITE (others get 403), and session-changing requests in a
        /// call whose caller they are not (CallController.callInDialog).
        public var trusted: [IPNetwork] = [IPNetwork("127.0.0.0/8"), IPNetwork("::1/128")].compactMap { $0 }
        /// Per-source request rate (token bucket); requests over it are dropped and counted.
        public var requestsPerSecond: Double = 100
        public var burst: Int = 200
        /// Our Min-SE for session timers, in seconds (RFC 4028 §5: 90 or more on real networks).
        public var minSessionExpires: Int = 90
        /// Digest authentication for sources outside `trusted` (or all); nil: none.
        public var auth: Auth?
        /// The session interval we want (RFC 4028) even from callers without timer support,
        /// whom we then refresh ourselves; nil: only when the caller or a proxy asks.
        public var sessionExpires: Int?
        /// How long a blind transfer may wait for the final NOTIFY, in ms (RFC 3515).
        public var transferTimeoutMilliseconds: Int64 = 30_000
        /// Server transactions kept at once (each lingers up to 32 s); new requests beyond
        /// get a stateless 503 with Retry-After.
        public var maxTransactions: Int = SIPServerTransactionTable<Int>.defaultCapacity
        /// How long a call may stay on hold (our stream or theirs `sendonly`/`inactive`)
        /// before we end it, in ms, unless session timers keep it refreshed (RFC 4028): a
        /// held call whose peer vanished would otherwise hold its licence and ports forever.
        public var maxHoldMilliseconds: Int64 = 2 * 3_600_000
        /// SO_RCVBUF asked for each SIP UDP socket, in bytes (SIPReceiveBuffer.swift): the
        /// kernel's default holds about 200 datagrams, and a burst beyond it is dropped unseen.
        public var receiveBufferBytes: Int = 4 << 20
        /// Limits on SIP over TCP (SIPTransport.swift).
        public var tcp = TCP()
    }

    /// Bounds on SIP connections (RFC 3261 §18.3), so idle, flooding or non-reading peers
    /// cannot take every file descriptor or unbounded memory.
    public struct TCP: Sendable, Equatable {
        /// Connections open at once; more are closed at accept. Each costs a descriptor and a
        /// few KiB; the server raises its descriptor limit to the hard limit at start.
        public var maxConnections: Int = 10_000
        /// Connections from one address; a proxy or a NAT of phones needs a few dozen.
        public var maxConnectionsPerSource: Int = 64
        /// A connection that frames nothing (no message, no keep-alive) for this long, in ms,
        /// and carries no call in progress, is closed. RFC 5626 §4.4.1 keep-alives come
        /// every 95–120 s, so a peer that keeps its flow alive that way needs more.
        public var idleTimeoutMilliseconds: Int64 = 64_000
        /// Output not yet taken by the peer, in bytes, beyond which the connection is closed.
        public var maxPendingOutputBytes: Int = 256 << 10
    }

    public struct RTP: Sendable, Equatable {
        public var bind: String
        public var advertise: String
        public var ports: ClosedRange<Int>
        public var mediaTimeoutMilliseconds: Int64
        public var inbandDTMF: InbandDTMF
        public var symmetric: Bool
        /// Whether media from a host other than the SDP's may be learned (`RTPLatchMode`).
        public var latch: RTPLatchMode = .strict
        /// Codecs the answerer accepts, used in the offerer's preference order.
        public var codecs: [AudioCodec]
    }

    /// What a dialled number leads to.
    public enum Target: Sendable, Equatable {
        /// Answer, play a prompt, then stay on the line (silence) until the caller hangs up.
        case play(prompt: String)
        /// Run the tenant's menu of this name (ParleyConfig+Menus.swift).
        case menu(String)
        /// Answer and transfer at once (blind REFER) to this SIP URI; also what dialling this extension from a menu does.
        case transfer(String)
        /// Join this conference room of the tenant (ParleyConfig+Conferences.swift).
        case conference(String)
        /// Answer and run the voicemail deposit into this mailbox of the tenant (ParleyConfig+Voicemail.swift).
        case voicemail(String)
        /// Answer and run voicemail retrieval: login, messages, mailbox options (`voicemail_main: true`).
        case voicemailMain
    }

    public struct Number: Sendable, Equatable {
        public var target: Target
        /// Ring (180) this long before answering; 0 answers at once.
        public var answerAfterMilliseconds: Int64
    }

    public struct Tenant: Sendable, Equatable {
        public var name: String
        public var domains: [String]
        public var numbers: [String: Number]
        /// Licence: calls of this tenant up at once; nil is unlimited.
        public var concurrentCalls: Int?
        /// Menus, schedule and dialable extensions (ParleyConfig+Menus.swift).
        public var attendant: AttendantConfig
        /// The tenant's prompt overrides: `<name>.wav` here wins over the system prompt.
        public var promptFolder: String
        /// Mailbox → SIP URI for unsolicited message-waiting NOTIFYs (ParleyConfig+MessageWaiting.swift).
        public var messageWaitingTargets: [String: String] = [:]
        /// Mailboxes by number, provisioned into the voicemail store (ParleyConfig+Voicemail.swift).
        public var mailboxes: [String: MailboxSettings] = [:]
        public var voicemail = VoicemailSettings()
        /// Licence: voicemail for call flows (deposit and retrieval); without it callers hear not-available.
        public var voicemailLicensed = true
        /// Licence: the auto-attendant tier (basic: no schedules or extension dialling).
        public var autoAttendantLicense = AutoAttendantLicense.standard
        /// Conference rooms by name, and the seats the licence allows per room (ParleyConfig+Conferences.swift).
        public var conferences: [String: ConferenceSettings] = [:]
        public var conferenceLicense = ConferenceLicense.basic
        /// The tenant's email sender and text (ParleyConfig+Mail.swift).
        public var mail = TenantMail()
    }

    public var file: String
    public var sip: SIP
    public var rtp: RTP
    public var prompts: String
    public var tenants: [Tenant]
    /// On SIGTERM, how long calls in progress may go on before they are ended.
    public var shutdownGraceMilliseconds: Int64 = 30_000
    public var storage = Storage(dataDirectory: "var")
    /// The admin HTTP API (ParleyConfig+Admin.swift); nil: none.
    public var admin: Admin?
    /// Voicemail to email (ParleyConfig+Mail.swift); nil: no email is sent.
    public var mail: Mail?

    /// The tenant serving a Request-URI host (case-insensitive), if any.
    public func tenant(forHost host: String) -> Tenant? {
        let h = host.lowercased()
        return tenants.first { $0.domains.contains(h) }
    }
}

extension ParleyConfig {
    /// Reads and validates a configuration file. Relative paths inside it are resolved
    /// against the file's folder.
    public static func load(path: String) throws -> ParleyConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, line: nil, key: "", problem: "cannot read the file (\((error as NSError).localizedDescription))")
        }
        return try parse(text, file: path)
    }

    /// `environment` resolves `${NAME}` references in string values (the process's by default).
    public static func parse(_ text: String, file: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ParleyConfig {
        let r = YAMLReader(file: file, environment: environment)
        let root = try r.root(text)
        let top = try r.mapping(root, allowed: ["sip", "rtp", "prompts", "tenants", "shutdown_grace", "storage", "admin", "mail"])
        let baseDir = (file as NSString).deletingLastPathComponent

        // sip
        var listen: [ListenAddress] = []
        var sipSettings = SIP(listen: [])
        if let sipNode = r.field(top, "sip") {
            let sip = try r.mapping(sipNode, allowed: ["listen", "trusted", "rate_limit", "min_session_expires", "auth", "session_expires", "transfer_timeout", "max_transactions", "max_hold", "receive_buffer", "tcp"])
            if let t = r.field(sip, "trusted") {
                let texts = try r.strings(t)
                sipSettings.trusted = try texts.enumerated().map { i, text in
                    guard let net = IPNetwork(text) else {
                        throw r.error(YAMLReader.Value(node: t.node, key: "\(t.key)[\(i)]"), "'\(text)' is not an address or CIDR network (e.g. 10.0.0.0/8)")
                    }
                    return net
                }
            }
            if let v = r.field(sip, "min_session_expires") { sipSettings.minSessionExpires = Int(try r.duration(v) / 1000) }
            if let v = r.field(sip, "session_expires") { sipSettings.sessionExpires = max(1, Int(try r.duration(v) / 1000)) }
            if let v = r.field(sip, "transfer_timeout") { sipSettings.transferTimeoutMilliseconds = max(100, try r.duration(v)) }
            if let v = r.field(sip, "max_hold") { sipSettings.maxHoldMilliseconds = max(1000, try r.duration(v)) }
            if let v = r.field(sip, "max_transactions") { sipSettings.maxTransactions = try r.int(v, in: 100...10_000_000) }
            if let v = r.field(sip, "receive_buffer") {
                sipSettings.receiveBufferBytes = try byteSize(r, v)
                guard (64 << 10...(1 << 30)).contains(sipSettings.receiveBufferBytes) else { throw r.error(v, "must be between 64KB and 1GB") }
            }
            if let t = r.field(sip, "tcp") {
                let m = try r.mapping(t, allowed: ["max_connections", "max_connections_per_source", "idle_timeout", "max_pending_output"])
                if let v = r.field(m, "max_connections") { sipSettings.tcp.maxConnections = try r.int(v, in: 1...1_000_000) }
                if let v = r.field(m, "max_connections_per_source") { sipSettings.tcp.maxConnectionsPerSource = try r.int(v, in: 1...1_000_000) }
                if let v = r.field(m, "idle_timeout") { sipSettings.tcp.idleTimeoutMilliseconds = max(1000, try r.duration(v)) }
                if let v = r.field(m, "max_pending_output") {
                    sipSettings.tcp.maxPendingOutputBytes = try byteSize(r, v)
                    guard (64 << 10...(1 << 30)).contains(sipSettings.tcp.maxPendingOutputBytes) else { throw r.error(v, "must be between 64KB and 1GB") }
                }
            }
            if let rl = r.field(sip, "rate_limit") {
                let m = try r.mapping(rl, allowed: ["requests_per_second", "burst"])
                if let v = r.field(m, "requests_per_second") { sipSettings.requestsPerSecond = Double(try r.int(v, in: 1...1_000_000)) }
                if let v = r.field(m, "burst") { sipSettings.burst = try r.int(v, in: 1...1_000_000) }
            }
            if let l = r.field(sip, "listen") {
                let values = try r.strings(l)
                for (i, text) in values.enumerated() {
                    guard let address = parseListen(text) else {
                        throw r.error(YAMLReader.Value(node: l.node, key: "\(l.key)[\(i)]"),
                                      "'\(text)' is not transport:host:port (e.g. udp:0.0.0.0:5060)")
                    }
                    listen.append(address)
                }
            }
        }
        if listen.isEmpty { listen = [ListenAddress(transport: .udp, host: "0.0.0.0", port: 5060)] }

        // rtp
        var rtp = RTP(bind: "0.0.0.0", advertise: "127.0.0.1", ports: 20000...29999, mediaTimeoutMilliseconds: 30_000, inbandDTMF: .auto, symmetric: true, codecs: [.pcmu, .pcma, .opus])
        if let rtpNode = r.field(top, "rtp") {
            let m = try r.mapping(rtpNode, allowed: ["bind", "advertise", "ports", "media_timeout", "inband_dtmf", "symmetric", "latch", "codecs"])
            if let v = r.field(m, "bind") { rtp.bind = try r.string(v) }
            if let v = r.field(m, "advertise") { rtp.advertise = try r.string(v) } else { rtp.advertise = rtp.bind == "0.0.0.0" ? "127.0.0.1" : rtp.bind }
            if let v = r.field(m, "ports") {
                let text = try r.string(v)
                let parts = text.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, parts[0] >= 1024, parts[1] <= 65534, parts[1] - parts[0] >= 1 else {
                    throw r.error(v, "expected a range like 20000-29999 within 1024-65534")
                }
                rtp.ports = parts[0]...parts[1]
            }
            if let v = r.field(m, "media_timeout") { rtp.mediaTimeoutMilliseconds = try r.duration(v) }
            if let v = r.field(m, "inband_dtmf") {
                guard let mode = InbandDTMF(rawValue: try r.string(v)) else { throw r.error(v, "expected always, auto or never") }
                rtp.inbandDTMF = mode
            }
            if let v = r.field(m, "symmetric") { rtp.symmetric = try r.bool(v) }
            if let v = r.field(m, "latch") {
                guard let mode = RTPLatchMode(rawValue: try r.string(v)) else { throw r.error(v, "expected strict or any") }
                rtp.latch = mode
            }
            if let v = r.field(m, "codecs") {
                let names = try r.strings(v)
                var codecs: [AudioCodec] = []
                for name in names {
                    guard let codec = AudioCodec.named(name) else { throw r.error(v, "unknown codec '\(name)' (expected PCMU, PCMA or opus)") }
                    codecs.append(codec)
                }
                guard !codecs.isEmpty else { throw r.error(v, "needs at least one codec") }
                rtp.codecs = codecs
            }
        }

        // prompts
        var prompts = "prompts"
        if let v = r.field(top, "prompts") { prompts = try r.string(v) }
        if !prompts.hasPrefix("/") { prompts = baseDir.isEmpty ? prompts : "\(baseDir)/\(prompts)" }

        // tenants
        var tenants: [Tenant] = []
        var domainOwner: [String: String] = [:]
        let tenantsNode = try r.required(top, "tenants", in: root)
        for (name, tv) in try r.mapping(tenantsNode) {
            let t = try r.mapping(tv, allowed: ["domains", "numbers", "licenses", "timezone", "schedule", "menus", "prompts", "mwi",
                                                  "mailboxes", "voicemail", "mail", "conferences"])
            var concurrentCalls: Int?
            var aaLicense = AutoAttendantLicense.standard
            var voicemailLicensed = true
            if let lv = r.field(t, "licenses") {
                let l = try r.mapping(lv, allowed: ["concurrent_calls", "auto_attendant", "voicemail", "conference"])
                if let v = r.field(l, "voicemail") { voicemailLicensed = try r.bool(v) }
                if let v = r.field(l, "concurrent_calls") { concurrentCalls = try r.int(v, in: 0...1_000_000) }
                if let v = r.field(l, "auto_attendant") {
                    guard let level = AutoAttendantLicense(rawValue: try r.string(v)) else { throw r.error(v, "expected basic or standard") }
                    aaLicense = level
                }
            }
            let menuNames = try menuNames(r, tenant: t)
            let mailboxNumbers = try mailboxNumbers(r, tenant: t)
            let domainsNode = try r.required(t, "domains", in: tv)
            let domains = try r.strings(domainsNode).map { $0.lowercased() }
            guard !domains.isEmpty else { throw r.error(domainsNode, "needs at least one domain") }
            for d in domains {
                if let other = domainOwner[d] { throw r.error(domainsNode, "domain '\(d)' already belongs to tenant '\(other)'") }
                domainOwner[d] = name
            }
            var numbers: [String: Number] = [:]
            if let nv = r.field(t, "numbers") {
                for (number, value) in try r.mapping(nv) {
                    guard !number.isEmpty, number.count <= 32, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLetter || "+*#-_.".contains($0)) }) else {
                        throw r.error(value, "number '\(number)' may hold only digits, letters and + * # - _ .")
                    }
                    let entry = try r.mapping(value, allowed: ["play", "menu", "transfer", "voicemail", "voicemail_main", "conference", "answer_after"])
                    let target = try parseNumberTarget(r, entry: entry, value: value, menuNames: menuNames, mailboxes: mailboxNumbers)
                    let answerAfter = try r.field(entry, "answer_after").map { try r.duration($0) } ?? 0
                    numbers[number] = Number(target: target, answerAfterMilliseconds: answerAfter)
                }
            }
            let attendant = try parseAttendant(r, tenant: t, name: name, license: aaLicense, numbers: numbers, mailboxes: mailboxNumbers)
            var promptFolder = "\(prompts)/tenants/\(name)"
            if let v = r.field(t, "prompts") {
                promptFolder = try r.string(v)
                if !promptFolder.hasPrefix("/") { promptFolder = baseDir.isEmpty ? promptFolder : "\(baseDir)/\(promptFolder)" }
            }
            tenants.append(Tenant(name: name, domains: domains, numbers: numbers, concurrentCalls: concurrentCalls,
                                  attendant: attendant, promptFolder: promptFolder,
                                  messageWaitingTargets: try messageWaitingTargets(r, tenant: t),
                                  mailboxes: try parseMailboxes(r, tenant: t, name: name),
                                  voicemail: try parseVoicemailSettings(r, tenant: t),
                                  voicemailLicensed: voicemailLicensed, autoAttendantLicense: aaLicense))
            (tenants[tenants.count - 1].conferences, tenants[tenants.count - 1].conferenceLicense) = try parseConferences(r, tenant: t)
            try checkConferenceTargets(tenants[tenants.count - 1], file: file)
        }
        guard !tenants.isEmpty else { throw r.error(tenantsNode, "needs at least one tenant") }
        sipSettings.listen = listen
        if let s = r.field(top, "sip"), let a = r.field(try r.mapping(s), "auth") { sipSettings.auth = try parseAuth(r, a, tenants: tenants) }
        var config = ParleyConfig(file: file, sip: sipSettings, rtp: rtp, prompts: prompts, tenants: tenants)
        if let v = r.field(top, "shutdown_grace") { config.shutdownGraceMilliseconds = try r.duration(v) }
        config.storage = try parseStorage(r, top, baseDir: baseDir)
        config.admin = try parseAdmin(r, top)
        try parseMail(r, top, config: &config)
        return config
    }

    static func parseListen(_ text: String) -> ListenAddress? {
        guard let firstColon = text.firstIndex(of: ":"),
              let transport = ListenAddress.Transport(rawValue: text[..<firstColon].lowercased()) else { return nil }
        let rest = text[text.index(after: firstColon)...]
        guard let lastColon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: lastColon)...]),
              (1...65535).contains(port) else { return nil }
        var host = String(rest[..<lastColon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return ListenAddress(transport: transport, host: host, port: port)
    }

    /// Every prompt the configuration names, with where it is used.
    public var referencedPrompts: [(prompt: String, usedBy: String)] {
        var out: [(String, String)] = []
        for t in tenants {
            for (number, n) in t.numbers.sorted(by: { $0.key < $1.key }) {
                if case let .play(prompt) = n.target { out.append((prompt, "tenants.\(t.name).numbers.\(number)")) }
            }
        }
        return out
    }
}


extension ParleyConfig {
    /// One line per prompt the configuration names that cannot be played.
    public func missingPrompts() -> [String] {
        PromptLibrary(config: self, system: PromptCache(directory: prompts)).missing(self)
    }
}
