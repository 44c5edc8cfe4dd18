import Foundation
import ParleyApps

extension ParleyConfig {
    static let weekdayNames = ["sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7]

    /// `timezone` and `schedule` of a tenant:
    /// `schedule: { hours: { mon-fri: "09:00-17:30", sat: ["09:00-12:00", "13:00-15:00"] }, holidays: [2026-12-25] }`.
    /// Without `schedule` the tenant is always open; without `timezone`, UTC.
    static func parseSchedule(_ r: YAMLReader, tenant t: [(String, YAMLReader.Value)]) throws -> BusinessSchedule {
        var timeZone = TimeZone(identifier: "UTC") ?? TimeZone.current
        if let v = r.field(t, "timezone") {
            let name = try r.string(v)
            guard let tz = TimeZone(identifier: name) else { throw r.error(v, "unknown time zone '\(name)' (an IANA name such as Europe/Brussels)") }
            timeZone = tz
        }
        guard let sv = r.field(t, "schedule") else { return .always(in: timeZone) }
        let s = try r.mapping(sv, allowed: ["hours", "holidays"])
        var hours: [Int: [BusinessSchedule.Range]] = [:]
        var holidays = Set<BusinessSchedule.LocalDate>()
        if let hv = r.field(s, "hours") {
            for (daySpec, rangesValue) in try r.mapping(hv) {
                guard let days = parseDays(daySpec) else {
                    throw r.error(rangesValue, "'\(daySpec)' is not a day or day range (mon … sun, e.g. mon-fri or sat,sun)")
                }
                var ranges: [BusinessSchedule.Range] = []
                for text in try r.strings(rangesValue) where text.lowercased() != "closed" {
                    guard let range = parseRange(text) else {
                        throw r.error(rangesValue, "'\(text)' is not a time range HH:MM-HH:MM (start before end, within 00:00-24:00) or 'closed'")
                    }
                    ranges.append(range)
                }
                for d in days {
                    if hours[d] != nil { throw r.error(rangesValue, "'\(daySpec)' names a day already given another entry") }
                    hours[d] = ranges
                }
            }
        }
        if let hv = r.field(s, "holidays") {
            for (i, text) in try r.strings(hv).enumerated() {
                let parts = text.split(separator: "-").compactMap { Int($0) }
                var c = DateComponents()
                if parts.count == 3 { c.year = parts[0]; c.month = parts[1]; c.day = parts[2] }
                guard parts.count == 3, c.isValidDate(in: Calendar(identifier: .gregorian)) else {
                    throw r.error(YAMLReader.Value(node: hv.node, key: "\(hv.key)[\(i)]"), "'\(text)' is not a date YYYY-MM-DD")
                }
                holidays.insert(.init(year: parts[0], month: parts[1], day: parts[2]))
            }
        }
        return BusinessSchedule(timeZone: timeZone, hours: hours, holidays: holidays)
    }

    /// `mon`, `mon-fri`, `sat,sun`, `fri-mon` (wrapping); nil when not a day list.
    static func parseDays(_ spec: String) -> [Int]? {
        var out: [Int] = []
        for part in spec.lowercased().split(separator: ",") {
            let ends = part.split(separator: "-").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard (1...2).contains(ends.count), let a = weekdayNames[ends[0]], let b = weekdayNames[ends[ends.count - 1]] else { return nil }
            var d = a
            while true {
                out.append(d)
                if d == b { break }
                d = d % 7 + 1
            }
        }
        return out.isEmpty ? nil : out
    }

    /// `09:00-17:30` → minutes after midnight (end exclusive; 24:00 is the day's end).
    static func parseRange(_ text: String) -> BusinessSchedule.Range? {
        let ends = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
        guard ends.count == 2, let a = minutes(ends[0]), let b = minutes(ends[1]), a < b else { return nil }
        return .init(start: a, end: b)
    }

    static func minutes(_ text: String) -> Int? {
        let hm = text.split(separator: ":")
        guard hm.count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0...59).contains(m),
              h * 60 + m <= 24 * 60 else { return nil }
        return h * 60 + m
    }
}
