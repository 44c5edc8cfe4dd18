import Foundation
import Testing
@testable import ParleyRTP

/// Replays the fuzzing corpus (`Tests/Fixtures/fuzz/rtp/`, grown by `scripts/fuzz`) through
/// the same three parsers and invariants as `Fuzz/ParleyFuzz`, so every CI run re-checks
/// each input libFuzzer once found interesting.
@Suite("Fuzz corpus replay: RTP, RTCP compound and telephone-event parsers")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz/rtp")

    static func files() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []
        return names.sorted().map { corpus.appendingPathComponent($0) }
    }

    @Test("the corpus is there, with the hand-made seeds")
    func present() {
        let names = Self.files().map(\.lastPathComponent)
        #expect(names.count >= 9)
    }

    @Test("every corpus file goes through the three parsers without a trap or a broken invariant")
    func replay() throws {
        var rtp = 0, rtcp = 0
        for url in Self.files() {
            let data = try Data(contentsOf: url)
            let bytes = [UInt8](data)
            bytes.withUnsafeBytes { b in
                if Self.checkRTP(b) { rtp += 1 }
                if Self.checkRTCP(b, name: url.lastPathComponent) { rtcp += 1 }
                Self.checkTelephoneEvents(b)
            }
        }
        // The seeds alone give four valid RTP packets and four valid RTCP compounds.
        #expect(rtp >= 4)
        #expect(rtcp >= 4)
    }

    static func checkRTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let view = try? RTPPacketView.parse(bytes) else { return false }
        #expect(view.payloadRange.lowerBound <= view.payloadRange.upperBound && view.payloadRange.upperBound <= bytes.count)
        for i in 0..<Int(view.header.csrcCount) { #expect(view.csrc(i, in: bytes) != nil) }
        if let event = TelephoneEvent(payload: UnsafeRawBufferPointer(rebasing: bytes[view.payloadRange])) {
            var receiver = TelephoneEventReceiver()
            _ = receiver.receive(event, timestamp: view.header.timestamp)
        }
        return true
    }

    static func checkRTCP(_ bytes: UnsafeRawBufferPointer, name: String) -> Bool {
        guard let packets = try? RTCPCompound.packets(bytes) else { return false }
        for p in packets {
            #expect(p.range.upperBound <= bytes.count && p.bodyRange.upperBound <= p.range.upperBound)
            _ = p.ssrc(in: bytes)
            _ = p.senderInfo(in: bytes)
            for i in 0..<Int(p.count) { _ = p.reportBlock(i, in: bytes) }
            if let c = p.cname(in: bytes) { #expect(c.text.upperBound <= p.bodyRange.upperBound) }
        }
        guard let decoded = try? RTCPCompound.decode(bytes) else {
            Issue.record("\(name): validated but not decoded")
            return false
        }
        var out = [UInt8](repeating: 0, count: RTCPCompound.encodedSize(decoded))
        let written = out.withUnsafeMutableBytes { RTCPCompound.write(decoded, to: $0) }
        #expect(written == out.count, "\(name)")
        #expect(out.withUnsafeBytes { (try? RTCPCompound.validate($0)) != nil }, "\(name): re-encoded compound refused")
        return true
    }

    static func checkTelephoneEvents(_ bytes: UnsafeRawBufferPointer) {
        var receiver = TelephoneEventReceiver()
        var stats = RTPReceiveStatistics()
        var at = 0
        while at + 8 <= bytes.count {
            let record = UnsafeRawBufferPointer(rebasing: bytes[at..<(at + 8)])
            if let event = TelephoneEvent(payload: record) {
                let ts = UInt32(record[4]) << 24 | UInt32(record[5]) << 16 | UInt32(record[6]) << 8 | UInt32(record[7])
                _ = receiver.receive(event, timestamp: ts)
                stats.update(sequenceNumber: UInt16(record[0]) << 8 | UInt16(record[1]), timestamp: ts, arrival: ts &+ UInt32(record[2]))
            }
            at += 8
        }
        _ = stats.makeReport()
        _ = TelephoneEvent(payload: bytes)
    }
}
