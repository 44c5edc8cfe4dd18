/// A dialog as the UAS of the INVITE that created it (RFC 3261 §12): what identifies it
/// (Call-ID, our tag, the peer's tag), the two CSeq spaces, and how requests we send in it
/// are addressed (route set, remote target).
///
/// A value with no I/O: the driver keeps one per call, asks `classify` before it acts on a
/// request that claims to be in the dialog, calls `accept` once it takes it, and builds its
/// own requests with `request(method:)`.
public struct SIPDialog: Sendable, Equatable {
    /// What identifies a dialog (§12: Call-ID, local tag, remote tag): the key calls are kept by.
    public struct ID: Hashable, Sendable, CustomStringConvertible {
        public let callID: String
        public let localTag: String
        public let remoteTag: String?

        public init(callID: String, localTag: String, remoteTag: String?) {
            self.callID = callID; self.localTag = localTag; self.remoteTag = remoteTag
        }

        /// The dialog a request received as UAS claims to be in (§12.2.2: its To tag is ours,
        /// its From tag the peer's); nil without Call-ID or To tag.
        public init?(request: SIPMessage) {
            guard let callID = request.callID, let localTag = request["To"].flatMap(NameAddress.init)?.tag else { return nil }
            self.init(callID: callID, localTag: localTag, remoteTag: request["From"].flatMap(NameAddress.init)?.tag)
        }

        public var description: String { "\(callID);local=\(localTag);remote=\(remoteTag ?? "-")" }
    }

    public var id: ID { ID(callID: callID, localTag: localTag, remoteTag: remoteTag) }

    public let callID: String
    /// Our tag: the To tag of our responses, the From tag of our requests.
    public let localTag: String
    /// The peer's From tag; nil for an RFC 2543 peer that sent none (§12.2.2: then only
    /// requests without a From tag match).
    public let remoteTag: String?
    /// The CSeq number of the last request we sent in the dialog (§12.2.1.1).
    public private(set) var localCSeq: UInt32
    /// The CSeq number of the last request the peer sent that we took (§12.2.2).
    public private(set) var remoteCSeq: UInt32
    /// The CSeq number of the last INVITE (initial or re-INVITE) we took: what an ACK carries.
    public private(set) var remoteInviteCSeq: UInt32
    /// URIs from the Record-Route of the INVITE, in order (§12.1.1: the UAS keeps them as
    /// received, so the first is the proxy nearest to us, the next hop of our requests).
    public let routeSet: [String]
    /// Where our requests go: the peer's Contact URI, updated by target refresh (§12.2.2).
    public private(set) var remoteTarget: String
    /// The INVITE came over TLS with a sips Request-URI (§12.1.1).
    public let secure: Bool
    /// Header values for our requests: From (the INVITE's To, with our tag) and To (the
    /// INVITE's From).
    public let localParty: String
    public let remoteParty: String

    public init(callID: String, localTag: String, remoteTag: String?, localCSeq: UInt32 = 0, remoteCSeq: UInt32,
                routeSet: [String], remoteTarget: String, secure: Bool, localParty: String, remoteParty: String) {
        self.callID = callID; self.localTag = localTag; self.remoteTag = remoteTag
        self.localCSeq = localCSeq; self.remoteCSeq = remoteCSeq; self.remoteInviteCSeq = remoteCSeq
        self.routeSet = routeSet; self.remoteTarget = remoteTarget; self.secure = secure
        self.localParty = localParty; self.remoteParty = remoteParty
    }

    /// The dialog our response with `localTag` to `invite` creates (§12.1.1). Nil when the
    /// INVITE has no Call-ID, CSeq, From or To.
    public init?(uas invite: SIPMessage, localTag: String) {
        guard let callID = invite.callID, let cseq = invite.cseq, let from = invite["From"], let to = invite["To"] else { return nil }
        let fromAddress = NameAddress(from)
        let target = invite["Contact"].flatMap(NameAddress.init)?.uri ?? fromAddress?.uri ?? ""
        let secure = invite.requestURI.flatMap(SIPURI.init)?.scheme == "sips"
        let routes = invite.values("Record-Route").compactMap { NameAddress($0)?.uri }
        let local = NameAddress(to)?.tag == nil ? to + ";tag=\(localTag)" : to
        self.init(callID: callID, localTag: localTag, remoteTag: fromAddress?.tag, remoteCSeq: cseq.number,
                  routeSet: routes, remoteTarget: target, secure: secure, localParty: local, remoteParty: from)
    }

    /// What a request claiming to be in this dialog is (§12.2.2).
    public enum Classification: Sendable, Equatable {
        /// Ours, and new: act on it (then `accept`).
        case matches
        /// The same CSeq number as the last request taken: a retransmission that outlived its
        /// transaction (a re-INVITE after its 2xx), or a new request reusing the number.
        case repeated
        /// Call-ID or tags are not this dialog's: 481 Call/Transaction Does Not Exist.
        case doesNotExist
        /// CSeq lower than the last one taken: 500 (§12.2.2, out of order).
        case outOfOrder
        /// An ACK whose CSeq is no INVITE we took: nothing to do (ACK is never answered).
        case strayACK
    }

    /// Classifies `request` against the dialog: Call-ID, To tag ours, From tag the peer's, and
    /// the CSeq rules: a new request must raise the remote CSeq; an ACK carries the CSeq of
    /// the INVITE it acknowledges (§13.2.2.4); a CANCEL carries its INVITE's and is matched to
    /// its transaction, not the dialog (§9.2), so only its identity is checked here.
    public func classify(_ request: SIPMessage) -> Classification {
        guard let method = request.method, request.callID == callID,
              let from = request["From"].flatMap(NameAddress.init), let to = request["To"].flatMap(NameAddress.init),
              from.tag == remoteTag else { return .doesNotExist }
        if method == "CANCEL" {
            // A CANCEL copies the INVITE's To, which had no tag.
            return to.tag == nil || to.tag == localTag ? .matches : .doesNotExist
        }
        guard to.tag == localTag else { return .doesNotExist }
        guard let cseq = request.cseq, cseq.method == method else { return .doesNotExist }
        if method == "ACK" { return cseq.number == remoteInviteCSeq ? .matches : .strayACK }
        if cseq.number == remoteCSeq { return .repeated }
        return cseq.number > remoteCSeq ? .matches : .outOfOrder
    }

    /// Takes a request `classify` found matching: its CSeq becomes the remote CSeq, and a
    /// target refresh (re-INVITE, UPDATE) with a Contact moves the remote target (§12.2.2).
    /// Call it only once the request is accepted (its sender is allowed).
    public mutating func accept(_ request: SIPMessage) {
        guard let method = request.method, method != "ACK", method != "CANCEL", let cseq = request.cseq else { return }
        remoteCSeq = max(remoteCSeq, cseq.number)
        if method == "INVITE" { remoteInviteCSeq = cseq.number }
        if method == "INVITE" || method == "UPDATE", let contact = request["Contact"].flatMap(NameAddress.init)?.uri {
            remoteTarget = contact
        }
    }

    /// A new request of ours in the dialog (§12.2.1.1): the next local CSeq, From and To with
    /// the tags, Call-ID, and Request-URI plus Route from the route set. The driver adds Via,
    /// Max-Forwards and the rest, and sends it to `nextHop`.
    public mutating func request(method: String) -> SIPMessage {
        localCSeq &+= 1
        let (uri, routes) = addressing
        var m = SIPMessage(startLine: .request(method: method, uri: uri))
        for route in routes { m.append("Route", "<\(route)>") }
        m.append("From", localParty)
        m.append("To", remoteParty)
        m.append("Call-ID", callID)
        m.append("CSeq", "\(localCSeq) \(method)")
        return m
    }

    /// Request-URI and Route values for our requests (§12.2.1.1). With an empty route set, the
    /// remote target and no Route. With a loose router first (`lr`), the remote target and the
    /// whole route set. With a strict router first (RFC 2543), its URI as the Request-URI, the
    /// rest of the route set, then the remote target, as Route.
    public var addressing: (requestURI: String, routes: [String]) {
        guard let first = routeSet.first else { return (remoteTarget, []) }
        if let uri = SIPURI(first), uri.parameter("lr") != nil { return (remoteTarget, routeSet) }
        var bare = SIPURI(first)
        bare?.headers = nil
        return (bare?.description ?? first, Array(routeSet.dropFirst()) + [remoteTarget])
    }

    /// Where our requests go first (§8.1.2): the first route when there is a route set (loose
    /// or strict, it is the Request-URI or the top Route), else the remote target.
    public var nextHop: String { routeSet.first ?? remoteTarget }

    /// Methods a stranger must not send even with the right tags: they change the session or
    /// feed the application, so they must come from the dialog's peer or a trusted network.
    public static func changesSession(_ method: String) -> Bool {
        ["INVITE", "UPDATE", "INFO", "REFER", "NOTIFY"].contains(method)
    }
}
