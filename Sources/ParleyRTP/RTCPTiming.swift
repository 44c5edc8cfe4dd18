/// NTP timestamps as RTCP uses them (RFC 3550 §4): 64 bits, seconds since 1900-01-01 in
/// the upper 32 bits and the fraction of a second in the lower 32. Report blocks carry the
/// middle 32 bits (16.16 fixed point, units of 1/65536 s).
public enum NTPTime {
    /// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
    public static let unixEpochOffset: UInt64 = 2_208_988_800
    /// Units of the middle-32-bit ("compact") form per second.
    public static let compactUnitsPerSecond: UInt64 = 65536

    /// The 64-bit NTP timestamp for a Unix time given in microseconds.
    public static func timestamp(unixMicroseconds us: UInt64) -> UInt64 {
        let seconds = us / 1_000_000 + unixEpochOffset
        let fraction = ((us % 1_000_000) << 32) / 1_000_000
        return seconds << 32 | fraction
    }

    /// The middle 32 bits of a 64-bit NTP timestamp (LSR, and `A` in the RTT formula).
    public static func middle32(_ ntp: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ntp >> 16)
    }

    /// A duration in milliseconds as 1/65536 s units (DLSR), rounded down.
    public static func compact(milliseconds ms: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ms &* compactUnitsPerSecond / 1000)
    }

    /// 1/65536 s units as milliseconds, rounded to nearest.
    public static func milliseconds(compact units: UInt32) -> UInt64 {
        (UInt64(units) * 1000 + compactUnitsPerSecond / 2) / compactUnitsPerSecond
    }

    /// Round-trip time from a report block (§6.4.1): `A - LSR - DLSR`, where A is the
    /// middle 32 bits of the NTP time at which the report block arrived.
    /// - Returns: the RTT in 1/65536 s, or nil when no SR was received yet (LSR 0) or the
    ///   figures are inconsistent (negative result, e.g. clocks or a bogus DLSR).
    public static func roundTripTime(arrival a: UInt32, lastSR: UInt32, delaySinceLastSR: UInt32) -> UInt32? {
        guard lastSR != 0 else { return nil }
        let rtt = Int64(a &- lastSR) - Int64(delaySinceLastSR)   // A - LSR wraps modulo 2^32
        guard rtt >= 0 else { return nil }
        return UInt32(rtt)
    }
}

/// The RTCP transmission interval (RFC 3550 §6.3.1, Appendix A.7), a pure function of its inputs.
public enum RTCPInterval {
    /// Minimum average interval in seconds (halved for the first report).
    public static let minimumSeconds = 5.0
    /// Share of the RTCP bandwidth given to senders when they are at most 25 % of members.
    public static let senderBandwidthFraction = 0.25
    public static let receiverBandwidthFraction = 1 - senderBandwidthFraction
    /// Divisor compensating for timer reconsideration converging below the mean: e - 3/2.
    public static let compensation = 2.71828 - 1.5

    /// The deterministic interval Td in seconds (A.7 before randomization).
    /// - Parameters:
    ///   - members: session members, including us.
    ///   - senders: members that sent RTP since the last report, including us if we did.
    ///   - bandwidth: RTCP bandwidth in octets per second (typically 5 % of the session's).
    ///   - weSent: whether we sent RTP since our last report.
    ///   - averageSize: average compound RTCP packet size in octets, lower layers included.
    ///   - initial: true before our first RTCP packet.
    public static func deterministic(members: Int, senders: Int, bandwidth: Double, weSent: Bool,
                                     averageSize: Double, initial: Bool) -> Double {
        let minimum = initial ? minimumSeconds / 2 : minimumSeconds
        var n = members
        var bw = bandwidth
        if Double(senders) <= Double(members) * senderBandwidthFraction {
            if weSent {
                bw *= senderBandwidthFraction
                n = senders
            } else {
                bw *= receiverBandwidthFraction
                n -= senders
            }
        }
        guard bw > 0 else { return minimum }
        let t = averageSize * Double(n) / bw
        return t < minimum ? minimum : t
    }

    /// The randomized interval in seconds: Td × uniform [0.5, 1.5) / (e − 3/2) (A.7).
    public static func interval<R: RandomNumberGenerator>(members: Int, senders: Int, bandwidth: Double, weSent: Bool,
                                                          averageSize: Double, initial: Bool, using rng: inout R) -> Double {
        let td = deterministic(members: members, senders: senders, bandwidth: bandwidth, weSent: weSent,
                               averageSize: averageSize, initial: initial)
        return td * Double.random(in: 0.5..<1.5, using: &rng) / compensation
    }

    /// The running average RTCP packet size after sending or receiving a packet of `size` octets (§6.3.3).
    public static func updatedAverageSize(_ average: Double, packetSize size: Int) -> Double {
        average + (Double(size) - average) / 16
    }
}
