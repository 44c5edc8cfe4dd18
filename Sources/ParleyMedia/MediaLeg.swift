#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import ParleyDSP
import ParleyRTP

/// How a leg sends and receives: settled by SDP offer/answer.
public struct LegParameters: Sendable {
    public var codec: LegCodecChoice
    public var payloadType: UInt8
    public var telephoneEventPayloadType: UInt8?
    public var remote: SocketAddress
    /// No RTP for this long ends the call (`MediaEvent.mediaTimeout`); nil disables.
    public var mediaTimeoutMilliseconds: Int64?
    /// Run the in-band DTMF detector on received audio.
    public var inbandDTMF: Bool
    /// Symmetric RTP (NAT): media from the SDP's host on any port is taken too; the leg
    /// latches to the first source taken, sends there, and ignores every other (counted as
    /// strangers). Off: only the SDP's exact address. See `RTPSourceLatch`.
    public var symmetric: Bool
    /// Whether a source at another host may be learned (`RTPLatchMode.any`); strict by default.
    public var latch: RTPLatchMode = .strict
    /// False for a leg whose peer is not known yet (our offer awaits the answer in the ACK):
    /// it sends nothing and expects nothing until `reconfigure` makes it active.
    public var active: Bool = true
    /// RTCP on the RTP port (RFC 5761) instead of port + 1.
    public var rtcpMux: Bool = false
    /// Payload type of the peer's comfort noise (RFC 3389) when negotiated: its packets go
    /// into the jitter buffer as comfort noise, so its silence is played as noise at the
    /// level it gives, not concealed as loss.
    public var comfortNoisePayloadType: UInt8?

    public init(codec: LegCodecChoice, payloadType: UInt8, telephoneEventPayloadType: UInt8?, remote: SocketAddress,
                mediaTimeoutMilliseconds: Int64?, inbandDTMF: Bool, symmetric: Bool = true) {
        self.codec = codec; self.payloadType = payloadType; self.telephoneEventPayloadType = telephoneEventPayloadType
        self.remote = remote; self.mediaTimeoutMilliseconds = mediaTimeoutMilliseconds; self.inbandDTMF = inbandDTMF
        self.symmetric = symmetric
    }
}

/// One call's RTP stream on its own UDP socket.
///
/// Everything here runs on its media thread (`MediaIOThread`): the socket's reads, the 20 ms
/// tick, the player and the detectors. Control code calls the public methods from any
/// thread; they hop onto the media thread, and their futures complete on `eventLoop`.
public final class MediaLeg: MediaIOEndpoint, @unchecked Sendable {
    public let localPort: Int
    /// Sample rate of the audio this leg sends: prompts given to `play` must be at this rate.
    public private(set) var sendRate: Int
    /// Samples per 20 ms frame at `sendRate`.
    private(set) var samplesPerFrame: Int
    /// Where the futures of `reconfigure` and `currentStatistics` complete.
    public let eventLoop: EventLoop
    public private(set) var statistics = LegStatistics()

    /// The RTP socket, and the RTCP socket (port + 1) unless RTCP is multiplexed.
    let socket: Int32
    let rtcpSocket: Int32?
    let io: MediaIOThread
    /// `parameters.remote` in the kernel's form, for sending without allocation.
    private var remoteAddress: PeerAddress
    private var parameters: LegParameters
    private let onEvent: @Sendable (MediaEvent) -> Void
    private let onClose: @Sendable () -> Void

    // Sender state (RFC 3550 §5.1): random initial sequence number, timestamp and SSRC.
    private var sequenceNumber = UInt16.random(in: .min ... .max)
    private var timestamp = UInt32.random(in: .min ... .max)
    private let ssrc: UInt32
    private var sentFirst = false

    // Player: the queue of prompts, and the position within the first.
    private var queue: [(name: String, audio: PCMAudio)] = []
    private var position = 0
    private var announcedStart = false

    // Receiver state.
    private var events = TelephoneEventReceiver()
    private var dedup = DTMFDeduplicator()
    private var detector: StreamDTMFDetector?
    private var encoder: LegEncoder
    private var decoder: any FrameDecoder
    /// Received audio waits here until its play-out time; each tick takes one frame out.
    private var jitterBuffer: JitterBuffer<AdaptivePlayoutPolicy>
    private var playout: PlayoutPipeline?
    private var playoutMode = PlayoutMode.interactive
    /// RTCP (RFC 3550 §6) for this leg, and its socket when not multiplexed (port + 1).
    var rtcp: RTCPReporter
    /// Our outgoing RTCP compound, written in place at each report.
    private var rtcpPacket = [UInt8](repeating: 0, count: RTCPReporter.maximumReportSize)
    /// Room for the longest Opus packet (120 ms at 48 kHz).
    private var decoded = [Int16](repeating: 0, count: 5760)
    private var lastReceiveMilliseconds: Int64
    /// Which sources RTP and RTCP are taken from, and the one latched to.
    private var sources: RTPSourceLatch<PeerAddress>
    /// The SSRC last seen from the latched source.
    private var lastSSRC: UInt32?
    private var timedOut = false
    private var closed = false
    /// Hold and resume (RFC 3264 §8.4): whether we send, and whether the peer is expected to.
    private var sending = true
    private var expectingMedia = true
    private let clock: MediaClock

    /// Sink for the caller's decoded audio (Recorder.swift); set and cleared on the loop.
    var recorder: Recorder?
    /// RFC 4733 key presses waiting to be sent, and the one being sent (see `sendDigit`).
    private var pendingDigits: [(key: Character, milliseconds: Int)] = []
    private var digitSender: TelephoneEventSender?
    /// The conference room's port (MediaLeg+Conference.swift); set and cleared on the loop.
    var conference: ConferencePort?

    private var pcmFrame: [Int16]
    /// The outgoing RTP packet: header, then the payload encoded in place behind it.
    private var packet = [UInt8](repeating: 0, count: RTPHeader.fixedSize + 1500)

    init(socket: Int32, rtcpSocket: Int32?, localPort: Int, io: MediaIOThread, eventLoop: EventLoop, cnameHost: String,
         parameters: LegParameters, clock: MediaClock,
         onEvent: @escaping @Sendable (MediaEvent) -> Void, onClose: @escaping @Sendable () -> Void) throws {
        self.clock = clock
        let now = clock.nowMilliseconds()
        let ssrc = UInt32.random(in: .min ... .max)
        self.ssrc = ssrc
        rtcp = RTCPReporter(ssrc: ssrc, cname: "parley-\(localPort)@\(cnameHost)",
                            clockRate: parameters.codec.clockRate, nowMs: now)
        sending = parameters.active
        expectingMedia = parameters.active
        encoder = try LegEncoder(parameters.codec)
        decoder = try LegEncoder.decoder(for: parameters.codec)
        jitterBuffer = MediaLeg.makeJitterBuffer(for: parameters.codec)
        detector = parameters.inbandDTMF ? try StreamDTMFDetector(sampleRate: parameters.codec.receiveRate) : nil
        sendRate = parameters.codec.sendRate
        samplesPerFrame = sendRate / 50
        pcmFrame = [Int16](repeating: 0, count: sendRate / 50)
        self.socket = socket
        self.rtcpSocket = rtcpSocket
        self.io = io
        self.eventLoop = eventLoop
        self.remoteAddress = PeerAddress(parameters.remote)
        self.sources = RTPSourceLatch(expected: PeerAddress(parameters.remote), symmetric: parameters.symmetric, mode: parameters.latch)
        self.localPort = localPort
        self.parameters = parameters
        self.onEvent = onEvent
        self.onClose = onClose
        self.lastReceiveMilliseconds = now
    }

    // MARK: Control side (any thread)

    /// Queues a prompt; it plays after those already queued, then silence follows.
    public func play(_ name: String, audio: PCMAudio) {
        io.execute { self.enqueue(name, audio: audio) }
    }

    func enqueue(_ name: String, audio: PCMAudio) { queue.append((name, audio)) }

    /// Stops the current prompt and drops the queue.
    public func stopPlayback() {
        io.execute {
            self.queue.removeAll()
            self.position = 0
            self.announcedStart = false
        }
    }

    /// Applies parameters settled late (the answer to our offer arrived in the ACK): codec,
    /// payload types, peer address; the leg becomes active. Completes on `eventLoop`.
    public func reconfigure(_ newParameters: LegParameters) -> EventLoopFuture<Void> {
        onThread {
            let encoder = try LegEncoder(newParameters.codec)
            let decoder = try LegEncoder.decoder(for: newParameters.codec)
            let detector = newParameters.inbandDTMF ? try StreamDTMFDetector(sampleRate: newParameters.codec.receiveRate) : nil
            self.encoder = encoder
            self.decoder = decoder
            self.detector = detector
            self.jitterBuffer = MediaLeg.makeJitterBuffer(for: newParameters.codec)
            self.rtcp = RTCPReporter(ssrc: self.ssrc, cname: self.rtcp.cname,
                                     clockRate: newParameters.codec.clockRate,
                                     nowMs: self.clock.nowMilliseconds())
            self.parameters = newParameters
            let remote = PeerAddress(newParameters.remote)
            if self.sources.symmetric == newParameters.symmetric, self.sources.mode == newParameters.latch {
                self.sources.expect(remote)  // keeps the latch when the address did not change
            } else {
                self.sources = RTPSourceLatch(expected: remote, symmetric: newParameters.symmetric, mode: newParameters.latch)
            }
            self.remoteAddress = self.sources.latched ?? remote
            self.sendRate = newParameters.codec.sendRate
            self.samplesPerFrame = self.sendRate / 50
            self.pcmFrame = [Int16](repeating: 0, count: self.samplesPerFrame)
            self.sending = newParameters.active
            self.expectingMedia = newParameters.active
            self.lastReceiveMilliseconds = self.clock.nowMilliseconds()
        }
    }

    static func makeJitterBuffer(for codec: LegCodecChoice) -> JitterBuffer<AdaptivePlayoutPolicy> {
        // Slots sized to the codec: a G.711 ring is 64 × 640 bytes (up to 80 ms per packet)
        // instead of 64 × 1500, so thousands of legs' buffers stay nearer the caches.
        let slotSize: Int
        switch codec {
        case .g711: slotSize = 640
        case .opus: slotSize = 1500
        }
        return JitterBuffer(configuration: .init(clockRate: codec.clockRate, frameDuration: Int64(codec.timestampStep), slotSize: slotSize))
    }

    /// Hold and resume: `sending` false stops our RTP (and pauses the prompt); `expectingMedia`
    /// false suspends the media timeout, since a held peer legitimately sends nothing.
    public func setDirection(sending: Bool, expectingMedia: Bool) {
        io.execute {
            self.sending = sending
            self.expectingMedia = expectingMedia
            self.lastReceiveMilliseconds = self.clock.nowMilliseconds()
            self.timedOut = false
        }
    }

    /// A key press that arrived outside the media (SIP INFO), merged with the media's own
    /// reports so one press heard two ways is reported once.
    public func reportDigit(_ digit: Character, source: DTMFSource) {
        io.execute { self.report(digit, source: source, now: self.clock.nowMilliseconds()) }
    }

    /// Closes the socket; the port returns to the allocator.
    public func close() {
        io.execute { self.closeOnLoop() }
    }

    /// Reads the statistics on the leg's thread.
    public func currentStatistics() -> EventLoopFuture<LegStatistics> {
        onThread { self.statistics }
    }

    /// Runs `body` on the media thread; its result completes the future on `eventLoop`.
    private func onThread<T>(_ body: @escaping () throws -> T) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        let queued = io.execute {
            do { promise.succeed(try body()) } catch { promise.fail(error) }
        }
        if !queued { promise.fail(MediaIOError.stopped) }
        return promise.futureResult
    }

    // MARK: Media plane (on the media thread)

    func closeOnLoop() {
        guard !closed else { return }
        if parameters.active { sendRTCP(bye: true) }
        closed = true
        queue.removeAll()
        if socket >= 0 { _ = Glibc.close(socket) }
        if let rtcpSocket, rtcpSocket >= 0 { _ = Glibc.close(rtcpSocket) }
        onClose()
    }

    public func closeOnThread() { closeOnLoop() }

    public var isClosed: Bool { closed }

    /// One 20 ms tick: check the media timeout, produce and send the next frame.
    public func tick(nowMilliseconds now: Int64) {
        guard !closed else { return }
        if !expectingMedia { lastReceiveMilliseconds = now }
        playOutReceived(now: now)
        if parameters.active, rtcp.due(nowMs: now) { sendRTCP(bye: false) }
        if let limit = parameters.mediaTimeoutMilliseconds, !timedOut, now - lastReceiveMilliseconds >= limit {
            timedOut = true
            onEvent(.mediaTimeout)
        }
        guard sending else { return }
        produceFrame()
        if sendTelephoneEvent() { return }
        sendFrame()
    }

    private func produceFrame() {
        let frame = samplesPerFrame
        guard !queue.isEmpty else {
            pcmFrame.withUnsafeMutableBufferPointer { out in
                // In a conference the room's mix plays whenever no prompt does.
                let n = conference?.legNextFrame(into: out, sendRate: sendRate, codec: parameters.codec) ?? 0
                if n < out.count { UnsafeMutableBufferPointer(rebasing: out[n...]).update(repeating: 0) }
            }
            return
        }
        conference?.discardSharedPayload() // this frame is the prompt's, not the room's
        if !announcedStart {
            announcedStart = true
            onEvent(.promptStarted(queue[0].name))
        }
        // Copied straight from the shared prompt: no retain of the queue entry per frame.
        let start = position
        let (n, total) = queue[0].audio.samples.withUnsafeBufferPointer { src -> (Int, Int) in
            let n = max(0, min(frame, src.count - start))
            pcmFrame.withUnsafeMutableBufferPointer { dst in
                guard let d = dst.baseAddress else { return }
                if n > 0, let s = src.baseAddress { d.update(from: s + start, count: n) }
                if n < frame { (d + n).update(repeating: 0, count: min(frame, dst.count) - n) }
            }
            return (n, src.count)
        }
        position += n
        if position >= total {
            let name = queue.removeFirst().name
            position = 0
            announcedStart = false
            onEvent(.promptFinished(name))
        }
    }

    private func sendFrame() {
        let length = pcmFrame.withUnsafeBufferPointer { src in
            packet.withUnsafeMutableBufferPointer { dst in
                let payload = UnsafeMutableBufferPointer(rebasing: dst[RTPHeader.fixedSize...])
                // The room's shared encode of the mix this frame came from (ConferencePort).
                if let n = conference?.takeSharedPayload(into: payload) { return n }
                return encoder.encode(src, into: payload)
            }
        }
        defer { timestamp &+= parameters.codec.timestampStep }
        // Nothing to send (Opus DTX): the next packet starts a talkspurt and carries the marker.
        guard length > 0 else { sentFirst = false; return }
        let header = RTPHeader(marker: !sentFirst, payloadType: parameters.payloadType,
                               sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        packet.withUnsafeMutableBytes { bytes in
            _ = header.write(to: bytes)
            io.send(socket: socket, UnsafeRawBufferPointer(rebasing: bytes[0..<RTPHeader.fixedSize + length]), to: remoteAddress)
        }
        sentFirst = true
        sequenceNumber &+= 1
        statistics.packetsSent += 1
        rtcp.rtpSent(payloadBytes: length)
    }

    /// Handles one received datagram: RTP audio or telephone-event; anything else is counted and dropped.
    public func receive(_ bytes: UnsafeRawBufferPointer, from source: PeerAddress, arrivalMilliseconds now: Int64, rtcpSocket: Bool) {
        guard !closed else { return }
        do {
            // RTCP shares the RTP socket under rtcp-mux and arrives on port + 1 otherwise; the
            // packet type tells them apart (RFC 5761 §4: 200-204 are never RTP payload types here).
            if bytes.count >= 8, bytes[0] >> 6 == 2, (200...204).contains(bytes[1]) {
                return receiveRTCP(bytes, from: source, now: now)
            }
            guard let packet = try? RTPPacketView.parse(bytes) else {
                statistics.malformedDropped += 1
                return
            }
            switch sources.rtp(from: source, sequenceNumber: packet.header.sequenceNumber, now: now) {
            case .accept:
                break
            case .latched:
                // From now on media goes where it comes from.
                remoteAddress = source
            case .drop:
                // Never from the caller's address, or not the one latched to: it moves nothing.
                statistics.strangersDropped += 1
                return
            }
            if let last = lastSSRC, last != packet.header.ssrc {
                // A new stream from the same peer (re-INVITE, a transfer upstream): start the
                // event receiver afresh so a new event with an old timestamp is not swallowed.
                statistics.ssrcChanges += 1
                events = TelephoneEventReceiver()
            }
            lastSSRC = packet.header.ssrc
            statistics.packetsReceived += 1
            let pt = packet.header.payloadType
            let comfortNoise = pt == parameters.comfortNoisePayloadType && pt != parameters.payloadType
            if pt == parameters.payloadType || comfortNoise {
                rtcp.rtpReceived(sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp,
                                 ssrc: packet.header.ssrc, nowMs: now)
            }
            lastReceiveMilliseconds = now
            let payload = UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange])
            if let te = parameters.telephoneEventPayloadType, pt == te {
                if let event = TelephoneEvent(payload: payload),
                   let digit = events.receive(event, timestamp: packet.header.timestamp) {
                    report(digit, source: .rfc4733, now: now)
                }
            } else if pt == parameters.payloadType || comfortNoise {
                guard payload.count > 0 else { return }
                switch jitterBuffer.put(payload, sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp,
                                        marker: packet.header.marker, arrivalMs: now, comfortNoise: comfortNoise) {
                case .late: statistics.lateDropped += 1
                case .duplicate: statistics.duplicatesDropped += 1
                case .tooLarge: statistics.malformedDropped += 1
                default: break
                }
            } else {
                statistics.unknownPayloadDropped += 1
            }
        }
    }

    private func receiveRTCP(_ bytes: UnsafeRawBufferPointer, from source: PeerAddress, now: Int64) {
        let expected = sources.expected
        guard sources.rtcp(from: source, expectedRTCP: parameters.rtcpMux ? expected : expected.withPort(expected.port + 1)) else {
            statistics.strangersDropped += 1
            return
        }
        guard rtcp.receive(bytes, nowMs: now) else {
            statistics.malformedDropped += 1
            return
        }
        statistics.rtcpReceived = rtcp.reportsReceived
        statistics.roundTripMilliseconds = rtcp.roundTripMilliseconds ?? -1
        statistics.remoteFractionLost = rtcp.remoteFractionLost.map(Int.init) ?? -1
    }

    /// Our compound report to the peer's RTCP address: the latched RTCP source, else the RTP
    /// address (rtcp-mux) or its port + 1.
    private func sendRTCP(bye: Bool) {
        var destination = sources.latchedRTCP ?? remoteAddress
        if sources.latchedRTCP == nil, !parameters.rtcpMux { destination = remoteAddress.withPort(remoteAddress.port + 1) }
        let from = parameters.rtcpMux ? socket : (rtcpSocket ?? socket)
        let now = clock.nowMilliseconds()
        rtcpPacket.withUnsafeMutableBytes { buffer in
            let n = rtcp.makeReport(into: buffer, nowMs: now, rtpTimestamp: timestamp, bye: bye)
            if n > 0 { _ = io.send(socket: from, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), to: destination) }
        }
        statistics.rtcpSent = rtcp.reportsSent
    }

    /// One frame out of the jitter buffer per tick. When the audio is listened to (in-band
    /// DTMF), `PlayoutPipeline` decodes or conceals it, plays comfort noise through the
    /// sender's silence and makes the buffer's delay changes by time-scale modification;
    /// otherwise the buffer is only paced.
    private func playOutReceived(now: Int64) {
        defer {
            statistics.jitterBufferDelayMilliseconds = Int(jitterBuffer.statistics.currentDelayMs)
            statistics.concealedFrames = jitterBuffer.statistics.concealed
            statistics.comfortNoiseFrames = jitterBuffer.statistics.comfortNoise
            statistics.packetsLost = rtcp.statistics.isValid ? Int(rtcp.statistics.cumulativeLost) : 0
        }
        if jitterBuffer.mode != playoutMode { jitterBuffer.setMode(playoutMode) }  // after `reconfigure`
        guard detector != nil || recorder != nil || conference != nil else {
            _ = jitterBuffer.get(nowMs: now)
            return
        }
        if playout?.buffer !== jitterBuffer {
            // First tick, or `reconfigure` replaced the buffer and the decoder.
            playout = PlayoutPipeline(buffer: jitterBuffer, decoder: decoder)
        }
        guard let playout else { return }
        let count = playout.frameSamples
        let output = decoded.withUnsafeMutableBufferPointer { playout.pull(nowMs: now, into: $0) }
        // Before anything is received the pipeline gives silence: a recording keeps time with it.
        if let recorder {
            decoded.withUnsafeBufferPointer { recorder.receive(UnsafeBufferPointer(rebasing: $0[0..<count]), rate: parameters.codec.receiveRate) }
        }
        if let conference {
            decoded.withUnsafeBufferPointer { conference.legReceived(UnsafeBufferPointer(rebasing: $0[0..<count]), rate: parameters.codec.receiveRate) }
        }
        guard output == .audio, let detector else { return }
        // A key is reported when its press is confirmed (`.began`), so a menu can react while
        // the caller still holds the key; no allocation per frame.
        decoded.withUnsafeBufferPointer { pcm in
            detector.process(UnsafeBufferPointer(rebasing: pcm[0..<count])) { event in
                if event.kind == .began { report(event.key.character, source: .inband, now: now) }
            }
        }
    }

    /// Interactive play-out (lowest delay) or recording (up to about 1 s, so a message
    /// left over a bad network is recorded whole). Kept across `reconfigure`.
    public func setPlayoutMode(_ mode: PlayoutMode) {
        io.execute {
            self.playoutMode = mode
            self.jitterBuffer.setMode(mode)
        }
    }

    func report(_ digit: Character, source: DTMFSource, now: Int64) {
        guard dedup.accept(digit, source: source, now: now) else { return }
        statistics.digitsReported += 1
        onEvent(.digit(digit, source: source))
    }
}

// MARK: RFC 4733 sending (on the media thread)

extension MediaLeg {
    /// Sends `key` as an RFC 4733 telephone-event lasting `milliseconds`, after keys already
    /// queued; audio packets pause while it lasts (§2.5.1.1). Ignored when the peer negotiated
    /// no telephone-event. Any thread.
    public func sendDigit(_ key: Character, milliseconds: Int = 100) {
        io.execute { self.pendingDigits.append((key, milliseconds)) }
    }

    /// One tick of a key press: true when this tick sent telephone-event packets instead of audio.
    private func sendTelephoneEvent() -> Bool {
        guard let eventType = parameters.telephoneEventPayloadType else {
            pendingDigits.removeAll()
            return false
        }
        if digitSender == nil {
            guard !pendingDigits.isEmpty else { return false }
            let (key, ms) = pendingDigits.removeFirst()
            // Offers and answers here state telephone-event/8000: 8 timestamp units per ms.
            digitSender = TelephoneEventSender(key: key, startTimestamp: timestamp, duration: UInt32(max(20, min(ms, 5000)) * 8))
            if digitSender == nil { return false }
        }
        guard var sender = digitSender else { return false }
        let tick = sender.tick()
        for p in [tick.first, tick.second] {
            guard let p else { continue }
            let header = RTPHeader(marker: p.marker, payloadType: eventType, sequenceNumber: sequenceNumber, timestamp: p.timestamp, ssrc: ssrc)
            packet.withUnsafeMutableBytes { bytes in
                _ = header.write(to: bytes)
                let n = p.event.write(to: UnsafeMutableRawBufferPointer(rebasing: bytes[RTPHeader.fixedSize...]))
                io.send(socket: socket, UnsafeRawBufferPointer(rebasing: bytes[0..<RTPHeader.fixedSize + n]), to: remoteAddress)
            }
            sequenceNumber &+= 1
            statistics.packetsSent += 1
            rtcp.rtpSent(payloadBytes: TelephoneEvent.size)
        }
        timestamp &+= parameters.codec.timestampStep
        digitSender = sender.isFinished ? nil : sender
        return true
    }
}
