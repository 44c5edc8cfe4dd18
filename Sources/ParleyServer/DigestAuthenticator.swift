import Logging
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

    init(config: ParleyConfig, logger: Logger, hasher: any DigestHashing = CryptoDigestHashing(),
         clock: @escaping () -> Int64 = { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }) {
        self.config = config; self.logger = logger; self.hasher = hasher; self.clock = clock
        nonces = config.sip.auth.map { DigestNonces(lifetimeMilliseconds: $0.nonceLifetimeMilliseconds) }
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
                return forbidden(invite, "unusable Authorization from \(from): \(parseError)")
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
            return forbidden(invite, "\(who) answered without qop=auth")
        }
        guard let account = auth.users[user] else {
            return forbidden(invite, "unknown \(who)")
        }
        guard let requestURI = invite.requestURI, DigestAuthenticator.sameURI(credentials.uri, requestURI) else {
            return forbidden(invite, "\(who): digest uri '\(credentials.uri.prefix(128))' is not the Request-URI")
        }
        guard DigestResponse.verify(credentials, method: invite.method ?? "INVITE", password: account.password, using: hasher) else {
            return forbidden(invite, "wrong credentials for \(who)")
        }
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
