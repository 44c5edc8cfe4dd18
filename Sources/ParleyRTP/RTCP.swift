/// RTCP packets (RFC 3550 §6.4–6.6) in compound datagrams (§6.1, validity checks of §A.2).
///
/// Every RTCP packet starts with the same four octets:
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  RC/SC  |      PT       |   length (32-bit words - 1)   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Two layers: `RTCPCompound.validate` and `RTCPPacketView` read untrusted bytes, never
/// trap and allocate nothing (report blocks, sender info and CNAME are read through the
/// view); `RTCPPacket` is the owned form (arrays, strings) for building and serializing.
public enum RTCPPacketType: UInt8, Sendable {
    case senderReport = 200
    case receiverReport = 201
    case sourceDescription = 202
    case bye = 203
    case application = 204
}

/// Why a datagram is not an acceptable RTCP compound packet.
public enum RTCPParseError: Error, Equatable, Sendable {
    /// Shorter than one header, or not a whole number of 32-bit words.
    case badLength(length: Int)
    case badVersion(UInt8, offset: Int)
    /// A.2: the first packet must be SR or RR (and carry no padding).
    case firstPacketNotReport(packetType: UInt8)
    /// A.2: the first packet's padding bit must be clear (the A.2 mask includes it).
    case firstPacketPadded
    /// A.2: only the last packet of a compound may have the padding bit.
    case paddingNotLast(offset: Int)
    case badPadding(padding: Int, offset: Int)
    /// A.2: the packet lengths must add up to the datagram's length.
    case lengthOverrun(offset: Int, words: Int, available: Int)
    /// An SR/RR shorter than its report count says.
    case reportBlocksOverrun(offset: Int, count: UInt8)
    /// An SDES chunk or item runs past its packet, or lacks its terminating null item.
    case malformedSourceDescription(offset: Int)
    /// A BYE's SSRC list or reason runs past its packet.
    case malformedBye(offset: Int)
}

enum RTCPLayout {
    static let headerSize = 4
    static let versionShift: UInt8 = 6
    static let paddingBit: UInt8 = 0x20
    static let countMask: UInt8 = 0x1F
    static let maxCount = 31
    static let senderInfoSize = 20
    static let reportBlockSize = 24
    static let ssrcSize = 4
}

/// One RTCP packet inside a compound datagram: header fields and byte ranges.
public struct RTCPPacketView: Equatable, Sendable {
    /// Packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, others possible).
    public var packetType: UInt8
    /// The 5-bit count field: report count (SR/RR), source count (SDES/BYE), subtype (APP).
    public var count: UInt8
    public var padding: Bool
    /// The whole packet, header and padding included.
    public var range: Range<Int>
    /// What follows the 4-byte header, padding excluded.
    public var bodyRange: Range<Int>

    public var type: RTCPPacketType? { RTCPPacketType(rawValue: packetType) }

    /// Parses the header of the packet starting at `offset` and checks its body's structure.
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(RTCPParseError) -> RTCPPacketView {
        let length = bytes.count
        guard offset >= 0, offset + RTCPLayout.headerSize <= length else { throw .badLength(length: length) }
        let b0 = bytes[offset]
        let version = b0 >> RTCPLayout.versionShift
        guard version == RTPHeader.version else { throw .badVersion(version, offset: offset) }
        let words = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])) + 1
        let end = offset + words * 4
        guard end <= length else { throw .lengthOverrun(offset: offset, words: words, available: length - offset) }
        let padding = (b0 & RTCPLayout.paddingBit) != 0
        var bodyEnd = end
        if padding {
            let pad = Int(bytes[end - 1])
            guard pad >= 1, pad <= end - offset - RTCPLayout.headerSize else { throw .badPadding(padding: pad, offset: offset) }
            bodyEnd = end - pad
        }
        let view = RTCPPacketView(packetType: bytes[offset + 1], count: b0 & RTCPLayout.countMask, padding: padding,
                                  range: offset..<end, bodyRange: (offset + RTCPLayout.headerSize)..<bodyEnd)
        try view.checkBody(bytes)
        return view
    }

    private func checkBody(_ bytes: UnsafeRawBufferPointer) throws(RTCPParseError) {
        let body = bodyRange.count
        switch type {
        case .senderReport:
            guard body >= RTCPLayout.ssrcSize + RTCPLayout.senderInfoSize + Int(count) * RTCPLayout.reportBlockSize
            else { throw .reportBlocksOverrun(offset: range.lowerBound, count: count) }
        case .receiverReport:
            guard body >= RTCPLayout.ssrcSize + Int(count) * RTCPLayout.reportBlockSize
            else { throw .reportBlocksOverrun(offset: range.lowerBound, count: count) }
        case .sourceDescription:
            var at = bodyRange.lowerBound
            for _ in 0..<Int(count) {
                guard let next = Self.chunkEnd(bytes, at: at, limit: bodyRange.upperBound)
                else { throw .malformedSourceDescription(offset: at) }
                at = next
            }
        case .bye:
            let reasonAt = bodyRange.lowerBound + Int(count) * RTCPLayout.ssrcSize
            guard reasonAt <= bodyRange.upperBound else { throw .malformedBye(offset: range.lowerBound) }
            if reasonAt < bodyRange.upperBound {
                guard reasonAt + 1 + Int(bytes[reasonAt]) <= bodyRange.upperBound else { throw .malformedBye(offset: range.lowerBound) }
            }
        default:
            break
        }
    }

    /// SDES chunk (§6.5): SSRC, items (type, length, text), a null item, padding to a word.
    /// - Returns: where the next chunk starts, or nil if this one is malformed.
    static func chunkEnd(_ bytes: UnsafeRawBufferPointer, at start: Int, limit: Int) -> Int? {
        var at = start + RTCPLayout.ssrcSize
        while at < limit {
            let itemType = bytes[at]
            if itemType == 0 {
                // The null item, then padding up to the next 32-bit boundary (relative to the chunk).
                let consumed = at + 1 - start
                let end = start + (consumed + 3) / 4 * 4
                return end <= limit ? end : nil
            }
            guard at + 2 <= limit else { return nil }
            at += 2 + Int(bytes[at + 1])
        }
        return nil
    }

    // MARK: - Zero-allocation field access

    /// SSRC of the sender (SR, RR) or of the first chunk/source (SDES, BYE) when present.
    public func ssrc(in bytes: UnsafeRawBufferPointer) -> UInt32? {
        let at = bodyRange.lowerBound
        guard at + 4 <= bodyRange.upperBound, bodyRange.upperBound <= bytes.count else { return nil }
        return readUInt32(bytes, at)
    }

    /// The sender info of an SR.
    public func senderInfo(in bytes: UnsafeRawBufferPointer) -> RTCPSenderInfo? {
        let at = bodyRange.lowerBound + RTCPLayout.ssrcSize
        guard type == .senderReport, at + RTCPLayout.senderInfoSize <= bodyRange.upperBound, bodyRange.upperBound <= bytes.count else { return nil }
        return RTCPSenderInfo(
            ntpTimestamp: UInt64(readUInt32(bytes, at)) << 32 | UInt64(readUInt32(bytes, at + 4)),
            rtpTimestamp: readUInt32(bytes, at + 8),
            packetCount: readUInt32(bytes, at + 12),
            octetCount: readUInt32(bytes, at + 16))
    }

    /// Report block `index` (0 ..< count) of an SR or RR.
    public func reportBlock(_ index: Int, in bytes: UnsafeRawBufferPointer) -> RTCPReportBlock? {
        let first: Int
        switch type {
        case .senderReport: first = bodyRange.lowerBound + RTCPLayout.ssrcSize + RTCPLayout.senderInfoSize
        case .receiverReport: first = bodyRange.lowerBound + RTCPLayout.ssrcSize
        default: return nil
        }
        let at = first + index * RTCPLayout.reportBlockSize
        guard index >= 0, index < Int(count), at + RTCPLayout.reportBlockSize <= bodyRange.upperBound,
              bodyRange.upperBound <= bytes.count else { return nil }
        return RTCPReportBlock(bytes, at: at)
    }

    /// Byte range of the first CNAME item's text in an SDES packet, and the chunk's SSRC.
    public func cname(in bytes: UnsafeRawBufferPointer) -> (ssrc: UInt32, text: Range<Int>)? {
        guard type == .sourceDescription, bodyRange.upperBound <= bytes.count else { return nil }
        var chunk = bodyRange.lowerBound
        for _ in 0..<Int(count) {
            guard chunk + 4 <= bodyRange.upperBound else { return nil }
            var at = chunk + RTCPLayout.ssrcSize
            while at + 2 <= bodyRange.upperBound, bytes[at] != 0 {
                let end = at + 2 + Int(bytes[at + 1])
                guard end <= bodyRange.upperBound else { return nil }
                if bytes[at] == RTCPSourceDescription.Item.cname { return (readUInt32(bytes, chunk), (at + 2)..<end) }
                at = end
            }
            guard let next = Self.chunkEnd(bytes, at: chunk, limit: bodyRange.upperBound) else { return nil }
            chunk = next
        }
        return nil
    }
}

/// Validation of a compound RTCP datagram (RFC 3550 §A.2) and iteration over its packets.
public enum RTCPCompound {
    /// Checks the whole datagram: version 2 everywhere, first packet SR or RR without
    /// padding, padding only on the last packet, lengths adding up to the datagram, and
    /// each packet's body structure.
    /// - Returns: the number of packets.
    @discardableResult
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> Int {
        let length = bytes.count
        guard length >= RTCPLayout.headerSize, length % 4 == 0 else { throw .badLength(length: length) }
        let firstType = bytes[1]
        guard firstType == RTCPPacketType.senderReport.rawValue || firstType == RTCPPacketType.receiverReport.rawValue
        else { throw .firstPacketNotReport(packetType: firstType) }
        var offset = 0
        var packets = 0
        while offset < length {
            let view = try RTCPPacketView.parse(bytes, at: offset)
            if view.padding && view.range.upperBound != length { throw .paddingNotLast(offset: offset) }
            if packets == 0 && view.padding { throw .firstPacketPadded }
            offset = view.range.upperBound
            packets += 1
        }
        return packets
    }

    /// The packets of a datagram that `validate` accepted, in order.
    public struct Packets: Sequence, IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        public mutating func next() -> RTCPPacketView? {
            guard offset < bytes.count, let view = try? RTCPPacketView.parse(bytes, at: offset) else { return nil }
            offset = view.range.upperBound
            return view
        }
    }

    /// Validates, then returns the packets to iterate.
    public static func packets(_ bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> Packets {
        try validate(bytes)
        return Packets(bytes: bytes)
    }

    /// Decodes a validated datagram into owned packets (allocates).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        for view in try packets(bytes) { out.append(RTCPPacket(view, in: bytes)) }
        return out
    }

    /// Size of `packets` written as one compound datagram.
    public static func encodedSize(_ packets: [RTCPPacket]) -> Int {
        packets.reduce(0) { $0 + $1.encodedSize }
    }

    /// Writes `packets` one after the other.
    /// - Returns: bytes written, or 0 if the buffer is too small.
    public static func write(_ packets: [RTCPPacket], to buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= encodedSize(packets) else { return 0 }
        var at = 0
        for p in packets {
            let n = p.write(to: UnsafeMutableRawBufferPointer(rebasing: buffer[at...]))
            guard n > 0 else { return 0 }
            at += n
        }
        return at
    }
}

/// Sender info of an SR (§6.4.1).
///
/// ```
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |              NTP timestamp, most significant word             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             NTP timestamp, least significant word             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         RTP timestamp                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     sender's packet count                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      sender's octet count                     |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
public struct RTCPSenderInfo: Equatable, Sendable {
    /// 64-bit NTP timestamp: seconds since 1900 in the upper 32 bits, fraction below.
    public var ntpTimestamp: UInt64
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32

    public init(ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32) {
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
    }
}

/// A reception report block (§6.4.1).
///
/// ```
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_1 (SSRC of first source)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
public struct RTCPReportBlock: Equatable, Sendable {
    public var ssrc: UInt32
    public var fractionLost: UInt8
    /// Signed 24-bit on the wire.
    public var cumulativeLost: Int32
    public var extendedHighestSequence: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none.
    public var lastSR: UInt32
    /// Delay since that SR in units of 1/65536 s.
    public var delaySinceLastSR: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32,
                jitter: UInt32, lastSR: UInt32, delaySinceLastSR: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }

    /// A block from receive statistics.
    public init(ssrc: UInt32, report: RTPReceptionReport, lastSR: UInt32, delaySinceLastSR: UInt32) {
        self.init(ssrc: ssrc, fractionLost: report.fractionLost, cumulativeLost: report.cumulativeLost,
                  extendedHighestSequence: report.extendedHighestSequence, jitter: report.jitter,
                  lastSR: lastSR, delaySinceLastSR: delaySinceLastSR)
    }

    init(_ bytes: UnsafeRawBufferPointer, at: Int) {
        ssrc = readUInt32(bytes, at)
        fractionLost = bytes[at + 4]
        let raw = UInt32(bytes[at + 5]) << 16 | UInt32(bytes[at + 6]) << 8 | UInt32(bytes[at + 7])
        cumulativeLost = Int32(bitPattern: raw << 8) >> 8   // sign-extend 24 bits
        extendedHighestSequence = readUInt32(bytes, at + 8)
        jitter = readUInt32(bytes, at + 12)
        lastSR = readUInt32(bytes, at + 16)
        delaySinceLastSR = readUInt32(bytes, at + 20)
    }

    func write(to b: UnsafeMutableRawBufferPointer, at: Int) {
        writeUInt32(b, at, ssrc)
        let lost = UInt32(bitPattern: max(RTPReceiveStatistics.minCumulativeLost, min(RTPReceiveStatistics.maxCumulativeLost, cumulativeLost)))
        writeUInt32(b, at + 4, UInt32(fractionLost) << 24 | (lost & 0xFF_FFFF))
        writeUInt32(b, at + 8, extendedHighestSequence)
        writeUInt32(b, at + 12, jitter)
        writeUInt32(b, at + 16, lastSR)
        writeUInt32(b, at + 20, delaySinceLastSR)
    }
}

/// SDES (§6.5): chunks of an SSRC and its items.
///
/// ```
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                          SSRC/CSRC_1                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |    CNAME=1    |     length    | user and domain name        ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ... more items, then a null octet (END) and padding to a word |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
public struct RTCPSourceDescription: Equatable, Sendable {
    public struct Item: Equatable, Sendable {
        public static let cname: UInt8 = 1
        public static let name: UInt8 = 2
        public static let tool: UInt8 = 6
        public static let note: UInt8 = 7
        public var type: UInt8
        /// Text (UTF-8), at most 255 octets.
        public var value: [UInt8]
        public init(type: UInt8, value: [UInt8]) { self.type = type; self.value = value }
        public init(type: UInt8, text: String) { self.init(type: type, value: Array(text.utf8.prefix(255))) }
    }

    public struct Chunk: Equatable, Sendable {
        public var ssrc: UInt32
        /// Items in wire order; kinds other than CNAME are kept as they came.
        public var items: [Item]
        public init(ssrc: UInt32, items: [Item]) { self.ssrc = ssrc; self.items = items }

        public var cname: String? {
            items.first { $0.type == Item.cname }.map { String(decoding: $0.value, as: UTF8.self) }
        }

        var encodedSize: Int {
            let raw = RTCPLayout.ssrcSize + items.reduce(0) { $0 + 2 + min(255, $1.value.count) } + 1
            return (raw + 3) / 4 * 4
        }
    }

    public var chunks: [Chunk]
    public init(chunks: [Chunk]) { self.chunks = chunks }
}

/// An owned RTCP packet, for building, serializing and inspecting.
public enum RTCPPacket: Equatable, Sendable {
    case senderReport(ssrc: UInt32, sender: RTCPSenderInfo, reports: [RTCPReportBlock])
    case receiverReport(ssrc: UInt32, reports: [RTCPReportBlock])
    case sourceDescription(RTCPSourceDescription)
    /// BYE (§6.6) for these sources, with an optional reason.
    case bye(ssrcs: [UInt32], reason: String?)
    /// Any other packet (APP, XR, feedback…): type, count field and body, kept as they came.
    case other(packetType: UInt8, count: UInt8, body: [UInt8])

    /// Decodes a packet that `RTCPPacketView.parse` accepted.
    public init(_ view: RTCPPacketView, in bytes: UnsafeRawBufferPointer) {
        let body = view.bodyRange
        switch view.type {
        case .senderReport:
            let blocks = (0..<Int(view.count)).compactMap { view.reportBlock($0, in: bytes) }
            self = .senderReport(ssrc: view.ssrc(in: bytes) ?? 0,
                                 sender: view.senderInfo(in: bytes) ?? RTCPSenderInfo(ntpTimestamp: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0),
                                 reports: blocks)
        case .receiverReport:
            let blocks = (0..<Int(view.count)).compactMap { view.reportBlock($0, in: bytes) }
            self = .receiverReport(ssrc: view.ssrc(in: bytes) ?? 0, reports: blocks)
        case .sourceDescription:
            var chunks: [RTCPSourceDescription.Chunk] = []
            var chunk = body.lowerBound
            for _ in 0..<Int(view.count) {
                guard chunk + 4 <= body.upperBound,
                      let next = RTCPPacketView.chunkEnd(bytes, at: chunk, limit: body.upperBound) else { break }
                var items: [RTCPSourceDescription.Item] = []
                var at = chunk + 4
                while at + 2 <= next, bytes[at] != 0 {
                    let end = min(next, at + 2 + Int(bytes[at + 1]))
                    items.append(.init(type: bytes[at], value: Array(bytes[(at + 2)..<end])))
                    at = end
                }
                chunks.append(.init(ssrc: readUInt32(bytes, chunk), items: items))
                chunk = next
            }
            self = .sourceDescription(RTCPSourceDescription(chunks: chunks))
        case .bye:
            let n = min(Int(view.count), body.count / 4)
            let ssrcs = (0..<n).map { readUInt32(bytes, body.lowerBound + $0 * 4) }
            let reasonAt = body.lowerBound + n * 4
            var reason: String? = nil
            if reasonAt < body.upperBound {
                let end = min(body.upperBound, reasonAt + 1 + Int(bytes[reasonAt]))
                reason = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(reasonAt + 1)..<end]), as: UTF8.self)
            }
            self = .bye(ssrcs: ssrcs, reason: reason)
        default:
            self = .other(packetType: view.packetType, count: view.count, body: Array(bytes[body]))
        }
    }

    /// Size when written, header included (always a multiple of 4).
    public var encodedSize: Int {
        let body: Int
        switch self {
        case let .senderReport(_, _, reports):
            body = RTCPLayout.ssrcSize + RTCPLayout.senderInfoSize + min(reports.count, RTCPLayout.maxCount) * RTCPLayout.reportBlockSize
        case let .receiverReport(_, reports):
            body = RTCPLayout.ssrcSize + min(reports.count, RTCPLayout.maxCount) * RTCPLayout.reportBlockSize
        case let .sourceDescription(sdes):
            body = sdes.chunks.prefix(RTCPLayout.maxCount).reduce(0) { $0 + $1.encodedSize }
        case let .bye(ssrcs, reason):
            let reasonSize = reason.map { 1 + min(255, $0.utf8.count) } ?? 0
            body = (min(ssrcs.count, RTCPLayout.maxCount) * RTCPLayout.ssrcSize + reasonSize + 3) / 4 * 4
        case let .other(_, _, bytes):
            body = (bytes.count + 3) / 4 * 4
        }
        return RTCPLayout.headerSize + body
    }

    /// Writes this packet (no padding bit; lists longer than 31 entries are cut at 31) with
    /// `RTCPCompoundWriter`.
    /// - Returns: bytes written, or 0 if the buffer is too small or the packet exceeds 65536 words.
    @discardableResult
    public func write(to buffer: UnsafeMutableRawBufferPointer) -> Int {
        var w = RTCPCompoundWriter(buffer)
        switch self {
        case let .senderReport(ssrc, sender, reports):
            reports.withUnsafeBufferPointer { _ = w.senderReport(ssrc: ssrc, sender: sender, reports: $0) }
        case let .receiverReport(ssrc, reports):
            reports.withUnsafeBufferPointer { _ = w.receiverReport(ssrc: ssrc, reports: $0) }
        case let .sourceDescription(sdes):
            w.beginSourceDescription()
            for c in sdes.chunks.prefix(RTCPLayout.maxCount) {
                w.chunk(ssrc: c.ssrc)
                for item in c.items { item.value.withUnsafeBytes { _ = w.item(type: item.type, text: $0) } }
            }
            w.endSourceDescription()
        case let .bye(ssrcs, reason):
            ssrcs.withUnsafeBufferPointer { list in
                guard var text = reason else { _ = w.bye(ssrcs: list); return }
                text.withUTF8 { _ = w.bye(ssrcs: list, reason: UnsafeRawBufferPointer($0)) }
            }
        case let .other(packetType, count, body):
            body.withUnsafeBytes { _ = w.other(packetType: packetType, count: count, body: $0) }
        }
        return w.count
    }
}
