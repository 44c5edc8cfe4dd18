import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ParleyDSP
import ParleyRTP

/// A media clock moved by hand (tests, the tick benchmark).
public final class ManualMediaClock: MediaClock, @unchecked Sendable {
    private let now: NIOLockedValueBox<Int64>
    public init(startMilliseconds: Int64 = 1_000) { now = NIOLockedValueBox(startMilliseconds) }
    public func nowMilliseconds() -> Int64 { now.withLockedValue { $0 } }
    public func advance(milliseconds: Int64) { now.withLockedValue { $0 += milliseconds } }
}

/// Legs without sockets or media thread, ticked by hand: each `tick` gives every leg one
/// received RTP packet (the next of `incoming`, cycled) and runs its 20 ms tick — receive →
/// jitter buffer → decode → in-band DTMF where configured; prompt → encode → RTP packet —
/// exactly as the media thread does, minus the system calls. For the tick benchmark and tests.
public final class MediaTickDriver {
    public let legs: [MediaLeg]
    public let clock: ManualMediaClock
    private let recorded = NIOLockedValueBox<[MediaEvent]>([])
    private let incoming: [[UInt8]]
    private var packet: [UInt8]
    private var frameIndex = 0
    private var sequence: UInt16 = 1000
    private var timestamp: UInt32 = 160_000
    private let source: PeerAddress
    private let payloadType: UInt8
    private let step: UInt32

    /// `incoming`: the payloads the peer sends, one per tick, in a loop; `prompt` plays on
    /// every leg (shared, not copied). Events are recorded (`events`).
    public init(legs count: Int, parameters: LegParameters, prompt: PCMAudio?, incoming: [[UInt8]]) throws {
        clock = ManualMediaClock()
        let io = MediaIOThread(name: "tick-driver", clock: clock)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let recorded = self.recorded
        var legs: [MediaLeg] = []
        for i in 0..<count {
            let leg = try MediaLeg(socket: -1, rtcpSocket: nil, localPort: 30_000 + 2 * i, io: io, eventLoop: loop,
                                   cnameHost: "localhost", parameters: parameters, clock: clock,
                                   onEvent: { e in recorded.withLockedValue { $0.append(e) } }, onClose: {})
            if let prompt { leg.enqueue("prompt", audio: prompt) }
            legs.append(leg)
        }
        self.legs = legs
        self.incoming = incoming.isEmpty ? [[UInt8](repeating: 0xFF, count: 160)] : incoming
        packet = [UInt8](repeating: 0, count: RTPHeader.fixedSize + (self.incoming.map(\.count).max() ?? 0))
        source = PeerAddress(parameters.remote)
        payloadType = parameters.payloadType
        step = parameters.codec.timestampStep
    }

    /// Events reported so far (digits, prompt start and end).
    public var events: [MediaEvent] { recorded.withLockedValue { $0 } }

    /// One 20 ms tick of every leg, with one packet received by each first.
    public func tick() {
        let payload = incoming[frameIndex % incoming.count]
        frameIndex += 1
        let header = RTPHeader(marker: frameIndex == 1, payloadType: payloadType, sequenceNumber: sequence,
                               timestamp: timestamp, ssrc: 0x1234_5678)
        sequence &+= 1
        timestamp &+= step
        let now = clock.nowMilliseconds()
        packet.withUnsafeMutableBytes { bytes in
            _ = header.write(to: bytes)
            payload.withUnsafeBytes { bytes.baseAddress!.advanced(by: RTPHeader.fixedSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let datagram = UnsafeRawBufferPointer(rebasing: bytes[0..<RTPHeader.fixedSize + payload.count])
            for leg in legs { leg.receive(datagram, from: source, arrivalMilliseconds: now, rtcpSocket: false) }
        }
        for leg in legs { leg.tick(nowMilliseconds: now) }
        clock.advance(milliseconds: MediaEngine.frameMilliseconds)
    }
}
