import ParleyTestSupport
import Testing
@testable import ParleyRTP

/// Shared helpers: byte arrays in, typed results out.
enum RTCPTestSupport {
    static func encode(_ packets: [RTCPPacket]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: RTCPCompound.encodedSize(packets))
        let n = bytes.withUnsafeMutableBytes { RTCPCompound.write(packets, to: $0) }
        #expect(n == bytes.count)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws(RTCPParseError) -> [RTCPPacket] {
        let result = bytes.withUnsafeBytes { b in Result { () throws(RTCPParseError) in try RTCPCompound.decode(b) } }
        return try result.get()
    }

    static let block = RTCPReportBlock(ssrc: 0x0A0B_0C0D, fractionLost: 51, cumulativeLost: -3, extendedHighestSequence: 0x0001_0005,
                                       jitter: 14, lastSR: 0xB705_2030, delaySinceLastSR: 0x0005_4000)
    static let sr = RTCPPacket.senderReport(
        ssrc: 0x1122_3344,
        sender: RTCPSenderInfo(ntpTimestamp: 0xE1A2_B3C4_8000_0000, rtpTimestamp: 160_000, packetCount: 1000, octetCount: 160_000),
        reports: [block])
    static let sdes = RTCPPacket.sourceDescription(RTCPSourceDescription(chunks: [
        .init(ssrc: 0x1122_3344, items: [.init(type: RTCPSourceDescription.Item.cname, text: "parley@192.0.2.1")]),
    ]))
}

@Suite("RTCP packets (RFC 3550 §6.4–6.6) and compound validation (§A.2)")
struct RTCPTests {
    typealias S = RTCPTestSupport

    @Test("an RR with one report block is written byte for byte")
    func receiverReportBytes() {
        let bytes = S.encode([.receiverReport(ssrc: 0x0102_0304, reports: [S.block])])
        #expect(bytes == [
            0x81, 201, 0x00, 0x07,                 // V=2 P=0 RC=1, RR, length 7 (8 words)
            0x01, 0x02, 0x03, 0x04,                // reporter SSRC
            0x0A, 0x0B, 0x0C, 0x0D,                // source SSRC
            51, 0xFF, 0xFF, 0xFD,                  // fraction 51/256, cumulative lost -3 (24-bit)
            0x00, 0x01, 0x00, 0x05,                // extended highest sequence
            0x00, 0x00, 0x00, 14,                  // jitter
            0xB7, 0x05, 0x20, 0x30,                // LSR
            0x00, 0x05, 0x40, 0x00,                // DLSR 5.25 s
        ])
    }

    @Test("SR + SDES compound: written, validated, read back equal; CNAME read without allocating")
    func senderReportAndSDES() throws {
        let bytes = S.encode([S.sr, S.sdes])
        #expect(bytes.count == 4 + 4 + 20 + 24 + 4 + 4 + 20)   // CNAME 16 octets + 2 + null -> 24 with padding
        #expect(try S.decode(bytes) == [S.sr, S.sdes])
        bytes.withUnsafeBytes { b in
            guard let packets = try? RTCPCompound.packets(b) else { Issue.record("not valid"); return }
            var seen: [UInt8] = []
            for p in packets {
                seen.append(p.packetType)
                if p.type == .senderReport {
                    #expect(p.senderInfo(in: b)?.packetCount == 1000)
                    #expect(p.reportBlock(0, in: b) == S.block)
                    #expect(p.reportBlock(1, in: b) == nil)
                }
                if p.type == .sourceDescription, let c = p.cname(in: b) {
                    #expect(c.ssrc == 0x1122_3344)
                    #expect(String(decoding: UnsafeRawBufferPointer(rebasing: b[c.text]), as: UTF8.self) == "parley@192.0.2.1")
                }
            }
            #expect(seen == [200, 202])
        }
    }

    @Test("SDES chunks pad to a word whatever the CNAME length; other items are kept", arguments: 0...8)
    func sdesPadding(length: Int) throws {
        let chunk = RTCPSourceDescription.Chunk(ssrc: 7, items: [
            .init(type: RTCPSourceDescription.Item.cname, text: String(repeating: "x", count: length)),
            .init(type: RTCPSourceDescription.Item.tool, text: "Parley"),
        ])
        let packets: [RTCPPacket] = [.receiverReport(ssrc: 7, reports: []), .sourceDescription(.init(chunks: [chunk, chunk]))]
        let bytes = S.encode(packets)
        #expect(bytes.count % 4 == 0)
        #expect(try S.decode(bytes) == packets)
        guard case let .sourceDescription(sdes) = try S.decode(bytes)[1] else { Issue.record("no SDES"); return }
        #expect(sdes.chunks[1].cname == String(repeating: "x", count: length))
    }

    @Test("BYE with and without a reason")
    func bye() throws {
        let rr = RTCPPacket.receiverReport(ssrc: 1, reports: [])
        for packet in [RTCPPacket.bye(ssrcs: [1, 2], reason: "call ended"), .bye(ssrcs: [1], reason: nil), .bye(ssrcs: [1], reason: "")] {
            #expect(try S.decode(S.encode([rr, packet])) == [rr, packet])
        }
        let bytes = S.encode([rr, .bye(ssrcs: [9], reason: "bye")])
        #expect(Array(bytes[8...]) == [0x81, 203, 0, 2, 0, 0, 0, 9, 3, 0x62, 0x79, 0x65])
    }

    @Test("unknown packet types (APP) are kept; padding on the last packet is accepted")
    func otherAndPadding() throws {
        let rr = RTCPPacket.receiverReport(ssrc: 1, reports: [])
        let app = RTCPPacket.other(packetType: 204, count: 3, body: [0, 0, 0, 1, 0x41, 0x42, 0x43, 0x44])
        #expect(try S.decode(S.encode([rr, app])) == [rr, app])
        // RR, then a BYE with four octets of padding (P bit, last octet 4).
        var bytes = S.encode([rr])
        bytes += [0xA1, 203, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4]
        #expect(try S.decode(bytes) == [rr, .bye(ssrcs: [1], reason: nil)])
    }

    @Test("invalid compounds are refused with the reason (A.2)")
    func invalid() {
        let rr = S.encode([.receiverReport(ssrc: 1, reports: [])])
        let sdes = S.encode([S.sdes])
        let bye = S.encode([.bye(ssrcs: [1], reason: nil)])
        #expect(throws: RTCPParseError.badLength(length: 0)) { try S.decode([]) }
        #expect(throws: RTCPParseError.badLength(length: 9)) { try S.decode(rr + [0]) }
        #expect(throws: RTCPParseError.badVersion(1, offset: 0)) { try S.decode([0x41] + rr.dropFirst()) }
        #expect(throws: RTCPParseError.badVersion(0, offset: 8)) { try S.decode(rr + [0x01] + bye.dropFirst()) }
        #expect(throws: RTCPParseError.firstPacketNotReport(packetType: 202)) { try S.decode(sdes + rr) }
        #expect(throws: RTCPParseError.firstPacketPadded) { try S.decode([0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4]) }
        #expect(throws: RTCPParseError.paddingNotLast(offset: 8)) { try S.decode(rr + [0xA1, 203, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4] + bye) }
        #expect(throws: RTCPParseError.badPadding(padding: 9, offset: 8)) { try S.decode(rr + [0xA1, 203, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9]) }
        #expect(throws: RTCPParseError.lengthOverrun(offset: 8, words: 3, available: 8)) { try S.decode(rr + [0x81, 203, 0, 2, 0, 0, 0, 1]) }
        #expect(throws: RTCPParseError.reportBlocksOverrun(offset: 0, count: 2)) { try S.decode([0x82, 201, 0, 1, 0, 0, 0, 1]) }
        // SDES chunk without its null item.
        #expect(throws: RTCPParseError.malformedSourceDescription(offset: 12)) {
            try S.decode(rr + [0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, 0x61, 0x62])
        }
        // BYE reason longer than the packet.
        #expect(throws: RTCPParseError.malformedBye(offset: 8)) { try S.decode(rr + [0x81, 203, 0, 2, 0, 0, 0, 1, 9, 0x61, 0, 0]) }
        #expect(throws: RTCPParseError.malformedBye(offset: 8)) { try S.decode(rr + [0x83, 203, 0, 1, 0, 0, 0, 1]) }
    }

    @Test("a report block carries receive statistics; negative loss sign-extends")
    func blockFromStatistics() throws {
        var stats = RTPReceiveStatistics()
        for s: UInt16 in [1, 2, 3, 3, 4, 2] { stats.update(sequenceNumber: s, timestamp: 0, arrival: 0) }
        let block = RTCPReportBlock(ssrc: 5, report: stats.makeReport(), lastSR: 0, delaySinceLastSR: 0)
        #expect(block.cumulativeLost == -2)
        let rr = RTCPPacket.receiverReport(ssrc: 1, reports: [block])
        #expect(try S.decode(S.encode([rr])) == [rr])
    }

    @Test("random mutations of a valid compound never trap")
    func mutations() {
        let valid = S.encode([S.sr, S.sdes, .bye(ssrcs: [1, 2], reason: "done")])
        var rng = SeededRandom(seed: 0x2C)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = valid
            for _ in 0..<Int(rng.next() % 4 + 1) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { bytes.removeLast(Int(rng.next() % UInt64(bytes.count))) }
            if let packets = try? S.decode(bytes) {
                accepted += 1
                _ = S.encode(packets)
            }
        }
        #expect(accepted > 0)
    }
}

@Suite("RTCP timing: NTP, round-trip time (§6.4.1), transmission interval (§6.3, A.7)")
struct RTCPTimingTests {
    @Test("the §6.4.1 example (Figure 2): A 46864.500 s, LSR 46853.125 s, DLSR 5.250 s -> RTT 6.125 s")
    func roundTrip() {
        // The figure prints LSR as 0xb705:2030, but 46853.125 s is 0xb705:2000 (the printed
        // value would give 0x0006:1fd0); the seconds are the consistent figures.
        let rtt = NTPTime.roundTripTime(arrival: 0xB710_8000, lastSR: 0xB705_2000, delaySinceLastSR: 0x0005_4000)
        #expect(rtt == 0x0006_2000)
        #expect(NTPTime.milliseconds(compact: 0x0006_2000) == 6125)
        #expect(NTPTime.roundTripTime(arrival: 0xB710_8000, lastSR: 0, delaySinceLastSR: 0) == nil)
        #expect(NTPTime.roundTripTime(arrival: 0xB705_2030, lastSR: 0xB705_2030, delaySinceLastSR: 1) == nil)
        // A - LSR across the 32-bit wrap.
        #expect(NTPTime.roundTripTime(arrival: 0x0000_1000, lastSR: 0xFFFF_F000, delaySinceLastSR: 0x1000) == 0x1000)
    }

    @Test("NTP timestamps from Unix time, and their middle 32 bits")
    func ntp() {
        #expect(NTPTime.timestamp(unixMicroseconds: 0) == UInt64(2_208_988_800) << 32)
        #expect(NTPTime.timestamp(unixMicroseconds: 1_500_000) == (UInt64(2_208_988_801) << 32 | 0x8000_0000))
        #expect(NTPTime.middle32(0x1234_5678_9ABC_DEF0) == 0x5678_9ABC)
        #expect(NTPTime.compact(milliseconds: 5250) == 0x0005_4000)
    }

    @Test("deterministic interval: minimum, halved at start, sender and receiver shares")
    func deterministic() {
        // Two members: 5 s minimum, 2.5 s before the first report.
        #expect(RTCPInterval.deterministic(members: 2, senders: 1, bandwidth: 1000, weSent: true, averageSize: 100, initial: false) == 5)
        #expect(RTCPInterval.deterministic(members: 2, senders: 1, bandwidth: 1000, weSent: true, averageSize: 100, initial: true) == 2.5)
        // 1000 members, 10 senders: receivers share 75 % among 990, senders 25 % among 10.
        #expect(RTCPInterval.deterministic(members: 1000, senders: 10, bandwidth: 400, weSent: false, averageSize: 100, initial: false) == 330)
        #expect(RTCPInterval.deterministic(members: 1000, senders: 10, bandwidth: 400, weSent: true, averageSize: 100, initial: false) == 10)
        // Senders above 25 %: everyone shares the whole bandwidth.
        #expect(RTCPInterval.deterministic(members: 1000, senders: 500, bandwidth: 400, weSent: true, averageSize: 100, initial: false) == 250)
        #expect(RTCPInterval.deterministic(members: 3, senders: 0, bandwidth: 0, weSent: false, averageSize: 100, initial: false) == 5)
    }

    /// Always returns the same word, so the randomization factor is known.
    struct ConstantGenerator: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test("the randomized interval is Td × [0.5, 1.5) / (e − 3/2), from the injected generator")
    func randomized() {
        var low = ConstantGenerator(value: 0)
        let t = RTCPInterval.interval(members: 2, senders: 1, bandwidth: 1000, weSent: true, averageSize: 100, initial: false, using: &low)
        #expect(t == 5 * 0.5 / (2.71828 - 1.5))
        var rng = SeededRandom(seed: 3)
        for _ in 0..<1000 {
            let r = RTCPInterval.interval(members: 1000, senders: 10, bandwidth: 400, weSent: false, averageSize: 100, initial: false, using: &rng)
            #expect(r >= 330 * 0.5 / RTCPInterval.compensation && r < 330 * 1.5 / RTCPInterval.compensation)
        }
        #expect(RTCPInterval.updatedAverageSize(100, packetSize: 260) == 110)
    }
}
