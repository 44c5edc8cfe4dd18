import Testing
@testable import ParleyRTP

/// `RTCPCompoundWriter` writes into a caller's buffer; what it writes must be what
/// `RTCPCompound` (the parser of received RTCP) reads back.
@Suite("RTCP compound writer: in-place serialization, round trip through the parser")
struct RTCPCompoundWriterTests {
    typealias S = RTCPTestSupport

    /// Runs `body` on a writer over `size` bytes (pre-filled with junk) and returns the bytes it reports.
    static func write(size: Int = 1500, _ body: (inout RTCPCompoundWriter) -> Void) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: size)
        let n = bytes.withUnsafeMutableBytes { b -> Int in
            var w = RTCPCompoundWriter(b)
            body(&w)
            return w.count
        }
        return Array(bytes[0..<n])
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("SR + SDES CNAME + BYE as the media leg sends it: same bytes as the owned packets, parsed back equal")
    func reportAsSent() throws {
        let info = RTCPSenderInfo(ntpTimestamp: 0xE1A2_B3C4_8000_0000, rtpTimestamp: 160_000, packetCount: 1000, octetCount: 160_000)
        let cname = Self.bytes("parley-30000@192.0.2.1")
        let written = Self.write { w in
            let ok1 = w.senderReport(ssrc: 0x1122_3344, sender: info, report: S.block); #expect(ok1)
            cname.withUnsafeBytes { let ok2 = w.sourceDescription(ssrc: 0x1122_3344, cname: $0); #expect(ok2) }
            let ok3 = w.bye(ssrc: 0x1122_3344); #expect(ok3)
        }
        let owned: [RTCPPacket] = [
            .senderReport(ssrc: 0x1122_3344, sender: info, reports: [S.block]),
            .sourceDescription(.init(chunks: [.init(ssrc: 0x1122_3344, items: [.init(type: 1, text: "parley-30000@192.0.2.1")])])),
            .bye(ssrcs: [0x1122_3344], reason: nil),
        ]
        #expect(written == S.encode(owned))
        #expect(try S.decode(written) == owned)
    }

    @Test("SR and RR without report blocks, and with more than 31 (cut at 31)")
    func reportBlockCounts() throws {
        let info = RTCPSenderInfo(ntpTimestamp: 1, rtpTimestamp: 2, packetCount: 3, octetCount: 4)
        let many = (0..<40).map { (i: Int) -> RTCPReportBlock in
            let n = UInt32(i)
            return RTCPReportBlock(ssrc: n, fractionLost: UInt8(i), cumulativeLost: Int32(i) - 20, extendedHighestSequence: n << 16,
                                   jitter: n * 3, lastSR: n * 5, delaySinceLastSR: n * 7)
        }
        let written = Self.write(size: 4096) { w in
            let ok4 = w.receiverReport(ssrc: 9, report: nil); #expect(ok4)
            let ok5 = w.senderReport(ssrc: 9, sender: info, report: nil); #expect(ok5)
            many.withUnsafeBufferPointer { let ok6 = w.receiverReport(ssrc: 9, reports: $0); #expect(ok6) }
            many.withUnsafeBufferPointer { let ok7 = w.senderReport(ssrc: 9, sender: info, reports: $0); #expect(ok7) }
        }
        let first31 = Array(many.prefix(31))
        let expected: [RTCPPacket] = [
            .receiverReport(ssrc: 9, reports: []),
            .senderReport(ssrc: 9, sender: info, reports: []),
            .receiverReport(ssrc: 9, reports: first31),
            .senderReport(ssrc: 9, sender: info, reports: first31),
        ]
        #expect(try S.decode(written) == expected)
    }

    @Test("SDES of a mixer: chunks for the SSRC and its CSRCs, CNAME lengths 0–8 (every padding), other items kept",
          arguments: 0...8)
    func mixerChunks(length: Int) throws {
        let csrcs: [UInt32] = [0xA, 0xB, 0xC]
        let cname = [UInt8](repeating: UInt8(ascii: "x"), count: length)
        let tool = Self.bytes("Parley")
        let written = Self.write { w in
            let ok8 = w.receiverReport(ssrc: 1, report: nil); #expect(ok8)
            let ok9 = w.beginSourceDescription(); #expect(ok9)
            for ssrc in [1] + csrcs {
                let ok10 = w.chunk(ssrc: ssrc); #expect(ok10)
                cname.withUnsafeBytes { let ok11 = w.item(type: RTCPSourceDescription.Item.cname, text: $0); #expect(ok11) }
                if ssrc == 1 { tool.withUnsafeBytes { let ok12 = w.item(type: RTCPSourceDescription.Item.tool, text: $0); #expect(ok12) } }
            }
            let ok13 = w.endSourceDescription(); #expect(ok13)
        }
        #expect(written.count % 4 == 0)
        let chunks = ([1] + csrcs).map { ssrc in
            RTCPSourceDescription.Chunk(ssrc: ssrc, items: [.init(type: 1, value: cname)] + (ssrc == 1 ? [.init(type: 6, value: tool)] : []))
        }
        #expect(try S.decode(written) == [.receiverReport(ssrc: 1, reports: []), .sourceDescription(.init(chunks: chunks))])
        // The zero-allocation reader finds the first chunk's CNAME.
        written.withUnsafeBytes { b in
            guard let packets = try? RTCPCompound.packets(b) else { Issue.record("not valid"); return }
            for p in packets where p.type == .sourceDescription {
                #expect(p.cname(in: b)?.ssrc == 1)
                #expect(p.cname(in: b).map { $0.text.count } == length)
            }
        }
    }

    @Test("SDES edge cases: a chunk without items, an empty SDES, a 300-octet CNAME cut at 255, a 32nd chunk and item type 0 refused")
    func sdesEdges() throws {
        let long = [UInt8](repeating: UInt8(ascii: "y"), count: 300)
        let written = Self.write(size: 4096) { w in
            let ok14 = w.receiverReport(ssrc: 1, report: nil); #expect(ok14)
            let ok15 = w.beginSourceDescription(); #expect(ok15)
            let ok16 = w.endSourceDescription(); #expect(ok16)
            let ok17 = w.beginSourceDescription(); #expect(ok17)
            let ok25 = w.chunk(ssrc: 5); #expect(ok25)    // no items: SSRC, null item, padding
            let ok18 = w.chunk(ssrc: 6); #expect(ok18)
            long.withUnsafeBytes { let ok19 = w.item(type: 1, text: $0); #expect(ok19) }
            long.withUnsafeBytes { let ok20 = w.item(type: 0, text: $0); #expect(!ok20) }
            for ssrc in 7..<36 { let ok21 = w.chunk(ssrc: UInt32(ssrc)); #expect(ok21) }
            let ok26 = w.chunk(ssrc: 99); #expect(!ok26)  // 32nd
            let ok22 = w.endSourceDescription(); #expect(ok22)
        }
        let decoded = try S.decode(written)
        #expect(decoded.count == 3)
        #expect(decoded[1] == .sourceDescription(.init(chunks: [])))
        guard case let .sourceDescription(sdes) = decoded[2] else { Issue.record("no SDES"); return }
        #expect(sdes.chunks.count == 31)
        #expect(sdes.chunks[0] == .init(ssrc: 5, items: []))
        #expect(sdes.chunks[1] == .init(ssrc: 6, items: [.init(type: 1, value: Array(long.prefix(255)))]))
        #expect(sdes.chunks.last?.ssrc == 35)
    }

    @Test("BYE for several sources, with and without a reason (every padding), parsed back")
    func bye() throws {
        let ssrcs: [UInt32] = [1, 2, 3]
        for length in 0...5 {
            let reason = String(repeating: "r", count: length)
            let written = Self.write { w in
                let ok23 = w.receiverReport(ssrc: 1, report: nil); #expect(ok23)
                ssrcs.withUnsafeBufferPointer { list in
                    Self.bytes(reason).withUnsafeBytes { let ok24 = w.bye(ssrcs: list, reason: $0); #expect(ok24) }
                }
            }
            #expect(try S.decode(written) == [.receiverReport(ssrc: 1, reports: []), .bye(ssrcs: ssrcs, reason: reason)])
        }
    }

    @Test("a buffer too small at any length: nothing to send, no trap; an open SDES is not a datagram")
    func tooSmall() throws {
        let info = RTCPSenderInfo(ntpTimestamp: 1, rtpTimestamp: 2, packetCount: 3, octetCount: 4)
        let cname = Self.bytes("parley@example.com")
        func report(_ w: inout RTCPCompoundWriter) {
            w.senderReport(ssrc: 1, sender: info, report: S.block)
            cname.withUnsafeBytes { _ = w.sourceDescription(ssrc: 1, cname: $0) }
            w.bye(ssrc: 1)
        }
        let full = Self.write(report)
        #expect(full.count == 52 + 32 + 8)
        for size in 0..<full.count {
            var w = RTCPCompoundWriter(UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4))
            defer { w.buffer.deallocate() }
            report(&w)
            #expect(w.count == 0 && w.overflowed, "size \(size)")
        }
        let open = Self.write { w in
            w.receiverReport(ssrc: 1, report: nil)
            w.beginSourceDescription()
            w.chunk(ssrc: 1)
            let ok27 = w.bye(ssrc: 1); #expect(!ok27)     // no other packet inside an SDES
        }
        #expect(open.isEmpty)
    }
}
