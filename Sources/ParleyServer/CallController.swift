import Foundation
import Logging
import NIOCore
import ParleyApps
import ParleyDSP
import ParleyMedia
import ParleyRTP
import ParleySIP

/// Every call's signalling: routing and admission here; answering (`+Answer`), session
/// changes (`+Modify`), session timers (`+SessionTimer`), INFO (`+Info`), requests we send in
/// a dialog (`+Dialog`), blind transfer (`+Transfer`), message-waiting (`+MessageWaiting`),
/// all on the RFC 3261 transaction layer (`+Transactions`).
///
/// Confined to the SIP channel's event loop; media events hop here from the legs' loops.
final class CallController: @unchecked Sendable {
    // RFC 3261 §17.1.1.1 timer values.
    static let t1: Int64 = 500
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
        let localTag: String
        /// The dialog our To tag makes of the INVITE (RFC 3261 §12.1.1): every request that
        /// claims to be in the call is matched against it (CallController+Dialog.swift).
        var dialog: SIPDialog
        let target: ParleyConfig.Target
        /// When the INVITE arrived (listed by the admin API).
        let receivedAt = Date()
        var state: State = .proceeding
        var lastInviteResponse: SIPMessage?
        var byeResponse: SIPMessage?
        var leg: MediaLeg?
        var negotiated: NegotiatedAudio?
        /// Our 2xx to the INVITE, resent until the ACK (CallController+Transactions.swift).
        var okRetransmitter: SIP2xxRetransmitter?
        var okTimer: Scheduled<Void>?
        var answerTimer: Scheduled<Void>?
        var logger: Logger
        /// Our current SDP (the answer, or our offer for an offerless INVITE); re-INVITEs change
        /// its direction and version.
        var answer: SessionDescription?
        /// Set while our offer (in the 200) waits for the answer in the ACK.
        var ourOffer: SessionDescription?
        var answerVersion: UInt64 = 1
        var lastReinvite: (cseq: UInt32, response: SIPMessage)?
        /// The INVITE usage: ACKed or not, and the session change in progress (a re-INVITE or
        /// UPDATE offer being applied, CallController+Modify.swift, or our refresh re-INVITE):
        /// another one meanwhile gets 491. It also times the session timer and the hold limit.
        var session: InviteSession
        /// The one scheduled task for the session's next deadline (CallController+SessionTimer.swift).
        var sessionTimer: Scheduled<Void>?
        /// The app running on this call (CallController+Flow.swift).
        var flow: LegCallChannel?
        /// A blind transfer waiting for its outcome (CallController+Transfer.swift).
        var transfer: PendingTransfer?
        /// `dtmf` events written for this call: a burst of 20, then 10 a second, so a flood of
        /// keys (INFO or RFC 4733) cannot fill the event log; the rest are counted. The flow
        /// still hears every key.
        var digitEvents = RateLimiter(requestsPerSecond: 10, burst: 20)
        var digitEventsDropped = 0
        /// The digest user the INVITE authenticated as (nil: admitted as trusted); requests
        /// that change the session must come from the same user (CallController+Dialog.swift).
        var authenticatedUser: String?
        /// The ACK for the 2xx to our last re-INVITE, resent when the 2xx is (CallController+SessionTimer.swift).
        var lastACK: (cseq: UInt32, ack: SIPMessage, to: SIPPeer)?

        init(id: String, tenant: String, number: String, invite: SIPMessage, source: SIPPeer, target: ParleyConfig.Target,
             logger: Logger, maxHoldMilliseconds: Int64? = nil) {
            self.id = id; self.tenant = tenant; self.number = number; self.invite = invite
            session = InviteSession(maxHoldMilliseconds: maxHoldMilliseconds)
            self.inviteBranch = invite["Via"].flatMap { Via($0)?.branch }
            self.source = source; self.target = target; self.logger = logger
            let tag = SIPResponses.randomToken(10)
            localTag = tag
            // handleInvite admits only INVITEs with Call-ID, CSeq, From and To, so the fallback
            // (a dialog nothing can match) is never used.
            dialog = SIPDialog(uas: invite, localTag: tag)
                ?? SIPDialog(callID: id, localTag: tag, remoteTag: nil, remoteCSeq: UInt32.max, routeSet: [], remoteTarget: "",
                             secure: false, localParty: "", remoteParty: "")
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
    /// Sends a message; responses go through their server transaction (CallController+Transactions.swift).
    private(set) var send: (SIPMessage, SIPPeer) -> Void = { _, _ in }
    /// The transport itself.
    private(set) var transportSend: (SIPMessage, SIPPeer) -> Void = { _, _ in }
    /// Calls by dialog, and by Call-ID for what comes before or outside the dialog (CallTable.swift).
    private(set) var calls = CallTable()
    /// Prompts with tenant overrides, for call flows; replaced on reload.
    var library: PromptLibrary?
    /// Conference rooms (CallController+Conference.swift, ConferenceRegistry.swift).
    lazy var conferences = ConferenceRegistry(dataDirectory: config.storage.dataDirectory, logger: logger,
                                              audio: { [weak self] tenant, name, rate in try? self?.library?.audio(name, tenant: tenant, rate: rate) },
                                              emit: { [events] in events.emit($0) })
    /// Transactions of requests received and sent, and their one timer (CallController+Transactions.swift).
    var serverTransactions = SIPServerTransactionTable<SIPPeer>()
    /// New requests refused because the transaction table was full, and when that was last logged (ms).
    var overloadRefusals = 0
    var lastOverloadLog: Int64 = .min / 2
    var clientTransactions = SIPClientTransactionTable<SIPPeer>()
    var transactionTimer: Scheduled<Void>?
    var transactionTimerDeadline: Int64?
    /// Mailbox subscriptions by `Subscription.key`, and where summaries come from (CallController+MessageWaiting.swift).
    var mailboxSubscriptions: [String: MailboxSubscription] = [:]
    var messageSummaries: any MessageSummaryProvider = EmptyMailboxes()
    /// Voicemail storage and message waiting (VoicemailService.swift); nil in controller-only tests.
    var voicemail: VoicemailService?
    private(set) var malformedCount = 0
    /// Requests refused by dialog matching (481, 500, 403; CallController+Dialog.swift).
    var dialogRejectedCount = 0
    /// Shutting down: new calls are refused with 503 + Retry-After; calls in progress go on.
    var draining = false
    private var rateLimiter: RateLimiter
    /// Datagrams and stream frames dropped for exceeding the per-source rate.
    private(set) var rateLimitedCount = 0
    private var lastRateLimitLog: Int64 = 0
    /// Screens every request before it reaches a transaction (RFC 3261 §8.2): the extensions
    /// a peer may require are ours (`SIPResponses.supported`).
    let validator = SIPRequestValidator(supportedExtensions: SIPResponses.supported)
    /// Log lines about malformed or invalid messages: 10 at once, then one a second, so a
    /// flood of them cannot flood the log; each line counts those not logged before it.
    private var invalidLog = RateLimiter(requestsPerSecond: 1, burst: 10)
    private var unloggedInvalid = 0
    /// Trusted networks and digest authentication (DigestAuthenticator.swift).
    lazy var authenticator = DigestAuthenticator(config: config, logger: logger)

    init(loop: EventLoop, config: ParleyConfig, media: MediaEngine, prompts: PromptCache, events: EventLog,
         logger: Logger, localHost: String, localPort: Int) {
        self.loop = loop; self.config = config; self.media = media; self.prompts = prompts
        self.events = events; self.logger = logger; self.localHost = localHost; self.localPort = localPort
        rateLimiter = RateLimiter(requestsPerSecond: config.sip.requestsPerSecond, burst: config.sip.burst)
        serverTransactions = SIPServerTransactionTable(capacity: config.sip.maxTransactions)
    }

    func attach(send: @escaping (SIPMessage, SIPPeer) -> Void) {
        transportSend = send
        self.send = { [unowned self] message, peer in self.sendThroughTransactions(message, to: peer) }
    }

    var activeCallCount: Int { calls.values.filter { $0.state != .ended }.count }

    // MARK: Inbound

    /// Takes one token of `source`'s rate (`sip.rate_limit`) for a datagram or a stream frame
    /// before it is parsed, so a flood of anything (requests, responses, malformed bytes,
    /// keep-alives) costs the same; `tokens` more for a frame that stands for several (a run
    /// of keep-alives). False: drop it unanswered (answering would amplify the flood);
    /// counted and logged once a second. Called by the transports (SIPTransport.swift).
    func admit(_ source: SIPPeer, tokens: Int = 1) -> Bool {
        let now = Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
        if rateLimiter.allow(source.address.ipAddress ?? "", now: now, cost: tokens) { return true }
        rateLimitedCount += 1
        ParleyMetrics.sipRateLimited()
        if now - lastRateLimitLog >= 1000 {
            lastRateLimitLog = now
            logger.warning("SIP messages over the per-source rate dropped", metadata: ["from": "\(source.address)", "dropped": "\(rateLimitedCount)"])
        }
        return false
    }

    /// A message that parsed: rate-limited, then screened by the validator like any received bytes.
    func handle(_ message: SIPMessage, from source: SIPPeer) {
        guard admit(source) else { return }
        receive(validator.verdict(for: message), from: source)
    }

    /// Bytes that failed to parse: rate-limited like a message, then answered (400/505) when
    /// they are a request with a Via, else dropped and counted.
    func handleMalformed(_ bytes: [UInt8], error: SIPParseError, from source: SIPPeer) {
        guard admit(source) else { return }
        receive(validator.verdict(for: error, bytes: bytes), from: source)
    }

    /// What the transports found in received bytes after `admit` (SIPTransport.swift).
    func receive(_ verdict: SIPVerdict, from source: SIPPeer) {
        switch verdict {
        case let .accept(message): dispatch(message, from: source)
        case let .reject(rejection, head): reject(head, rejection, from: source)
        case let .drop(why): dropInvalid(why, from: source)
        }
    }

    /// Answers a request that failed validation statelessly (RFC 3261 §8.2): the rejection's
    /// status with a Warning naming the problem, and for 420 the tags in Unsupported. Nothing
    /// is answered to an ACK (§17.2.3), or when not even a head with a Via could be read.
    private func reject(_ head: SIPMessage?, _ rejection: SIPRejection, from source: SIPPeer) {
        guard let head, head.isRequest, head.method != "ACK", head["Via"] != nil else {
            return dropInvalid(rejection.description, from: source)
        }
        malformedCount += 1
        ParleyMetrics.sipRequestRejected(status: rejection.status)
        logInvalid("answered invalid SIP request with \(rejection.status)", rejection.detail, from: source)
        var r = SIPResponses.response(to: head, status: rejection.status, reason: rejection.reason, toTag: SIPResponses.randomToken(10))
        if rejection.status == 420 {
            // Listed once each and at most 8, so a request cannot make its answer larger than
            // itself (a 420 is no amplifier over UDP).
            var listed: [String] = []
            for tag in rejection.unsupported where tag.utf8.count <= 64 && !listed.contains(tag) && listed.count < 8 { listed.append(tag) }
            r.append("Unsupported", listed.isEmpty ? "unknown" : listed.joined(separator: ", "))
        } else {
            r.appendWarning(399, String(rejection.detail.prefix(120)))
        }
        transportSend(r, source)
    }

    private func dropInvalid(_ why: String, from source: SIPPeer) {
        malformedCount += 1
        ParleyMetrics.sipUnanswerableDropped()
        logInvalid("dropped SIP message that cannot be answered", why, from: source)
    }

    private func logInvalid(_ what: String, _ why: String, from source: SIPPeer) {
        unloggedInvalid += 1
        guard invalidLog.allow("", now: Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)) else { return }
        logger.warning("\(what)", metadata: ["from": "\(source)", "why": "\(why.prefix(120))", "count": "\(unloggedInvalid)"])
        unloggedInvalid = 0
    }

    /// A message that passed the validator: its transaction, or the method's handler.
    private func dispatch(_ message: SIPMessage, from source: SIPPeer) {
        guard let method = message.method else { return handleResponse(message) }
        // A retransmission (or the ACK of a failure) is its transaction's business (§17.2.3).
        if absorbedByServerTransaction(message, from: source) { return }
        switch method {
        case "INVITE": handleInvite(message, from: source)
        case "ACK": handleAck(message, from: source)
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
        case "NOTIFY": handleNotify(message, from: source)
        case "SUBSCRIBE": handleSubscribe(message, from: source)
        case "REFER" where message.callID.flatMap({ calls[callID: $0] }) != nil:
            // Matched like any request in the call (481, 500, 403), then refused: we take no transfers.
            guard callInDialog(message, from: source) != nil else { return }
            var r = SIPResponses.response(to: message, status: 405, reason: "Method Not Allowed", toTag: SIPResponses.randomToken(10))
            r.append("Allow", SIPResponses.allow)
            send(r, source)
        case "REGISTER", "REFER", "PRACK", "MESSAGE", "PUBLISH":
            var r = SIPResponses.response(to: message, status: 405, reason: "Method Not Allowed", toTag: SIPResponses.randomToken(10))
            r.append("Allow", SIPResponses.allow)
            send(r, source)
        default:
            var r = SIPResponses.response(to: message, status: 501, reason: "Not Implemented", toTag: SIPResponses.randomToken(10))
            r.append("Allow", SIPResponses.allow)
            send(r, source)
        }
    }

    private func handleInvite(_ invite: SIPMessage, from source: SIPPeer) {
        guard let callID = invite.callID, let cseq = invite.cseq else { return }
        let hasToTag = invite["To"].flatMap(NameAddress.init)?.tag != nil
        if hasToTag {
            // A re-INVITE: only in a dialog of ours, from its peer (RFC 3261 §12.2.2).
            guard let call = callInDialog(invite, from: source) else { return }
            if call.state == .confirmed { return handleReinvite(invite, call: call, from: source) }
            if call.state == .ended {
                return send(SIPResponses.response(to: invite, status: 481, reason: "Call/Transaction Does Not Exist"), source)
            }
            return refuse(invite, from: source, status: 491, reason: "Request Pending", log: "re-INVITE while the call is being set up")
        }
        if let call = calls[callID: callID] {
            if call.invite.cseq?.number == cseq.number {
                // The same request by another path (a fork or a loop, RFC 3261 §8.2.2.2): no To
                // tag, same From tag, Call-ID and CSeq, another Via branch. True retransmissions
                // (same branch) are absorbed by the server transaction before they get here.
                let branch = invite["Via"].flatMap { Via($0)?.branch }
                let fromTag = { (m: SIPMessage) in m["From"].flatMap(NameAddress.init)?.tag }
                if invite["To"].flatMap(NameAddress.init)?.tag == nil, branch != call.inviteBranch,
                   fromTag(invite) == fromTag(call.invite) {
                    call.logger.notice("merged INVITE (same request by a second path) answered 482", metadata: ["from": "\(source)"])
                    return send(SIPResponses.response(to: invite, status: 482, reason: "Loop Detected",
                                                      toTag: SIPResponses.randomToken(10)), source)
                }
                if let last = call.lastInviteResponse { send(last, source) }
                return
            }
            // Another INVITE without our tag on a live Call-ID: no dialog of ours (a re-INVITE
            // must carry the To tag), so it changes nothing.
            dialogRejectedCount += 1
            ParleyMetrics.dialogRefused(status: 481)
            call.logger.notice("INVITE without To tag on a live Call-ID answered 481", metadata: ["from": "\(source)"])
            return send(SIPResponses.response(to: invite, status: 481, reason: "Call/Transaction Does Not Exist",
                                              toTag: SIPResponses.randomToken(10)), source)
        }

        let authenticatedUser: String?
        switch authenticator.admit(invite, from: source) {
        case let .refuse(r, why): return refuse(invite, from: source, response: r, log: why)
        case let .admit(user): authenticatedUser = user
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
            let inUse = callsInUse(tenant: tenant.name)
            if inUse >= limit {
                var r = SIPResponses.response(to: invite, status: 503, reason: "Service Unavailable", toTag: SIPResponses.randomToken(10))
                r.appendWarning(399, "tenant \(tenant.name): concurrent call licence of \(limit) reached")
                r.append("Retry-After", "30")
                ParleyMetrics.licenceRefused(tenant: tenant.name, licence: "concurrent_calls")
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
                        logger: logger.with("call-id", callID), maxHoldMilliseconds: config.sip.maxHoldMilliseconds)
        call.authenticatedUser = authenticatedUser
        let from = invite["From"].flatMap(NameAddress.init)
        events.emit(CallEvent("call.received", callID: callID, [
            ("tenant", .string(tenant.name)), ("number", .string(user)), ("from", .string(from?.uri ?? "")),
            ("from_name", .string(from?.displayName ?? "")), ("app", .string(CallController.appName(number.target))),
        ]))
        calls.insert(call)
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

    private func handleAck(_ ack: SIPMessage, from source: SIPPeer) {
        guard let call = callInDialog(ack, from: source) else { return }
        // The ACK for the 2xx to a re-INVITE: only the retransmission stops.
        if call.state == .confirmed, ack.cseq?.number == call.okRetransmitter?.response.cseq?.number { return stopRetransmitting(call) }
        guard call.state == .answered else { return }
        stopRetransmitting(call)
        call.state = .confirmed
        call.session.acknowledged()
        restartSessionTimer(call)
        if let offer = call.ourOffer { return acceptAnswer(ack, call: call, offer: offer) }
        startApp(call)
    }

    /// The call's application, once the dialog is confirmed.
    func startApp(_ call: Call) {
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
        case let .conference(room):
            startConference(call, room: room)
        case let .transfer(target):
            // Straight to REFER; on failure the call stays up (a menu option resumes its menu instead).
            transfer(callID: call.id, to: target) { _ in }
        case let .voicemail(mailbox):
            startDeposit(call, mailbox: mailbox)
        case .voicemailMain:
            startRetrieval(call)
        }
    }

    private func handleBye(_ bye: SIPMessage, from source: SIPPeer) {
        guard let call = callInDialog(bye, from: source) else { return }
        if call.state == .ended {
            return send(SIPResponses.response(to: bye, status: 481, reason: "Call/Transaction Does Not Exist"), source)
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
        guard let callID = cancel.callID, let call = calls[callID: callID], call.inviteBranch == branch,
              call.invite.cseq?.number == cancel.cseq?.number, call.dialog.classify(cancel) == .matches else {
            return send(SIPResponses.response(to: cancel, status: 481, reason: "Call/Transaction Does Not Exist", toTag: SIPResponses.randomToken(10)), source)
        }
        send(SIPResponses.response(to: cancel, status: 200, reason: "OK", toTag: call.localTag), source)
        guard call.state == .proceeding || call.state == .answering else { return }
        let r = SIPResponses.response(to: call.invite, status: 487, reason: "Request Terminated", toTag: call.localTag)
        call.lastInviteResponse = r
        send(r, call.source)
        end(call, cause: "cancel")
    }

    // MARK: Media events

    func mediaEvent(_ event: MediaEvent, callID: String) {
        guard let call = calls[callID: callID], call.state != .ended else { return }
        defer { call.flow?.mediaEvent(event) }
        switch event {
        case let .digit(digit, source):
            guard call.digitEvents.allow("", now: nowMilliseconds) else { call.digitEventsDropped += 1; break }
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
        send(response, source)
        logger.notice("call refused", metadata: ["call-id": "\(callID)", "status": "\(response.status ?? 0)", "why": "\(log)"])
        events.emit(CallEvent("call.refused", callID: callID, [
            ("status", .int(response.status ?? 0)), ("reason", .string(log)),
        ]))
    }

    /// 488 with a 305 Warning (RFC 3261 §20.43: incompatible media) for an offer we cannot take.
    func notAcceptable(_ call: Call, _ warning: String, log: String) {
        var r = SIPResponses.response(to: call.invite, status: 488, reason: "Not Acceptable Here", toTag: call.localTag)
        r.appendWarning(305, warning)
        finishRefused(call, r, log: log)
    }

    func finishRefused(_ call: Call, _ response: SIPMessage, log: String) {
        call.lastInviteResponse = response
        send(response, call.source)
        call.logger.notice("call refused", metadata: ["status": "\(response.status ?? 0)", "why": "\(log)"])
        events.emit(CallEvent("call.refused", callID: call.id, [("status", .int(response.status ?? 0)), ("reason", .string(log))]))
        end(call, cause: "refused", emit: false)
    }

    /// Frees the call's media and timers; keeps the record a while for retransmissions.
    func end(_ call: Call, cause: String, emit: Bool = true) {
        guard call.state != .ended else { return }
        call.state = .ended
        call.session.terminate()
        call.flow?.ended()
        abandonTransfer(call)
        call.okTimer?.cancel()
        call.answerTimer?.cancel()
        call.sessionTimer?.cancel()
        let leg = call.leg
        call.leg = nil
        let digitEventsDropped = call.digitEventsDropped
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
                               ("rtp_late", .int(s.lateDropped)), ("rtp_lost", .int(s.packetsLost)), ("rtp_duplicate", .int(s.duplicatesDropped)),
                               ("concealed_frames", .int(s.concealedFrames)), ("jitter_buffer_ms", .int(s.jitterBufferDelayMilliseconds)),
                               ("rtcp_sent", .int(s.rtcpSent)), ("rtcp_received", .int(s.rtcpReceived)),
                               ("rtt_ms", .int(s.roundTripMilliseconds)), ("remote_fraction_lost", .int(s.remoteFractionLost))]
                }
                if digitEventsDropped > 0 { fields.append(("dtmf_events_dropped", .int(digitEventsDropped))) }
                events.emit(CallEvent("call.ended", callID: call.id, fields))
            }
        } else if emit {
            events.emit(CallEvent("call.ended", callID: call.id, [("cause", .string(cause))]))
        }
        loop.scheduleTask(in: .milliseconds(CallController.lingerMilliseconds)) { [weak self] in
            self?.calls.remove(call)
        }
    }

    /// Ends every call (shutdown), sending BYE for established ones.
    func endAll() {
        for call in calls.values where call.state != .ended {
            if call.state == .answered || call.state == .confirmed { sendBye(call) }
            end(call, cause: "shutdown")
        }
    }

    func hostReference(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = .string(value)
        return copy
    }
}
