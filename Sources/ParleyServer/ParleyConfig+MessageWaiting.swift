import ParleySIP

extension ParleyConfig {
    /// A tenant's `mwi:` mapping: mailbox → the SIP URI that gets an unsolicited
    /// `message-summary` NOTIFY (RFC 3842) on every change of that mailbox, e.g.
    /// `mwi: { "1001": "sip:1001@192.0.2.10:5060" }` — a desk phone that does not subscribe.
    static func messageWaitingTargets(_ r: YAMLReader, tenant entries: [(String, YAMLReader.Value)]) throws -> [String: String] {
        guard let node = r.field(entries, "mwi") else { return [:] }
        var targets: [String: String] = [:]
        for (mailbox, value) in try r.mapping(node) {
            guard !mailbox.isEmpty, mailbox.count <= 64, mailbox.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLetter || "+*#-_.".contains($0)) }) else {
                throw r.error(value, "mailbox '\(mailbox)' may hold only digits, letters and + * # - _ .")
            }
            let text = try r.string(value)
            guard let uri = SIPURI(text), ["sip", "sips"].contains(uri.scheme.lowercased()) else {
                throw r.error(value, "'\(text)' is not a SIP URI (sip:user@host[:port])")
            }
            targets[mailbox] = text
        }
        return targets
    }
}
