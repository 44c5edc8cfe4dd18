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
/// duration updates of the same event report nothing.
public struct TelephoneEventReceiver: Sendable {
    private var lastTimestamp: UInt32?
    private var lastEvent: UInt8?

    public init() {}

    /// - Returns: the key to report, or nil when this packet continues a known event.
    public mutating func receive(_ event: TelephoneEvent, timestamp: UInt32) -> Character? {
        if lastTimestamp == timestamp && lastEvent == event.event { return nil }
        lastTimestamp = timestamp
        lastEvent = event.event
        return event.digit
    }
}
