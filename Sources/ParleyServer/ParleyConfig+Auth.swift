import Foundation
import ParleySIP

extension ParleyConfig {
    /// SIP digest authentication (RFC 3261 §22, RFC 8760): who may call from outside the
    /// trusted networks, and which tenants each user may reach.
    ///
    /// ```yaml
    /// sip:
    ///   auth:
    ///     realm: sip.example.com
    ///     challenge: untrusted          # or: all (trusted networks must authenticate too)
    ///     algorithms: [SHA-256, MD5]    # offered in this order
    ///     nonce_lifetime: 5m
    ///     users:
    ///       alice: { password_env: PARLEY_ALICE_PW, tenants: [demo] }
    ///     lockout:                      # failures per source address and per user
    ///       source_failures: 10         # within window: the source is refused for duration
    ///       user_failures: 20
    ///       window: 10m
    ///       duration: 10m
    ///       free_failures: 3            # then each failure makes the next wait backoff, doubling
    ///       backoff: 1s
    ///       max_backoff: 1m
    ///       max_tracked: 10000          # sources (and users) remembered; the oldest go first
    /// ```
    public struct Auth: Sendable, Equatable {
        /// Which sources are challenged.
        public enum Scope: String, Sendable { case untrusted, all }

        public struct User: Sendable, Equatable, CustomStringConvertible {
            public var name: String
            /// Never logged nor printed (see `description`).
            public var password: String
            public var tenants: [String]
            public var description: String { "User(\(name), tenants: \(tenants), password: <hidden>)" }
        }

        public var realm: String
        public var challenge: Scope = .untrusted
        /// One `WWW-Authenticate` per algorithm, in this order (RFC 8760 §2.4: preferred first).
        public var algorithms: [DigestAlgorithm] = [.sha256, .md5]
        /// How long a nonce is accepted; after that a right response earns `stale=true`.
        public var nonceLifetimeMilliseconds: Int64 = 300_000
        public var users: [String: User]
        public var lockout = DigestLockout()
    }

    /// Failed digest answers per source address and per user (DigestAuthenticator.swift).
    public struct DigestLockout: Sendable, Equatable {
        public init() {}
        public var sourceFailures = 10
        public var userFailures = 20
        public var windowMilliseconds: Int64 = 600_000
        public var durationMilliseconds: Int64 = 600_000
        public var freeFailures = 3
        public var backoffMilliseconds: Int64 = 1_000
        public var maxBackoffMilliseconds: Int64 = 60_000
        public var maxTracked = 10_000

        /// Per source: back-off, then lockout.
        var sourcePolicy: GuessThrottle<String>.Policy {
            GuessThrottle.Policy(lockoutAfter: sourceFailures, windowMilliseconds: windowMilliseconds, lockoutMilliseconds: durationMilliseconds,
                                 freeFailures: freeFailures, firstDelayMilliseconds: backoffMilliseconds,
                                 maxDelayMilliseconds: maxBackoffMilliseconds)
        }

        /// Per user: lockout only. A back-off after a stranger's few wrong guesses would
        /// refuse the user's own phones at once; the lock needs `user_failures` of them.
        var userPolicy: GuessThrottle<String>.Policy {
            GuessThrottle.Policy(lockoutAfter: userFailures, windowMilliseconds: windowMilliseconds, lockoutMilliseconds: durationMilliseconds,
                                 freeFailures: Int.max, firstDelayMilliseconds: 0, maxDelayMilliseconds: 0)
        }
    }

    /// Reads `sip.auth.lockout`.
    static func parseAuthLockout(_ r: YAMLReader, _ node: YAMLReader.Value) throws -> DigestLockout {
        let m = try r.mapping(node, allowed: ["source_failures", "user_failures", "window", "duration", "free_failures", "backoff",
                                              "max_backoff", "max_tracked"])
        var l = DigestLockout()
        if let v = r.field(m, "source_failures") { l.sourceFailures = try r.int(v, in: 1...10_000) }
        if let v = r.field(m, "user_failures") { l.userFailures = try r.int(v, in: 1...10_000) }
        if let v = r.field(m, "free_failures") { l.freeFailures = try r.int(v, in: 0...10_000) }
        if let v = r.field(m, "max_tracked") { l.maxTracked = try r.int(v, in: 16...1_000_000) }
        if let ms = try r.duration(m, "window", in: 1_000...86_400_000) { l.windowMilliseconds = ms }
        if let ms = try r.duration(m, "duration", in: 1_000...86_400_000) { l.durationMilliseconds = ms }
        if let ms = try r.duration(m, "backoff", in: 0...3_600_000) { l.backoffMilliseconds = ms }
        if let ms = try r.duration(m, "max_backoff", in: 0...86_400_000) { l.maxBackoffMilliseconds = ms }
        if l.maxBackoffMilliseconds < l.backoffMilliseconds, let v = r.field(m, "max_backoff") {
            throw r.error(v, "must not be shorter than backoff")
        }
        return l
    }

    /// Reads `sip.auth`; `tenants` are the configured ones, which each user's list must name.
    /// Passwords come from `password` or, for secrets kept out of the file, from the
    /// environment variable named by `password_env` (read now, at load).
    static func parseAuth(_ r: YAMLReader, _ node: YAMLReader.Value, tenants: [Tenant],
                          environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Auth {
        let m = try r.mapping(node, allowed: ["realm", "challenge", "algorithms", "nonce_lifetime", "users", "lockout"])
        let realmNode = try r.required(m, "realm", in: node)
        let realm = try r.string(realmNode)
        guard !realm.isEmpty, realm.utf8.count <= 128, realm.allSatisfy({ $0.isASCII && !$0.isNewline && $0 != "\"" && $0 != "\\" }) else {
            throw r.error(realmNode, "expected a realm of 1-128 printable ASCII characters without quotes (e.g. sip.example.com)")
        }
        var auth = Auth(realm: realm, users: [:])
        if let v = r.field(m, "challenge") {
            guard let scope = Auth.Scope(rawValue: try r.string(v)) else { throw r.error(v, "expected untrusted or all") }
            auth.challenge = scope
        }
        if let v = r.field(m, "algorithms") {
            var algorithms: [DigestAlgorithm] = []
            for name in try r.strings(v) {
                guard let a = DigestAlgorithm(token: name) else { throw r.error(v, "unknown algorithm '\(name)' (expected SHA-256 or MD5)") }
                if !algorithms.contains(a) { algorithms.append(a) }
            }
            guard !algorithms.isEmpty else { throw r.error(v, "needs at least one algorithm") }
            auth.algorithms = algorithms
        }
        if let v = r.field(m, "nonce_lifetime") {
            let ms = try r.duration(v)
            guard (10_000...86_400_000).contains(ms) else { throw r.error(v, "expected a lifetime from 10s to 24h") }
            auth.nonceLifetimeMilliseconds = ms
        }
        if let v = r.field(m, "lockout") { auth.lockout = try parseAuthLockout(r, v) }
        let usersNode = try r.required(m, "users", in: node)
        let tenantNames = Set(tenants.map(\.name))
        for (name, value) in try r.mapping(usersNode) {
            guard !name.isEmpty, name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\"" && $0 != "\\" && $0 != ":" }) else {
                throw r.error(value, "user name '\(name.prefix(64))' must be 1-64 ASCII characters without spaces, quotes or ':'")
            }
            let u = try r.mapping(value, allowed: ["password", "password_env", "tenants"])
            let password: String
            switch (r.field(u, "password"), r.field(u, "password_env")) {
            case let (p?, nil):
                password = try r.string(p)
            case let (nil, e?):
                let variable = try r.string(e)
                guard let p = environment[variable] else { throw r.error(e, "environment variable \(variable) is not set") }
                password = p
            default:
                throw r.error(value, "needs exactly one of password or password_env")
            }
            guard !password.isEmpty else { throw r.error(value, "the password is empty") }
            let tenantsNode = try r.required(u, "tenants", in: value)
            let allowed = try r.strings(tenantsNode)
            guard !allowed.isEmpty else { throw r.error(tenantsNode, "needs at least one tenant") }
            for t in allowed where !tenantNames.contains(t) {
                throw r.error(tenantsNode, "no tenant named '\(t)'")
            }
            auth.users[name] = Auth.User(name: name, password: password, tenants: allowed)
        }
        guard !auth.users.isEmpty else { throw r.error(usersNode, "needs at least one user") }
        return auth
    }
}
