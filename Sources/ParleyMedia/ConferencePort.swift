import NIOConcurrencyHelpers

/// Where a leg and its conference room exchange audio, one 20 ms frame at a time, when the
/// leg and the room run on different media threads.
///
/// The leg's tick pushes the frame it decoded (after its jitter buffer, at its receive rate)
/// and pops the frame to send (at its send rate); the room's tick pops the first and pushes
/// the second. Each direction is a ring of `depth` preallocated frames behind one lock held
/// for a copy (no allocation, no waiting on the other thread's work). The two threads tick
/// on the same monotonic 20 ms grid with different phases that wander when a thread runs
/// late, so a ring starts giving frames only once it holds two (one frame of slack: a
/// late tick on either side then costs no gap), starts over after running dry, and drops
/// down to two frames when more pile up (a full ring drops its oldest). The delay through
/// a port is thus 20-40 ms each way, and a gap or a jump happens only when a thread stalls.
public final class ConferencePort: @unchecked Sendable {
    static let depth = 4
    /// The longest frame: 20 ms at 48 kHz.
    public static let maxFrameSamples = 960
    /// The longest encoded frame the room hands a leg.
    public static let maxPayloadBytes = 1500
    private let lock = NIOLock()
    private let toRoom = FrameRing()
    private let toLeg = FrameRing()
    /// The leg's send rate as of its last pop (the room resamples the mix to it).
    private var legSendRate = 8000
    /// The leg's codec as of its last pop (the room may encode the shared mix for it).
    private var legSendCodec: LegCodecChoice?
    /// Leg thread only: the payload that came with the last frame popped, if the room encoded
    /// it (shared encode) for the codec the leg sends.
    private let legPayload = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: ConferencePort.maxPayloadBytes)
    private var legPayloadLength: Int?

    /// Frames lost on the way: ring overflows and pops that found nothing.
    public struct Counters: Sendable, Equatable {
        public var inboundDropped = 0
        public var inboundMissing = 0
        public var outboundDropped = 0
        public var outboundMissing = 0
    }
    private var counters = Counters()

    public init(sendRate: Int) {
        legSendRate = sendRate
        legPayload.initialize(repeating: 0)
    }

    deinit { legPayload.deallocate() }

    public var currentCounters: Counters { lock.withLock { counters } }

    // Leg side (the leg's media thread).

    func legReceived(_ frame: UnsafeBufferPointer<Int16>, rate: Int) {
        lock.withLock { if toRoom.push(frame, rate: rate) { counters.inboundDropped += 1 } }
    }

    /// The next frame for the leg to send, at `sendRate`; 0 when none is there (send silence).
    /// `codec`: what the leg sends; a payload the room encoded for it is then kept for
    /// `takeSharedPayload`.
    func legNextFrame(into frame: UnsafeMutableBufferPointer<Int16>, sendRate: Int, codec: LegCodecChoice? = nil) -> Int {
        lock.withLock {
            legSendRate = sendRate
            legSendCodec = codec.map(ConferencePort.encodeKey)
            legPayloadLength = nil
            guard let (n, rate, payload) = toLeg.pop(into: frame, payload: legPayload) else { counters.outboundMissing += 1; return 0 }
            guard rate == sendRate else { return 0 }
            if let (length, encodedFor) = payload, encodedFor == legSendCodec { legPayloadLength = length }
            return n
        }
    }

    /// Leg thread, once per frame sent: the room's encoding of the frame `legNextFrame` gave,
    /// copied into `payload` (its length; 0 is Opus DTX), or nil when the leg must encode it.
    func takeSharedPayload(into payload: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        guard let n = legPayloadLength, n <= payload.count else { return nil }
        legPayloadLength = nil
        if n > 0, let to = payload.baseAddress, let from = legPayload.baseAddress { to.update(from: from, count: n) }
        return n
    }

    /// Leg thread: the frame to send is not the one `legNextFrame` gave (a prompt plays).
    func discardSharedPayload() { legPayloadLength = nil }

    /// The encoder settings of a codec (what makes two legs' encodings interchangeable).
    static func encodeKey(_ codec: LegCodecChoice) -> LegCodecChoice {
        switch codec {
        case .g711: return codec
        case let .opus(rate, _, bitrate, fec, loss, dtx):
            return .opus(encodeRate: rate, decodeRate: 0, bitrate: bitrate, inbandFEC: fec, expectedLossPercent: loss, dtx: dtx)
        }
    }

    // Room side (the room's media thread).

    func roomTake(into frame: UnsafeMutableBufferPointer<Int16>) -> (count: Int, rate: Int)? {
        lock.withLock {
            guard let r = toRoom.pop(into: frame) else { counters.inboundMissing += 1; return nil }
            return r
        }
    }

    /// `payload`: the frame already encoded (shared encode) for `encodedFor` (an `encodeKey`).
    func roomGive(_ frame: UnsafeBufferPointer<Int16>, rate: Int, payload: UnsafeBufferPointer<UInt8>? = nil, encodedFor: LegCodecChoice? = nil) {
        lock.withLock { if toLeg.push(frame, rate: rate, payload: payload, encodedFor: encodedFor) { counters.outboundDropped += 1 } }
    }

    var sendRate: Int { lock.withLock { legSendRate } }

    /// The leg's send rate and codec (`encodeKey`) as of its last pop.
    var sendFormat: (rate: Int, codec: LegCodecChoice?) { lock.withLock { (legSendRate, legSendCodec) } }
}

/// A ring of `ConferencePort.depth` frames; not thread-safe (the port's lock guards it).
final class FrameRing {
    private let samples: UnsafeMutablePointer<Int16>
    private var counts = [Int](repeating: 0, count: ConferencePort.depth)
    private var rates = [Int](repeating: 0, count: ConferencePort.depth)
    private let payloads: UnsafeMutablePointer<UInt8>
    /// Payload length per slot, -1 for none, and what it was encoded for.
    private var payloadLengths = [Int](repeating: -1, count: ConferencePort.depth)
    private var encodedFor = [LegCodecChoice?](repeating: nil, count: ConferencePort.depth)
    private var head = 0
    private var count = 0
    /// Frames are given once two have queued up, until the ring runs dry.
    private var primed = false

    init() {
        samples = .allocate(capacity: ConferencePort.depth * ConferencePort.maxFrameSamples)
        samples.initialize(repeating: 0, count: ConferencePort.depth * ConferencePort.maxFrameSamples)
        payloads = .allocate(capacity: ConferencePort.depth * ConferencePort.maxPayloadBytes)
        payloads.initialize(repeating: 0, count: ConferencePort.depth * ConferencePort.maxPayloadBytes)
    }

    deinit {
        samples.deallocate()
        payloads.deallocate()
    }

    /// Adds a frame (cut to the longest frame); true when the oldest was dropped to make room.
    func push(_ frame: UnsafeBufferPointer<Int16>, rate: Int, payload: UnsafeBufferPointer<UInt8>? = nil,
              encodedFor codec: LegCodecChoice? = nil) -> Bool {
        var dropped = false
        if count == ConferencePort.depth {
            head = (head + 1) % ConferencePort.depth
            count -= 1
            dropped = true
        }
        let slot = (head + count) % ConferencePort.depth
        let n = min(frame.count, ConferencePort.maxFrameSamples)
        if n > 0, let base = frame.baseAddress { (samples + slot * ConferencePort.maxFrameSamples).update(from: base, count: n) }
        counts[slot] = n
        rates[slot] = rate
        if let payload, let codec, payload.count <= ConferencePort.maxPayloadBytes {
            if let base = payload.baseAddress, !payload.isEmpty {
                (payloads + slot * ConferencePort.maxPayloadBytes).update(from: base, count: payload.count)
            }
            payloadLengths[slot] = payload.count
            encodedFor[slot] = codec
        } else {
            payloadLengths[slot] = -1
            encodedFor[slot] = nil
        }
        count += 1
        return dropped
    }

    /// Takes the oldest frame once primed, after dropping all but the newest two when more
    /// than three wait; nil while priming or dry.
    func pop(into frame: UnsafeMutableBufferPointer<Int16>) -> (Int, Int)? {
        pop(into: frame, payload: nil).map { ($0.0, $0.1) }
    }

    /// As `pop`, also copying the slot's payload (if any) into `payload`: its length and codec.
    func pop(into frame: UnsafeMutableBufferPointer<Int16>,
             payload: UnsafeMutableBufferPointer<UInt8>?) -> (Int, Int, (Int, LegCodecChoice)?)? {
        if count == 0 { primed = false }
        if !primed, count >= 2 { primed = true }
        guard primed, count > 0 else { return nil }
        if count > 3 { while count > 2 {
            head = (head + 1) % ConferencePort.depth
            count -= 1
        } }
        let n = min(counts[head], frame.count)
        if n > 0, let base = frame.baseAddress { base.update(from: samples + head * ConferencePort.maxFrameSamples, count: n) }
        let rate = rates[head]
        var encoded: (Int, LegCodecChoice)?
        if let payload, payloadLengths[head] >= 0, payloadLengths[head] <= payload.count, let codec = encodedFor[head] {
            let length = payloadLengths[head]
            if length > 0, let to = payload.baseAddress { to.update(from: payloads + head * ConferencePort.maxPayloadBytes, count: length) }
            encoded = (length, codec)
        }
        head = (head + 1) % ConferencePort.depth
        count -= 1
        return (n, rate, encoded)
    }
}
