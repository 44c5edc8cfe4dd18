/// The jitter buffer's packet store: a ring of fixed-size payload slots allocated once,
/// indexed by extended (unwrapped) sequence number modulo the capacity.
///
/// `put` copies the payload into its slot, so a packet costs no allocation; the slot keeps
/// the sequence number after the frame is played, which is how a late duplicate of an
/// already-played packet is told apart from a late original.
///
/// Confined to one stream (one event loop); not thread-safe.
public final class JitterBufferStorage {
    /// What a slot holds.
    public enum SlotState: UInt8, Sendable {
        case free, stored, played
    }

    /// A packet's metadata (the payload lives in the slot's bytes).
    public struct Slot: Equatable, Sendable {
        /// Extended sequence number (RTP sequence number with its wrap count).
        public var sequence: Int64
        /// Extended RTP timestamp (timestamp units).
        public var timestamp: Int64
        public var marker: Bool
        /// The sender or the caller marked this frame as silence (comfort noise, VAD).
        public var silence: Bool
        /// The payload is comfort noise (RFC 3389), not codec audio.
        public var comfortNoise: Bool = false
        /// Payload length in bytes.
        public var length: Int
        public var state: SlotState

        static let free = Slot(sequence: -1, timestamp: 0, marker: false, silence: false, length: 0, state: .free)
    }

    /// What `store` did with a packet.
    public enum StoreResult: Equatable, Sendable {
        case stored
        /// The same sequence number is stored or was already played.
        case duplicate
        /// Stored, overwriting an older unplayed packet that fell out of the ring.
        case displaced(Slot)
        /// The payload exceeds `slotSize`; nothing stored.
        case tooLarge
    }

    public let capacity: Int
    /// Maximum payload size in bytes.
    public let slotSize: Int
    /// Packets currently stored (not yet played or discarded).
    public private(set) var storedCount = 0

    private let slots: UnsafeMutablePointer<Slot>
    private let bytes: UnsafeMutableRawPointer

    /// - Parameters:
    ///   - capacity: slots (packets); 64 × 20 ms frames cover 1.28 s.
    ///   - slotSize: the largest payload accepted, in bytes (1500: any payload of an Ethernet-sized datagram).
    public init(capacity: Int = 64, slotSize: Int = 1500) {
        self.capacity = max(2, capacity)
        self.slotSize = max(1, slotSize)
        slots = .allocate(capacity: self.capacity)
        slots.initialize(repeating: .free, count: self.capacity)
        bytes = .allocate(byteCount: self.capacity * self.slotSize, alignment: 16)
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
        bytes.deallocate()
    }

    @inline(__always)
    private func index(_ sequence: Int64) -> Int {
        Int(sequence % Int64(capacity) + Int64(capacity)) % capacity
    }

    /// Copies a packet into the slot for its sequence number.
    public func store(sequence: Int64, timestamp: Int64, marker: Bool, silence: Bool, comfortNoise: Bool = false,
                      payload: UnsafeRawBufferPointer) -> StoreResult {
        guard payload.count <= slotSize else { return .tooLarge }
        let i = index(sequence)
        let old = slots[i]
        if old.sequence == sequence && old.state != .free { return .duplicate }
        var result = StoreResult.stored
        if old.state == .stored {
            result = .displaced(old)
            storedCount -= 1
        }
        if let base = payload.baseAddress, payload.count > 0 {
            (bytes + i * slotSize).copyMemory(from: base, byteCount: payload.count)
        }
        slots[i] = Slot(sequence: sequence, timestamp: timestamp, marker: marker, silence: silence,
                        comfortNoise: comfortNoise, length: payload.count, state: .stored)
        storedCount += 1
        return result
    }

    /// The stored (unplayed) packet with this sequence number.
    public func slot(_ sequence: Int64) -> Slot? {
        let s = slots[index(sequence)]
        return s.sequence == sequence && s.state == .stored ? s : nil
    }

    /// Whether this sequence number is stored or was played (a repeat of it is a duplicate).
    public func contains(_ sequence: Int64) -> Bool {
        let s = slots[index(sequence)]
        return s.sequence == sequence && s.state != .free
    }

    /// The payload of a stored packet; valid until that slot is overwritten (a later `store`).
    public func payload(_ sequence: Int64) -> UnsafeRawBufferPointer? {
        let i = index(sequence)
        let s = slots[i]
        guard s.sequence == sequence, s.state == .stored else { return nil }
        return UnsafeRawBufferPointer(start: bytes + i * slotSize, count: s.length)
    }

    /// Marks a stored packet as consumed (played or discarded); its sequence number is remembered.
    public func markPlayed(_ sequence: Int64) {
        let i = index(sequence)
        guard slots[i].sequence == sequence, slots[i].state == .stored else { return }
        slots[i].state = .played
        storedCount -= 1
    }

    /// The stored packet with the lowest sequence number (a scan of the ring; used only
    /// when play-out (re)starts, not per frame).
    public func oldest() -> Slot? {
        guard storedCount > 0 else { return nil }
        var best: Slot? = nil
        for i in 0..<capacity where slots[i].state == .stored {
            if let b = best, b.sequence <= slots[i].sequence { continue }
            best = slots[i]
        }
        return best
    }

    /// Forgets every packet (a resync to a new stream).
    public func reset() {
        for i in 0..<capacity { slots[i] = .free }
        storedCount = 0
    }
}
