import NIOCore
import ParleySIP

/// Requests Parley sends inside a call's dialog (RFC 3261 §12.2.1.1): BYE, REFER, and the
/// next ones. All go through the client transactions (CallController+ClientTransactions.swift).
extension CallController {
    /// A request in the call's dialog: From our side (with our tag), To the caller (with its
    /// tag), the next local CSeq, Request-URI the caller's Contact, and where to send it: the
    /// dialog's TCP connection while open, else the remote target's address.
    func dialogRequest(_ call: Call, method: String) -> (SIPMessage, SIPPeer)? {
        guard let from = call.invite["From"], let to = call.invite["To"], let callID = call.invite.callID else { return nil }
        let contactURI = call.invite["Contact"].flatMap(NameAddress.init)?.uri ?? NameAddress(from)?.uri ?? ""
        call.localCSeq += 1
        var request = SIPMessage(startLine: .request(method: method, uri: contactURI))
        request.append("Via", via(for: call.source))
        request.append("Max-Forwards", "70")
        request.append("From", NameAddress(to).map { $0.tag == nil ? to + ";tag=\(call.localTag)" : to } ?? to)
        request.append("To", from)
        request.append("Call-ID", callID)
        request.append("CSeq", "\(call.localCSeq) \(method)")
        request.append("User-Agent", SIPResponses.server)
        return (request, peer(for: contactURI, dialog: call.source))
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
