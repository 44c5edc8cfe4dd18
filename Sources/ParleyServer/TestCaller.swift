import Foundation
import Logging
import NIOCore
import NIOPosix
import ParleyDSP
import ParleyMedia
import ParleySIP

/// A SIP user agent client for checking a server from the command line (`parley dial`): one
/// call over UDP, digest authentication when challenged, audio played and recorded, DTMF
/// sent as RFC 4733 events or in-band tones, hang-up after a duration or when the far end
/// hangs up.
///
/// Built from the server's own parts: `SIPClientTransactionTable` (the INVITE and
/// non-INVITE client transactions: retransmissions and timeouts), `DigestCredentials`,
/// `OfferAnswer`, a `MediaLeg` on a `MediaEngine` (codecs, RTP, RTCP, `sendDigit`), the
/// `Recorder` and the `ToneGenerator`.
public final class TestCaller: @unchecked Sendable {
    public struct Options: Sendable {
        public var target: String
        public var play: String?
        /// RFC 4733 keys; `,` pauses 500 ms.
        public var digits: String?
        /// In-band DTMF tones; `,` pauses 500 ms.
        public var inbandDigits: String?
        public var record: String?
        public var durationMilliseconds: Int64 = 10_000
        public var codec: AudioCodec = .pcmu
        public var user: String?
        public var password: String?
        /// The address put in Via, Contact and SDP; nil: the one the system routes to the target from.
        public var localHost: String?
        public init(target: String) { self.target = target }
    }

    public struct Summary: Sendable, CustomStringConvertible {
        public var status: Int = 0
        public var reason: String = ""
        public var answered: Bool { (200..<300).contains(status) }
        public var callID: String = ""
        public var codec: String = ""
        public var durationMilliseconds: Int64 = 0
        public var packetsSent = 0
        public var packetsReceived = 0
        public var digitsSent = ""
        public var endedBy = ""
        public var recordedMilliseconds: Int?

        public var description: String {
            var lines = ["status: \(status) \(reason)", "call-id: \(callID)"]
            if answered {
                lines += ["codec: \(codec)", String(format: "duration: %.1f s", Double(durationMilliseconds) / 1000),
                          "rtp: \(packetsSent) sent, \(packetsReceived) received",
                          "digits sent: \(digitsSent.isEmpty ? "none" : digitsSent)", "ended by: \(endedBy)"]
                if let r = recordedMilliseconds { lines.append(String(format: "recorded: %.1f s", Double(r) / 1000)) }
            }
            return lines.joined(separator: "\n")
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case badTarget(String)
        case cannotResolve(String)
        case audio(String)
        case noAnswer
        public var description: String {
            switch self {
            case let .badTarget(t): return "'\(t)' is not a SIP URI (e.g. sip:200@127.0.0.1:5060)"
            case let .cannotResolve(h): return "cannot resolve \(h)"
            case let .audio(why): return why
            case .noAnswer: return "no final response to the INVITE (Timer B)"
            }
        }
    }

    let options: Options
    let logger: Logger
    private let hasher = CryptoDigestHashing()
    private let fromTag = SIPResponses.randomToken(10)
    private let callID = SIPResponses.randomToken(20) + "@parley-dial"
    private var cseq: UInt32 = 0

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Places the call and returns when it is over.
    public func run() async throws -> Summary {
        guard let uri = SIPURI(options.target), uri.scheme.lowercased() == "sip" else { throw Failure.badTarget(options.target) }
        let remote: SocketAddress
        do { remote = try SocketAddress.resolvingPreferringIPv4(uri.host, port: uri.port ?? 5060) } catch {
            throw Failure.cannotResolve(uri.host)
        }
        let play = try options.play.map { try TestCaller.readAudio($0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var localHost = options.localHost ?? "127.0.0.1"
        if options.localHost == nil, let found = await TestCaller.sourceAddress(toward: remote, group: group) { localHost = found }
        let media = MediaEngine(group: group, bindHost: localHost, ports: PortAllocator(range: 40000...49999), logger: logger, threads: 1)
        media.start()
        let inbox: SIPDatagramInbox
        do { inbox = try await SIPDatagramInbox.bind(host: localHost, group: group) } catch {
            media.stop(); try? await group.shutdownGracefully(); throw error
        }
        defer { media.stop() }
        var summary = Summary()
        summary.callID = callID
        do {
            summary = try await call(uri: uri, remote: remote, localHost: localHost, play: play, inbox: inbox, media: media)
        } catch {
            await inbox.close()
            try? await group.shutdownGracefully()
            throw error
        }
        await inbox.close()
        try? await group.shutdownGracefully()
        return summary
    }

    // MARK: The call, step by step

    /// What the steps after the answer need of the dialog (RFC 3261 §12.1.2): the To header
    /// with the far end's tag, the remote target and its address, and the ACK for resending.
    private struct Dialog {
        var to: String
        var target: String
        var remote: SocketAddress
        var ack: SIPMessage
    }

    private func call(uri: SIPURI, remote: SocketAddress, localHost: String, play: PCMAudio?,
                      inbox: SIPDatagramInbox, media: MediaEngine) async throws -> Summary {
        var summary = Summary()
        summary.callID = callID
        let leg = try await openIdleLeg(media: media)
        defer { leg.close() }
        let answerer = OfferAnswer(supported: [options.codec])
        let offer = makeOffer(answerer, localHost: localHost, port: leg.localPort)
        let (invite, final) = try await sendInvite(offer: offer, remote: remote, localHost: localHost, inbox: inbox)
        guard let status = final.status else { throw Failure.noAnswer }
        summary.status = status
        if case let .response(_, reason) = final.startLine { summary.reason = reason }
        guard (200..<300).contains(status) else { return summary }

        let dialog = acknowledge(final, to: invite, remote: remote, localHost: localHost, inbox: inbox)
        summary.codec = try await startMedia(on: leg, answerer: answerer, offer: offer, answer: final)
        let started = ContinuousClock.now
        let recorder = try startRecording(on: leg)
        if let play { leg.play("play", audio: TestCaller.resampled(play, to: leg.sendRate)) }
        if let inband = options.inbandDigits {
            leg.play("inband-digits", audio: try TestCaller.inbandAudio(inband, rate: leg.sendRate))
            summary.digitsSent += inband + " (in-band)"
        }
        let digitTask = sendDigits(on: leg)
        if let digits = options.digits { summary.digitsSent += (summary.digitsSent.isEmpty ? "" : ", ") + digits + " (RFC 4733)" }

        let remoteHungUp = await waitForEnd(until: started + .milliseconds(options.durationMilliseconds), dialog: dialog, inbox: inbox)
        digitTask?.cancel()
        summary.durationMilliseconds = TestCaller.milliseconds(ContinuousClock.now - started)
        if remoteHungUp {
            summary.endedBy = "the far end (BYE)"
        } else {
            summary.endedBy = await hangUp(dialog, localHost: localHost, inbox: inbox)
        }
        if let recorder {
            try? await leg.stopRecording().get()
            recorder.finish()
            summary.recordedMilliseconds = recorder.durationMilliseconds
        }
        if let stats = try? await leg.currentStatistics().get() {
            summary.packetsSent = stats.packetsSent
            summary.packetsReceived = stats.packetsReceived
        }
        return summary
    }

    /// A leg with a local port for the offer; it sends nothing until the answer names the far end.
    private func openIdleLeg(media: MediaEngine) async throws -> MediaLeg {
        let nowhere = try SocketAddress(ipAddress: "0.0.0.0", port: 9)
        var parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: nil, remote: nowhere,
                                       mediaTimeoutMilliseconds: nil, inbandDTMF: false)
        parameters.active = false
        return try await media.openLeg(parameters: parameters) { _ in }.get()
    }

    /// Our SDP offer; without telephone-event when only in-band digits are to be sent.
    private func makeOffer(_ answerer: OfferAnswer, localHost: String, port: Int) -> SessionDescription {
        let offer = answerer.offer(localAddress: localHost, localPort: port, sessionID: UInt64.random(in: 1...UInt64(UInt32.max)))
        if options.inbandDigits != nil, options.digits == nil { return TestCaller.withoutTelephoneEvent(offer) }
        return offer
    }

    /// Sends the INVITE, answering at most two digest challenges (401/407), and returns the
    /// last INVITE sent with its final response.
    private func sendInvite(offer: SessionDescription, remote: SocketAddress, localHost: String,
                            inbox: SIPDatagramInbox) async throws -> (invite: SIPMessage, final: SIPMessage) {
        let contact = "<sip:parley-dial@\(SIPURI(host: localHost).hostReference):\(inbox.localPort)>"
        let body = Array(offer.serialized().utf8)
        var authorization: (header: String, value: String)?
        var attempt = 0
        while true {
            attempt += 1
            var invite = request("INVITE", uri: options.target, to: "<\(options.target)>", localHost: localHost, port: inbox.localPort)
            invite.append("Contact", contact)
            invite.append("Content-Type", "application/sdp")
            if let authorization { invite.append(authorization.header, authorization.value) }
            invite.body = body
            invite.set("Content-Length", "\(body.count)")
            guard let response = await runTransaction(invite, remote: remote, inbox: inbox) else { throw Failure.noAnswer }
            guard attempt < 3, let answer = challengeAnswer(response) else { return (invite, response) }
            authorization = answer
        }
    }

    /// The Authorization (401) or Proxy-Authorization (407) header answering `response`'s
    /// challenge; nil when it is no challenge or we have no credentials.
    private func challengeAnswer(_ response: SIPMessage) -> (header: String, value: String)? {
        guard let status = response.status, status == 401 || status == 407, let user = options.user, let password = options.password else {
            return nil
        }
        let name = SIPHeaderName.canonical(status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate")
        guard let challenge = response.headers.lazy.filter({ $0.name == name }).compactMap({ DigestChallenge.parse($0.value) }).first else {
            return nil
        }
        let credentials = DigestCredentials.answering(challenge, username: user, password: password, method: "INVITE", uri: options.target,
                                                      cnonce: SIPResponses.randomToken(16), using: hasher)
        return (status == 401 ? "Authorization" : "Proxy-Authorization", credentials.headerValue)
    }

    /// ACKs the 2xx (a request of its own, RFC 3261 §13.2.2.4) to the remote target and
    /// returns the dialog the later requests use.
    private func acknowledge(_ final: SIPMessage, to invite: SIPMessage, remote: SocketAddress, localHost: String,
                             inbox: SIPDatagramInbox) -> Dialog {
        let to = final["To"] ?? "<\(options.target)>"
        let target = final["Contact"].flatMap(NameAddress.init)?.uri ?? options.target
        let targetAddress = SIPURI(target).flatMap { try? SocketAddress.resolvingPreferringIPv4($0.host, port: $0.port ?? 5060) } ?? remote
        var ack = request("ACK", uri: target, to: to, localHost: localHost, port: inbox.localPort, cseq: invite.cseq?.number)
        ack.set("Content-Length", "0")
        inbox.send(ack, to: targetAddress)
        return Dialog(to: to, target: target, remote: targetAddress, ack: ack)
    }

    /// Points the leg at the answer's address with the negotiated codec; returns the codec's name.
    private func startMedia(on leg: MediaLeg, answerer: OfferAnswer, offer: SessionDescription, answer: SIPMessage) async throws -> String {
        let negotiated = try answerer.accept(answer: try SessionDescription.parse(answer.bodyText), to: offer)
        let peer = try SocketAddress.makeAddressResolvingHost(negotiated.remoteAddress, port: negotiated.remotePort)
        var active = LegParameters(codec: try LegCodecChoice(negotiated: negotiated, localOpus: answerer.opusParameters), payloadType: negotiated.payloadType,
                                   telephoneEventPayloadType: negotiated.telephoneEventPayloadType, remote: peer,
                                   mediaTimeoutMilliseconds: nil, inbandDTMF: false, symmetric: false)
        active.rtcpMux = negotiated.rtcpMux
        try await leg.reconfigure(active).get()
        return negotiated.codec.name
    }

    /// Starts recording what the far end sends, when `--record` asked for it.
    private func startRecording(on leg: MediaLeg) throws -> Recorder? {
        guard let path = options.record else { return nil }
        let recorder: Recorder
        do {
            recorder = try Recorder(path: path, silenceMilliseconds: nil, onSilence: {}, onFailure: { [logger] in logger.error("recording failed: \($0)") })
        } catch { throw Failure.audio("cannot record to \(path): \(error)") }
        leg.startRecording(recorder)
        return recorder
    }

    /// Sends the RFC 4733 keys: 100 ms of event, its end sent three times, then 100 ms apart;
    /// `,` pauses 500 ms.
    private func sendDigits(on leg: MediaLeg) -> Task<Void, Never>? {
        guard let digits = options.digits else { return nil }
        return Task {
            for key in digits {
                if Task.isCancelled { return }
                if key == "," { try? await Task.sleep(nanoseconds: 500_000_000); continue }
                leg.sendDigit(key, milliseconds: 100)
                try? await Task.sleep(nanoseconds: 260_000_000)
            }
        }
    }

    /// Waits until `deadline` or the far end's BYE, answering what arrives meanwhile and
    /// resending the ACK when the 2xx is resent (our ACK was lost). True when the far end hung up.
    private func waitForEnd(until deadline: ContinuousClock.Instant, dialog: Dialog, inbox: SIPDatagramInbox) async -> Bool {
        while ContinuousClock.now < deadline {
            let wait = max(1, TestCaller.milliseconds(deadline - ContinuousClock.now))
            if let (message, source) = await inbox.next(withinMilliseconds: wait),
               handleDuringCall(message, from: source, dialog: dialog, inbox: inbox) {
                return true
            }
        }
        return false
    }

    /// One message that arrived during the call: requests are answered, a resent 2xx to the
    /// INVITE gets the ACK again. True when it was the far end's BYE.
    private func handleDuringCall(_ message: SIPMessage, from source: SocketAddress, dialog: Dialog, inbox: SIPDatagramInbox) -> Bool {
        switch message.startLine {
        case let .request(method, _):
            answer(message, from: source, inbox: inbox)
            return method == "BYE"
        case let .response(status, _):
            if (200..<300).contains(status), message.cseq?.method == "INVITE" { inbox.send(dialog.ack, to: dialog.remote) }
            return false
        }
    }

    /// Ends the call with BYE; returns how it ended, for the summary.
    private func hangUp(_ dialog: Dialog, localHost: String, inbox: SIPDatagramInbox) async -> String {
        var endedBy = "us after \(options.durationMilliseconds) ms (BYE)"
        var bye = request("BYE", uri: dialog.target, to: dialog.to, localHost: localHost, port: inbox.localPort)
        bye.set("Content-Length", "0")
        let response = await runTransaction(bye, remote: dialog.remote, inbox: inbox)
        if let s = response?.status, s >= 300 { endedBy += ", answered \(s)" }
        return endedBy
    }

    /// A duration in whole milliseconds.
    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// Answers a request inside the call: 200 to BYE, OPTIONS, INFO and NOTIFY, 501 to others; ACK is not answered.
    private func answer(_ request: SIPMessage, from source: SocketAddress, inbox: SIPDatagramInbox) {
        guard let method = request.method, method != "ACK" else { return }
        let ok = ["BYE", "OPTIONS", "INFO", "NOTIFY"].contains(method)
        var r = SIPResponses.response(to: request, status: ok ? 200 : 501, reason: ok ? "OK" : "Not Implemented")
        r.append("Content-Length", "0")
        inbox.send(r, to: source)
    }

    /// Sends `message` on a client transaction (the server's `SIPClientTransactionTable`:
    /// retransmissions, Timer B/F) and returns its final response, nil on a timeout or when
    /// provisional responses go on for three minutes. Requests arriving meanwhile are answered.
    private func runTransaction(_ message: SIPMessage, remote: SocketAddress, inbox: SIPDatagramInbox) async -> SIPMessage? {
        let origin = ContinuousClock.now
        func now() -> Int64 { TestCaller.milliseconds(ContinuousClock.now - origin) }
        var table = SIPClientTransactionTable<SocketAddress>()
        var outcome: SIPClientTransactionTable<SocketAddress>.Event?
        var outputs = table.start(message, to: remote, transport: .udp, now: now()) { event in
            if case .provisional = event { return }
            outcome = event
        }
        while now() < 180_000 {
            for output in outputs {
                switch output {
                case let .send(m, destination): inbox.send(m, to: destination)
                case let .report(handler, event): handler(event)
                }
            }
            outputs = []
            switch outcome {
            case let .final(response)?: return response
            case .timeout?, .transportError?: return nil
            case .provisional?, nil: break
            }
            let wait = (table.nextDeadline ?? (now() + 1000)) - now()
            if let (incoming, source) = await inbox.next(withinMilliseconds: max(1, wait)) {
                if incoming.isRequest {
                    answer(incoming, from: source, inbox: inbox)
                } else {
                    outputs = table.receive(incoming, now: now()) ?? []
                }
            } else {
                outputs = table.tick(now: now())
            }
        }
        return nil
    }

    /// A request of this call (§8.1.1): new branch, our From tag, the next CSeq unless given.
    private func request(_ method: String, uri: String, to: String, localHost: String, port: Int, cseq number: UInt32? = nil) -> SIPMessage {
        if number == nil { cseq += 1 }
        var m = SIPMessage(startLine: .request(method: method, uri: uri))
        m.append("Via", "SIP/2.0/UDP \(SIPURI(host: localHost).hostReference):\(port);branch=\(SIPResponses.newBranch());rport")
        m.append("Max-Forwards", "70")
        m.append("From", "<sip:parley-dial@\(SIPURI(host: localHost).hostReference)>;tag=\(fromTag)")
        m.append("To", to)
        m.append("Call-ID", callID)
        m.append("CSeq", "\(number ?? cseq) \(method)")
        m.append("User-Agent", "parley-dial")
        return m
    }
}
