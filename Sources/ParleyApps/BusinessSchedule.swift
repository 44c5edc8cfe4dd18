import Foundation

/// Which greeting a tenant's menus play right now.
public enum ScheduleState: String, Sendable, Equatable {
    case open, closed, holiday
}

/// A tenant's business hours: weekly opening ranges and holiday dates, in its time zone.
///
/// The state is computed from local wall-clock time through Foundation's `Calendar`, so it
/// follows daylight-saving changes (09:00 is 09:00 local on both sides of the change). A
/// holiday date overrides the weekly hours for the whole local day.
public struct BusinessSchedule: Sendable, Equatable {
    /// Minutes after local midnight: `start ..< end`.
    public struct Range: Sendable, Equatable {
        public var start: Int
        public var end: Int
        public init(start: Int, end: Int) { self.start = start; self.end = end }
    }

    public var timeZone: TimeZone
    /// Opening ranges per weekday, 1 = Sunday … 7 = Saturday (Calendar's numbering).
    /// A tenant without a schedule is always open (`alwaysOpen`).
    public var hours: [Int: [Range]]
    /// Local dates (year, month, day) when the office is closed for a holiday.
    public var holidays: Set<LocalDate>
    public var alwaysOpen: Bool

    public struct LocalDate: Sendable, Hashable, CustomStringConvertible {
        public var year: Int, month: Int, day: Int
        public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }
        public var description: String {
            String(format: "%04d-%02d-%02d", year, month, day)
        }
    }

    public init(timeZone: TimeZone, hours: [Int: [Range]], holidays: Set<LocalDate>, alwaysOpen: Bool = false) {
        self.timeZone = timeZone; self.hours = hours; self.holidays = holidays; self.alwaysOpen = alwaysOpen
    }

    public static func always(in timeZone: TimeZone) -> BusinessSchedule {
        BusinessSchedule(timeZone: timeZone, hours: [:], holidays: [], alwaysOpen: true)
    }

    public func state(at date: Date) -> ScheduleState {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: date)
        guard let year = c.year, let month = c.month, let day = c.day, let weekday = c.weekday,
              let hour = c.hour, let minute = c.minute else { return .closed }
        if holidays.contains(LocalDate(year: year, month: month, day: day)) { return .holiday }
        if alwaysOpen { return .open }
        let now = hour * 60 + minute
        return (hours[weekday] ?? []).contains { $0.start <= now && now < $0.end } ? .open : .closed
    }
}
