/// What identifies a transaction, so a received message finds the one it belongs to.
///
/// - Server side (§17.2.3): the top Via's branch, when it starts with the magic cookie,
///   plus its sent-by and the request's method — ACK counting as INVITE, so an ACK for a
///   failure response finds the INVITE transaction. CANCEL keeps its own method: it is a
///   transaction of its own, and `SIPTransactionKey(cancelledBy:)` finds the INVITE it
///   cancels (§9.2).
/// - Requests from RFC 2543 peers (no cookie, or a bare cookie: RFC 4475 §3.2.1) are
///   matched on Request-URI, From tag, Call-ID, CSeq number, top Via and method (ACK and
///   CANCEL mapped as above); the To tag counts except for INVITE/ACK/CANCEL, where the
///   ACK carries the tag of our response rather than the INVITE's (§17.2.3).
/// - Client side (§17.1.3): the top Via's branch (ours) and the CSeq method.
public struct SIPTransactionKey: Hashable, Sendable, CustomStringConvertible {
    enum Identity: Hashable, Sendable {
        case server(branch: String, sentBy: String)
        case rfc2543(requestURI: String, fromTag: String?, toTag: String?, callID: String, cseq: UInt32, topVia: String)
        case client(branch: String)
    }

    let identity: Identity
    /// The method of the transaction this key finds (INVITE for an ACK).
    public let method: String

    /// The server transaction a received request belongs to; nil if it lacks Via or CSeq.
    public init?(request: SIPMessage) {
        guard let method = request.method else { return nil }
        self.init(request: request, method: method == "ACK" ? "INVITE" : method)
    }

    /// The INVITE server transaction a CANCEL refers to (§9.2): same matching, method INVITE.
    public init?(cancelledBy cancel: SIPMessage) {
        guard cancel.method == "CANCEL" else { return nil }
        self.init(request: cancel, method: "INVITE")
    }

    private init?(request: SIPMessage, method: String) {
        guard let topText = request.topVia, let via = Via(topText),
              let callID = request.callID, let cseq = request.cseq, let uri = request.requestURI else { return nil }
        self.method = method
        if via.hasRFC3261Branch, let branch = via.branch {
            identity = .server(branch: branch, sentBy: via.host.lowercased() + ":" + (via.port.map(String.init) ?? ""))
        } else {
            let from = request["From"].flatMap(NameAddress.init)
            let to = request["To"].flatMap(NameAddress.init)
            let toTagCounts = !["INVITE", "ACK", "CANCEL"].contains(request.method ?? "")
            identity = .rfc2543(requestURI: uri, fromTag: from?.tag ?? nil, toTag: toTagCounts ? to?.tag ?? nil : nil,
                                callID: callID, cseq: cseq.number, topVia: topText)
        }
    }

    /// The client transaction a received response belongs to (§17.1.3).
    public init?(response: SIPMessage) {
        guard response.status != nil, let via = response.topVia.flatMap(Via.init),
              let branch = via.branch, let cseq = response.cseq else { return nil }
        identity = .client(branch: branch)
        method = cseq.method
    }

    /// The key under which to file a client transaction for a request we send.
    public init?(sentRequest: SIPMessage) {
        guard let method = sentRequest.method, let via = sentRequest.topVia.flatMap(Via.init),
              let branch = via.branch else { return nil }
        identity = .client(branch: branch)
        self.method = method
    }

    public var description: String { "\(identity) \(method)" }
}
