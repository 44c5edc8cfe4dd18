import NIOCore
import ParleySIP

/// Session timers (RFC 4028) as UAS, and the hold limit, driven from the call's
/// `InviteSession`, which decides when each is due (sans I/O); this file arms one scheduled
/// task per call at its `nextDeadline` and performs what comes due.
///
/// A caller that supports timers refreshes (`refresher=uac`, `Require: timer`); we only watch
/// the expiry. A caller that does not (no `timer` in Supported) while we want timers
/// (`sip.session_expires`, or a proxy inserted Session-Expires) gets `refresher=uas` and no
/// Require (§9): we refresh at half the interval with UPDATE when the caller allows it, else
/// with a re-INVITE carrying our unchanged SDP, and end the call with BYE when a refresh fails.
///
/// A call on hold (either side `sendonly` or `inactive`) expects no media, so the media
/// timeout cannot tell a phone that vanished while holding from one still there: after
/// `sip.max_hold` it is ended with BYE, unless session timers prove the peer alive.
///
/// Runs on the SIP event loop.
extension CallController {
    /// The longest interval we grant, in seconds.
    static let maximumSessionExpires = 7200

    /// `Session-Expires: <seconds>[;refresher=uac|uas]` from a request, if present and well formed.
    static func sessionExpires(_ request: SIPMessage) -> (Int, String?)? {
        guard let value = request["Session-Expires"] else { return nil }
        let parts = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let seconds = Int(first), seconds > 0 else { return nil }
        let refresher = parts.dropFirst().first { $0.lowercased().hasPrefix("refresher=") }.map { String($0.dropFirst(10)).lowercased() }
        return (seconds, refresher)
    }

    /// Adds the session timer to our 2xx for `request` (INVITE, re-INVITE, UPDATE) and
    /// decides who refreshes.
    func addSessionTimer(to response: inout SIPMessage, request: SIPMessage, call: Call) {
        let callerSupports = (request.values("Supported") + request.values("Require")).contains { $0.lowercased() == "timer" }
        let asked = CallController.sessionExpires(request)?.0
        if callerSupports {
            guard let asked else { return }
            let granted = min(max(asked, config.sip.minSessionExpires), CallController.maximumSessionExpires)
            call.session.sessionTimerAgreed(.init(interval: granted, refresher: .peer), now: nowMilliseconds)
            response.append("Session-Expires", "\(granted);refresher=uac")
            response.append("Require", "timer")
            return
        }
        guard let wanted = asked ?? config.sip.sessionExpires else { return }
        let granted = min(max(wanted, config.sip.minSessionExpires), CallController.maximumSessionExpires)
        call.session.sessionTimerAgreed(.init(interval: granted, refresher: .us), now: nowMilliseconds)
        response.append("Session-Expires", "\(granted);refresher=uas")
    }

    /// The session was refreshed (or just agreed): its timer restarts.
    func restartSessionTimer(_ call: Call) {
        call.session.sessionRefreshed(now: nowMilliseconds)
        armTimers(call)
    }

    /// A session change was answered with our direction `ours`: the session timer restarts,
    /// and the call is on hold unless `ours` is sendrecv. One arm for both.
    func sessionChanged(_ call: Call, ours: SessionDescription.Direction) {
        let now = nowMilliseconds
        call.session.sessionRefreshed(now: now)
        call.session.holdChanged(held: ours != .sendrecv, now: now)
        armTimers(call)
    }

    /// One scheduled task per call, at the session's next deadline.
    func armTimers(_ call: Call) {
        call.sessionTimer?.cancel()
        call.sessionTimer = nil
        guard let deadline = call.session.nextDeadline else { return }
        call.sessionTimer = loop.scheduleTask(in: .milliseconds(max(0, deadline - nowMilliseconds))) { [weak self] in
            self?.timersDue(call)
        }
    }

    /// Performs what the session says is due, then arms the next deadline.
    private func timersDue(_ call: Call) {
        guard call.state == .confirmed else { return }
        while let action = call.session.due(now: nowMilliseconds) {
            switch action {
            case .refresh:
                refreshSession(call)
            case .sessionExpired:
                call.logger.warning("session timer expired without a refresh; ending the call")
                sendBye(call)
                return end(call, cause: "session-expired")
            case .holdLimitReached:
                call.logger.notice("on hold longer than sip.max_hold; ending the call",
                                   metadata: ["max_hold_ms": "\(config.sip.maxHoldMilliseconds)"])
                sendBye(call)
                return end(call, cause: "max-hold")
            }
        }
        armTimers(call)
    }

    /// Sends our session refresh: UPDATE without SDP if the caller allows UPDATE (RFC 3311),
    /// else a re-INVITE with our current SDP, version unchanged (RFC 3264 §8: no change).
    func refreshSession(_ call: Call) {
        let allowsUpdate = call.invite.values("Allow").contains { $0.uppercased() == "UPDATE" }
        let method = allowsUpdate ? "UPDATE" : "INVITE"
        // Our re-INVITE is an offer: one at a time. While the caller's change runs, ours waits;
        // once ours is out, the caller's crossing one gets 491.
        if method == "INVITE", !call.session.localChange(now: nowMilliseconds) { return retryRefreshSoon(call) }
        guard let interval = call.session.sessionTimer?.interval, let (request, destination) = dialogRequest(call, method: method) else {
            if method == "INVITE" { call.session.changeFinished() }
            return
        }
        var refresh = request
        refresh.append("Contact", localContact(call))
        refresh.append("Supported", "timer")
        refresh.append("Session-Expires", "\(interval);refresher=uas")
        if method == "INVITE", let sdp = call.answer {
            refresh.append("Allow", SIPResponses.allow)
            refresh.append("Content-Type", "application/sdp")
            refresh.body = Array(sdp.serialized().utf8)
        }
        call.logger.debug("refreshing the session", metadata: ["method": "\(method)"])
        startClientTransaction(refresh, to: destination) { [weak self] event in
            guard let self, let status = event.finalStatus else { return }
            if method == "INVITE" { call.session.changeFinished() }
            if method == "INVITE", (200..<300).contains(status), case let .final(response) = event {
                self.acknowledge(response, to: refresh, call: call, destination: destination)
            }
            guard call.state == .confirmed else { return }
            if status == 491 {
                return self.retryRefreshSoon(call)
            }
            if (200..<300).contains(status) {
                self.restartSessionTimer(call)
                self.events.emit(CallEvent("call.session_refreshed", callID: call.id, [("method", .string(method))]))
            } else {
                // §10: a refresh that fails (408, 481, any failure) leaves the session unconfirmed.
                call.logger.warning("session refresh failed; ending the call", metadata: ["status": "\(status)"])
                self.sendBye(call)
                self.end(call, cause: "session-refresh-failed")
            }
        }
    }

    /// Glare (RFC 3261 §14.1) or the caller's change in progress: we do not own the Call-ID,
    /// so the refresh is tried again within 0–2 s.
    private func retryRefreshSoon(_ call: Call) {
        call.session.retryRefresh(at: nowMilliseconds + Int64.random(in: 10...2000))
        armTimers(call)
    }

    /// The ACK for a 2xx to our re-INVITE (§13.2.2.4): in the dialog, same CSeq number, its own branch.
    private func acknowledge(_ response: SIPMessage, to invite: SIPMessage, call: Call, destination: SIPPeer) {
        var ack = SIPMessage(startLine: .request(method: "ACK", uri: invite.requestURI ?? ""))
        ack.append("Via", via(for: destination))
        // §13.2.2.4: the ACK takes the INVITE's Route headers (its route set).
        for h in invite.headers where h.name == "Route" { ack.headers.append(h) }
        ack.append("Max-Forwards", "70")
        for name in ["From", "Call-ID"] { if let v = invite[name] { ack.append(name, v) } }
        if let to = response["To"] { ack.append("To", to) }
        ack.append("CSeq", "\(invite.cseq?.number ?? 0) ACK")
        call.lastACK = (invite.cseq?.number ?? 0, ack, destination)
        transportSend(ack, destination)
    }

    /// A 2xx to our re-INVITE came again after its transaction ended: our ACK was lost, so
    /// it goes again (§13.2.2.4). True when the response was such a retransmission.
    func resendACK(for response: SIPMessage) -> Bool {
        guard let status = response.status, (200..<300).contains(status), let cseq = response.cseq, cseq.method == "INVITE",
              let callID = response.callID, let call = calls[callID: callID], let last = call.lastACK, last.cseq == cseq.number else { return false }
        transportSend(last.ack, last.to)
        return true
    }
}
