import Foundation

/// The header-level encodings a composed message needs: RFC 2047 encoded words for text
/// that is not plain ASCII, RFC 5322 quoted strings for display names, and the removal of
/// anything that could end a header line early.
enum MIMEEncoding {
    /// Caller-supplied text (a SIP display name) becomes one line of printable text: CR,
    /// LF, NUL and every other control character become a space, runs of spaces collapse,
    /// and the result is bounded. Nothing that comes out of this can start a new header.
    static func singleLine(_ text: String, limit: Int = 200) -> String {
        var out = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            let isControl = scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0)
                || scalar == "\u{2028}" || scalar == "\u{2029}" || scalar == "\u{85}"
            if isControl || scalar == " " || scalar == "\t" {
                if !lastWasSpace && !out.isEmpty { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(scalar)
                lastWasSpace = false
            }
            if out.count >= limit { break }
        }
        var s = String(out)
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }

    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// An unstructured header value (Subject): ASCII text as is, anything else as RFC 2047
    /// `=?UTF-8?B?…?=` words of at most 75 characters each (§2), split on character
    /// boundaries so no word holds half a UTF-8 sequence (§5 rule 3).
    static func unstructured(_ text: String) -> String {
        let line = singleLine(text, limit: 500)
        if isPlainASCII(line) && !line.contains("=?") { return line }
        return encodedWords(line).joined(separator: "\r\n ")
    }

    /// A display name for a `From`/`To` header: a quoted string when plain ASCII (quotes and
    /// backslashes escaped), else RFC 2047 encoded words (which may not sit inside quotes).
    static func displayName(_ name: String) -> String {
        let line = singleLine(name, limit: 120)
        if isPlainASCII(line) && !line.contains("=?") {
            var quoted = "\""
            for c in line {
                if c == "\"" || c == "\\" { quoted.append("\\") }
                quoted.append(c)
            }
            return quoted + "\""
        }
        return encodedWords(line).joined(separator: "\r\n ")
    }

    /// `name <address>`, or the bare address when the name is empty.
    static func mailbox(name: String, address: MailAddress) -> String {
        let n = singleLine(name, limit: 120)
        return n.isEmpty ? address.address : "\(displayName(n)) <\(address.address)>"
    }

    /// Base64 encoded words: each holds at most 45 bytes of UTF-8 (60 base64 characters +
    /// 12 of framing = 72 ≤ 75).
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 && !chunk.isEmpty {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes.prefix(45)
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// Base64 body lines of 76 characters (RFC 2045 §6.8), CRLF-terminated.
    static func base64Lines(_ data: Data) -> String {
        let encoded = data.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return encoded.isEmpty ? "" : encoded + "\r\n"
    }

    /// A `text/plain; charset=utf-8` part's body, base64: any UTF-8 passes through a 7-bit
    /// relay, and no line of caller text can look like a boundary or the end of DATA.
    static func textBody(_ text: String) -> String {
        // Normalize line ends to CRLF so the part is well-formed whatever the template holds.
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
        return base64Lines(Data(normalized.utf8))
    }
}
