import Logging
import Metrics
import NIOCore
import ParleySIP

/// Admission of INVITEs: trusted networks, and digest authentication (RFC 3261 §22.2,
/// RFC 8760, RFC 7616) for the sources the configuration challenges.
///
/// Without `sip.auth`, only trusted networks may call (others get 403). With it, a
/// challenged INVITE without usable credentials gets 401 with one `WWW-Authenticate` per
/// algorithm (SHA-256 first); one whose credentials verify is admitted if the user may
/// call the Request-URI's tenant; wrong credentials get 403 and a log line naming the
/// source and the user. Nonces are stateless (`DigestNonces`); the only state is the
/// highest `nc` seen per nonce, so a captured INVITE cannot be replayed while its nonce
/// lives.
///
/// Guessing is slowed per source address and per user (`GuessThrottle`, `sip.auth.lockout`):
/// after `free_failures` wrong answers from a source each further one makes its next wait
/// (`backoff`, doubling up to `max_backoff`), and `source_failures` within `window` lock the
/// source for `duration`; `user_failures` wrong passwords for one user, from anywhere, lock
/// the user (no back-off per user, see `DigestLockout.userPolicy`). While it waits or is locked, every INVITE from
/// it gets 403 with `Retry-After` and a Warning, at once: no challenge is issued and no hash
/// is computed. We answer instead of dropping because a retransmitted INVITE (RFC 3261
/// §17.1.1.2) costs the attacker nothing and us a parse each time, while a final answer ends
/// the transaction; the rate limiter already drops floods. Only failures count (a challenge,
/// a stale or unknown nonce do not), and only configured users are tracked by name, so
/// made-up names cannot fill the user table. A user locked out by a stranger's guesses is a
/// denial of service on that user: `user_failures` is higher than `source_failures` for it.
/// Asterisk and FreeSWITCH keep no such state themselves: they log each failure and leave
/// the ban to fail2ban reading the log; this is the same fail2ban shape inside the server,
/// with the log line (`authentication locked out`) written once per lock.
///
/// Confined to the SIP event loop, like `CallController`, which owns it.
final class DigestAuthenticator {
    enum Decision {
        /// `user` is nil for a trusted source that was not challenged.
        case admit(user: String?)
        case refuse(SIPMessage, why: String)
    }

    let config: ParleyConfig
    let logger: Logger
    private let hasher: any DigestHashing
    private let nonces: DigestNonces?
    private let clock: () -> Int64
    /// nonce → (highest nc accepted, when the entry may go).
    private var nonceCounts: [String: (nc: UInt32, expires: Int64)] = [:]
    static let maxTrackedNonces = 50_000
    /// Failed answers by source address and by configured user.
    private(set) var sourceFailures: GuessThrottle<String>
    private(set) var userFailures: GuessThrottle<String>
    /// INVITEs refused because their source or user was backing off or locked, since start.
    private(set) var throttledCount = 0
    private let throttledCounter = Counter(label: "parley_auth_throttled_total")
    private let lockoutCounter = Counter(label: "parley_auth_lockouts_total")

    /// `previous`: the authenticator this one replaces on reload; its nonce secret (so
    /// outstanding challenges stay answerable), replay table and failure counts carry over.
    init(config: ParleyConfig, logger: Logger, hasher: any DigestHashing = CryptoDigestHashing(),
         clock: @escaping () -> Int64 = { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) },
         previous: DigestAuthenticator? = nil) {
        self.config = config; self.logger = logger; self.hasher = hasher; self.clock = clock
        let capacity = config.sip.auth?.lockout.maxTracked ?? ParleyConfig.DigestLockout().maxTracked
        sourceFailures = GuessThrottle(capacity: capacity)
        userFailures = GuessThrottle(capacity: capacity)
        nonces = config.sip.auth.map { auth in
            previous?.nonces.map { $0.withLifetime(auth.nonceLifetimeMilliseconds) }
                ?? DigestNonces(lifetimeMilliseconds: auth.nonceLifetimeMilliseconds)
        }
        if let previous {
            nonceCounts = previous.nonceCounts
            throttledCount = previous.throttledCount
            if previous.sourceFailures.capacity == capacity {
                sourceFailures = previous.sourceFailures
                userFailures = previous.userFailures
            }
        }
    }


    var trackedNonceCount: Int { nonceCounts.count }

    func admit(_ invite: SIPMessage, from source: SIPPeer) -> Decision {
        let ip = source.address.ipAddress
        // A source without an IP address (none today) is treated as local, as before.
        let trusted = ip.map { ip in config.sip.trusted.contains { $0.contains(ip) } } ?? true
        guard let auth = config.sip.auth, let nonces else {
            if trusted { return .admit(user: nil) }
            var r = SIPResponses.response(to: invite, status: 403, reason: "Forbidden", toTag: SIPResponses.randomToken(10))
            r.appendWarning(399, "\(ip ?? "?") is not a trusted network")
            return .refuse(r, why: "INVITE from untrusted \(ip ?? "?")")
        }
        if trusted && auth.challenge == .untrusted { return .admit(user: nil) }
        let now = clock()
        let from = ip ?? "\(source)"
        if let refusal = throttled(invite, sourceFailures.verdict(from, now: now), now: now, who: "source \(from)") { return refusal }

        // One Authorization per realm may come (RFC 3261 §22.4); ours is the one that counts.
        var parseError: DigestCredentialsError?
        var found: DigestCredentials?
        for header in invite.headers where header.name == "Authorization" {
            do {
                let c = try DigestCredentials.parse(header.value)
                if c.realm == auth.realm { found = c; break }
            } catch {
                parseError = error
            }
        }
        guard let credentials = found else {
            if let parseError {
                return failed(invite, source: from, user: nil, now: now, "unusable Authorization from \(from): \(parseError)")
            }
            return .refuse(challenge(invite, auth: auth, nonces: nonces, now: now, stale: false), why: "challenged \(from)")
        }
        let user = credentials.username
        let who = "user '\(DigestAuthenticator.printable(user))' from \(from)"
        let nonceState = nonces.check(credentials.nonce, algorithm: credentials.algorithm, now: now)
        if nonceState == .invalid {
            // Not ours (forged, or from before a restart): a fresh challenge, as for no credentials.
            return .refuse(challenge(invite, auth: auth, nonces: nonces, now: now, stale: false), why: "unknown nonce from \(who); challenged again")
        }
        guard credentials.qop == "auth", let nc = credentials.nonceCount else {
            return failed(invite, source: from, user: nil, now: now, "\(who) answered without qop=auth")
        }
        guard let account = auth.users[user] else {
            return failed(invite, source: from, user: nil, now: now, "unknown \(who)")
        }
        if let refusal = throttled(invite, userFailures.verdict(user, now: now), now: now, who: "user '\(DigestAuthenticator.printable(user))'") {
            return refusal
        }
        guard let requestURI = invite.requestURI, DigestAuthenticator.sameURI(credentials.uri, requestURI) else {
            return failed(invite, source: from, user: nil, now: now, "\(who): digest uri '\(credentials.uri.prefix(128))' is not the Request-URI")
        }
        guard DigestResponse.verify(credentials, method: invite.method ?? "INVITE", password: account.password, using: hasher) else {
            return failed(invite, source: from, user: user, now: now, "wrong credentials for \(who)")
        }
        sourceFailures.recordSuccess(from)
        userFailures.recordSuccess(user)
        if nonceState == .expired {
            return .refuse(challenge(invite, auth: auth, nonces: nonces, now: now, stale: true), why: "stale nonce from \(who)")
        }
        // Replay protection (RFC 7616 §3.4: nc counts the requests made with one nonce).
        if let seen = nonceCounts[credentials.nonce], nc <= seen.nc {
            return .refuse(challenge(invite, auth: auth, nonces: nonces, now: now, stale: true),
                           why: "nonce count \(nc) replayed by \(who) (highest seen \(seen.nc))")
        }
        remember(nonce: credentials.nonce, nc: nc, now: now, nonces: nonces)
        if let tenant = invite.requestURI.flatMap(SIPURI.init).flatMap({ config.tenant(forHost: $0.host) }),
           !account.tenants.contains(tenant.name) {
            return forbidden(invite, "\(who) may not call tenant \(tenant.name)")
        }
        logger.info("INVITE authenticated", metadata: ["call-id": "\(invite.callID ?? "")", "user": "\(DigestAuthenticator.printable(user))", "from": "\(source)", "algorithm": "\(credentials.algorithm.rawValue)"])
        return .admit(user: user)
    }

    /// 401 with one challenge per configured algorithm, each with its own nonce.
    private func challenge(_ invite: SIPMessage, auth: ParleyConfig.Auth, nonces: DigestNonces, now: Int64, stale: Bool) -> SIPMessage {
        var r = SIPResponses.response(to: invite, status: 401, reason: "Unauthorized", toTag: SIPResponses.randomToken(10))
        for algorithm in auth.algorithms {
            let c = DigestChallenge(realm: auth.realm, nonce: nonces.make(now: now, algorithm: algorithm), algorithm: algorithm, stale: stale)
            r.append("WWW-Authenticate", c.headerValue)
        }
        return r
    }

    /// A wrong answer: counted against the source (and the user, when it is a configured one
    /// whose password was wrong), logged once more when it locks either; then 403.
    private func failed(_ invite: SIPMessage, source: String, user: String?, now: Int64, _ why: String) -> Decision {
        let policies = config.sip.auth?.lockout ?? ParleyConfig.DigestLockout()
        if case let .lockedOut(n, until) = sourceFailures.recordFailure(source, now: now, policy: policies.sourcePolicy) {
            lockedOut("source \(source)", failures: n, seconds: (until - now + 999) / 1000)
        }
        if let user, case let .lockedOut(n, until) = userFailures.recordFailure(user, now: now, policy: policies.userPolicy) {
            lockedOut("user '\(DigestAuthenticator.printable(user))'", failures: n, seconds: (until - now + 999) / 1000)
        }
        return forbidden(invite, why)
    }

    private func lockedOut(_ who: String, failures: Int, seconds: Int64) {
        lockoutCounter.increment()
        logger.warning("authentication locked out", metadata: ["who": "\(who)", "failures": "\(failures)", "seconds": "\(seconds)"])
    }

    /// 403 with Retry-After while `verdict` says the source or user must wait; nil when it may try.
    private func throttled(_ invite: SIPMessage, _ verdict: GuessThrottle<String>.Verdict, now: Int64, who: String) -> Decision? {
        let until: Int64
        switch verdict {
        case .allowed: return nil
        case let .backOff(u): until = u
        case let .locked(u): until = u
        }
        throttledCount += 1
        throttledCounter.increment()
        var r = SIPResponses.response(to: invite, status: 403, reason: "Forbidden", toTag: SIPResponses.randomToken(10))
        r.append("Retry-After", "\(max(1, (until - now + 999) / 1000))")
        r.appendWarning(399, "too many failed authentications")
        return .refuse(r, why: "\(who) is backing off after failed authentications")
    }

    private func forbidden(_ invite: SIPMessage, _ why: String) -> Decision {
        logger.warning("authentication failed", metadata: ["call-id": "\(invite.callID ?? "")", "why": "\(why)"])
        var r = SIPResponses.response(to: invite, status: 403, reason: "Forbidden", toTag: SIPResponses.randomToken(10))
        r.appendWarning(399, "authentication failed")
        return .refuse(r, why: why)
    }

    private func remember(nonce: String, nc: UInt32, now: Int64, nonces: DigestNonces) {
        if nonceCounts.count >= DigestAuthenticator.maxTrackedNonces {
            nonceCounts = nonceCounts.filter { $0.value.expires > now }
            // Still full of live nonces: forget them rather than grow without bound (a replay
            // of one of those INVITEs would then be taken once more).
            if nonceCounts.count >= DigestAuthenticator.maxTrackedNonces { nonceCounts.removeAll(keepingCapacity: true) }
        }
        nonceCounts[nonce] = (nc, nonces.expiry(of: nonce) ?? now)
    }

    /// A name from the network as it may appear in a log line: printable ASCII, at most 64.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(64).map { (0x20...0x7E).contains($0.value) ? $0 : "?" }))
    }

    /// The digest-uri names the Request-URI (RFC 7616 §3.4.6): equal as text, or as SIP URIs
    /// with the same user, host and port.
    static func sameURI(_ digestURI: String, _ requestURI: String) -> Bool {
        if digestURI == requestURI { return true }
        guard let a = SIPURI(digestURI), let b = SIPURI(requestURI) else { return false }
        return a.user == b.user && a.host.lowercased() == b.host.lowercased() && a.port == b.port
    }
}
