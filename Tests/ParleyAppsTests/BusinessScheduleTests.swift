import Foundation
import Testing
@testable import ParleyApps

@Suite("Business schedule: open, closed, holiday in the tenant's time zone")
struct BusinessScheduleTests {
    static func at(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso) ?? .distantPast }

    /// Brussels, open Sunday 09:00-12:00 and weekdays 09:00-17:30; Christmas is a holiday.
    static let brussels: BusinessSchedule = {
        let tz = TimeZone(identifier: "Europe/Brussels") ?? .current
        let week = [BusinessSchedule.Range(start: 9 * 60, end: 17 * 60 + 30)]
        var hours: [Int: [BusinessSchedule.Range]] = [1: [.init(start: 9 * 60, end: 12 * 60)]]
        for d in 2...6 { hours[d] = week }
        return BusinessSchedule(timeZone: tz, hours: hours, holidays: [.init(year: 2026, month: 12, day: 25)])
    }()

    @Test("autumn change (2026-10-25, CEST to CET): 09:00 local is 08:00 UTC that day", arguments: [
        ("2026-10-25T07:30:00Z", ScheduleState.closed),  // 08:30 CET (a fixed +2 would say 09:30, open)
        ("2026-10-25T08:00:00Z", .open),                 // 09:00 CET
        ("2026-10-25T10:59:00Z", .open),                 // 11:59 CET
        ("2026-10-25T11:00:00Z", .closed),               // 12:00 CET
        ("2026-10-24T07:30:00Z", .closed),               // Saturday 09:30 CEST: no hours on Saturday
        ("2026-10-23T07:30:00Z", .open),                 // Friday 09:30 CEST
    ])
    func autumn(iso: String, expected: ScheduleState) {
        #expect(Self.brussels.state(at: Self.at(iso)) == expected)
    }

    @Test("spring change (2027-03-28, CET to CEST): 09:00 local is 07:00 UTC that day", arguments: [
        ("2027-03-28T06:59:00Z", ScheduleState.closed),  // 08:59 CEST
        ("2027-03-28T07:00:00Z", .open),                 // 09:00 CEST (a fixed +1 would say 08:00, closed)
        ("2027-03-28T09:59:00Z", .open),                 // 11:59 CEST
        ("2027-03-28T10:00:00Z", .closed),               // 12:00 CEST
    ])
    func spring(iso: String, expected: ScheduleState) {
        #expect(Self.brussels.state(at: Self.at(iso)) == expected)
    }

    @Test("a holiday overrides the weekly hours for the whole local day")
    func holiday() {
        #expect(Self.brussels.state(at: Self.at("2026-12-25T10:00:00Z")) == .holiday)
        #expect(Self.brussels.state(at: Self.at("2026-12-24T23:30:00Z")) == .holiday)   // 00:30 on the 25th in Brussels
        #expect(Self.brussels.state(at: Self.at("2026-12-25T23:30:00Z")) == .closed)    // 00:30 on the 26th
    }

    @Test("no schedule: always open, holidays still apply")
    func always() {
        let s = BusinessSchedule.always(in: TimeZone(identifier: "UTC") ?? .current)
        #expect(s.state(at: Self.at("2026-10-25T03:00:00Z")) == .open)
    }
}
