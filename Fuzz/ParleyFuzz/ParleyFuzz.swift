import ParleyFuzzChecks
import ParleyRTP

/// Which parsers the fuzzer drives: `rtp` (RTP, RTCP, telephone-event) or `sip` (SIP
/// messages, URIs, addresses, SDP). Set from PARLEY_FUZZ_TARGET before libFuzzer starts.
nonisolated(unsafe) var fuzzTarget = "rtp"

/// libFuzzer entry point (built only with PARLEY_FUZZ=1; see scripts/fuzz). Every input goes
/// through the three untrusted-byte parsers: RTP, RTCP compound, RFC 4733 telephone-event.
/// libFuzzer reports a crash, a sanitizer finding, or a failed invariant below.
@_cdecl("LLVMFuzzerTestOneInput")
public func parleyFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if fuzzTarget == "sip" {
        SIPFuzzChecks.check(Array(bytes))
        return 0
    }
    fuzzRTP(bytes)
    fuzzRTCP(bytes)
    fuzzTelephoneEvent(bytes)
    return 0
}

func fuzzRTP(_ bytes: UnsafeRawBufferPointer) {
    guard let view = try? RTPPacketView.parse(bytes) else { return }
    precondition(view.payloadRange.lowerBound <= view.payloadRange.upperBound && view.payloadRange.upperBound <= bytes.count)
    for i in 0..<Int(view.header.csrcCount) { precondition(view.csrc(i, in: bytes) != nil) }
    let payload = UnsafeRawBufferPointer(rebasing: bytes[view.payloadRange])
    if let event = TelephoneEvent(payload: payload) {
        var receiver = TelephoneEventReceiver()
        _ = receiver.receive(event, timestamp: view.header.timestamp)
    }
}

func fuzzRTCP(_ bytes: UnsafeRawBufferPointer) {
    guard let packets = try? RTCPCompound.packets(bytes) else { return }
    for p in packets {
        precondition(p.range.upperBound <= bytes.count && p.bodyRange.upperBound <= p.range.upperBound)
        _ = p.ssrc(in: bytes)
        _ = p.senderInfo(in: bytes)
        for i in 0..<Int(p.count) { _ = p.reportBlock(i, in: bytes) }
        if let c = p.cname(in: bytes) { precondition(c.text.upperBound <= p.bodyRange.upperBound) }
    }
    // What was accepted re-encodes into a datagram that is accepted again.
    guard let decoded = try? RTCPCompound.decode(bytes) else { preconditionFailure("validated but not decoded") }
    var out = [UInt8](repeating: 0, count: RTCPCompound.encodedSize(decoded))
    let written = out.withUnsafeMutableBytes { RTCPCompound.write(decoded, to: $0) }
    precondition(written == out.count)
    precondition(out.withUnsafeBytes { (try? RTCPCompound.validate($0)) != nil })
}

func fuzzTelephoneEvent(_ bytes: UnsafeRawBufferPointer) {
    // The payload parser alone, then the receiver and the statistics over 8-byte records.
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
