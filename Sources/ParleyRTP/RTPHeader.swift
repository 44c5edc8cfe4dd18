/// An RTP fixed header (RFC 3550 §5.1) and the extents of what follows it.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Parsing reads from untrusted bytes and never traps; it allocates nothing.
public struct RTPHeader: Equatable, Sendable {
    public static let version: UInt8 = 2
    /// Size of the fixed header in bytes.
    public static let fixedSize = 12

    // Bit positions in the first two octets.
    static let versionShift: UInt8 = 6
    static let paddingBit: UInt8 = 0x20
    static let extensionBit: UInt8 = 0x10
    static let csrcCountMask: UInt8 = 0x0F
    static let markerBit: UInt8 = 0x80
    static let payloadTypeMask: UInt8 = 0x7F

    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var padding: Bool
    public var hasExtension: Bool
    public var csrcCount: UInt8

    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.padding = false
        self.hasExtension = false
        self.csrcCount = 0
    }
}

/// Why a datagram is not an acceptable RTP packet.
public enum RTPParseError: Error, Equatable, Sendable {
    case tooShort(length: Int)
    case badVersion(UInt8)
    case csrcOverrun(count: UInt8, length: Int)
    case extensionOverrun(length: Int)
    case paddingOverrun(padding: Int, available: Int)
}

/// A parsed RTP packet: header plus byte ranges into the datagram it came from.
public struct RTPPacketView: Equatable, Sendable {
    public var header: RTPHeader
    /// Byte offsets of the CSRC list within the datagram.
    public var csrcRange: Range<Int>
    /// Header-extension profile (the "defined by profile" field) and its data range, if present.
    public var extensionProfile: UInt16?
    public var extensionRange: Range<Int>
    /// Byte offsets of the payload (padding excluded).
    public var payloadRange: Range<Int>

    /// Parses an RTP packet (RFC 3550 §5.1, with CSRCs, §5.3.1 extension, and padding).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RTPParseError) -> RTPPacketView {
        let length = bytes.count
        guard length >= RTPHeader.fixedSize else { throw .tooShort(length: length) }
        let b0 = bytes[0], b1 = bytes[1]
        let version = b0 >> RTPHeader.versionShift
        guard version == RTPHeader.version else { throw .badVersion(version) }
        var header = RTPHeader(
            marker: (b1 & RTPHeader.markerBit) != 0,
            payloadType: b1 & RTPHeader.payloadTypeMask,
            sequenceNumber: UInt16(bytes[2]) << 8 | UInt16(bytes[3]),
            timestamp: readUInt32(bytes, 4),
            ssrc: readUInt32(bytes, 8))
        header.padding = (b0 & RTPHeader.paddingBit) != 0
        header.hasExtension = (b0 & RTPHeader.extensionBit) != 0
        header.csrcCount = b0 & RTPHeader.csrcCountMask

        var offset = RTPHeader.fixedSize
        let csrcEnd = offset + Int(header.csrcCount) * 4
        guard csrcEnd <= length else { throw .csrcOverrun(count: header.csrcCount, length: length) }
        let csrcRange = offset..<csrcEnd
        offset = csrcEnd

        var profile: UInt16? = nil
        var extensionRange = offset..<offset
        if header.hasExtension {
            guard offset + 4 <= length else { throw .extensionOverrun(length: length) }
            profile = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let words = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
            let end = offset + 4 + words * 4
            guard end <= length else { throw .extensionOverrun(length: length) }
            extensionRange = (offset + 4)..<end
            offset = end
        }

        var payloadEnd = length
        if header.padding {
            let pad = Int(bytes[length - 1])
            guard pad >= 1, pad <= length - offset else { throw .paddingOverrun(padding: pad, available: length - offset) }
            payloadEnd = length - pad
        }
        return RTPPacketView(header: header, csrcRange: csrcRange, extensionProfile: profile,
                             extensionRange: extensionRange, payloadRange: offset..<payloadEnd)
    }

    /// The CSRC identifier at `index` (0 ..< csrcCount) from the datagram this view was parsed from.
    public func csrc(_ index: Int, in bytes: UnsafeRawBufferPointer) -> UInt32? {
        let at = csrcRange.lowerBound + index * 4
        guard index >= 0, at + 4 <= csrcRange.upperBound, csrcRange.upperBound <= bytes.count else { return nil }
        return readUInt32(bytes, at)
    }
}

extension RTPHeader {
    /// Size of this header when written (fixed part; CSRCs and extension are not written by `write`).
    public var encodedSize: Int { RTPHeader.fixedSize }

    /// Writes the 12-byte fixed header (no CSRCs, no extension, no padding) at the start of `buffer`.
    /// - Returns: bytes written, or 0 if the buffer is too small.
    @discardableResult
    public func write(to buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= RTPHeader.fixedSize else { return 0 }
        buffer[0] = RTPHeader.version << RTPHeader.versionShift
        buffer[1] = (marker ? RTPHeader.markerBit : 0) | (payloadType & RTPHeader.payloadTypeMask)
        buffer[2] = UInt8(truncatingIfNeeded: sequenceNumber >> 8)
        buffer[3] = UInt8(truncatingIfNeeded: sequenceNumber)
        writeUInt32(buffer, 4, timestamp)
        writeUInt32(buffer, 8, ssrc)
        return RTPHeader.fixedSize
    }
}

@inline(__always)
func readUInt32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

@inline(__always)
func writeUInt32(_ b: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt32) {
    b[at] = UInt8(truncatingIfNeeded: v >> 24)
    b[at + 1] = UInt8(truncatingIfNeeded: v >> 16)
    b[at + 2] = UInt8(truncatingIfNeeded: v >> 8)
    b[at + 3] = UInt8(truncatingIfNeeded: v)
}
