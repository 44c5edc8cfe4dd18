import ParleyTestSupport
import Testing
@testable import ParleyRTP

@Suite("Wrap-around: sequence numbers and timestamps extended in one place")
struct UnwrappingTests {
    @Test("16-bit sequence numbers cross 65535 forward and late packets fall in the previous cycle")
    func sequence() {
        var u = SequenceUnwrapper()
        let cycle: UInt64 = 65536
        #expect(u.unwrap(65534) == cycle + 65534)
        #expect(u.unwrap(65535) == cycle + 65535)
        #expect(u.unwrap(0) == 2 * cycle)
        #expect(u.unwrap(1) == 2 * cycle + 1)
        #expect(u.unwrap(65535) == cycle + 65535)   // late, before the wrap
        #expect(u.highest == 2 * cycle + 1)
        #expect(u.unwrap(40000) == cycle + 40000)   // 25537 behind: still nearest going back
        #expect(u.unwrap(32000) == 2 * cycle + 32000) // 31999 ahead of 1: forward
    }

    @Test("32-bit timestamps wrap the same way")
    func timestamp() {
        var u = TimestampUnwrapper()
        let cycle: UInt64 = 1 << 32
        #expect(u.unwrap(0xFFFF_FF00) == cycle + 0xFFFF_FF00)
        #expect(u.unwrap(0x0000_0100) == 2 * cycle + 0x100)
        #expect(u.unwrap(0xFFFF_FFA0) == cycle + 0xFFFF_FFA0)
        #expect(TimestampUnwrapper.extend(5, near: 3) == 5)
        #expect(TimestampUnwrapper.extend(0xFFFF_FFFF, near: 3) == 3 + 0xFFFF_FFFC) // cannot go below zero
    }
}

@Suite("Receive statistics (RFC 3550 §6.4.1, A.1, A.3, A.8)")
struct ReceiveStatisticsTests {
    /// Feeds sequence numbers with timestamps 160 apart arriving exactly on time.
    func feed(_ stats: inout RTPReceiveStatistics, _ seqs: [UInt16]) -> [UInt32?] {
        seqs.map { s in stats.update(sequenceNumber: s, timestamp: UInt32(s) &* 160, arrival: UInt32(s) &* 160 &+ 1000) }
    }

    @Test("a new source is on probation until MIN_SEQUENTIAL packets in sequence")
    func probation() {
        var s = RTPReceiveStatistics()
        #expect(feed(&s, [10]) == [nil])
        #expect(!s.isValid)
        #expect(feed(&s, [50]) == [nil])        // not in sequence: probation starts again
        #expect(feed(&s, [51]) == [51])         // second in sequence: valid, base 51
        #expect(s.isValid)
        #expect(s.received == 1)
        #expect(s.expected == 1)
    }

    @Test("one loss in five: expected 5, lost 1, fraction 256/5 = 51; the next interval loses none")
    func lossAndFraction() {
        var s = RTPReceiveStatistics()
        _ = feed(&s, [10, 11, 12, 14, 15])      // valid at 11; 13 missing
        #expect(s.received == 4)
        #expect(s.expected == 5)
        #expect(s.makeReport() == RTPReceptionReport(fractionLost: 51, cumulativeLost: 1, extendedHighestSequence: 15, jitter: 0))
        _ = feed(&s, [16, 17])
        #expect(s.makeReport() == RTPReceptionReport(fractionLost: 0, cumulativeLost: 1, extendedHighestSequence: 17, jitter: 0))
        _ = feed(&s, [20])                      // 18, 19 lost: 2 of 3 in this interval
        #expect(s.makeReport().fractionLost == UInt8((2 << 8) / 3))
        #expect(s.makeReport().fractionLost == 0) // nothing expected since: zero
    }

    @Test("the extended highest sequence number counts cycles across 65535")
    func wrap() {
        var s = RTPReceiveStatistics()
        #expect(feed(&s, [65533, 65534, 65535, 0, 1]) == [nil, 65534, 65535, 0x1_0000, 0x1_0001])
        #expect(s.extendedHighestSequence == 0x0001_0001)
        #expect(s.expected == 4)
        #expect(s.cumulativeLost == 0)
        // A late packet from before the wrap is reordered, not a new cycle.
        #expect(feed(&s, [2, 65532]) == [0x1_0002, 65532])
        #expect(s.reordered == 1)
        #expect(s.extendedHighestSequence == 0x0001_0002)
    }

    @Test("a single big jump is ignored; a jump followed by its next packet resyncs")
    func jumpAndResync() {
        var s = RTPReceiveStatistics()
        _ = feed(&s, [100, 101, 102, 103, 104])
        #expect(feed(&s, [20000]) == [nil])     // stray: beyond MAX_DROPOUT
        #expect(feed(&s, [105]) == [105])       // the stream goes on
        #expect(s.resyncs == 0)
        #expect(s.received == 5)
        #expect(feed(&s, [40000, 40001, 40002]) == [nil, 40001, 40002])  // sender restarted
        #expect(s.resyncs == 1)
        #expect(s.received == 2)
        #expect(s.expected == 2)
        #expect(s.makeReport().cumulativeLost == 0)
        // A backward jump of more than MAX_MISORDER is a jump too.
        #expect(feed(&s, [39000]) == [nil])
        #expect(s.extendedHighestSequence == 40002)
    }

    @Test("a storm of random sequence numbers never validates a bogus stream and never traps")
    func storm() {
        var s = RTPReceiveStatistics()
        _ = feed(&s, [1000, 1001])
        var rng = SeededRandom(seed: 9)
        var accepted = 0
        for _ in 0..<10_000 {
            let seq = UInt16(truncatingIfNeeded: rng.next())
            if s.update(sequenceNumber: seq, timestamp: UInt32(truncatingIfNeeded: rng.next()), arrival: UInt32(truncatingIfNeeded: rng.next())) != nil { accepted += 1 }
        }
        // Figures stay within their fields whatever happened.
        let r = s.makeReport()
        #expect(r.cumulativeLost >= RTPReceiveStatistics.minCumulativeLost && r.cumulativeLost <= RTPReceiveStatistics.maxCumulativeLost)
        #expect(accepted > 0)
    }

    @Test("duplicates are counted (A.1 counts them as received, so loss can go negative)")
    func duplicates() {
        var s = RTPReceiveStatistics()
        _ = feed(&s, [1, 2, 3, 3, 4, 2])
        #expect(s.duplicates == 2)
        #expect(s.reordered == 0)
        #expect(s.received == 5)
        #expect(s.expected == 3)
        #expect(s.cumulativeLost == -2)
        #expect(s.makeReport().fractionLost == 0)
    }

    @Test("late packets are counted as reordered and fill the gap they left")
    func reordering() {
        var s = RTPReceiveStatistics()
        _ = feed(&s, [1, 2, 4, 3, 5, 8, 6, 7, 7])
        #expect(s.reordered == 3)
        #expect(s.duplicates == 1)
        #expect(s.expected == 7)
        #expect(s.received == 8)
        #expect(s.cumulativeLost == -1)
    }

    @Test("cumulative loss is clamped to the signed 24-bit field")
    func clamp() {
        var s = RTPReceiveStatistics()
        _ = feed(&s, [0, 1])
        // Walk forward in steps of 2999 (under MAX_DROPOUT) for many cycles: ~2998 lost per packet.
        var seq: UInt16 = 1
        for _ in 0..<3000 { seq &+= 2999; _ = s.update(sequenceNumber: seq, timestamp: 0, arrival: 0) }
        #expect(s.cumulativeLost == RTPReceiveStatistics.maxCumulativeLost)
        #expect(s.makeReport().fractionLost == 255)
    }

    @Test("jitter by hand: a packet 40 units late, then back on time")
    func jitterByHand() {
        var s = RTPReceiveStatistics()
        let packets: [(UInt16, UInt32, UInt32)] = [(1, 0, 0), (2, 160, 160), (3, 320, 200), (4, 480, 480)]
        for (seq, ts, at) in packets { s.update(sequenceNumber: seq, timestamp: ts, arrival: at) }
        // transit: 0, -120, 0. J(Q4) = 0 + 120 - 0 = 120; then 120 + 120 - (128 >> 4) = 232 -> 14.
        #expect(s.jitter == 14)
    }

    @Test("jitter follows the A.8 formula on a random stream, across a timestamp wrap")
    func jitterRandom() {
        var rng = SeededRandom(seed: 0xA8)
        var s = RTPReceiveStatistics()
        var referenceQ4: Int64 = 0       // A.8's integer form
        var referenceFloat = 0.0         // A.8's floating form: J += (|D| - J) / 16
        var lastTransit: Int32? = nil
        let ts0: UInt32 = 0xFFFF_0000, at0: UInt32 = 0xFFFF_F000
        for i in 0..<5000 {
            let ts = ts0 &+ UInt32(i) &* 160
            let arrival = at0 &+ UInt32(i) &* 160 &+ UInt32(rng.next() % 400)
            s.update(sequenceNumber: UInt16(truncatingIfNeeded: 7 &+ i), timestamp: ts, arrival: arrival)
            guard i >= 1 else { continue }  // the source becomes valid at the second packet
            let transit = Int32(bitPattern: arrival &- ts)
            if let last = lastTransit {
                let d = Int64(abs(Int64(transit) - Int64(last)))
                referenceQ4 += d - ((referenceQ4 + 8) >> 4)
                referenceFloat += (Double(d) - referenceFloat) / 16
            }
            lastTransit = transit
            #expect(UInt32(referenceQ4 >> 4) == s.jitter)
        }
        #expect(abs(Double(s.jitter) - referenceFloat) <= 1)
        #expect(s.jitter > 70 && s.jitter < 200)  // uniform 0..<400 delays: mean |D| = 133
    }
}

