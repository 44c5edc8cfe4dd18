import ParleySIP

/// What the SIP fuzz target checks for every input, shared with the corpus replay test so
/// CI re-checks each input libFuzzer once found interesting (`scripts/fuzz sip`).
///
/// Beyond "never traps": a message the datagram parser accepts serializes to bytes it
/// accepts again, and the same holds for the stream framer.
public enum SIPFuzzChecks {
    /// Runs every SIP-side parser over `bytes`. Returns whether the datagram parser accepted it.
    @discardableResult
    public static func check(_ bytes: [UInt8]) -> Bool {
        let parser = SIPParser()
        _ = parser.parseHeadLeniently(bytes)
        _ = SIPRequestValidator().classify(bytes)
        if let framed = try? parser.frame(bytes) {
            precondition(framed.consumed <= bytes.count, "framer consumed more than it was given")
        }
        guard let message = try? parser.parse(bytes) else { return false }
        precondition((try? parser.parse(message.serialized())) != nil, "an accepted message did not survive serialize → parse")
        if let uri = message.requestURI { _ = SIPURI(uri) }
        for name in ["From", "To", "Contact"] { if let v = message[name] { _ = NameAddress(v) } }
        for v in message.values("Via") { _ = Via(v) }
        // Digest authentication, REFER progress and message-waiting bodies and headers.
        for name in ["Authorization", "Proxy-Authorization", "WWW-Authenticate"] {
            guard let v = message[name] else { continue }
            _ = DigestParameters.parse(v)
            if let credentials = try? DigestCredentials.parse(v) {
                precondition((try? DigestCredentials.parse(credentials.headerValue)) != nil,
                             "accepted digest credentials did not survive serialize → parse")
            }
        }
        if let v = message["Subscription-State"] { _ = SubscriptionState(v) }
        _ = SIPFrag(message.bodyText)
        if let summary = try? MessageSummary(parsing: message.bodyText) {
            precondition((try? MessageSummary(parsing: summary.serialized)) != nil,
                         "an accepted message-summary did not survive serialize → parse")
        }
        if let sdp = try? SessionDescription.parse(message.bodyText) {
            _ = try? OfferAnswer().answer(offer: sdp, localAddress: "127.0.0.1", localPort: 20000, sessionID: 1)
            precondition((try? SessionDescription.parse(sdp.serialized())) != nil, "an accepted SDP did not survive serialize → parse")
        }
        return true
    }
}
