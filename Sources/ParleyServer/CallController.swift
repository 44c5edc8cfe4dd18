import Foundation
import Logging
import NIOCore
import ParleyApps
import ParleyDSP
import ParleyMedia
import ParleyRTP
import ParleySIP

/// The UAS side of every call: routing, offer/answer, the INVITE server transaction's
/// response retransmission, and the call's media leg.
///
/// Confined to the SIP channel's event loop; media events hop here from the legs' loops.
final class CallController: @unchecked Sendable {
    // RFC 3261 §17.1.1.1 timer values.
    static let t1: Int64 = 500
    static let t2: Int64 = 4_000
    /// How long an ended call is kept to absorb retransmissions (64 × T1).
    static let lingerMilliseconds: Int64 = 64 * t1

    enum State { case proceeding, answering, answered, confirmed, ended }

    final class Call {
        let id: String
        let tenant: String
        let number: String
        let invite: SIPMessage
        let inviteBranch: String?
        let source: SIPPeer
        let localTag = SIPResponses.randomToken(10)
        let target: ParleyConfig.Target
        var state: State = .proceeding
        var lastInviteResponse: SIPMessage?
        var byeResponse: SIPMessage?
        var leg: MediaLeg?
        var negotiated: NegotiatedAudio?
        var retransmit: Scheduled<Void>?
        var retransmitInterval: Int64 = CallController.t1
        var answerTimer: Scheduled<Void>?
        var ackTimeout: Scheduled<Void>?
        var localCSeq: UInt32 = 0
        var logger: Logger
        /// Our current SDP (the answer, or our offer for an offerless INVITE); re-INVITEs change
        /// its direction and version.
        var answer: SessionDescription?
        /// Set while our offer (in the 200) waits for the answer in the ACK.
        var ourOffer: SessionDescription?
        var answerVersion: UInt64 = 1
        var lastReinvite: (cseq: UInt32, response: SIPMessage)?
        /// RFC 4028 session interval in seconds (the caller refreshes), and its expiry timer.
        var sessionExpires: Int?
        var sessionTimer: Scheduled<Void>?
        /// The app running on this call (CallController+Flow.swift).
        var flow: LegCallChannel?

        init(id: String, tenant: String, number: String, invite: SIPMessage, source: SIPPeer, target: ParleyConfig.Target, logger: Logger) {
            self.id = id; self.tenant = tenant; self.number = number; self.invite = invite
            self.inviteBranch = invite["Via"].flatMap { Via($0)?.branch }
            self.source = source; self.target = target; self.logger = logger
        }
    }

    let loop: EventLoop
    var config: ParleyConfig
    let media: MediaEngine
    let prompts: PromptCache
    let events: EventLog
    let logger: Logger
    let localHost: String
    let localPort: Int
    private var send: (SIPMessage, SIPPeer) -> Void = { _, _ in }
    private(set) var calls: [String: Call] = [:]
    /// Prompts with tenant overrides, for call flows; replaced on reload.
    var library: PromptLibrary?
    /// Blind transfer (REFER) for call flows; nil until the SIP side provides it.
    var blindTransfer: BlindTransfer?
    /// Final non-2xx responses to INVITEs, kept to answer retransmissions (key: Call-ID + CSeq).
    private var refused: [String: SIPMessage] = [:]
    private(set) var malformedCount = 0
    /// Shutting down: new calls are refused with 503 + Retry-After; calls in progress go on.
    var draining = false
    private var rateLimiter: RateLimiter
    /// Requests dropped for exceeding the per-source rate.
    private(set) var rateLimitedCount = 0
    private var lastRateLimitLog: Int64 = 0
    /// Trusted networks and digest authentication (DigestAuthenticator.swift).
    lazy var authenticator = DigestAuthenticator(config: config, logger: logger)

    init(loop: EventLoop, config: ParleyConfig, media: MediaEngine, prompts: PromptCache, events: EventLog,
         logger: Logger, localHost: String, localPort: Int) {
        self.loop = loop; self.config = config; self.media = media; self.prompts = prompts
        self.events = events; self.logger = logger; self.localHost = localHost; self.localPort = localPort
        rateLimiter = RateLimiter(requestsPerSecond: config.sip.requestsPerSecond, burst: config.sip.burst)
    }

    func attach(send: @escaping (SIPMessage, SIPPeer) -> Void) { self.send = send }

    var activeCallCount: Int { calls.values.filter { $0.state != .ended }.count }

    // MARK: Inbound

    func handle(_ message: SIPMessage, from source: SIPPeer) {
        guard let method = message.method else { return handleResponse(message) }
        let now = Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
        guard rateLimiter.allow(source.address.ipAddress ?? "", now: now) else {
            // A flood is dropped, not answered (answering would amplify it); logged once a second.
            rateLimitedCount += 1
            if now - lastRateLimitLog >= 1000 {
                lastRateLimitLog = now
                logger.warning("requests over the per-source rate dropped", metadata: ["from": "\(source.address)", "dropped": "\(rateLimitedCount)"])
            }
            return
        }
        // We support no extensions that a peer may require (RFC 3261 §8.2.2.3); ACK and
        // CANCEL are exempt.
        let unsupported = message.values("Require").filter { !SIPResponses.supported.contains($0.lowercased()) }
        if !unsupported.isEmpty, method != "ACK", method != "CANCEL" {
            var r = SIPResponses.response(to: message, status: 420, reason: "Bad Extension", toTag: SIPResponses.randomToken(10))
            r.append("Unsupported", unsupported.joined(separator: ", "))
            return send(r, source)
        }
        switch method {
        case "INVITE": handleInvite(message, from: source)
        case "ACK": handleAck(message)
        case "BYE": handleBye(message, from: source)
        case "CANCEL": handleCancel(message, from: source)
        case "OPTIONS":
            var r = SIPResponses.response(to: message, status: 200, reason: "OK", toTag: SIPResponses.randomToken(10))
            r.append("Allow", SIPResponses.allow)
            r.append("Accept", "application/sdp")
            r.append("Accept-Language", "en")
            r.append("Supported", SIPResponses.supported.sorted().joined(separator: ", "))
            send(r, source)
        case "INFO": handleInfo(message, from: source)
        case "UPDATE": handleUpdate(message, from: source)
        case "REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "PRACK", "MESSAGE", "PUBLISH":
            var r = SIPResponses.response(to: message, status: 405, reason: "Method Not Allowed", toTag: SIPResponses.randomToken(10))
            r.append("Allow", SIPResponses.allow)
            send(r, source)
        default:
            var r = SIPResponses.response(to: message, status: 501, reason: "Not Implemented", toTag: SIPResponses.randomToken(10))
            r.append("Allow", SIPResponses.allow)
            send(r, source)
        }
    }

    /// A datagram that failed to parse: 400 if it is a request we can answer, else dropped.
    func handleMalformed(_ bytes: [UInt8], error: SIPParseError, from source: SIPPeer) {
        malformedCount += 1
        let parser = SIPParser()
        guard let head = parser.parseHeadLeniently(bytes), head.isRequest, head.method != "ACK", head["Via"] != nil else {
            logger.warning("dropped unparseable SIP datagram", metadata: ["from": "\(source)", "error": "\(error)", "bytes": "\(bytes.count)"])
            return
        }
        logger.warning("answered malformed SIP request with 400", metadata: ["from": "\(source)", "error": "\(error)"])
        var r = SIPResponses.response(to: head, status: 400, reason: "Bad Request", toTag: SIPResponses.randomToken(10))
        r.appendWarning(399, error.description)
        send(r, source)
    }

    private func handleResponse(_ message: SIPMessage) {
        // Responses to our BYEs need no action beyond stopping (no client transaction kept yet).
        logger.debug("response received", metadata: ["status": "\(message.status ?? 0)", "call-id": "\(message.callID ?? "")"])
    }

    private func handleInvite(_ invite: SIPMessage, from source: SIPPeer) {
        guard let callID = invite.callID, let cseq = invite.cseq else { return }
        let refusedKey = "\(callID) \(cseq.number)"
        if let final = refused[refusedKey] { return send(final, source) }
        if let call = calls[callID] {
            if call.invite.cseq?.number == cseq.number {
                // A retransmission: repeat the last response (§17.2.1).
                if let last = call.lastInviteResponse { send(last, source) }
                return
            }
            if let (number, response) = call.lastReinvite, number == cseq.number { return send(response, source) }
            if call.state == .confirmed { return handleReinvite(invite, call: call, from: source) }
            return refuse(invite, from: source, status: 491, reason: "Request Pending", log: "re-INVITE while the call is being set up")
        }

        if case let .refuse(r, why) = authenticator.admit(invite, from: source) {
            return refuse(invite, from: source, response: r, log: why)
        }
        if draining {
            var r = SIPResponses.response(to: invite, status: 503, reason: "Service Unavailable", toTag: SIPResponses.randomToken(10))
            r.append("Retry-After", "60")
            r.appendWarning(399, "shutting down")
            return refuse(invite, from: source, response: r, log: "shutting down")
        }
        if let mf = invite["Max-Forwards"], let n = Int(mf), n <= 0 {
            return refuse(invite, from: source, status: 483, reason: "Too Many Hops", log: "Max-Forwards exhausted")
        }
        guard let uri = invite.requestURI.flatMap(SIPURI.init) else {
            return refuse(invite, from: source, status: 416, reason: "Unsupported URI Scheme", log: "Request-URI is not a SIP URI")
        }
        guard let tenant = config.tenant(forHost: uri.host) else {
            return refuse(invite, from: source, status: 404, reason: "Not Found", log: "no tenant serves domain \(uri.host)")
        }
        guard let user = uri.user, let number = tenant.numbers[user] else {
            return refuse(invite, from: source, status: 404, reason: "Not Found", log: "tenant \(tenant.name) has no number '\(uri.user ?? "")'")
        }
        if let limit = tenant.concurrentCalls {
            let inUse = calls.values.filter { $0.tenant == tenant.name && $0.state != .ended }.count
            if inUse >= limit {
                var r = SIPResponses.response(to: invite, status: 503, reason: "Service Unavailable", toTag: SIPResponses.randomToken(10))
                r.appendWarning(399, "tenant \(tenant.name): concurrent call licence of \(limit) reached")
                r.append("Retry-After", "30")
                return refuse(invite, from: source, response: r, log: "tenant \(tenant.name) at its concurrent call licence (\(inUse)/\(limit))")
            }
        }
        if let (interval, _) = CallController.sessionExpires(invite), interval < config.sip.minSessionExpires {
            var r = SIPResponses.response(to: invite, status: 422, reason: "Session Interval Too Small", toTag: SIPResponses.randomToken(10))
            r.append("Min-SE", "\(config.sip.minSessionExpires)")
            return refuse(invite, from: source, response: r, log: "Session-Expires \(interval) s below Min-SE")
        }
        if let type = invite["Content-Type"], !type.lowercased().hasPrefix("application/sdp") {
            var r = SIPResponses.response(to: invite, status: 415, reason: "Unsupported Media Type", toTag: SIPResponses.randomToken(10))
            r.append("Accept", "application/sdp")
            return refuse(invite, from: source, response: r, log: "body is \(type)")
        }
        // No body: an offerless INVITE. We offer in the 200 and the answer comes in the ACK.
        var offer: SessionDescription?
        if !invite.body.isEmpty {
            do {
                offer = try SessionDescription.parse(invite.bodyText)
            } catch {
                return refuse(invite, from: source, status: 400, reason: "Bad Request", warning: "malformed SDP: \(error)", log: "malformed SDP: \(error)")
            }
        }
        let call = Call(id: callID, tenant: tenant.name, number: user, invite: invite, source: source, target: number.target,
                        logger: logger.with("call-id", callID))
        let from = invite["From"].flatMap(NameAddress.init)
        events.emit(CallEvent("call.received", callID: callID, [
            ("tenant", .string(tenant.name)), ("number", .string(user)), ("from", .string(from?.uri ?? "")),
            ("from_name", .string(from?.displayName ?? "")),
        ]))
        calls[callID] = call
        sendProvisional(call, status: 100, reason: "Trying")
        if number.answerAfterMilliseconds > 0 {
            sendProvisional(call, status: 180, reason: "Ringing")
            call.answerTimer = loop.scheduleTask(in: .milliseconds(number.answerAfterMilliseconds)) { [weak self] in
                self?.answer(call, offer: offer)
            }
        } else {
            answer(call, offer: offer)
        }
    }

    private func sendProvisional(_ call: Call, status: Int, reason: String) {
        let r = SIPResponses.response(to: call.invite, status: status, reason: reason, toTag: call.localTag)
        call.lastInviteResponse = r
        send(r, call.source)
    }

    private func answer(_ call: Call, offer: SessionDescription?) {
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
    private func legParameters(for negotiated: NegotiatedAudio, remote: SocketAddress) throws -> LegParameters {
        var parameters = LegParameters(codec: try legCodec(for: negotiated), payloadType: negotiated.payloadType,
                      telephoneEventPayloadType: negotiated.telephoneEventPayloadType, remote: remote,
                      mediaTimeoutMilliseconds: config.rtp.mediaTimeoutMilliseconds > 0 ? config.rtp.mediaTimeoutMilliseconds : nil,
                      inbandDTMF: config.rtp.inbandDTMF == .always
                          || (config.rtp.inbandDTMF == .auto && negotiated.telephoneEventPayloadType == nil),
                      symmetric: config.rtp.symmetric)
        parameters.rtcpMux = negotiated.rtcpMux
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
        scheduleRetransmit(call)
        call.ackTimeout = loop.scheduleTask(in: .milliseconds(64 * CallController.t1)) { [weak self] in
            guard let self, call.state == .answered else { return }
            call.logger.warning("no ACK for 200 OK; ending the call")
            self.sendBye(call)
            self.end(call, cause: "no-ack")
        }
    }

    /// Offerless INVITE: take a port with an inactive leg and offer every codec we support.
    private func makeOffer(_ call: Call, sessionID: UInt64) {
        guard let nowhere = try? SocketAddress(ipAddress: "0.0.0.0", port: 9) else { return }
        var parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: nil, remote: nowhere,
                                       mediaTimeoutMilliseconds: nil, inbandDTMF: false, symmetric: config.rtp.symmetric)
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
    private func acceptAnswer(_ ack: SIPMessage, call: Call, offer: SessionDescription) {
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

    /// 2xx retransmission with Timer G doubling up to T2 (§13.3.1.4).
    private func scheduleRetransmit(_ call: Call) {
        call.retransmit = loop.scheduleTask(in: .milliseconds(call.retransmitInterval)) { [weak self] in
            guard let self, call.state == .answered, let r = call.lastInviteResponse else { return }
            self.send(r, call.source)
            call.retransmitInterval = min(call.retransmitInterval * 2, CallController.t2)
            self.scheduleRetransmit(call)
        }
    }

    private func handleAck(_ ack: SIPMessage) {
        guard let callID = ack.callID, let call = calls[callID] else { return }
        guard call.state == .answered else { return }
        call.retransmit?.cancel()
        call.ackTimeout?.cancel()
        call.state = .confirmed
        restartSessionTimer(call)
        if let offer = call.ourOffer { return acceptAnswer(ack, call: call, offer: offer) }
        startApp(call)
    }

    /// The call's application, once the dialog is confirmed.
    private func startApp(_ call: Call) {
        switch call.target {
        case let .play(name):
            do {
                guard let leg = call.leg else { return }
                leg.play(name, audio: try library?.audio(name, tenant: call.tenant, rate: leg.sendRate) ?? prompts.prompt(name, rate: leg.sendRate))
            } catch {
                call.logger.error("cannot play prompt: \(error)")
            }
        case let .menu(name):
            startMenu(call, menu: name)
        case let .transfer(target):
            startTransfer(call, to: target)
        }
    }

    private func handleBye(_ bye: SIPMessage, from source: SIPPeer) {
        guard let callID = bye.callID, let call = calls[callID] else {
            return send(SIPResponses.response(to: bye, status: 481, reason: "Call/Transaction Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        if call.state == .ended {
            if let r = call.byeResponse { send(r, source) } else {
                send(SIPResponses.response(to: bye, status: 481, reason: "Call/Transaction Does Not Exist"), source)
            }
            return
        }
        guard call.state == .answered || call.state == .confirmed else {
            return send(SIPResponses.response(to: bye, status: 481, reason: "Call/Transaction Does Not Exist", toTag: call.localTag), source)
        }
        let r = SIPResponses.response(to: bye, status: 200, reason: "OK", toTag: call.localTag)
        call.byeResponse = r
        send(r, source)
        end(call, cause: "bye")
    }

    private func handleCancel(_ cancel: SIPMessage, from source: SIPPeer) {
        let branch = cancel["Via"].flatMap { Via($0)?.branch }
        guard let callID = cancel.callID, let call = calls[callID], call.inviteBranch == branch,
              call.invite.cseq?.number == cancel.cseq?.number else {
            return send(SIPResponses.response(to: cancel, status: 481, reason: "Call/Transaction Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        send(SIPResponses.response(to: cancel, status: 200, reason: "OK", toTag: call.localTag), source)
        guard call.state == .proceeding || call.state == .answering else { return }
        let r = SIPResponses.response(to: call.invite, status: 487, reason: "Request Terminated", toTag: call.localTag)
        call.lastInviteResponse = r
        send(r, call.source)
        end(call, cause: "cancel")
    }

    /// A re-INVITE in a confirmed dialog: hold and resume (RFC 3264 §8.4). The codec and port
    /// stay; the direction follows the new offer, our SDP version goes up by one.
    private func handleReinvite(_ invite: SIPMessage, call: Call, from source: SIPPeer) {
        guard let cseq = invite.cseq?.number, var answer = call.answer, let leg = call.leg,
              let index = answer.media.firstIndex(where: { $0.port != 0 }) else { return }
        var offered = SessionDescription.Direction.sendrecv
        if !invite.body.isEmpty {
            guard let offer = try? SessionDescription.parse(invite.bodyText), let m = offer.media.first(where: { $0.type == "audio" && $0.port != 0 }) else {
                var r = SIPResponses.response(to: invite, status: 488, reason: "Not Acceptable Here", toTag: call.localTag)
                r.appendWarning(399, "malformed or audio-less SDP in re-INVITE")
                call.lastReinvite = (cseq, r)
                return send(r, source)
            }
            offered = m.direction
            // A held peer may announce c=0.0.0.0 (RFC 2543 style); that is hold too.
            if (m.connection ?? offer.connection) == "0.0.0.0" { offered = .inactive }
        }
        let ours = offered.answer
        answer.media[index].attributes.removeAll { SessionDescription.Direction(rawValue: $0.name) != nil }
        answer.media[index].attributes.append(.init(ours.rawValue))
        call.answerVersion += 1
        let parts = answer.origin.split(separator: " ").map(String.init)
        if parts.count == 6 { answer.origin = ([parts[0], parts[1], "\(call.answerVersion)"] + parts[3...]).joined(separator: " ") }
        call.answer = answer
        leg.setDirection(sending: ours == .sendrecv || ours == .sendonly, expectingMedia: offered == .sendrecv)
        var r = SIPResponses.response(to: invite, status: 200, reason: "OK", toTag: call.localTag)
        r.append("Contact", "<sip:\(call.number)@\(hostReference(localHost)):\(localPort)>")
        r.append("Allow", SIPResponses.allow)
        addSessionTimer(to: &r, request: invite, call: call)
        r.append("Content-Type", "application/sdp")
        r.body = Array(answer.serialized().utf8)
        call.lastReinvite = (cseq, r)
        send(r, source)
        restartSessionTimer(call)
        events.emit(CallEvent(ours == .sendrecv ? "call.resumed" : "call.held", callID: call.id, [("direction", .string(ours.rawValue))]))
    }

    // MARK: Session timers (RFC 4028), with the caller as refresher

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

    /// Grants the caller's session interval when it supports timers (it refreshes, `refresher=uac`).
    /// A caller without timer support gets none: we do not send refreshes ourselves yet.
    private func addSessionTimer(to response: inout SIPMessage, request: SIPMessage, call: Call) {
        let callerSupports = (request.values("Supported") + request.values("Require")).contains { $0.lowercased() == "timer" }
        guard callerSupports, let (asked, _) = CallController.sessionExpires(request) else { return }
        let granted = min(max(asked, config.sip.minSessionExpires), CallController.maximumSessionExpires)
        call.sessionExpires = granted
        response.append("Session-Expires", "\(granted);refresher=uac")
        response.append("Require", "timer")
    }

    /// (Re)starts the expiry: with no refresh by then (RFC 4028 §10: the interval minus the
    /// lesser of 32 s and a third of it), the session is over.
    private func restartSessionTimer(_ call: Call) {
        call.sessionTimer?.cancel()
        guard let interval = call.sessionExpires else { return }
        let deadline = Int64(interval - min(32, interval / 3)) * 1000
        call.sessionTimer = loop.scheduleTask(in: .milliseconds(deadline)) { [weak self] in
            guard let self, call.state == .confirmed else { return }
            call.logger.warning("session timer expired without a refresh; ending the call")
            self.sendBye(call)
            self.end(call, cause: "session-expired")
        }
    }

    /// UPDATE without SDP: a session refresh (RFC 4028) or a no-op; with SDP it is not supported yet.
    private func handleUpdate(_ update: SIPMessage, from source: SIPPeer) {
        guard let callID = update.callID, let call = calls[callID], call.state == .confirmed || call.state == .answered else {
            return send(SIPResponses.response(to: update, status: 481, reason: "Call/Transaction Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        guard update.body.isEmpty else {
            var r = SIPResponses.response(to: update, status: 488, reason: "Not Acceptable Here", toTag: call.localTag)
            r.appendWarning(399, "UPDATE with SDP is not supported; use re-INVITE")
            return send(r, source)
        }
        var r = SIPResponses.response(to: update, status: 200, reason: "OK", toTag: call.localTag)
        addSessionTimer(to: &r, request: update, call: call)
        send(r, source)
        restartSessionTimer(call)
    }

    /// INFO with `application/dtmf-relay` (`Signal=5`) or `application/dtmf` (`5`): a third
    /// DTMF source, merged with RFC 4733 and in-band in the leg.
    private func handleInfo(_ info: SIPMessage, from source: SIPPeer) {
        guard let callID = info.callID, let call = calls[callID], call.state == .confirmed || call.state == .answered else {
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

    // MARK: Media events

    private func mediaEvent(_ event: MediaEvent, callID: String) {
        guard let call = calls[callID], call.state != .ended else { return }
        defer { call.flow?.mediaEvent(event) }
        switch event {
        case let .digit(digit, source):
            events.emit(CallEvent("dtmf", callID: callID, [("digit", .string(String(digit))), ("source", .string(source.rawValue))]))
        case let .promptStarted(name):
            events.emit(CallEvent("prompt.started", callID: callID, [("prompt", .string(LegCallChannel.promptName(name)))]))
        case let .promptFinished(name):
            events.emit(CallEvent("prompt.finished", callID: callID, [("prompt", .string(LegCallChannel.promptName(name)))]))
        case .mediaTimeout:
            call.logger.warning("no RTP for \(config.rtp.mediaTimeoutMilliseconds) ms; ending the call")
            sendBye(call)
            end(call, cause: "media-timeout")
        }
    }

    // MARK: Ending

    private func refuse(_ invite: SIPMessage, from source: SIPPeer, status: Int, reason: String, warning: String? = nil, log: String) {
        var r = SIPResponses.response(to: invite, status: status, reason: reason, toTag: SIPResponses.randomToken(10))
        if let warning { r.appendWarning(399, warning) }
        refuse(invite, from: source, response: r, log: log)
    }

    private func refuse(_ invite: SIPMessage, from source: SIPPeer, response: SIPMessage, log: String) {
        let callID = invite.callID ?? ""
        if let cseq = invite.cseq { remember(response, key: "\(callID) \(cseq.number)") }
        send(response, source)
        logger.notice("call refused", metadata: ["call-id": "\(callID)", "status": "\(response.status ?? 0)", "why": "\(log)"])
        events.emit(CallEvent("call.refused", callID: callID, [
            ("status", .int(response.status ?? 0)), ("reason", .string(log)),
        ]))
    }

    /// 488 with a 305 Warning (RFC 3261 §20.43: incompatible media) for an offer we cannot take.
    private func notAcceptable(_ call: Call, _ warning: String, log: String) {
        var r = SIPResponses.response(to: call.invite, status: 488, reason: "Not Acceptable Here", toTag: call.localTag)
        r.appendWarning(305, warning)
        finishRefused(call, r, log: log)
    }

    private func finishRefused(_ call: Call, _ response: SIPMessage, log: String) {
        call.lastInviteResponse = response
        send(response, call.source)
        call.logger.notice("call refused", metadata: ["status": "\(response.status ?? 0)", "why": "\(log)"])
        events.emit(CallEvent("call.refused", callID: call.id, [("status", .int(response.status ?? 0)), ("reason", .string(log))]))
        end(call, cause: "refused", emit: false)
    }

    private func remember(_ response: SIPMessage, key: String) {
        refused[key] = response
        loop.scheduleTask(in: .milliseconds(CallController.lingerMilliseconds)) { [weak self] in
            self?.refused.removeValue(forKey: key)
        }
    }

    /// Frees the call's media and timers; keeps the record a while for retransmissions.
    func end(_ call: Call, cause: String, emit: Bool = true) {
        guard call.state != .ended else { return }
        call.state = .ended
        call.flow?.ended()
        call.retransmit?.cancel()
        call.answerTimer?.cancel()
        call.ackTimeout?.cancel()
        call.sessionTimer?.cancel()
        let leg = call.leg
        call.leg = nil
        if let leg {
            // The counters live on the leg's loop: read them there, then close the socket.
            let events = self.events
            leg.currentStatistics().whenComplete { result in
                leg.close()
                guard emit else { return }
                var fields: [(String, EventValue)] = [("cause", .string(cause))]
                if case let .success(s) = result {
                    fields += [("rtp_in", .int(s.packetsReceived)), ("rtp_out", .int(s.packetsSent)),
                               ("rtp_malformed", .int(s.malformedDropped)), ("rtp_unknown_pt", .int(s.unknownPayloadDropped)),
                               ("rtp_stranger", .int(s.strangersDropped)), ("ssrc_changes", .int(s.ssrcChanges)),
                               ("rtp_late", .int(s.lateDropped)), ("rtp_duplicate", .int(s.duplicatesDropped)),
                               ("concealed_frames", .int(s.concealedFrames)), ("jitter_buffer_ms", .int(s.jitterBufferDelayMilliseconds)),
                               ("rtcp_sent", .int(s.rtcpSent)), ("rtcp_received", .int(s.rtcpReceived)),
                               ("rtt_ms", .int(s.roundTripMilliseconds)), ("remote_fraction_lost", .int(s.remoteFractionLost))]
                }
                events.emit(CallEvent("call.ended", callID: call.id, fields))
            }
        } else if emit {
            events.emit(CallEvent("call.ended", callID: call.id, [("cause", .string(cause))]))
        }
        let id = call.id
        loop.scheduleTask(in: .milliseconds(CallController.lingerMilliseconds)) { [weak self] in
            if self?.calls[id] === call { self?.calls.removeValue(forKey: id) }
        }
    }

    /// Sends BYE in the call's dialog to the caller's Contact (§12.2.1.1).
    func sendBye(_ call: Call) {
        guard let from = call.invite["From"], let to = call.invite["To"], let callID = call.invite.callID else { return }
        let contactURI = call.invite["Contact"].flatMap(NameAddress.init)?.uri ?? NameAddress(from)?.uri ?? ""
        call.localCSeq += 1
        var bye = SIPMessage(startLine: .request(method: "BYE", uri: contactURI))
        bye.append("Via", "SIP/2.0/\(call.source.transport) \(hostReference(localHost)):\(localPort);branch=\(SIPResponses.newBranch());rport")
        bye.append("Max-Forwards", "70")
        bye.append("From", NameAddress(to).map { $0.tag == nil ? to + ";tag=\(call.localTag)" : to } ?? to)
        bye.append("To", from)
        bye.append("Call-ID", callID)
        bye.append("CSeq", "\(call.localCSeq) BYE")
        bye.append("User-Agent", SIPResponses.server)
        var destination = call.source
        // Over UDP the remote target (Contact) decides; over TCP the dialog's connection is reused while open.
        if destination.connection == nil, let uri = SIPURI(contactURI),
           let address = try? SocketAddress(ipAddress: uri.host, port: uri.port ?? 5060) {
            destination = SIPPeer(address: address)
        }
        send(bye, destination)
    }

    /// Ends every call (shutdown), sending BYE for established ones.
    func endAll() {
        for call in calls.values where call.state != .ended {
            if call.state == .answered || call.state == .confirmed { sendBye(call) }
            end(call, cause: "shutdown")
        }
    }

    private func hostReference(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// The RFC 3264 answerer for the configured codecs.
    var answerer: OfferAnswer { OfferAnswer(supported: config.rtp.codecs) }

    /// How the leg runs the negotiated codec; Opus settings follow both sides' RFC 7587 parameters.
    func legCodec(for negotiated: NegotiatedAudio) throws -> LegCodecChoice {
        switch negotiated.codec {
        case .pcma: return .g711(.alaw)
        case .opus:
            let peer = OpusParameters.parseIgnoringInvalid(negotiated.formatParameters ?? "").parameters
            let settings = try OpusFormat.settings(peer: peer, local: answerer.opusParameters)
            return .opus(encodeRate: settings.encodeSampleRate, decodeRate: settings.decodeSampleRate, bitrate: settings.bitrate,
                         inbandFEC: settings.inbandFEC, expectedLossPercent: settings.expectedPacketLossPercent, dtx: settings.dtx)
        default: return .g711(.ulaw)
        }
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = .string(value)
        return copy
    }
}
