import Foundation
import Testing
@testable import ParleyApps

@Suite("Say: numbers, digits, dates and times as prompt fragments")
struct SayPhrasesTests {
    @Test("cardinals without 'and' (three hundred twelve)", arguments: [
        (0, "num-0"), (7, "num-7"), (13, "num-13"), (20, "num-20"), (21, "num-20 num-1"),
        (100, "num-1 num-hundred"), (312, "num-3 num-hundred num-12"), (1005, "num-1 num-thousand num-5"),
        (45_678, "num-40 num-5 num-thousand num-6 num-hundred num-70 num-8"),
        (2_000_019, "num-2 num-million num-19"),
    ])
    func numbers(n: Int, expected: String) {
        #expect(SayPhrases.number(n).joined(separator: " ") == expected)
    }

    @Test("out of range numbers are said digit by digit")
    func outOfRange() {
        #expect(SayPhrases.number(-5) == ["digit-5"])
    }

    @Test("digits, star and pound")
    func digits() {
        #expect(SayPhrases.digits("12*#") == ["digit-1", "digit-2", "star", "pound"])
    }

    @Test("dates: 'Saturday, November twenty-first' in the tenant's zone")
    func dates() throws {
        let brussels = try #require(TimeZone(identifier: "Europe/Brussels"))
        // 2026-11-21 23:30 UTC is already Sunday the 22nd in Brussels.
        let d = try #require(ISO8601DateFormatter().date(from: "2026-11-21T23:30:00Z"))
        #expect(SayPhrases.date(d, timeZone: try #require(TimeZone(identifier: "UTC"))) == ["day-saturday", "month-november", "ord-21"])
        #expect(SayPhrases.date(d, timeZone: brussels) == ["day-sunday", "month-november", "ord-22"])
    }

    @Test("times: four fifteen P M, four o'clock, four oh five, midnight and noon", arguments: [
        (16, 15, "num-4 num-15 time-pm"), (16, 0, "num-4 time-oclock time-pm"), (4, 5, "num-4 time-oh num-5 time-am"),
        (0, 0, "num-12 time-oclock time-am"), (12, 0, "num-12 time-oclock time-pm"), (23, 59, "num-11 num-50 num-9 time-pm"),
    ])
    func times(hour: Int, minute: Int, expected: String) {
        #expect(SayPhrases.time(hour: hour, minute: minute).joined(separator: " ") == expected)
    }

    @Test("counts pick the singular for one")
    func counts() {
        #expect(SayPhrases.count(1, singular: "vm-message", plural: "vm-messages") == ["num-1", "vm-message"])
        #expect(SayPhrases.count(3, singular: "vm-message", plural: "vm-messages") == ["num-3", "vm-messages"])
    }
}
