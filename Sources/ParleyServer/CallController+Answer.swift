import NIOCore
import ParleyMedia
import ParleySIP

/// Answering the INVITE (RFC 3264): the offer probed before a port is taken, the leg opened,
/// our answer (or, for an offerless INVITE, our offer) in the 200, which is retransmitted
/// until the ACK; the answer in the ACK settles an offerless call.
///
/// Runs on the SIP event loop.
extension CallController {
    func answer(_ call: Call, offer: SessionDescription?) {
        guard call.state == .proceeding else { return }
        call.state = .answering
        let sessionID = UInt64.random(in: 1...UInt64(Int64.max))
        guard let offer else { return makeOffer(call, sessionID: sessionID) }
        let negotiated: NegotiatedAudio
        do {
            // Probe the offer before taking a port, so a refusal costs nothing.
            negotiated = try answerer.answer(offer: offer, localAddress: config.rtp.advertise, localPort: 9, sessionID: sessionID).negotiated
        } catch {
            return notAcceptable(call, "\(error)", log: "\(error)")
        }
        guard let remote = try? SocketAddress(ipAddress: negotiated.remoteAddress, port: negotiated.remotePort) else {
            return notAcceptable(call, "connection address must be an IP address", log: "c= is not an IP address: \(negotiated.remoteAddress)")
        }
        let parameters: LegParameters
        do {
            parameters = try legParameters(for: negotiated, remote: remote)
        } catch {
            return notAcceptable(call, "\(error)", log: "\(error)")
        }
        openLeg(for: call, parameters: parameters) { leg in
            self.sendAnswer(call, leg: leg, offer: offer, sessionID: sessionID)
        }
    }

    /// How a leg runs what was negotiated, under this configuration.
    func legParameters(for negotiated: NegotiatedAudio, remote: SocketAddress) throws -> LegParameters {
        var parameters = LegParameters(codec: try legCodec(for: negotiated), payloadType: negotiated.payloadType,
                      telephoneEventPayloadType: negotiated.telephoneEventPayloadType, remote: remote,
                      mediaTimeoutMilliseconds: config.rtp.mediaTimeoutMilliseconds > 0 ? config.rtp.mediaTimeoutMilliseconds : nil,
                      inbandDTMF: config.rtp.inbandDTMF == .always
                          || (config.rtp.inbandDTMF == .auto && negotiated.telephoneEventPayloadType == nil),
                      symmetric: config.rtp.symmetric)
        parameters.latch = config.rtp.latch
        parameters.rtcpMux = negotiated.rtcpMux
        parameters.comfortNoisePayloadType = negotiated.comfortNoisePayloadType
        return parameters
    }

    /// Opens the call's media leg; on success (and if the call was not cancelled meanwhile)
    /// continues on the SIP loop, on failure answers 503 with Retry-After.
    private func openLeg(for call: Call, parameters: LegParameters, then continuation: @escaping (MediaLeg) -> Void) {
        let loop = self.loop
        media.openLeg(parameters: parameters, onEvent: { [weak self] event in
            loop.execute { self?.mediaEvent(event, callID: call.id) }
        }).hop(to: loop).whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case let .failure(error):
                var r = SIPResponses.response(to: call.invite, status: 503, reason: "Service Unavailable", toTag: call.localTag)
                r.appendWarning(399, "\(error)")
                r.append("Retry-After", "5")
                self.finishRefused(call, r, log: "\(error)")
            case let .success(leg):
                guard call.state == .answering else { return leg.close() }
                continuation(leg)
            }
        }
    }

    private func sendAnswer(_ call: Call, leg: MediaLeg, offer: SessionDescription, sessionID: UInt64) {
        guard let (answer, negotiated) = try? answerer.answer(offer: offer, localAddress: config.rtp.advertise,
                                                                  localPort: leg.localPort, sessionID: sessionID) else {
            leg.close()
            return finishRefused(call, SIPResponses.response(to: call.invite, status: 500, reason: "Server Internal Error", toTag: call.localTag), log: "answer failed")
        }
        call.leg = leg
        call.negotiated = negotiated
        call.answer = answer
        send200(call, sdp: answer)
        events.emit(CallEvent("call.answered", callID: call.id, [
            ("codec", .string(negotiated.codec.name)), ("rtp_port", .int(leg.localPort)),
            ("remote_rtp", .string("\(negotiated.remoteAddress):\(negotiated.remotePort)")),
        ]))
    }

    /// The 2xx for the INVITE with our SDP; retransmitted until ACK, Timer H ends the call without one.
    private func send200(_ call: Call, sdp: SessionDescription) {
        var r = SIPResponses.response(to: call.invite, status: 200, reason: "OK", toTag: call.localTag)
        r.append("Contact", "<sip:\(call.number)@\(hostReference(localHost)):\(localPort)>")
        r.append("Allow", SIPResponses.allow)
        r.append("Supported", SIPResponses.supported.sorted().joined(separator: ", "))
        addSessionTimer(to: &r, request: call.invite, call: call)
        r.append("Content-Type", "application/sdp")
        r.body = Array(sdp.serialized().utf8)
        call.lastInviteResponse = r
        call.state = .answered
        send(r, call.source)
        retransmitUntilACK(call, r)
    }

    /// Offerless INVITE: take a port with an inactive leg and offer every codec we support.
    private func makeOffer(_ call: Call, sessionID: UInt64) {
        guard let nowhere = try? SocketAddress(ipAddress: "0.0.0.0", port: 9) else { return }
        var parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: nil, remote: nowhere,
                                       mediaTimeoutMilliseconds: nil, inbandDTMF: false, symmetric: config.rtp.symmetric)
        parameters.latch = config.rtp.latch
        parameters.active = false
        openLeg(for: call, parameters: parameters) { leg in
            let offer = self.answerer.offer(localAddress: self.config.rtp.advertise, localPort: leg.localPort, sessionID: sessionID)
            call.leg = leg
            call.ourOffer = offer
            call.answer = offer
            self.send200(call, sdp: offer)
        }
    }

    /// The ACK of an offerless INVITE carries the answer: settle the codec and start the media.
    func acceptAnswer(_ ack: SIPMessage, call: Call, offer: SessionDescription) {
        do {
            guard !ack.body.isEmpty else { throw OfferAnswerError.noAudio }
            let answer = try SessionDescription.parse(ack.bodyText)
            let negotiated = try answerer.accept(answer: answer, to: offer)
            guard let remote = try? SocketAddress(ipAddress: negotiated.remoteAddress, port: negotiated.remotePort) else {
                throw OfferAnswerError.noConnectionAddress
            }
            let parameters = try legParameters(for: negotiated, remote: remote)
            guard let leg = call.leg else { return }
            call.ourOffer = nil
            call.negotiated = negotiated
            leg.reconfigure(parameters).hop(to: loop).whenComplete { [weak self] result in
                guard let self, call.state == .confirmed else { return }
                switch result {
                case .success:
                    self.events.emit(CallEvent("call.answered", callID: call.id, [
                        ("codec", .string(negotiated.codec.name)), ("rtp_port", .int(leg.localPort)),
                        ("remote_rtp", .string("\(negotiated.remoteAddress):\(negotiated.remotePort)")), ("offer", .string("ours")),
                    ]))
                    self.startApp(call)
                case let .failure(error):
                    call.logger.error("cannot start media for the answer: \(error)")
                    self.sendBye(call)
                    self.end(call, cause: "bad-answer")
                }
            }
        } catch {
            // RFC 3261 §13.2.1: an unacceptable answer in the ACK leaves only ending the call.
            call.logger.warning("unusable SDP answer in ACK: \(error)")
            sendBye(call)
            end(call, cause: "bad-answer")
        }
    }

    /// The RFC 3264 answerer for the configured codecs.
    var answerer: OfferAnswer { OfferAnswer(supported: config.rtp.codecs) }

    /// How the leg runs the negotiated codec; Opus settings follow both sides' RFC 7587 parameters.
    func legCodec(for negotiated: NegotiatedAudio) throws -> LegCodecChoice {
        try LegCodecChoice(negotiated: negotiated, localOpus: answerer.opusParameters)
    }
}
