import NIOCore
import ParleyMedia
import ParleySIP

/// Changing an established session (RFC 3264 §8): a re-INVITE or an UPDATE (RFC 3311)
/// carrying a new offer. The offer is answered like the first one, in the caller's codec
/// order: a new codec, payload type or peer address reconfigures the leg (same port and
/// SSRC), and the direction gives hold and resume (sendonly/inactive, or the RFC 2543
/// `c=0.0.0.0`). Our answer keeps the session ID and raises the version by one. An offer
/// that fits nothing gets 488 and leaves the session as it was. A re-INVITE without SDP is
/// answered with our current SDP (the answer comes in the ACK and changes nothing here).
///
/// Runs on the SIP event loop.
extension CallController {
    /// A re-INVITE in a confirmed dialog.
    func handleReinvite(_ invite: SIPMessage, call: Call, from source: SIPPeer) {
        guard let cseq = invite.cseq?.number else { return }
        modifySession(invite, call: call, from: source) { response in call.lastReinvite = (cseq, response) }
    }

    /// UPDATE: with SDP a new offer; without, a session refresh (RFC 4028) or a no-op.
    func handleUpdate(_ update: SIPMessage, from source: SIPPeer) {
        guard let call = callInDialog(update, from: source) else { return }
        guard call.state == .confirmed || call.state == .answered else {
            return send(SIPResponses.response(to: update, status: 481, reason: "Call/Transaction Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        guard update.body.isEmpty else { return modifySession(update, call: call, from: source) { _ in } }
        var r = SIPResponses.response(to: update, status: 200, reason: "OK", toTag: call.localTag)
        addSessionTimer(to: &r, request: update, call: call)
        send(r, source)
        restartSessionTimer(call)
    }

    /// Answers the offer in `request` (or, with no body, repeats our SDP) and applies it.
    private func modifySession(_ request: SIPMessage, call: Call, from source: SIPPeer, remember: @escaping (SIPMessage) -> Void) {
        guard let current = call.answer, let leg = call.leg else { return }
        // RFC 3261 §14.2 / RFC 3311 §5.2: one offer at a time. Every path below ends in
        // `answer` or `refuse`, which finish the change.
        if case let .reject(status, reason, retryAfter) = call.session.remoteChange(reinvite: request.method == "INVITE", now: nowMilliseconds) {
            var r = SIPResponses.response(to: request, status: status, reason: reason, toTag: call.localTag)
            if let retryAfter { r.append("Retry-After", "\(retryAfter)") }
            return send(r, source)
        }
        func refuse(_ warningCode: Int, _ warning: String) {
            call.session.changeFinished()
            var r = SIPResponses.response(to: request, status: 488, reason: "Not Acceptable Here", toTag: call.localTag)
            r.appendWarning(warningCode, warning)
            remember(r)
            send(r, source)
        }
        guard !request.body.isEmpty else {
            let sdp = nextVersion(of: current, after: current, call: call, direction: .sendrecv)
            return answer(request, call: call, sdp: sdp, direction: .sendrecv, from: source, remember: remember)
        }
        guard let offer = try? SessionDescription.parse(request.bodyText),
              let m = offer.media.first(where: { $0.type == "audio" && $0.port != 0 }) else {
            return refuse(399, "malformed or audio-less SDP in \(request.method ?? "request")")
        }
        var offered = m.direction
        // A held peer may announce c=0.0.0.0 (RFC 2543 style); that is hold too.
        let heldByAddress = (m.connection ?? offer.connection) == "0.0.0.0"
        if heldByAddress { offered = .inactive }
        let negotiated: NegotiatedAudio
        var sdp: SessionDescription
        do {
            (sdp, negotiated) = try answerer.answer(offer: offer, localAddress: config.rtp.advertise, localPort: leg.localPort, sessionID: 0)
        } catch {
            return refuse(305, "\(error)")
        }
        let ours = offered.answer
        sdp = nextVersion(of: sdp, after: current, call: call, direction: ours)
        let before = call.negotiated
        let changed = !heldByAddress && (before?.codec != negotiated.codec || before?.payloadType != negotiated.payloadType
            || before?.telephoneEventPayloadType != negotiated.telephoneEventPayloadType
            || before?.comfortNoisePayloadType != negotiated.comfortNoisePayloadType
            || before?.remoteAddress != negotiated.remoteAddress || before?.remotePort != negotiated.remotePort
            || before?.formatParameters != negotiated.formatParameters)
        guard changed else { return answer(request, call: call, sdp: sdp, direction: offered, from: source, remember: remember) }
        let parameters: LegParameters
        do {
            guard let remote = try? SocketAddress(ipAddress: negotiated.remoteAddress, port: negotiated.remotePort) else {
                throw OfferAnswerError.noConnectionAddress
            }
            parameters = try legParameters(for: negotiated, remote: remote)
        } catch {
            return refuse(305, "\(error)")
        }
        leg.reconfigure(parameters).hop(to: loop).whenComplete { [weak self] result in
            guard let self else { return }
            guard call.state == .confirmed || call.state == .answered else { return }
            switch result {
            case .success:
                call.negotiated = negotiated
                self.events.emit(CallEvent("call.codec_changed", callID: call.id, [
                    ("codec", .string(negotiated.codec.name)), ("payload_type", .int(Int(negotiated.payloadType))),
                    ("remote_rtp", .string("\(negotiated.remoteAddress):\(negotiated.remotePort)")),
                    ("method", .string(request.method ?? "")),
                ]))
                self.answer(request, call: call, sdp: sdp, direction: offered, from: source, remember: remember)
            case let .failure(error):
                call.logger.error("cannot apply the new offer: \(error)")
                // The leg may be half changed: put the old parameters back.
                if let before, let remote = try? SocketAddress(ipAddress: before.remoteAddress, port: before.remotePort),
                   let old = try? self.legParameters(for: before, remote: remote) {
                    _ = leg.reconfigure(old)
                }
                refuse(305, "\(error)")
            }
        }
    }

    /// Our SDP for the new answer: the session ID of `current`, its version plus one, and one
    /// direction attribute (`sdp` may be `current` itself: a repeat with a new direction).
    private func nextVersion(of sdp: SessionDescription, after current: SessionDescription, call: Call,
                             direction: SessionDescription.Direction) -> SessionDescription {
        var next = sdp
        let old = current.origin.split(separator: " ").map(String.init)
        let new = next.origin.split(separator: " ").map(String.init)
        // RFC 3264 §8: the version of a changed description is one more than the last one.
        call.answerVersion = (old.count == 6 ? UInt64(old[2]) : nil).map { $0 &+ 1 } ?? call.answerVersion + 1
        if old.count == 6, new.count == 6 {
            next.origin = ([old[0], old[1], "\(call.answerVersion)"] + new[3...]).joined(separator: " ")
        }
        if let index = next.media.firstIndex(where: { $0.port != 0 }) {
            next.media[index].attributes.removeAll { SessionDescription.Direction(rawValue: $0.name) != nil }
            next.media[index].attributes.append(.init(direction.rawValue))
        }
        return next
    }

    /// Sends the 200 with `sdp` and applies the direction to the leg.
    private func answer(_ request: SIPMessage, call: Call, sdp: SessionDescription, direction offered: SessionDescription.Direction,
                        from source: SIPPeer, remember: (SIPMessage) -> Void) {
        let ours = offered.answer
        call.session.changeFinished()
        call.answer = sdp
        call.leg?.setDirection(sending: ours == .sendrecv || ours == .sendonly, expectingMedia: offered == .sendrecv)
        var r = SIPResponses.response(to: request, status: 200, reason: "OK", toTag: call.localTag)
        r.append("Contact", localContact(call))
        r.append("Allow", SIPResponses.allow)
        addSessionTimer(to: &r, request: request, call: call)
        r.append("Content-Type", "application/sdp")
        r.body = Array(sdp.serialized().utf8)
        remember(r)
        send(r, source)
        if request.method == "INVITE" { retransmitUntilACK(call, r) }
        sessionChanged(call, ours: ours)
        events.emit(CallEvent(ours == .sendrecv ? "call.resumed" : "call.held", callID: call.id, [("direction", .string(ours.rawValue))]))
    }
}
