import Foundation
import Logging
import ParleyApps
import Testing
@testable import ParleyServer

@Suite("Conference PINs: wrong guesses counted per room across calls, on an injected clock")
struct ConferencePINGuessTests {
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int64 = 5_000
        var now: Int64 { lock.withLock { value } }
        func advance(_ ms: Int64) { lock.withLock { value += ms } }
    }

    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [CallEvent] = []
        func add(_ e: CallEvent) { lock.withLock { list.append(e) } }
        var all: [CallEvent] { lock.withLock { list } }
    }

    static let text = """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [acme.example]
            numbers:
              "300": { conference: "300" }
            conferences:
              "*": { min_pin_length: 4, pin_lockout_after: 5, pin_window: 10m, pin_lockout: 2m, pin_free_failures: 2, pin_backoff: 1s, pin_max_backoff: 8s }
              "300": { pin: "4812" }
              "301": { pin: "7351" }
        """

    func registry(_ clock: Clock, _ events: Events) -> ConferenceRegistry {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return ConferenceRegistry(dataDirectory: NSTemporaryDirectory(), logger: logger, audio: { _, _, _ in nil },
                                  emit: { events.add($0) }, clock: { clock.now })
    }

    @Test("Given wrong PINs from several calls, then the room backs off, locks after 5 with one event, and refuses the right PIN while locked")
    func lockoutAcrossCalls() throws {
        let config = try ParleyConfig.parse(Self.text, file: "p.yaml")
        let tenant = try #require(config.tenants.first)
        let clock = Clock(), events = Events()
        let r = registry(clock, events)
        // Two free wrong guesses, from two calls.
        #expect(r.guess(tenant: tenant, room: "300", correct: false, callID: "a") == .rejected(retryAfter: .zero))
        #expect(r.guess(tenant: tenant, room: "300", correct: false, callID: "b") == .rejected(retryAfter: .zero))
        // The third makes the room wait 1 s; a fourth call guessing at once is not checked.
        #expect(r.guess(tenant: tenant, room: "300", correct: false, callID: "c") == .rejected(retryAfter: .seconds(1)))
        #expect(r.guess(tenant: tenant, room: "300", correct: true, callID: "d") == .tooSoon(retryAfter: .seconds(1)))
        // Another room is not affected.
        #expect(r.guess(tenant: tenant, room: "301", correct: true, callID: "e") == .accepted)
        clock.advance(1_000)
        #expect(r.guess(tenant: tenant, room: "300", correct: false, callID: "a") == .rejected(retryAfter: .seconds(2)))
        clock.advance(2_000)
        #expect(r.guess(tenant: tenant, room: "300", correct: false, callID: "b") == .lockedOut)
        let locked = events.all.filter { $0.name == "conference.pin_locked" }
        #expect(locked.count == 1)
        #expect(locked.first?.callID == "b")
        #expect(locked.first?.fields.map(\.0) == ["room", "failures", "seconds"])
        // Locked: the right PIN is refused, and no further event is written.
        clock.advance(60_000)
        #expect(r.guess(tenant: tenant, room: "300", correct: true, callID: "f") == .lockedOut)
        #expect(events.all.filter { $0.name == "conference.pin_locked" }.count == 1)
        clock.advance(60_000)
        #expect(r.guess(tenant: tenant, room: "300", correct: true, callID: "g") == .accepted)
    }

    @Test("Given a right PIN between wrong ones, then the room's count is not forgotten")
    func successKeepsCount() throws {
        let config = try ParleyConfig.parse(Self.text, file: "p.yaml")
        let tenant = try #require(config.tenants.first)
        let clock = Clock(), events = Events()
        let r = registry(clock, events)
        _ = r.guess(tenant: tenant, room: "300", correct: false, callID: "a")
        _ = r.guess(tenant: tenant, room: "300", correct: false, callID: "a")
        #expect(r.guess(tenant: tenant, room: "300", correct: true, callID: "b") == .accepted)
        #expect(r.guess(tenant: tenant, room: "300", correct: false, callID: "a") == .rejected(retryAfter: .seconds(1)))
    }

    @Test("Given parallel guesses from 50 tasks, then exactly the lockout's count of wrong guesses is checked")
    func parallelGuesses() async throws {
        let config = try ParleyConfig.parse(Self.text.replacingOccurrences(of: "pin_free_failures: 2", with: "pin_free_failures: 100"),
                                            file: "p.yaml")
        let tenant = try #require(config.tenants.first)
        let clock = Clock(), events = Events()
        let r = registry(clock, events)
        let verdicts = await withTaskGroup(of: ConferencePINVerdict.self) { group in
            for i in 0..<50 { group.addTask { r.guess(tenant: tenant, room: "300", correct: false, callID: "c\(i)") } }
            var all: [ConferencePINVerdict] = []
            for await v in group { all.append(v) }
            return all
        }
        #expect(verdicts.filter { $0 == .rejected(retryAfter: .zero) }.count == 4)
        #expect(verdicts.filter { $0 == .lockedOut }.count == 46)
        #expect(events.all.filter { $0.name == "conference.pin_locked" }.count == 1)
    }

    @Test("Given a room PIN shorter than min_pin_length, then the configuration names the file, line and key")
    func minimumLength() throws {
        let short = Self.text.replacingOccurrences(of: "\"301\": { pin: \"7351\" }", with: "\"301\": { pin: \"735\" }")
        #expect(ConfigTests().error(short).contains("p.yaml:12: tenants.acme.conferences.301.pin: shorter than min_pin_length (4 digits)"))
        let shortModerator = Self.text.replacingOccurrences(of: "\"301\": { pin: \"7351\" }", with: "\"301\": { moderator_pin: \"12\" }")
        #expect(ConfigTests().error(shortModerator).contains("tenants.acme.conferences.301.moderator_pin: shorter than min_pin_length"))
        // Without a "*" entry the minimum is 4.
        let noDefaults = Self.text.components(separatedBy: "\n").filter { !$0.contains("\"*\"") }.joined(separator: "\n")
        #expect(ConfigTests().error(noDefaults.replacingOccurrences(of: "7351", with: "735")).contains("shorter than min_pin_length (4 digits)"))
        let lowered = Self.text.replacingOccurrences(of: "min_pin_length: 4", with: "min_pin_length: 3")
            .replacingOccurrences(of: "7351", with: "735")
        #expect(ConfigTests().error(lowered) == "no error")
        #expect(ConfigTests().error(Self.text.replacingOccurrences(of: "pin_window: 10m", with: "pin_windw: 10m"))
            .contains("tenants.acme.conferences.*.pin_windw: unknown key"))
        #expect(ConfigTests().error(Self.text.replacingOccurrences(of: "pin_backoff: 1s", with: "pin_backoff: 2h"))
            .contains("tenants.acme.conferences.*.pin_backoff: expected a duration from 0ms to 1h"))
        #expect(ConfigTests().error(Self.text.replacingOccurrences(of: "pin_window: 10m", with: "pin_window: 500ms"))
            .contains("tenants.acme.conferences.*.pin_window: expected a duration from 1s to 24h"))
        #expect(try ParleyConfig.parse(Self.text, file: "p.yaml").tenants.first?.conferences["*"] == nil)
    }
}
