import ParleyRTP
import ParleySIP

extension CallController {
    /// INFO with `application/dtmf-relay` (`Signal=5`) or `application/dtmf` (`5`): a third
    /// DTMF source, merged with RFC 4733 and in-band in the leg.
    func handleInfo(_ info: SIPMessage, from source: SIPPeer) {
        guard let call = callInDialog(info, from: source) else { return }
        guard call.state == .confirmed || call.state == .answered else {
            return send(SIPResponses.response(to: info, status: 481, reason: "Call/Transaction Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        let type = (info["Content-Type"] ?? "").lowercased().split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        var digit: Character?
        switch type {
        case "application/dtmf-relay":
            for line in info.bodyText.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) {
                let kv = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if kv.count == 2, kv[0].lowercased() == "signal" { digit = kv[1].first }
            }
        case "application/dtmf":
            digit = info.bodyText.trimmingCharacters(in: .whitespacesAndNewlines).first
        case "":
            // An empty INFO is a keep-alive (RFC 6086 §2.1): accept it.
            return send(SIPResponses.response(to: info, status: 200, reason: "OK", toTag: call.localTag), source)
        default:
            var r = SIPResponses.response(to: info, status: 415, reason: "Unsupported Media Type", toTag: call.localTag)
            r.append("Accept", "application/dtmf-relay, application/dtmf")
            return send(r, source)
        }
        guard let d = digit, let key = TelephoneEvent.event(forDigit: d).flatMap(TelephoneEvent.digit(forEvent:)) else {
            var r = SIPResponses.response(to: info, status: 400, reason: "Bad Request", toTag: call.localTag)
            r.appendWarning(399, "no DTMF key in the INFO body")
            return send(r, source)
        }
        send(SIPResponses.response(to: info, status: 200, reason: "OK", toTag: call.localTag), source)
        call.leg?.reportDigit(key, source: .info)
    }
}
