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
    /// Symmetric RTP (NAT): send to where the first valid packet came from, and from then on
    /// ignore packets from any other address (counted as strangers).
    public var symmetric: Bool
    /// False for a leg whose peer is not known yet (our offer awaits the answer in the ACK):
    /// it sends nothing and expects nothing until `reconfigure` makes it active.
    public var active: Bool = true
    /// RTCP on the RTP port (RFC 5761) instead of port + 1.
    public var rtcpMux: Bool = false

    public init(codec: LegCodecChoice, payloadType: UInt8, telephoneEventPayloadType: UInt8?, remote: SocketAddress,
                mediaTimeoutMilliseconds: Int64?, inbandDTMF: Bool, symmetric: Bool = true) {
        self.codec = codec; self.payloadType = payloadType; self.telephoneEventPayloadType = telephoneEventPayloadType
        self.remote = remote; self.mediaTimeoutMilliseconds = mediaTimeoutMilliseconds; self.inbandDTMF = inbandDTMF
        self.symmetric = symmetric
    }
}

/// One call's RTP stream on its own UDP socket.
///
/// Everything here runs on `eventLoop` (the media plane): the socket's reads, the 20 ms
/// tick, the player and the detectors. Control code calls the public methods from any
/// thread; they hop onto the loop.
public final class MediaLeg: @unchecked Sendable {
    public let localPort: Int
    /// Sample rate of the audio this leg sends: prompts given to `play` must be at this rate.
    public private(set) var sendRate: Int
    /// Samples per 20 ms frame at `sendRate`.
    private(set) var samplesPerFrame: Int
    public let eventLoop: EventLoop
    public private(set) var statistics = LegStatistics()

    let channel: Channel
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
    private var rtcp: RTCPReporter
    var rtcpChannel: Channel?
    private var latchedRTCP: SocketAddress?
    /// Room for the longest Opus packet (120 ms at 48 kHz).
    private var decoded = [Int16](repeating: 0, count: 5760)
    private var lastReceiveMilliseconds: Int64
    /// The source latched to (symmetric RTP), and the SSRC last seen from it.
    private var latched: SocketAddress?
    private var lastSSRC: UInt32?
    private var timedOut = false
    private var closed = false
    /// Hold and resume (RFC 3264 §8.4): whether we send, and whether the peer is expected to.
    private var sending = true
    private var expectingMedia = true
    private let clock: MediaClock

    private var pcmFrame: [Int16]
    private var codeFrame = [UInt8](repeating: 0, count: 1500)

    init(channel: Channel, localPort: Int, parameters: LegParameters, clock: MediaClock,
         onEvent: @escaping @Sendable (MediaEvent) -> Void, onClose: @escaping @Sendable () -> Void) throws {
        self.clock = clock
        let now = clock.nowMilliseconds()
        let ssrc = UInt32.random(in: .min ... .max)
        self.ssrc = ssrc
        rtcp = RTCPReporter(ssrc: ssrc, cname: "parley-\(localPort)@\(channel.localAddress?.ipAddress ?? "localhost")",
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
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.localPort = localPort
        self.parameters = parameters
        self.onEvent = onEvent
        self.onClose = onClose
        self.lastReceiveMilliseconds = now
    }

    // MARK: Control side (any thread)

    /// Queues a prompt; it plays after those already queued, then silence follows.
    public func play(_ name: String, audio: PCMAudio) {
        eventLoop.execute { self.queue.append((name, audio)) }
    }

    /// Stops the current prompt and drops the queue.
    public func stopPlayback() {
        eventLoop.execute {
            self.queue.removeAll()
            self.position = 0
            self.announcedStart = false
        }
    }

    /// Applies parameters settled late (the answer to our offer arrived in the ACK): codec,
    /// payload types, peer address; the leg becomes active. Completes on the leg's loop.
    public func reconfigure(_ newParameters: LegParameters) -> EventLoopFuture<Void> {
        eventLoop.submit {
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
            self.sendRate = newParameters.codec.sendRate
            self.samplesPerFrame = self.sendRate / 50
            self.pcmFrame = [Int16](repeating: 0, count: self.samplesPerFrame)
            self.sending = newParameters.active
            self.expectingMedia = newParameters.active
            self.lastReceiveMilliseconds = self.clock.nowMilliseconds()
        }
    }

    static func makeJitterBuffer(for codec: LegCodecChoice) -> JitterBuffer<AdaptivePlayoutPolicy> {
        JitterBuffer(configuration: .init(clockRate: codec.clockRate, frameDuration: Int64(codec.timestampStep)))
    }

    /// Hold and resume: `sending` false stops our RTP (and pauses the prompt); `expectingMedia`
    /// false suspends the media timeout, since a held peer legitimately sends nothing.
    public func setDirection(sending: Bool, expectingMedia: Bool) {
        eventLoop.execute {
            self.sending = sending
            self.expectingMedia = expectingMedia
            self.lastReceiveMilliseconds = self.clock.nowMilliseconds()
            self.timedOut = false
        }
    }

    /// A key press that arrived outside the media (SIP INFO), merged with the media's own
    /// reports so one press heard two ways is reported once.
    public func reportDigit(_ digit: Character, source: DTMFSource) {
        eventLoop.execute { self.report(digit, source: source, now: self.clock.nowMilliseconds()) }
    }

    /// Closes the socket; the port returns to the allocator when the close completes.
    public func close() {
        eventLoop.execute { self.closeOnLoop() }
    }

    /// Reads the statistics on the leg's loop.
    public func currentStatistics() -> EventLoopFuture<LegStatistics> {
        eventLoop.submit { self.statistics }
    }

    // MARK: Media plane (on eventLoop)

    func closeOnLoop() {
        guard !closed else { return }
        if parameters.active { sendRTCP(bye: true) }
        closed = true
        queue.removeAll()
        channel.close(promise: nil)
        rtcpChannel?.close(promise: nil)
        onClose()
    }

    var isClosed: Bool { closed }

    /// One 20 ms tick: check the media timeout, produce and send the next frame.
    func tick(nowMilliseconds now: Int64) {
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
        sendFrame()
    }

    private func produceFrame() {
        guard let current = queue.first else {
            for i in 0..<pcmFrame.count { pcmFrame[i] = 0 }
            return
        }
        if !announcedStart {
            announcedStart = true
            onEvent(.promptStarted(current.name))
        }
        let samples = current.audio.samples
        let n = min(samplesPerFrame, samples.count - position)
        for i in 0..<n { pcmFrame[i] = samples[position + i] }
        for i in n..<samplesPerFrame { pcmFrame[i] = 0 }
        position += n
        if position >= samples.count {
            queue.removeFirst()
            position = 0
            announcedStart = false
            onEvent(.promptFinished(current.name))
        }
    }

    private func sendFrame() {
        let length = pcmFrame.withUnsafeBufferPointer { src in
            codeFrame.withUnsafeMutableBufferPointer { dst in encoder.encode(src, into: dst) }
        }
        defer { timestamp &+= parameters.codec.timestampStep }
        // Nothing to send (Opus DTX): the next packet starts a talkspurt and carries the marker.
        guard length > 0 else { sentFirst = false; return }
        let header = RTPHeader(marker: !sentFirst, payloadType: parameters.payloadType,
                               sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        var buffer = channel.allocator.buffer(capacity: RTPHeader.fixedSize + length)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: RTPHeader.fixedSize) { header.write(to: $0) }
        codeFrame.withUnsafeBufferPointer { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer($0)[0..<length])) }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: parameters.remote, data: buffer), promise: nil)
        sentFirst = true
        sequenceNumber &+= 1
        statistics.packetsSent += 1
        rtcp.rtpSent(payloadBytes: length)
    }

    /// Handles one received datagram: RTP audio or telephone-event; anything else is counted and dropped.
    func receive(_ buffer: ByteBuffer, from source: SocketAddress, nowMilliseconds now: Int64) {
        guard !closed else { return }
        buffer.withUnsafeReadableBytes { bytes in
            // RTCP shares the RTP socket under rtcp-mux and arrives on port + 1 otherwise; the
            // packet type tells them apart (RFC 5761 §4: 200-204 are never RTP payload types here).
            if bytes.count >= 8, bytes[0] >> 6 == 2, (200...204).contains(bytes[1]) {
                return receiveRTCP(bytes, from: source, now: now)
            }
            guard let packet = try? RTPPacketView.parse(bytes) else {
                statistics.malformedDropped += 1
                return
            }
            if parameters.symmetric {
                if let latched {
                    guard latched == source else {
                        statistics.strangersDropped += 1
                        return
                    }
                } else {
                    // Latch on the first valid packet: from now on media goes where it came from.
                    latched = source
                    parameters.remote = source
                }
            }
            if let last = lastSSRC, last != packet.header.ssrc {
                // A new stream from the same peer (re-INVITE, a transfer upstream): start the
                // event receiver afresh so a new event with an old timestamp is not swallowed.
                statistics.ssrcChanges += 1
                events = TelephoneEventReceiver()
            }
            lastSSRC = packet.header.ssrc
            statistics.packetsReceived += 1
            if packet.header.payloadType == parameters.payloadType {
                rtcp.rtpReceived(sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp,
                                 ssrc: packet.header.ssrc, nowMs: now)
            }
            lastReceiveMilliseconds = now
            let payload = UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange])
            let pt = packet.header.payloadType
            if let te = parameters.telephoneEventPayloadType, pt == te {
                if let event = TelephoneEvent(payload: payload),
                   let digit = events.receive(event, timestamp: packet.header.timestamp) {
                    report(digit, source: .rfc4733, now: now)
                }
            } else if pt == parameters.payloadType {
                guard payload.count > 0 else { return }
                switch jitterBuffer.put(payload, sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp,
                                        marker: packet.header.marker, arrivalMs: now) {
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

    private func receiveRTCP(_ bytes: UnsafeRawBufferPointer, from source: SocketAddress, now: Int64) {
        guard rtcp.receive(bytes, nowMs: now) else {
            statistics.malformedDropped += 1
            return
        }
        if parameters.symmetric, latchedRTCP == nil { latchedRTCP = source }
        statistics.rtcpReceived = rtcp.reportsReceived
        statistics.roundTripMilliseconds = rtcp.roundTripMilliseconds ?? -1
        statistics.remoteFractionLost = rtcp.remoteFractionLost.map(Int.init) ?? -1
    }

    /// Our compound report to the peer's RTCP address: the latched RTCP source, else the RTP
    /// address (rtcp-mux) or its port + 1.
    private func sendRTCP(bye: Bool) {
        let bytes = rtcp.makeReport(nowMs: clock.nowMilliseconds(), rtpTimestamp: timestamp, bye: bye)
        var destination = latchedRTCP ?? parameters.remote
        if latchedRTCP == nil, !parameters.rtcpMux, let port = parameters.remote.port,
           let ip = parameters.remote.ipAddress, let address = try? SocketAddress(ipAddress: ip, port: port + 1) {
            destination = address
        }
        let socket = parameters.rtcpMux ? channel : (rtcpChannel ?? channel)
        var buffer = socket.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        socket.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
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
        }
        if jitterBuffer.mode != playoutMode { jitterBuffer.setMode(playoutMode) }  // after `reconfigure`
        guard let detector else {
            _ = jitterBuffer.get(nowMs: now)
            return
        }
        if playout?.buffer !== jitterBuffer {
            // First tick, or `reconfigure` replaced the buffer and the decoder.
            playout = PlayoutPipeline(buffer: jitterBuffer, decoder: decoder)
        }
        guard let playout else { return }
        let count = playout.frameSamples
        guard decoded.withUnsafeMutableBufferPointer({ playout.pull(nowMs: now, into: $0) }) == .audio else { return }
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
        eventLoop.execute {
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

/// Feeds a leg's socket reads into the leg on its loop.
final class MediaLegHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    weak var leg: MediaLeg?
    let clock: MediaClock

    init(clock: MediaClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        leg?.receive(envelope.data, from: envelope.remoteAddress, nowMilliseconds: clock.nowMilliseconds())
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and the like surface here on UDP; a media socket keeps going.
    }
}

