import NIOCore
import ParleySIP

/// The call's dialog (RFC 3261 §12): requests that claim to be in it are matched before
/// anything acts on them (`callInDialog`), and requests Parley sends in it (BYE, REFER,
/// UPDATE and re-INVITE for session timers) are built from it (`dialogRequest`). All go
/// through the client transactions (CallController+Transactions.swift).
extension CallController {
    /// The call an in-dialog request (ACK, BYE, re-INVITE, UPDATE, INFO, REFER, NOTIFY)
    /// belongs to, or nil when it belongs to none and has been answered here:
    /// - 481 when no call has its Call-ID, or its tags are not the dialog's (To tag ours, From
    ///   tag the peer's; §12.2.2);
    /// - 500 when its CSeq is below the last one taken (out of order), or repeats it without
    ///   being a retransmission we can answer again (a re-INVITE or BYE after its transaction);
    /// - 403 when it changes the session or feeds the application (`SIPDialog.changesSession`)
    ///   and comes neither from the address the INVITE came from nor from `sip.trusted`.
    /// An ACK is never answered; one that matches nothing is dropped. The CSeq of a request
    /// let through becomes the dialog's remote CSeq.
    func callInDialog(_ request: SIPMessage, from source: SIPPeer) -> Call? {
        guard let method = request.method else { return nil }
        // By dialog ID (Call-ID and both tags); a live Call-ID with other tags only names the
        // call in the log line. A CANCEL carries no To tag and never comes here.
        let call = calls.call(inDialogOf: request)
        let named = call ?? request.callID.flatMap { calls[callID: $0] }
        func reject(_ status: Int, _ reason: String, _ why: String) -> Call? {
            dialogRejectedCount += 1
            ParleyMetrics.dialogRefused(status: status)
            (named?.logger ?? logger).notice("in-dialog request refused", metadata: [
                "method": "\(method)", "status": "\(status)", "from": "\(source.address)", "why": "\(why)"])
            guard method != "ACK" else { return nil }
            var r = SIPResponses.response(to: request, status: status, reason: reason, toTag: SIPResponses.randomToken(10))
            if status != 481 { r.appendWarning(399, why) }
            send(r, source)
            return nil
        }
        guard let call else {
            return reject(481, "Call/Transaction Does Not Exist", named == nil ? "no call with this Call-ID" : "tags do not match the dialog")
        }
        switch call.dialog.classify(request) {
        case .matches:
            break
        case .doesNotExist:
            return reject(481, "Call/Transaction Does Not Exist", "tags do not match the dialog")
        case .strayACK:
            return nil
        case .outOfOrder:
            return reject(500, "Server Internal Error", "CSeq lower than the last request in the dialog")
        case .repeated:
            // A retransmission that outlived its transaction: the same answer again.
            let number = request.cseq?.number
            if method == "INVITE", let (n, response) = call.lastReinvite, n == number { send(response, source); return nil }
            if method == "BYE", let response = call.byeResponse { send(response, source); return nil }
            return reject(500, "Server Internal Error", "CSeq not above the last request in the dialog")
        }
        if SIPDialog.changesSession(method), !isDialogPeer(source, of: call) {
            return reject(403, "Forbidden", "\(source.address.ipAddress ?? "?") is neither this call's peer nor a trusted network")
        }
        if SIPDialog.changesSession(method), config.sip.auth != nil {
            // The same digest check as the INVITE's (a 401 challenge keeps the dialog's CSeq
            // where it was, so the retry with credentials is in order), by the same user.
            switch authenticator.admit(request, from: source) {
            case let .refuse(r, why):
                (call.logger).notice("in-dialog request not authenticated", metadata: [
                    "method": "\(method)", "status": "\(r.status ?? 0)", "from": "\(source.address)", "why": "\(why)"])
                send(r, source)
                return nil
            case let .admit(user):
                if let user, let owner = call.authenticatedUser, user != owner {
                    return reject(403, "Forbidden", "authenticated as another user than the caller")
                }
            }
        }
        call.dialog.accept(request)
        return call
    }

    /// The address the INVITE came from (any port: a phone may send from another), or a trusted network.
    func isDialogPeer(_ source: SIPPeer, of call: Call) -> Bool {
        guard let ip = source.address.ipAddress else { return false }
        return ip == call.source.address.ipAddress || config.sip.trusted.contains { $0.contains(ip) }
    }

    /// A request in the call's dialog (§12.2.1.1, built by `SIPDialog.request`): From our side
    /// with our tag, To the caller with its tag, the next local CSeq, Request-URI and Route
    /// from the remote target and the route set; and where to send it: the dialog's TCP
    /// connection while open, else the next hop's address (the first route, or the target).
    func dialogRequest(_ call: Call, method: String) -> (SIPMessage, SIPPeer)? {
        guard !call.dialog.remoteParty.isEmpty else { return nil }
        var request = call.dialog.request(method: method)
        let destination = peer(for: call.dialog.nextHop, dialog: call.source)
        request.headers.insert(SIPMessage.Header("Via", via(for: destination)), at: 0)
        request.headers.insert(SIPMessage.Header("Max-Forwards", "70"), at: 1)
        request.append("User-Agent", SIPResponses.server)
        return (request, destination)
    }

    /// Our Via for a new request to `peer`, with a fresh branch (§8.1.1.7) and rport (RFC 3581).
    func via(for peer: SIPPeer) -> String {
        "SIP/2.0/\(peer.transport) \(hostReference(localHost)):\(localPort);branch=\(SIPResponses.newBranch());rport"
    }

    /// Where a request to the remote target `uri` goes: the dialog's TCP connection while
    /// open, else the target's address (falling back to where the dialog's requests came from).
    func peer(for uri: String, dialog: SIPPeer) -> SIPPeer {
        if dialog.connection == nil, let target = SIPURI(uri),
           let address = try? SocketAddress(ipAddress: target.host, port: target.port ?? 5060) {
            return SIPPeer(address: address)
        }
        return dialog
    }

    /// Our Contact in the call's dialog.
    func localContact(_ call: Call) -> String { "<sip:\(call.number)@\(hostReference(localHost)):\(localPort)>" }

    /// Sends BYE in the call's dialog on a client transaction: retransmitted over UDP until
    /// answered, abandoned after Timer F (the call is over on our side either way).
    func sendBye(_ call: Call) {
        guard let (bye, destination) = dialogRequest(call, method: "BYE") else { return }
        let logger = call.logger
        startClientTransaction(bye, to: destination) { event in
            if let status = event.finalStatus, status >= 300 {
                logger.notice("BYE not accepted", metadata: ["status": "\(status)"])
            }
        }
    }
}
