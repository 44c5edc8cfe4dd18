import Foundation
import ParleyStore

/// What is said before a message's audio: "message two, urgent, received today at four
/// fifteen P M from five five five one two three four". Pure: prompt names only.
public enum VoicemailEnvelope {
    /// `position` counts from 1 in the listing the caller walks through.
    public static func phrases(for message: VoicemailMessage, position: Int, now: Date, timeZone: TimeZone) -> [String] {
        var out = ["vm-message"] + SayPhrases.number(position)
        if message.urgent { out.append("vm-urgent") }
        out.append("say-received")
        out += day(message.receivedAt, now: now, timeZone: timeZone)
        out.append("say-at")
        out += SayPhrases.time(message.receivedAt, timeZone: timeZone)
        out.append("say-from")
        let digits = SayPhrases.digits(message.callerNumber)
        out += digits.isEmpty ? ["vm-unknown-caller"] : digits
        return out
    }

    /// "today", "yesterday", else "Tuesday, November twenty-first", in the tenant's zone.
    static func day(_ date: Date, now: Date, timeZone: TimeZone) -> [String] {
        let calendar = SayPhrases.calendar(timeZone)
        if calendar.isDate(date, inSameDayAs: now) { return ["say-today"] }
        if let yesterday = calendar.date(byAdding: .day, value: -1, to: now), calendar.isDate(date, inSameDayAs: yesterday) {
            return ["say-yesterday"]
        }
        return SayPhrases.date(date, timeZone: timeZone)
    }

    /// "You have two new messages and one saved message" (the folders that are not empty;
    /// old and saved count together as saved), or "You have no messages".
    public static func summary(_ counts: FolderCounts) -> [String] {
        let saved = counts.old + counts.saved
        guard counts.new + saved > 0 else { return ["vm-no-messages"] }
        var parts: [[String]] = []
        if counts.new > 0 { parts.append(SayPhrases.number(counts.new) + ["vm-new", counts.new == 1 ? "vm-message" : "vm-messages"]) }
        if saved > 0 { parts.append(SayPhrases.number(saved) + ["vm-saved", saved == 1 ? "vm-message" : "vm-messages"]) }
        return ["vm-you-have"] + parts.joined(separator: ["say-and"])
    }
}
