import Foundation
import Logging
import NIOCore
import Testing
@testable import ParleyServer
import ParleySIP

@Suite("Guess throttle: back-off and lockout on an injected clock")
struct GuessThrottleTests {
    /// 2 free failures, then 1 s doubling to 8 s; 6 failures in 60 s lock for 300 s.
    static let policy = GuessThrottle<String>.Policy(lockoutAfter: 6, windowMilliseconds: 60_000, lockoutMilliseconds: 300_000,
                                                     freeFailures: 2, firstDelayMilliseconds: 1_000, maxDelayMilliseconds: 8_000)

    @Test("Given 2 free failures, when more come, then each waits twice as long as the one before, capped")
    func backOffDoubles() {
        let p = Self.policy
        #expect((1...7).map { p.delay(afterFailures: $0) } == [0, 0, 1_000, 2_000, 4_000, 8_000, 8_000])
        #expect(p.delay(afterFailures: Int.max) == 8_000)   // no overflow
    }

    @Test("Given a key, when wrong guesses come, then it backs off, locks after N in the window, and the lock ends")
    func lockoutInWindow() {
        var t = GuessThrottle<String>(capacity: 16)
        var now: Int64 = 10_000
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .counted(failures: 1, retryAt: now))
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .counted(failures: 2, retryAt: now))
        #expect(t.verdict("room", now: now) == .allowed)
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .counted(failures: 3, retryAt: now + 1_000))
        #expect(t.verdict("room", now: now + 999) == .backOff(until: now + 1_000))
        now += 1_000
        #expect(t.verdict("room", now: now) == .allowed)
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .counted(failures: 4, retryAt: now + 2_000))
        now += 2_000
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .counted(failures: 5, retryAt: now + 4_000))
        now += 4_000
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .lockedOut(failures: 6, until: now + 300_000))
        // Locked: even after the back-off and the window, until the lock ends.
        #expect(t.verdict("room", now: now + 299_999) == .locked(until: now + 300_000))
        #expect(t.verdict("other", now: now) == .allowed)
        now += 300_000
        #expect(t.verdict("room", now: now) == .allowed)
        // A new streak after the lock.
        #expect(t.recordFailure("room", now: now, policy: Self.policy) == .counted(failures: 1, retryAt: now))
    }

    @Test("Given failures spread wider than the window, then they never lock; a right guess forgets the key")
    func windowAndSuccess() {
        var t = GuessThrottle<String>(capacity: 16)
        var now: Int64 = 0
        for _ in 0..<20 {
            if case .lockedOut = t.recordFailure("k", now: now, policy: Self.policy) { Issue.record("locked at \(now)") }
            now += 31_000   // past the back-off; two failures per 60 s window at most
        }
        _ = t.recordFailure("k", now: now, policy: Self.policy)
        t.recordSuccess("k")
        #expect(t.count == 0)
        #expect(t.verdict("k", now: now) == .allowed)
    }

    @Test("Given a full table, when new keys keep coming, then it never grows past its capacity and the oldest go first")
    func bounded() {
        var t = GuessThrottle<Int>(capacity: 64)
        let locking = GuessThrottle<Int>.Policy(lockoutAfter: 1, windowMilliseconds: 60_000, lockoutMilliseconds: 3_600_000,
                                                freeFailures: 0, firstDelayMilliseconds: 0, maxDelayMilliseconds: 0)
        for k in 0..<10_000 {
            _ = t.recordFailure(k, now: Int64(k), policy: locking)
            #expect(t.count <= 64)
        }
        #expect(t.verdict(9_999, now: 10_000) == .locked(until: 9_999 + 3_600_000))
        #expect(t.verdict(0, now: 10_000) == .allowed)
        #expect(t.evicted > 0)
    }
}

@Suite("Digest authentication: failures per source and per user back off")
struct DigestThrottleTests {
    static let config = """
        sip:
          trusted: ["10.0.0.0/8"]
          auth:
            realm: parley.test
            users:
              alice: { password: wonderland, tenants: [demo] }
              carol: { password: secret, tenants: [demo] }
            lockout: { source_failures: 5, user_failures: 8, window: 10m, duration: 5m, free_failures: 2, backoff: 1s, max_backoff: 4s, max_tracked: 32 }
        tenants:
          demo:
            domains: [127.0.0.1]
            numbers: { "100": { play: welcome } }
        """
    let t = DigestAuthenticationTests()

    func auth(_ clock: DigestAuthenticationTests.Clock) throws -> DigestAuthenticator {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return DigestAuthenticator(config: try ParleyConfig.parse(Self.config, file: "t.yaml"), logger: logger, clock: { clock.now })
    }

    /// An answer to a fresh challenge for `source`.
    func attempt(_ a: DigestAuthenticator, from source: SIPPeer, user: String = "alice", password: String) -> DigestAuthenticator.Decision {
        guard let c = t.challenges(a.admit(t.invite(), from: source)).first else { return a.admit(t.invite(), from: source) }
        return a.admit(t.invite(cseq: 2, authorization: [t.answer(c, user: user, password: password)]), from: source)
    }

    func retryAfter(_ d: DigestAuthenticator.Decision) -> Int? {
        guard case let .refuse(r, _) = d else { return nil }
        return r["Retry-After"].flatMap { Int($0) }
    }

    @Test("Given wrong passwords from one source, then it backs off, then locks; another source still authenticates")
    func sourceBacksOff() throws {
        let clock = DigestAuthenticationTests.Clock()
        let a = try auth(clock)
        let attacker = try t.peer("192.0.2.66"), phone = try t.peer("192.0.2.7")
        #expect(t.status(attempt(a, from: attacker, password: "x1")) == 403)
        #expect(t.status(attempt(a, from: attacker, password: "x2")) == 403)
        #expect(t.status(attempt(a, from: attacker, password: "x3")) == 403)   // third: 1 s back-off from now
        // Backing off: refused at once, without even a challenge, with Retry-After.
        let waiting = a.admit(t.invite(), from: attacker)
        #expect(t.status(waiting) == 403 && retryAfter(waiting) == 1)
        #expect(a.throttledCount == 1)
        // Even the right password is refused while the source waits.
        clock.now += 500
        #expect(t.status(attempt(a, from: attacker, password: "wonderland")) == 403)
        // Another source is not affected.
        guard case .admit("alice") = attempt(a, from: phone, password: "wonderland") else { Issue.record("phone refused"); return }
        clock.now += 500
        #expect(t.status(attempt(a, from: attacker, password: "x4")) == 403)   // 2 s back-off
        clock.now += 2_000
        #expect(t.status(attempt(a, from: attacker, password: "x5")) == 403)   // fifth: locked 5 min
        clock.now += 60_000
        let locked = a.admit(t.invite(), from: attacker)
        #expect(retryAfter(locked) == 240)
        clock.now += 240_000
        let after = attempt(a, from: attacker, password: "wonderland")
        guard case .admit("alice") = after else { Issue.record("lock did not end: \(after)"); return }
    }

    @Test("Given wrong passwords for one user from many sources, then the user locks; unknown names are not tracked")
    func userLocks() throws {
        let clock = DigestAuthenticationTests.Clock()
        let a = try auth(clock)
        for i in 0..<8 {
            #expect(t.status(attempt(a, from: try t.peer("192.0.2.\(i + 1)"), password: "guess\(i)")) == 403)
        }
        // No back-off per user: every guess was checked until the lock.
        #expect(a.throttledCount == 0)
        let fresh = try t.peer("198.51.100.9")
        let refused = attempt(a, from: fresh, password: "wonderland")
        #expect(t.status(refused) == 403 && retryAfter(refused) == 300)
        guard case .admit("carol") = attempt(a, from: fresh, user: "carol", password: "secret") else { Issue.record("carol refused"); return }
        for i in 0..<20 { _ = attempt(a, from: try t.peer("203.0.113.\(i + 1)"), user: "nobody\(i)", password: "x") }
        #expect(a.userFailures.count == 1)
    }

    @Test("Given a flood of sources, then the table stays within max_tracked")
    func bounded() throws {
        let clock = DigestAuthenticationTests.Clock()
        let a = try auth(clock)
        for i in 0..<500 {
            _ = attempt(a, from: try t.peer("100.64.\(i / 250).\(i % 250 + 1)"), password: "x")
            #expect(a.sourceFailures.count <= 32)
        }
    }

    @Test("Given a rebuild on reload, then failure counts and outstanding nonces carry over")
    func rebuildKeepsState() throws {
        let clock = DigestAuthenticationTests.Clock()
        let a = try auth(clock)
        let attacker = try t.peer("192.0.2.66")
        for i in 0..<5 { _ = attempt(a, from: attacker, password: "x\(i)"); clock.now += 10_000 }
        let challenge = t.challenges(a.admit(t.invite(), from: try t.peer("192.0.2.7"))).first
        let b = DigestAuthenticator(config: a.config, logger: a.logger, clock: { clock.now }, previous: a)
        #expect(t.status(b.admit(t.invite(), from: attacker)) == 403)
        guard let challenge, case .admit = b.admit(t.invite(cseq: 2, authorization: [t.answer(challenge)]), from: try t.peer("192.0.2.7")) else {
            Issue.record("a nonce from before the rebuild was refused"); return
        }
    }
}
