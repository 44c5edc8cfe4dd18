/// Reception statistics for one synchronization source (RFC 3550 §6.4.1, Appendix A.1,
/// A.3 and A.8): the figures an RTCP report block carries.
///
/// ```
/// per packet (A.1):  udelta = seq - max_seq (mod 2^16)
///   probation  -> MIN_SEQUENTIAL packets in sequence before the source is valid
///   udelta < MAX_DROPOUT                 in order, perhaps with a gap; a wrap adds a cycle
///   udelta <= 2^16 - MAX_MISORDER        a big jump: remembered as bad_seq; when the next
///                                        packet is bad_seq the sender restarted -> resync
///   otherwise                            duplicate or reordered (late) packet
/// ```
/// Time is a parameter: `arrival` is the arrival time in RTP timestamp units of this
/// source's clock. Updating allocates nothing and never traps.
public struct RTPReceiveStatistics: Sendable {
    /// Packets in sequence before a new source is accepted (A.1).
    public static let minSequential = 2
    /// Largest forward jump still taken as loss rather than a restart (A.1).
    public static let maxDropout: UInt16 = 3000
    /// Largest backward step still taken as a late packet rather than a restart (A.1).
    public static let maxMisorder: UInt16 = 100
    static let sequenceModulus: UInt32 = 1 << 16
    /// Cumulative loss is a signed 24-bit field in report blocks (§6.4.1).
    public static let maxCumulativeLost: Int32 = 0x7F_FFFF
    public static let minCumulativeLost: Int32 = -0x80_0000
    /// Width of the window of recent sequence numbers used to tell duplicates from late packets.
    static let historyBits: UInt32 = 128

    // A.1 state, named as there.
    private(set) var maxSeq: UInt16 = 0
    /// Shifted count of sequence-number cycles (multiples of 2^16).
    private(set) var cycles: UInt32 = 0
    private(set) var baseSeq: UInt32 = 0
    private(set) var badSeq: UInt32 = sequenceModulus + 1
    private(set) var probation = minSequential
    /// Packets received since the source became valid (duplicates included, as in A.1).
    public private(set) var received: UInt32 = 0
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    // A.8 state: relative transit time of the previous packet; jitter scaled by 16.
    private var transit: Int32 = 0
    private var hasTransit = false
    private var jitterQ4: UInt64 = 0
    // Sequence numbers seen among the last `historyBits` ending at the extended maximum.
    private var seenLow: UInt64 = 0
    private var seenHigh: UInt64 = 0
    private var started = false

    /// Packets that repeated a sequence number already received.
    public private(set) var duplicates: UInt64 = 0
    /// Packets that arrived after a packet with a higher sequence number.
    public private(set) var reordered: UInt64 = 0
    /// Times the source restarted its sequence (a jump confirmed by the packet after it).
    public private(set) var resyncs: UInt64 = 0

    public init() {}

    /// True once MIN_SEQUENTIAL packets in sequence have arrived.
    public var isValid: Bool { started && probation == 0 }

    /// Extended highest sequence number received: cycles in the upper 16 bits (§6.4.1).
    public var extendedHighestSequence: UInt32 { cycles &+ UInt32(maxSeq) }

    /// Interarrival jitter in timestamp units, as reported (A.8: `jitter >> 4`).
    public var jitter: UInt32 { UInt32(min(jitterQ4 >> 4, UInt64(UInt32.max))) }

    /// Packets expected since the source became valid (A.3).
    public var expected: UInt32 { extendedHighestSequence &- baseSeq &+ 1 }

    /// Cumulative number of packets lost, clamped to the signed 24-bit field (A.3);
    /// negative when duplicates outnumber losses.
    public var cumulativeLost: Int32 {
        let lost = Int64(expected) - Int64(received)
        return Int32(max(Int64(Self.minCumulativeLost), min(Int64(Self.maxCumulativeLost), lost)))
    }

    /// Records one packet.
    /// - Parameters:
    ///   - sequenceNumber: the packet's RTP sequence number.
    ///   - timestamp: the packet's RTP timestamp.
    ///   - arrival: arrival time in RTP timestamp units (same clock rate; any origin, wraps).
    /// - Returns: the packet's extended sequence number when the packet counts (A.1's
    ///   `update_seq` returned 1), nil while on probation or for an unconfirmed jump.
    @discardableResult
    public mutating func update(sequenceNumber seq: UInt16, timestamp: UInt32, arrival: UInt32) -> UInt32? {
        guard started else {
            started = true
            initSequence(seq)
            maxSeq = seq &- 1
            probation = Self.minSequential
            return updateProbation(seq, timestamp: timestamp, arrival: arrival)
        }
        if probation > 0 { return updateProbation(seq, timestamp: timestamp, arrival: arrival) }

        let udelta = seq &- maxSeq
        let extended: UInt32
        if udelta < Self.maxDropout {
            // In order, with a permissible gap.
            if seq < maxSeq { cycles &+= Self.sequenceModulus }
            if udelta == 0, isSeen(extendedHighestSequence) {
                duplicates += 1
            }
            if udelta > 0 { advanceHistory(by: UInt32(udelta)) }
            maxSeq = seq
            extended = extendedHighestSequence
            markSeen(extended)
        } else if UInt32(udelta) <= Self.sequenceModulus - UInt32(Self.maxMisorder) {
            // The sequence number made a very large jump.
            if UInt32(seq) == badSeq {
                // Two sequential packets: assume the other side restarted without telling us.
                initSequence(seq)
                resyncs += 1
                extended = extendedHighestSequence
                markSeen(extended)
            } else {
                badSeq = (UInt32(seq) + 1) & (Self.sequenceModulus - 1)
                return nil
            }
        } else {
            // Duplicate or reordered packet.
            let behind = UInt32(maxSeq &- seq)
            extended = extendedHighestSequence &- behind
            if behind < Self.historyBits, isSeen(extended) {
                duplicates += 1
            } else {
                reordered += 1
                markSeen(extended)
            }
        }
        received &+= 1
        updateJitter(timestamp: timestamp, arrival: arrival)
        return extended
    }

    /// Loss figures for a report block since the previous call (A.3), and moves the
    /// "prior" marks forward.
    public mutating func makeReport() -> RTPReceptionReport {
        let expected = self.expected
        let expectedInterval = expected &- expectedPrior
        expectedPrior = expected
        let receivedInterval = received &- receivedPrior
        receivedPrior = received
        let lostInterval = Int64(expectedInterval) - Int64(receivedInterval)
        let fraction: UInt8
        if expectedInterval == 0 || lostInterval <= 0 {
            fraction = 0
        } else {
            fraction = UInt8(truncatingIfNeeded: min(255, (lostInterval << 8) / Int64(expectedInterval)))
        }
        return RTPReceptionReport(fractionLost: fraction, cumulativeLost: cumulativeLost,
                                  extendedHighestSequence: extendedHighestSequence, jitter: jitter)
    }

    // MARK: - A.1 pieces

    private mutating func initSequence(_ seq: UInt16) {
        baseSeq = UInt32(seq)
        maxSeq = seq
        badSeq = Self.sequenceModulus + 1   // so seq == badSeq is false
        cycles = 0
        received = 0
        receivedPrior = 0
        expectedPrior = 0
        seenLow = 0
        seenHigh = 0
        hasTransit = false
    }

    private mutating func updateProbation(_ seq: UInt16, timestamp: UInt32, arrival: UInt32) -> UInt32? {
        // The source is valid once MIN_SEQUENTIAL packets arrived in sequence.
        if seq == maxSeq &+ 1 {
            probation -= 1
            maxSeq = seq
            if probation == 0 {
                initSequence(seq)
                received &+= 1
                markSeen(extendedHighestSequence)
                updateJitter(timestamp: timestamp, arrival: arrival)
                return extendedHighestSequence
            }
        } else {
            probation = Self.minSequential - 1
            maxSeq = seq
        }
        return nil
    }

    // MARK: - A.8 interarrival jitter

    private mutating func updateJitter(timestamp: UInt32, arrival: UInt32) {
        let t = Int32(bitPattern: arrival &- timestamp)
        defer { transit = t; hasTransit = true }
        guard hasTransit else { return }
        let d = t &- transit
        let magnitude = d.magnitude
        // jitter += (1/16) * (|D| - jitter), in Q4: J += |D| - ((J + 8) >> 4)
        jitterQ4 = jitterQ4 + UInt64(magnitude) - ((jitterQ4 + 8) >> 4)
    }

    // MARK: - Window of recent sequence numbers (bit i: extended maximum - i was seen)

    private func isSeen(_ extended: UInt32) -> Bool {
        let back = extendedHighestSequence &- extended
        guard back < Self.historyBits else { return false }
        return back < 64 ? (seenLow >> UInt64(back)) & 1 == 1 : (seenHigh >> UInt64(back - 64)) & 1 == 1
    }

    private mutating func markSeen(_ extended: UInt32) {
        let back = extendedHighestSequence &- extended
        guard back < Self.historyBits else { return }
        if back < 64 { seenLow |= 1 << UInt64(back) } else { seenHigh |= 1 << UInt64(back - 64) }
    }

    private mutating func advanceHistory(by steps: UInt32) {
        if steps >= Self.historyBits {
            seenLow = 0; seenHigh = 0
        } else if steps >= 64 {
            seenHigh = seenLow << UInt64(steps - 64)
            seenLow = 0
        } else if steps > 0 {
            seenHigh = seenHigh << UInt64(steps) | seenLow >> UInt64(64 - steps)
            seenLow = seenLow << UInt64(steps)
        }
    }
}

/// The reception figures of one report block (RFC 3550 §6.4.1), from `RTPReceiveStatistics`.
public struct RTPReceptionReport: Equatable, Sendable {
    /// Fraction of packets lost since the previous report, in 1/256 (A.3).
    public var fractionLost: UInt8
    /// Cumulative packets lost, signed 24-bit range.
    public var cumulativeLost: Int32
    public var extendedHighestSequence: UInt32
    /// Interarrival jitter in timestamp units.
    public var jitter: UInt32

    public init(fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32, jitter: UInt32) {
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
    }
}
