/// An RFC 4733 §2.3 telephone-event payload (named events: DTMF 0–9, *, #, A–D).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     event     |E|R| volume    |          duration             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct TelephoneEvent: Equatable, Sendable {
    public static let size = 4
    static let endBit: UInt8 = 0x80
    static let volumeMask: UInt8 = 0x3F

    public var event: UInt8
    public var end: Bool
    /// Power level in -dBm0 (0 ... 63).
    public var volume: UInt8
    /// Duration in RTP timestamp units since the event's timestamp.
    public var duration: UInt16

    public init(event: UInt8, end: Bool, volume: UInt8, duration: UInt16) {
        self.event = event
        self.end = end
        self.volume = volume
        self.duration = duration
    }

    /// Parses the first four bytes of a telephone-event payload; nil if too short.
    public init?(payload: UnsafeRawBufferPointer) {
        guard payload.count >= TelephoneEvent.size else { return nil }
        event = payload[0]
        end = (payload[1] & TelephoneEvent.endBit) != 0
        volume = payload[1] & TelephoneEvent.volumeMask
        duration = UInt16(payload[2]) << 8 | UInt16(payload[3])
    }

    public func write(to buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= TelephoneEvent.size else { return 0 }
        buffer[0] = event
        buffer[1] = (end ? TelephoneEvent.endBit : 0) | (volume & TelephoneEvent.volumeMask)
        buffer[2] = UInt8(truncatingIfNeeded: duration >> 8)
        buffer[3] = UInt8(truncatingIfNeeded: duration)
        return TelephoneEvent.size
    }

    /// The DTMF key for events 0–15 (RFC 4733 §3.2), nil for other events.
    public var digit: Character? { TelephoneEvent.digit(forEvent: event) }

    public static func digit(forEvent event: UInt8) -> Character? {
        let keys: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"]
        return event < 16 ? keys[Int(event)] : nil
    }

    public static func event(forDigit digit: Character) -> UInt8? {
        switch digit {
        case "0"..."9": return digit.asciiValue.map { $0 - 48 }
        case "*": return 10
        case "#": return 11
        case "A", "a": return 12
        case "B", "b": return 13
        case "C", "c": return 14
        case "D", "d": return 15
        default: return nil
        }
    }
}

/// Turns a stream of telephone-event packets into key presses, each reported once.
///
/// An event is identified by its RTP timestamp (RFC 4733 §2.5.1.2: all packets of one
/// event carry the start timestamp). The first packet seen for a new timestamp reports
/// the key, so a lost start packet still yields the digit; retransmitted end packets and
/// duration updates of the same event report nothing. A long event is sent in segments
/// (§2.5.1.3): a new timestamp at most `maxSegmentDuration` after the previous one, for
/// the same event, while that event has not ended, continues it and reports nothing, and
/// so does a late packet of an earlier segment. (A second press of the same key within
/// 0xFFFF units of a press whose three end packets were all lost is taken as continuing it.)
public struct TelephoneEventReceiver: Sendable {
    private var lastTimestamp: UInt32?
    private var lastEvent: UInt8?
    private var lastEnded = false

    public init() {}

    /// - Returns: the key to report, or nil when this packet continues a known event.
    public mutating func receive(_ event: TelephoneEvent, timestamp: UInt32) -> Character? {
        guard let last = lastTimestamp, lastEvent == event.event else { return start(event, timestamp) }
        if timestamp == last {
            lastEnded = lastEnded || event.end
            return nil
        }
        // Behind the current timestamp: a late packet of an earlier segment, nothing new.
        if last &- timestamp <= TelephoneEventSender.maxSegmentDuration { return nil }
        // The next segment of an event that has not ended.
        if !lastEnded, timestamp &- last <= TelephoneEventSender.maxSegmentDuration {
            lastTimestamp = timestamp
            lastEnded = event.end
            return nil
        }
        return start(event, timestamp)
    }

    private mutating func start(_ event: TelephoneEvent, _ timestamp: UInt32) -> Character? {
        lastTimestamp = timestamp
        lastEvent = event.event
        lastEnded = event.end
        return event.digit
    }
}

/// Sends one RFC 4733 event as packets, one per packet interval (a 20 ms tick).
///
/// ```
/// tick   1      2      3      4      5        6        7          (100 ms key, 8 kHz)
///        M      .      .      .      E        E        E
///   dur  160    320    480    640    800      800      800        timestamp: start, always
/// ```
/// The first packet carries the marker; each packet until the end updates the duration
/// under the same timestamp (§2.5.1.2); the end is sent three times with the E bit and
/// the final duration (§2.5.1.4). An event longer than 0xFFFF timestamp units is split
/// into segments (§2.5.1.3): the segment that fills up is closed with a packet of
/// duration 0xFFFF (no E bit) and the next starts at its timestamp + 0xFFFF, without marker.
/// Time is counted in ticks; durations and timestamps in RTP timestamp units. No allocation.
public struct TelephoneEventSender: Sendable {
    /// Copies of the final packet (§2.5.1.4 recommends three).
    public static let endRepeats = 3
    /// Largest duration one segment can carry.
    public static let maxSegmentDuration: UInt32 = 0xFFFF

    /// One packet to send: the RTP marker, the RTP timestamp and the payload.
    public struct Packet: Equatable, Sendable {
        public var marker: Bool
        public var timestamp: UInt32
        public var event: TelephoneEvent
        public init(marker: Bool, timestamp: UInt32, event: TelephoneEvent) {
            self.marker = marker
            self.timestamp = timestamp
            self.event = event
        }
    }

    /// The packets of one tick: none once finished, one usually, two where a segment closes.
    public struct Tick: Equatable, Sendable {
        public var first: Packet?
        public var second: Packet?
        public var count: Int { (first == nil ? 0 : 1) + (second == nil ? 0 : 1) }
        mutating func append(_ p: Packet) { if first == nil { first = p } else { second = p } }
    }

    public let event: UInt8
    public let volume: UInt8
    public let startTimestamp: UInt32
    /// Total duration in timestamp units.
    public let duration: UInt32
    /// Timestamp units per tick (160 for 20 ms at 8 kHz).
    public let packetDuration: UInt32
    private var ticks: UInt32 = 0
    /// Offset of the current segment's timestamp from the start.
    private var segmentOffset: UInt32 = 0
    private var endsSent = 0

    /// - Parameters:
    ///   - volume: power level in -dBm0, 0 ... 63 (higher values are cut to 63).
    ///   - duration: in timestamp units; at least one packet interval is sent.
    public init(event: UInt8, startTimestamp: UInt32, duration: UInt32, volume: UInt8 = 10, packetDuration: UInt32 = 160) {
        self.event = event
        self.volume = min(volume, TelephoneEvent.volumeMask)
        self.startTimestamp = startTimestamp
        self.packetDuration = max(1, min(packetDuration, Self.maxSegmentDuration))
        self.duration = max(duration, self.packetDuration)
    }

    /// A sender for a DTMF key ("0"–"9", "*", "#", "A"–"D"); nil for other characters.
    public init?(key: Character, startTimestamp: UInt32, duration: UInt32, volume: UInt8 = 10, packetDuration: UInt32 = 160) {
        guard let e = TelephoneEvent.event(forDigit: key) else { return nil }
        self.init(event: e, startTimestamp: startTimestamp, duration: duration, volume: volume, packetDuration: packetDuration)
    }

    /// True once the last end packet was produced.
    public var isFinished: Bool { endsSent >= Self.endRepeats }

    /// The timestamp the RTP stream should use after this event (start + duration).
    public var endTimestamp: UInt32 { startTimestamp &+ duration }

    /// The packets to send on the next tick.
    public mutating func tick() -> Tick {
        var out = Tick()
        guard !isFinished else { return out }
        if ticks > 0 && (UInt64(ticks) * UInt64(packetDuration) >= UInt64(duration)) {
            // Retransmission of the end packet.
            endsSent += 1
            out.append(packet(marker: false, elapsed: duration, end: true))
            return out
        }
        ticks += 1
        let elapsed = UInt32(min(UInt64(ticks) * UInt64(packetDuration), UInt64(duration)))
        let ended = elapsed == duration
        var marker = ticks == 1
        while elapsed - segmentOffset > Self.maxSegmentDuration {
            // Close the full segment; the event continues under a new timestamp.
            if !marker { out.append(packet(marker: false, elapsed: segmentOffset + Self.maxSegmentDuration, end: false)) }
            segmentOffset += Self.maxSegmentDuration
            marker = false
        }
        if ended { endsSent += 1 }
        out.append(packet(marker: marker, elapsed: elapsed, end: ended))
        return out
    }

    private func packet(marker: Bool, elapsed: UInt32, end: Bool) -> Packet {
        Packet(marker: marker, timestamp: startTimestamp &+ segmentOffset,
               event: TelephoneEvent(event: event, end: end, volume: volume,
                                     duration: UInt16(truncatingIfNeeded: elapsed - segmentOffset)))
    }
}
