/// How a leg may learn a media source other than the one its SDP named (`rtp.latch`).
public enum RTPLatchMode: String, Sendable, Equatable {
    /// Only the SDP's address (or, with symmetric RTP, its host on any port).
    case strict
    /// Also any other source, once it sent `RTPSourceLatch.packetsToLearn` packets in
    /// sequence within `learningWindowMilliseconds` (Asterisk's `strictrtp=seqno`), for NATs
    /// that change the address as well as the port. A stranger who sends such a run before
    /// the caller's first packet takes the stream: which is why it is not the default.
    case any
}

/// An address media can come from: compared whole, or by host alone (symmetric RTP).
public protocol RTPSourceAddress: Equatable {
    func sameHost(as other: Self) -> Bool
}

/// Which RTP and RTCP sources a leg takes, and where its media then goes (RFC 3550 §8.2
/// leaves source validation to the application; RFC 4961 symmetric RTP).
///
/// Until it latches, media goes to the address the SDP named (`expected`) and only a packet
/// that passes the rules below is taken; the first one latches the leg to its source, and
/// from then on only that source is heard and answered. Every other packet is dropped and
/// counted by the caller (`LegStatistics.strangersDropped`); none ever moves the stream.
///
/// - From `expected` (IP and port): always.
/// - From `expected`'s host on another port: only with `symmetric` (a NAT keeps the address
///   but moves the port).
/// - From anywhere else: only in `.any` mode, after a run of packets in sequence.
///
/// A value with no I/O; time comes in as milliseconds. Confined to the leg's media thread.
public struct RTPSourceLatch<Address: RTPSourceAddress> {
    /// Packets in sequence from one unknown source before `.any` learns it.
    public static var packetsToLearn: Int { 4 }
    /// The run must fit in this many milliseconds from its first packet.
    public static var learningWindowMilliseconds: Int64 { 1_000 }

    public private(set) var expected: Address
    public let symmetric: Bool
    public let mode: RTPLatchMode
    /// The source the leg latched to: media is taken from it only, and sent to it.
    public private(set) var latched: Address?
    /// The RTCP source latched to (the peer's RTCP port, or the RTP one under rtcp-mux).
    public private(set) var latchedRTCP: Address?
    /// An unknown source being learned in `.any` mode: its last sequence number, how many
    /// packets in sequence so far, and when the run began.
    private var candidate: (address: Address, lastSequence: UInt16, count: Int, since: Int64)?

    public init(expected: Address, symmetric: Bool, mode: RTPLatchMode) {
        self.expected = expected; self.symmetric = symmetric; self.mode = mode
    }

    /// What to do with an RTP packet.
    public enum Verdict: Equatable {
        /// Take it (the source is the latched one).
        case accept
        /// Take it: it latched the leg to its source, where media goes from now on.
        case latched
        /// Drop and count it.
        case drop
    }

    /// Judges one valid RTP packet from `source` with its sequence number, at `now` (ms).
    public mutating func rtp(from source: Address, sequenceNumber: UInt16, now: Int64) -> Verdict {
        if let latched { return source == latched ? .accept : .drop }
        if source == expected || (symmetric && source.sameHost(as: expected)) {
            latched = source
            candidate = nil
            return .latched
        }
        guard mode == .any else { return .drop }
        if let c = candidate, c.address == source, sequenceNumber == c.lastSequence &+ 1,
           now - c.since <= RTPSourceLatch.learningWindowMilliseconds {
            let count = c.count + 1
            if count >= RTPSourceLatch.packetsToLearn {
                latched = source
                candidate = nil
                return .latched
            }
            candidate = (source, sequenceNumber, count, c.since)
        } else {
            // Another source, a break in the sequence or a run too slow: learning starts over.
            candidate = (source, sequenceNumber, 1, now)
        }
        return .drop
    }

    /// Judges one RTCP packet from `source`; `expectedRTCP` is where the SDP puts the peer's
    /// RTCP (RTP port + 1, or the RTP address under rtcp-mux). Taken from there, from the
    /// expected host with symmetric RTP, or from the host media was learned from; the first
    /// source taken is latched like RTP's.
    public mutating func rtcp(from source: Address, expectedRTCP: Address) -> Bool {
        if let latchedRTCP { return source == latchedRTCP }
        let learnedHost = latched.map { source.sameHost(as: $0) && !$0.sameHost(as: expected) } ?? false
        guard source == expectedRTCP || (symmetric && source.sameHost(as: expected)) || learnedHost else { return false }
        latchedRTCP = source
        return true
    }

    /// The SDP named a new address (re-INVITE, the answer in an ACK): learn again from it. The
    /// latch stays when the address did not change (a codec change, hold, resume).
    public mutating func expect(_ address: Address) {
        guard address != expected else { return }
        expected = address
        latched = nil
        latchedRTCP = nil
        candidate = nil
    }
}
