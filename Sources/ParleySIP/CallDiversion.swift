/// Why a call was diverted to us (e.g. to voicemail), from what the diverting proxy put in
/// the INVITE. Looked for, in order:
/// 1. the Request-URI's `cause` parameter (RFC 4458: `sip:voicemail@host;target=…;cause=486`);
/// 2. the top-most `Diversion` value's `reason` (RFC 5806: `user-busy`, `no-answer`, …);
/// 3. the last `History-Info` entry naming a cause: its URI's `cause` parameter (RFC 7044) or
///    its escaped `Reason` header (`?Reason=SIP%3Bcause%3D486`, RFC 4244).
///
/// Pure string work on bounded header values; anything unparsable is ignored.
public enum CallDiversion {
    public enum Cause: Sendable, Equatable {
        case busy
        case noAnswer
        case unavailable
        /// Diverted for another reason (unconditional forwarding, deflection, …).
        case other
    }

    public static func cause(of invite: SIPMessage) -> Cause? {
        cause(requestURI: invite.requestURI ?? "", diversion: invite.values("Diversion"), historyInfo: invite.values("History-Info"))
    }

    public static func cause(requestURI: String, diversion: [String], historyInfo: [String]) -> Cause? {
        if let code = SIPURI(requestURI)?.parameter("cause").flatMap({ $0 }).flatMap({ Int($0) }) { return sipCause(code) }
        if let top = diversion.first, let reason = parameter("reason", in: top) { return diversionReason(reason) }
        for entry in historyInfo.reversed() {
            if let code = historyCause(entry) { return sipCause(code) }
        }
        return nil
    }

    /// RFC 4458 §3 / RFC 4244 causes: 486 busy, 408 no answer, 480 unavailable.
    static func sipCause(_ code: Int) -> Cause {
        switch code {
        case 486, 600: return .busy
        case 408, 487: return .noAnswer
        case 480, 404, 410, 503: return .unavailable
        default: return .other
        }
    }

    /// RFC 5806 §4 reasons.
    static func diversionReason(_ reason: String) -> Cause {
        switch unquoted(reason).lowercased() {
        case "user-busy": return .busy
        case "no-answer": return .noAnswer
        case "unavailable", "out-of-service", "do-not-disturb", "away": return .unavailable
        default: return .other
        }
    }

    /// A `;name=value` parameter after the name-addr (outside `<…>`).
    static func parameter(_ name: String, in value: String) -> String? {
        let afterAddress = value.lastIndex(of: ">").map { value[value.index(after: $0)...] } ?? value[...]
        for part in afterAddress.split(separator: ";").dropFirst(value.contains(">") ? 0 : 1) {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingSpaces.lowercased() == name { return String(kv[1].trimmingSpaces) }
        }
        return nil
    }

    /// The cause in one History-Info entry: `cause=NNN` in the URI, or in its escaped Reason header.
    static func historyCause(_ entry: String) -> Int? {
        let lower = entry.lowercased()[...]
        for marker in ["cause%3d", "cause="] {
            guard let range = lower.range(of: marker) else { continue }
            let digits = lower[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
            if digits.count == 3, let code = Int(digits) { return code }
        }
        return nil
    }

    static func unquoted(_ s: String) -> String {
        s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
