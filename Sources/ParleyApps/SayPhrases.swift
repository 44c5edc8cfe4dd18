import Foundation

/// Turns numbers, dates and times into sequences of prompt fragment names (see the
/// agreed names: `num-0`…`num-19`, `num-20`…`num-90`, `num-hundred`, `num-thousand`,
/// `num-million`, `ord-1`…`ord-31`, `day-*`, `month-*`, `time-am`, `time-pm`,
/// `time-oclock`, `time-oh`, `digit-0`…`digit-9`, `star`, `pound`).
///
/// English rules, American style: no "and" inside numbers — 312 is "three hundred
/// twelve", 1005 "one thousand five". Pure functions: no I/O, easy to test.
public enum SayPhrases {
    /// Cardinal number, 0 … 999 999 999. Negative numbers and larger ones are out of
    /// range: they are said digit by digit (no prompt for "minus" exists).
    public static func number(_ n: Int) -> [String] {
        guard n >= 0, n < 1_000_000_000 else { return digits(String(n)) }
        if n == 0 { return ["num-0"] }
        var out: [String] = []
        let millions = n / 1_000_000, thousands = (n / 1000) % 1000, rest = n % 1000
        if millions > 0 { out += below1000(millions) + ["num-million"] }
        if thousands > 0 { out += below1000(thousands) + ["num-thousand"] }
        if rest > 0 { out += below1000(rest) }
        return out
    }

    /// 1 … 999 (0 says nothing).
    static func below1000(_ n: Int) -> [String] {
        var out: [String] = []
        let hundreds = n / 100, rest = n % 100
        if hundreds > 0 { out += ["num-\(hundreds)", "num-hundred"] }
        if rest >= 20 {
            out.append("num-\(rest / 10 * 10)")
            if rest % 10 > 0 { out.append("num-\(rest % 10)") }
        } else if rest > 0 {
            out.append("num-\(rest)")
        }
        return out
    }

    /// Key by key: digits, `*` and `#`; other characters are skipped.
    public static func digits(_ text: String) -> [String] {
        text.compactMap { c -> String? in
            switch c {
            case "0"..."9": return "digit-\(c)"
            case "*": return "star"
            case "#": return "pound"
            default: return nil
            }
        }
    }

    static let weekdays = ["day-sunday", "day-monday", "day-tuesday", "day-wednesday", "day-thursday", "day-friday", "day-saturday"]
    static let months = ["month-january", "month-february", "month-march", "month-april", "month-may", "month-june",
                         "month-july", "month-august", "month-september", "month-october", "month-november", "month-december"]

    /// "Tuesday, November twenty-first": weekday, month, ordinal day, in `timeZone`.
    public static func date(_ date: Date, timeZone: TimeZone) -> [String] {
        let c = calendar(timeZone).dateComponents([.weekday, .month, .day], from: date)
        guard let weekday = c.weekday, let month = c.month, let day = c.day,
              (1...7).contains(weekday), (1...12).contains(month), (1...31).contains(day) else { return [] }
        return [weekdays[weekday - 1], months[month - 1], "ord-\(day)"]
    }

    /// Twelve-hour time in `timeZone`: "four fifteen P M", "four o'clock P M", "four oh five A M";
    /// midnight is "twelve o'clock A M", noon "twelve o'clock P M".
    public static func time(_ date: Date, timeZone: TimeZone) -> [String] {
        let c = calendar(timeZone).dateComponents([.hour, .minute], from: date)
        guard let hour = c.hour, let minute = c.minute else { return [] }
        return time(hour: hour, minute: minute)
    }

    public static func time(hour: Int, minute: Int) -> [String] {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return [] }
        let h12 = hour % 12 == 0 ? 12 : hour % 12
        var out = number(h12)
        if minute == 0 {
            out.append("time-oclock")
        } else if minute < 10 {
            out += ["time-oh", "num-\(minute)"]
        } else {
            out += number(minute)
        }
        out.append(hour < 12 ? "time-am" : "time-pm")
        return out
    }

    /// "three messages", "one message": the number, then the singular or plural word prompt.
    public static func count(_ n: Int, singular: String, plural: String) -> [String] {
        number(n) + [n == 1 ? singular : plural]
    }

    static func calendar(_ timeZone: TimeZone) -> Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        return c
    }
}

extension CallFlow {
    /// Says a cardinal number ("three hundred twelve").
    public func say(number n: Int) async throws(CallFlowError) { try await play(SayPhrases.number(n)) }
    /// Says keys one by one ("one two three pound").
    public func say(digits text: String) async throws(CallFlowError) { try await play(SayPhrases.digits(text)) }
    /// Says a date ("Tuesday, November twenty-first") in the tenant's time zone.
    public func say(date: Date, timeZone: TimeZone) async throws(CallFlowError) { try await play(SayPhrases.date(date, timeZone: timeZone)) }
    /// Says a time ("four fifteen P M") in the tenant's time zone.
    public func say(time: Date, timeZone: TimeZone) async throws(CallFlowError) { try await play(SayPhrases.time(time, timeZone: timeZone)) }
    /// Says a count with its noun ("three new messages" is `count(3, "vm-message", "vm-messages")` after "vm-new").
    public func say(count n: Int, singular: String, plural: String) async throws(CallFlowError) {
        try await play(SayPhrases.count(n, singular: singular, plural: plural))
    }
}
