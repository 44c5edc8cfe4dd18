/// Writes an RTCP compound datagram (RFC 3550 §6.1) straight into a caller's buffer, packet
/// by packet, without allocating: the media tick's reports (SR or RR, SDES CNAME, BYE) go
/// out of a buffer the leg owns. `RTCPPacket.write` builds on the same primitives.
///
/// Each call appends one packet (SDES: a packet of chunks, opened with
/// `beginSourceDescription`, filled with `chunk` and `item`, closed with
/// `endSourceDescription`) and returns false, writing nothing more, once the buffer is too
/// small; `count` is then 0 so a cut datagram is never sent. Lists longer than the 5-bit
/// count field (31) are cut at 31, texts at 255 octets, as `RTCPPacket` does.
///
/// ```swift
/// var w = RTCPCompoundWriter(buffer)
/// w.senderReport(ssrc: ssrc, sender: info, report: block)
/// w.sourceDescription(ssrc: ssrc, cname: cnameBytes)
/// send(buffer[0..<w.count])
/// ```
public struct RTCPCompoundWriter {
    public let buffer: UnsafeMutableRawBufferPointer
    private var written = 0
    /// Set once a packet did not fit; nothing is written after it.
    public private(set) var overflowed = false
    /// Offsets of the open SDES packet and of its open chunk, and its chunk count.
    private var sdesStart: Int?
    private var chunkStart: Int?
    private var chunks = 0

    public init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    /// Bytes of complete packets written; 0 if any packet overflowed or an SDES is still open.
    public var count: Int { overflowed || sdesStart != nil ? 0 : written }

    // MARK: - SR, RR

    /// A sender report with `reports` (at most 31 written).
    @discardableResult
    public mutating func senderReport(ssrc: UInt32, sender: RTCPSenderInfo, reports: UnsafeBufferPointer<RTCPReportBlock>) -> Bool {
        let n = min(reports.count, RTCPLayout.maxCount)
        guard let at = begin(bodySize: RTCPLayout.ssrcSize + RTCPLayout.senderInfoSize + n * RTCPLayout.reportBlockSize) else { return false }
        writeUInt32(buffer, at, ssrc)
        writeUInt32(buffer, at + 4, UInt32(truncatingIfNeeded: sender.ntpTimestamp >> 32))
        writeUInt32(buffer, at + 8, UInt32(truncatingIfNeeded: sender.ntpTimestamp))
        writeUInt32(buffer, at + 12, sender.rtpTimestamp)
        writeUInt32(buffer, at + 16, sender.packetCount)
        writeUInt32(buffer, at + 20, sender.octetCount)
        writeBlocks(reports, count: n, at: at + RTCPLayout.ssrcSize + RTCPLayout.senderInfoSize)
        return finish(type: RTCPPacketType.senderReport.rawValue, count: n, from: at - RTCPLayout.headerSize)
    }

    /// A sender report with one report block, or none.
    @discardableResult
    public mutating func senderReport(ssrc: UInt32, sender: RTCPSenderInfo, report: RTCPReportBlock?) -> Bool {
        var block = report ?? RTCPReportBlock(ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0,
                                              jitter: 0, lastSR: 0, delaySinceLastSR: 0)
        return withUnsafePointer(to: &block) { p in
            senderReport(ssrc: ssrc, sender: sender, reports: UnsafeBufferPointer(start: p, count: report == nil ? 0 : 1))
        }
    }

    /// A receiver report with `reports` (at most 31 written).
    @discardableResult
    public mutating func receiverReport(ssrc: UInt32, reports: UnsafeBufferPointer<RTCPReportBlock>) -> Bool {
        let n = min(reports.count, RTCPLayout.maxCount)
        guard let at = begin(bodySize: RTCPLayout.ssrcSize + n * RTCPLayout.reportBlockSize) else { return false }
        writeUInt32(buffer, at, ssrc)
        writeBlocks(reports, count: n, at: at + RTCPLayout.ssrcSize)
        return finish(type: RTCPPacketType.receiverReport.rawValue, count: n, from: at - RTCPLayout.headerSize)
    }

    /// A receiver report with one report block, or none.
    @discardableResult
    public mutating func receiverReport(ssrc: UInt32, report: RTCPReportBlock?) -> Bool {
        var block = report ?? RTCPReportBlock(ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0,
                                              jitter: 0, lastSR: 0, delaySinceLastSR: 0)
        return withUnsafePointer(to: &block) { p in
            receiverReport(ssrc: ssrc, reports: UnsafeBufferPointer(start: p, count: report == nil ? 0 : 1))
        }
    }

    private func writeBlocks(_ reports: UnsafeBufferPointer<RTCPReportBlock>, count: Int, at start: Int) {
        var at = start
        for i in 0..<count {
            reports[i].write(to: buffer, at: at)
            at += RTCPLayout.reportBlockSize
        }
    }

    // MARK: - SDES

    /// An SDES packet with one chunk: `ssrc` and its CNAME (at most 255 octets written).
    @discardableResult
    public mutating func sourceDescription(ssrc: UInt32, cname: UnsafeRawBufferPointer) -> Bool {
        beginSourceDescription()
        chunk(ssrc: ssrc)
        item(type: RTCPSourceDescription.Item.cname, text: cname)
        return endSourceDescription()
    }

    /// Opens an SDES packet; add chunks with `chunk` and `item`, close it with `endSourceDescription`.
    @discardableResult
    public mutating func beginSourceDescription() -> Bool {
        guard !overflowed, sdesStart == nil else { return false }
        guard written + RTCPLayout.headerSize <= buffer.count else { return overflow() }
        sdesStart = written
        chunks = 0
        written += RTCPLayout.headerSize
        return true
    }

    /// Starts a chunk for `ssrc` in the open SDES packet (ending the previous one). A 32nd
    /// chunk is refused: the count field holds 31.
    @discardableResult
    public mutating func chunk(ssrc: UInt32) -> Bool {
        guard !overflowed, sdesStart != nil, chunks < RTCPLayout.maxCount else { return false }
        guard endChunk() else { return false }
        guard written + RTCPLayout.ssrcSize <= buffer.count else { return overflow() }
        writeUInt32(buffer, written, ssrc)
        chunkStart = written
        chunks += 1
        written += RTCPLayout.ssrcSize
        return true
    }

    /// Adds an item (CNAME, NAME, TOOL…; type 0 is the end marker and is refused) to the
    /// open chunk; text beyond 255 octets is cut.
    @discardableResult
    public mutating func item(type: UInt8, text: UnsafeRawBufferPointer) -> Bool {
        guard !overflowed, chunkStart != nil, type != 0 else { return false }
        let n = min(255, text.count)
        guard written + 2 + n <= buffer.count else { return overflow() }
        buffer[written] = type
        buffer[written + 1] = UInt8(n)
        if n > 0, let source = text.baseAddress, let target = buffer.baseAddress {
            (target + written + 2).copyMemory(from: source, byteCount: n)
        }
        written += 2 + n
        return true
    }

    /// Ends the open chunk and SDES packet: the chunk's null item and padding, the header.
    @discardableResult
    public mutating func endSourceDescription() -> Bool {
        guard !overflowed, let start = sdesStart else { return false }
        guard endChunk() else { return false }
        sdesStart = nil
        return finish(type: RTCPPacketType.sourceDescription.rawValue, count: chunks, from: start)
    }

    /// The open chunk's null item and zero padding to the next 32-bit boundary.
    private mutating func endChunk() -> Bool {
        guard let start = chunkStart else { return true }
        let end = start + (written + 1 - start + 3) / 4 * 4
        guard end <= buffer.count else { return overflow() }
        for i in written..<end { buffer[i] = 0 }
        written = end
        chunkStart = nil
        return true
    }

    // MARK: - BYE

    /// A BYE for `ssrcs` (at most 31), with an optional reason (at most 255 octets).
    @discardableResult
    public mutating func bye(ssrcs: UnsafeBufferPointer<UInt32>, reason: UnsafeRawBufferPointer? = nil) -> Bool {
        let n = min(ssrcs.count, RTCPLayout.maxCount)
        let reasonSize = reason.map { 1 + min(255, $0.count) } ?? 0
        let body = (n * RTCPLayout.ssrcSize + reasonSize + 3) / 4 * 4
        guard let at = begin(bodySize: body) else { return false }
        for i in 0..<n { writeUInt32(buffer, at + i * RTCPLayout.ssrcSize, ssrcs[i]) }
        let reasonAt = at + n * RTCPLayout.ssrcSize
        for i in reasonAt..<(at + body) { buffer[i] = 0 }
        if let reason, let target = buffer.baseAddress {
            let length = reasonSize - 1
            buffer[reasonAt] = UInt8(length)
            if length > 0, let source = reason.baseAddress { (target + reasonAt + 1).copyMemory(from: source, byteCount: length) }
        }
        return finish(type: RTCPPacketType.bye.rawValue, count: n, from: at - RTCPLayout.headerSize)
    }

    /// A BYE for one source, without a reason.
    @discardableResult
    public mutating func bye(ssrc: UInt32) -> Bool {
        var s = ssrc
        return withUnsafePointer(to: &s) { bye(ssrcs: UnsafeBufferPointer(start: $0, count: 1)) }
    }

    // MARK: - Other packets

    /// Any packet given as type, count field (5 bits) and body (zero-padded to a word).
    @discardableResult
    public mutating func other(packetType: UInt8, count: UInt8, body: UnsafeRawBufferPointer) -> Bool {
        let size = (body.count + 3) / 4 * 4
        guard let at = begin(bodySize: size) else { return false }
        if body.count > 0, let source = body.baseAddress, let target = buffer.baseAddress {
            (target + at).copyMemory(from: source, byteCount: body.count)
        }
        for i in (at + body.count)..<(at + size) { buffer[i] = 0 }
        return finish(type: packetType, count: Int(count & RTCPLayout.countMask), from: at - RTCPLayout.headerSize)
    }

    // MARK: - Header

    /// Reserves a packet of `bodySize` octets after its header; nil if it does not fit (or
    /// exceeds the 16-bit length field, or an SDES is open).
    private mutating func begin(bodySize: Int) -> Int? {
        guard !overflowed, sdesStart == nil else { return nil }
        let size = RTCPLayout.headerSize + bodySize
        guard written + size <= buffer.count, size / 4 - 1 <= Int(UInt16.max) else {
            _ = overflow()
            return nil
        }
        let at = written + RTCPLayout.headerSize
        written += size
        return at
    }

    /// Writes the header of the packet from `start` to the current end.
    private mutating func finish(type: UInt8, count: Int, from start: Int) -> Bool {
        let words = (written - start) / 4 - 1
        guard words <= Int(UInt16.max) else { return overflow() }
        buffer[start] = RTPHeader.version << RTCPLayout.versionShift | UInt8(count)
        buffer[start + 1] = type
        buffer[start + 2] = UInt8(truncatingIfNeeded: words >> 8)
        buffer[start + 3] = UInt8(truncatingIfNeeded: words)
        return true
    }

    private mutating func overflow() -> Bool {
        overflowed = true
        return false
    }
}
