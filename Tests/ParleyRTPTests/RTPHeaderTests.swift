import Testing
@testable import ParleyRTP

@Suite("RTP header (RFC 3550 §5.1)")
struct RTPHeaderTests {
    func parse(_ bytes: [UInt8]) throws(RTPParseError) -> RTPPacketView {
        let result = bytes.withUnsafeBytes { b in Result { () throws(RTPParseError) in try RTPPacketView.parse(b) } }
        return try result.get()
    }

    @Test("write then parse returns the same header", arguments: [
        (false, UInt8(0), UInt16(0), UInt32(0), UInt32(0)),
        (true, 8, 65535, 4_294_967_295, 0xDEADBEEF),
        (true, 101, 12345, 160, 1),
        (false, 127, 1, 0x8000_0000, 0x7FFF_FFFF),
    ])
    func roundTrip(marker: Bool, pt: UInt8, seq: UInt16, ts: UInt32, ssrc: UInt32) throws {
        let header = RTPHeader(marker: marker, payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc: ssrc)
        var bytes = [UInt8](repeating: 0xAA, count: 12 + 160)
        let written = bytes.withUnsafeMutableBytes { header.write(to: $0) }
        #expect(written == 12)
        let view = try parse(bytes)
        #expect(view.header == header)
        #expect(view.payloadRange == 12..<172)
    }

    @Test("a known packet parses field by field")
    func knownPacket() throws {
        // V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0x00000140 | ssrc 0x11223344 | payload
        let bytes: [UInt8] = [0x80, 0x80, 0x12, 0x34, 0, 0, 0x01, 0x40, 0x11, 0x22, 0x33, 0x44, 0xFF, 0xFE]
        let v = try parse(bytes)
        #expect(v.header.marker)
        #expect(v.header.payloadType == 0)
        #expect(v.header.sequenceNumber == 0x1234)
        #expect(v.header.timestamp == 320)
        #expect(v.header.ssrc == 0x1122_3344)
        #expect(v.payloadRange == 12..<14)
    }

    @Test("CSRCs, a header extension and padding are stepped over")
    func csrcExtensionPadding() throws {
        var bytes: [UInt8] = [0xB2, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9] // V=2 P=1 X=1 CC=2, PT 8
        bytes += [0, 0, 0, 1, 0, 0, 0, 2]             // two CSRCs
        bytes += [0xBE, 0xDE, 0, 1, 1, 2, 3, 4]       // extension, one word
        bytes += [9, 9, 9]                            // payload
        bytes += [0, 0, 3]                            // three bytes of padding
        let v = try parse(bytes)
        #expect(v.header.csrcCount == 2)
        #expect(bytes.withUnsafeBytes { v.csrc(1, in: $0) } == 2)
        #expect(v.extensionProfile == 0xBEDE)
        #expect(v.extensionRange == 24..<28)
        #expect(v.payloadRange == 28..<31)
    }

    @Test("malformed packets are refused with the reason")
    func malformed() {
        #expect(throws: RTPParseError.tooShort(length: 11)) { try parse([UInt8](repeating: 0x80, count: 11)) }
        #expect(throws: RTPParseError.badVersion(1)) { try parse([0x40] + [UInt8](repeating: 0, count: 11)) }
        #expect(throws: RTPParseError.csrcOverrun(count: 15, length: 12)) { try parse([0x8F] + [UInt8](repeating: 0, count: 11)) }
        #expect(throws: RTPParseError.extensionOverrun(length: 16)) { try parse([0x90] + [UInt8](repeating: 0, count: 11) + [0, 0, 0, 5]) }
        #expect(throws: RTPParseError.paddingOverrun(padding: 200, available: 1)) { try parse([0xA0] + [UInt8](repeating: 0, count: 11) + [200]) }
        #expect(throws: RTPParseError.paddingOverrun(padding: 0, available: 1)) { try parse([0xA0] + [UInt8](repeating: 0, count: 11) + [0]) }
    }

    @Test("random bytes never trap")
    func randomBytes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let n = Int.random(in: 0..<64, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if n > 0 { bytes[0] = (bytes[0] & 0x3F) | 0x80 }
            if let v = try? parse(bytes) {
                #expect(v.payloadRange.upperBound <= n)
                #expect(v.payloadRange.lowerBound <= v.payloadRange.upperBound)
            }
        }
    }
}

@Suite("RFC 4733 telephone events")
struct TelephoneEventTests {
    @Test("payload round trip")
    func roundTrip() {
        let e = TelephoneEvent(event: 11, end: true, volume: 10, duration: 1600)
        var bytes = [UInt8](repeating: 0, count: 4)
        _ = bytes.withUnsafeMutableBytes { e.write(to: $0) }
        #expect(bytes == [11, 0x8A, 0x06, 0x40])
        #expect(bytes.withUnsafeBytes { TelephoneEvent(payload: $0) } == e)
        #expect(e.digit == "#")
        #expect([UInt8](repeating: 0, count: 3).withUnsafeBytes { TelephoneEvent(payload: $0) } == nil)
    }

    @Test("an event with duration updates and three end packets is one key press")
    func onePressPerEvent() {
        var r = TelephoneEventReceiver()
        var keys: [Character] = []
        for d in stride(from: 160, through: 800, by: 160) {
            if let k = r.receive(TelephoneEvent(event: 1, end: false, volume: 10, duration: UInt16(d)), timestamp: 1000) { keys.append(k) }
        }
        for _ in 0..<3 {
            if let k = r.receive(TelephoneEvent(event: 1, end: true, volume: 10, duration: 960), timestamp: 1000) { keys.append(k) }
        }
        // The same key again is a new event with a new timestamp; its start packet was lost.
        if let k = r.receive(TelephoneEvent(event: 1, end: false, volume: 10, duration: 480), timestamp: 3000) { keys.append(k) }
        if let k = r.receive(TelephoneEvent(event: 11, end: true, volume: 10, duration: 800), timestamp: 5000) { keys.append(k) }
        #expect(keys == ["1", "1", "#"])
    }

    @Test("digits map to events and back", arguments: Array("0123456789*#ABCD"))
    func mapping(digit: Character) {
        let e = TelephoneEvent.event(forDigit: digit)
        #expect(e != nil)
        #expect(TelephoneEvent.digit(forEvent: e ?? 255) == digit)
    }
}
