import ParleyRTP

/// What the RTP fuzz target checks for every input (RTP, RTCP compound, telephone-event),
/// shared with the corpus replay test so CI re-checks each input libFuzzer once found
/// interesting (`scripts/fuzz rtp`). A broken invariant traps, as libFuzzer needs.
public enum RTPFuzzChecks {
    /// Runs all three; returns (accepted as RTP, accepted as RTCP).
    @discardableResult
    public static func check(_ bytes: UnsafeRawBufferPointer) -> (rtp: Bool, rtcp: Bool) {
        let rtp = checkRTP(bytes)
        let rtcp = checkRTCP(bytes)
        checkTelephoneEvents(bytes)
        return (rtp, rtcp)
    }

    @discardableResult
    public static func checkRTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let view = try? RTPPacketView.parse(bytes) else { return false }
        precondition(view.payloadRange.lowerBound <= view.payloadRange.upperBound && view.payloadRange.upperBound <= bytes.count)
        for i in 0..<Int(view.header.csrcCount) { precondition(view.csrc(i, in: bytes) != nil) }
        if let event = TelephoneEvent(payload: UnsafeRawBufferPointer(rebasing: bytes[view.payloadRange])) {
            var receiver = TelephoneEventReceiver()
            _ = receiver.receive(event, timestamp: view.header.timestamp)
        }
        return true
    }

    @discardableResult
    public static func checkRTCP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let packets = try? RTCPCompound.packets(bytes) else { return false }
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
        precondition(written == out.count, "encodedSize and write disagree")
        precondition(out.withUnsafeBytes { (try? RTCPCompound.validate($0)) != nil }, "re-encoded compound refused")
        return true
    }

    /// The payload parser alone, then the receiver and the statistics over 8-byte records.
    public static func checkTelephoneEvents(_ bytes: UnsafeRawBufferPointer) {
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
