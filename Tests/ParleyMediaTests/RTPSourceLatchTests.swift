import Testing
@testable import ParleyMedia

/// Which sources a leg takes media from (`RTPSourceLatch`), with time passed in.
struct RTPSourceLatchTests {
    struct Address: RTPSourceAddress, CustomStringConvertible {
        var host: String
        var port: Int
        func sameHost(as other: Address) -> Bool { host == other.host }
        var description: String { "\(host):\(port)" }
    }

    static let sdp = Address(host: "10.0.0.2", port: 4000)
    static let natPort = Address(host: "10.0.0.2", port: 31_000)
    static let stranger = Address(host: "10.0.0.66", port: 4000)
    static let otherHost = Address(host: "198.51.100.7", port: 6000)

    typealias Latch = RTPSourceLatch<Address>

    /// Sends `count` packets in sequence from `source`, 20 ms apart; returns the verdicts.
    static func run(_ latch: inout Latch, from source: Address, count: Int, firstSequence: UInt16 = 100,
                    start: Int64 = 0, spacing: Int64 = 20) -> [Latch.Verdict] {
        (0..<count).map { i in
            latch.rtp(from: source, sequenceNumber: firstSequence &+ UInt16(i), now: start + Int64(i) * spacing)
        }
    }

    @Test func givenStrictWithoutSymmetricThenOnlyTheSDPsExactAddressIsTaken() {
        var latch = Latch(expected: Self.sdp, symmetric: false, mode: .strict)
        #expect(Self.run(&latch, from: Self.natPort, count: 10).allSatisfy { $0 == .drop })
        #expect(Self.run(&latch, from: Self.stranger, count: 10).allSatisfy { $0 == .drop })
        #expect(latch.rtp(from: Self.sdp, sequenceNumber: 1, now: 300) == .latched)
        #expect(latch.rtp(from: Self.sdp, sequenceNumber: 2, now: 320) == .accept)
        #expect(latch.latched == Self.sdp)
    }

    @Test func givenSymmetricThenTheSDPsHostOnAnyPortLatchesAndStrangersNeverDo() {
        var latch = Latch(expected: Self.sdp, symmetric: true, mode: .strict)
        // A stranger first, before the caller's first packet: dropped, however many.
        #expect(Self.run(&latch, from: Self.stranger, count: 50).allSatisfy { $0 == .drop })
        #expect(latch.latched == nil)
        #expect(latch.rtp(from: Self.natPort, sequenceNumber: 7, now: 1_000) == .latched)
        #expect(latch.latched == Self.natPort)
        // After: the SDP's own port and the stranger are both other sources now.
        #expect(latch.rtp(from: Self.sdp, sequenceNumber: 8, now: 1_020) == .drop)
        #expect(Self.run(&latch, from: Self.stranger, count: 10, start: 1_040).allSatisfy { $0 == .drop })
        #expect(latch.rtp(from: Self.natPort, sequenceNumber: 8, now: 1_300) == .accept)
    }

    @Test func givenAnyThenAnotherHostIsLearnedAfterFourPacketsInSequence() {
        var latch = Latch(expected: Self.sdp, symmetric: true, mode: .any)
        let verdicts = Self.run(&latch, from: Self.otherHost, count: 5)
        #expect(verdicts == [.drop, .drop, .drop, .latched, .accept])
        #expect(latch.latched == Self.otherHost)
        #expect(latch.rtp(from: Self.sdp, sequenceNumber: 1, now: 200) == .drop, "once learned, the latch holds")
    }

    @Test func givenAnyWhenTheRunBreaksThenLearningStartsOver() {
        var latch = Latch(expected: Self.sdp, symmetric: false, mode: .any)
        #expect(Self.run(&latch, from: Self.otherHost, count: 3) == [.drop, .drop, .drop])
        // A gap in the sequence: the run restarts at this packet.
        #expect(latch.rtp(from: Self.otherHost, sequenceNumber: 110, now: 60) == .drop)
        #expect(Self.run(&latch, from: Self.otherHost, count: 2, firstSequence: 111, start: 80) == [.drop, .drop])
        // Interleaved sources reset each other: neither is learned.
        for i in 0..<20 {
            let source = i % 2 == 0 ? Self.stranger : Self.otherHost
            #expect(latch.rtp(from: source, sequenceNumber: UInt16(500 + i), now: 200 + Int64(i) * 10) == .drop)
        }
        #expect(latch.latched == nil)
        // Too slow: four in sequence spread over more than the window.
        #expect(Self.run(&latch, from: Self.otherHost, count: 4, firstSequence: 900, start: 1_000, spacing: 400).allSatisfy { $0 == .drop })
        // The sequence number wraps inside a run.
        #expect(Self.run(&latch, from: Self.otherHost, count: 4, firstSequence: 65_534, start: 5_000).last == .latched)
    }

    @Test func givenAnyThenTheSDPsAddressStillLatchesAtOnce() {
        var latch = Latch(expected: Self.sdp, symmetric: false, mode: .any)
        #expect(Self.run(&latch, from: Self.otherHost, count: 2) == [.drop, .drop])
        #expect(latch.rtp(from: Self.sdp, sequenceNumber: 1, now: 50) == .latched)
        #expect(Self.run(&latch, from: Self.otherHost, count: 10, firstSequence: 102, start: 60).allSatisfy { $0 == .drop })
    }

    @Test func givenRTCPThenItIsTakenFromTheExpectedPortOrTheLearnedHostOnly() {
        let rtcpPort = Address(host: Self.sdp.host, port: Self.sdp.port + 1)
        var strict = Latch(expected: Self.sdp, symmetric: false, mode: .strict)
        let strictTaken = [Self.stranger, Self.natPort, rtcpPort, Self.sdp].map { strict.rtcp(from: $0, expectedRTCP: rtcpPort) }
        // Only the RTCP port; then it is latched, so not even the SDP's RTP port.
        #expect(strictTaken == [false, false, true, false])

        var symmetric = Latch(expected: Self.sdp, symmetric: true, mode: .strict)
        let symmetricTaken = [Self.stranger, Address(host: Self.sdp.host, port: 31_001)].map { symmetric.rtcp(from: $0, expectedRTCP: rtcpPort) }
        #expect(symmetricTaken == [false, true])

        var any = Latch(expected: Self.sdp, symmetric: false, mode: .any)
        let early = any.rtcp(from: Self.otherHost, expectedRTCP: rtcpPort)
        #expect(!early, "not before its RTP is learned")
        _ = Self.run(&any, from: Self.otherHost, count: 4)
        let learned = any.rtcp(from: Address(host: Self.otherHost.host, port: 6001), expectedRTCP: rtcpPort)
        #expect(learned)
    }

    @Test func givenANewSDPAddressThenTheLatchIsLearnedAgainButNotForTheSameAddress() {
        var latch = Latch(expected: Self.sdp, symmetric: true, mode: .strict)
        #expect(latch.rtp(from: Self.natPort, sequenceNumber: 1, now: 0) == .latched)
        latch.expect(Self.sdp)  // a codec change: same address
        #expect(latch.latched == Self.natPort)
        latch.expect(Self.otherHost)
        #expect(latch.latched == nil)
        #expect(latch.rtp(from: Self.natPort, sequenceNumber: 2, now: 20) == .drop)
        #expect(latch.rtp(from: Self.otherHost, sequenceNumber: 3, now: 40) == .latched)
    }
}
