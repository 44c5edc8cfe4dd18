import ParleySIP

extension ParleyConfig {
    /// A number's `transfer:` target: a `sip:` or `sips:` URI (angle brackets allowed), which the
    /// caller is blind-transferred to (REFER) once the call is answered.
    static func transferTarget(_ r: YAMLReader, _ v: YAMLReader.Value, alongside entry: [(String, YAMLReader.Value)]) throws -> String {
        if r.field(entry, "play") != nil { throw r.error(v, "a number has one target: play or transfer, not both") }
        let text = try r.string(v)
        let bare = text.hasPrefix("<") && text.hasSuffix(">") ? String(text.dropFirst().dropLast()) : text
        guard let uri = SIPURI(bare), ["sip", "sips"].contains(uri.scheme.lowercased()) else {
            throw r.error(v, "'\(text)' is not a SIP URI (sip:user@host[:port])")
        }
        return bare
    }
}
