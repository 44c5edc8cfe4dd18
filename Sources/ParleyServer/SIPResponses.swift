import Foundation
import ParleySIP

/// Builds responses and requests as a UAS (RFC 3261 §8.2.6).
enum SIPResponses {
    static let allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, SUBSCRIBE, NOTIFY"
    /// Option tags we support (RFC 3261 §19.2): session timers (RFC 4028).
    static let supported: Set<String> = ["timer"]
    static let server = "Parley"

    /// A response copying Via, From, To (adding `toTag` when To has none), Call-ID and CSeq.
    static func response(to request: SIPMessage, status: Int, reason: String, toTag: String? = nil) -> SIPMessage {
        var r = SIPMessage(startLine: .response(status: status, reason: reason))
        for h in request.headers where h.name == "Via" { r.headers.append(h) }
        if let from = request["From"] { r.append("From", from) }
        if var to = request["To"] {
            if let toTag, status != 100, NameAddress(to)?.tag == nil { to += ";tag=\(toTag)" }
            r.append("To", to)
        }
        if let callID = request["Call-ID"] { r.append("Call-ID", callID) }
        if let cseq = request["CSeq"] { r.append("CSeq", cseq) }
        // §12.1.1: a response that makes a dialog copies the Record-Route, so the peer's
        // route set is the same as ours.
        if (101..<300).contains(status), request.method == "INVITE" || request.method == "SUBSCRIBE" {
            for h in request.headers where h.name == "Record-Route" { r.headers.append(h) }
        }
        r.append("Server", server)
        return r
    }

    static func randomToken(_ length: Int = 16) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }

    /// RFC 3261 §8.1.1.7 magic cookie.
    static func newBranch() -> String { "z9hG4bK" + randomToken(20) }
}

extension SIPMessage {
    /// Appends `Warning: <code> parley "<text>"` (RFC 3261 §20.43). Quotes in the text, which
    /// often quotes an error description, become apostrophes so the header stays well formed.
    mutating func appendWarning(_ code: Int, _ text: String) {
        let safe = text.replacingOccurrences(of: "\\", with: "/").replacingOccurrences(of: "\"", with: "'")
        append("Warning", "\(code) parley \"\(safe)\"")
    }
}
