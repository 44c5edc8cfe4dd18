/// ITU-T G.711 µ-law and A-law, bit-exact with the reference converters (spandsp's
/// `linear_to_ulaw` / `linear_to_alaw` and their inverses) for every input.
///
/// The segment and the four mantissa bits of a companded code are the position of the
/// magnitude's top bit and the four bits below it; converting the (at most 16-bit)
/// magnitude to `Float` yields exactly those as the exponent and the top mantissa bits,
/// so one conversion and constant shifts replace the per-sample bit scan of the scalar
/// algorithm, with no branches, and the block loop vectorizes.
/// Decoding is a 256-entry table lookup.
///
/// All functions are pure, allocate nothing and may run on any thread.
public enum G711 {
    public enum Law: Sendable, Hashable {
        case ulaw
        case alaw

        /// The static RTP payload type (RFC 3551): PCMU 0, PCMA 8.
        public var payloadType: UInt8 { self == .ulaw ? 0 : 8 }
        /// The RTP/SDP encoding name.
        public var encodingName: String { self == .ulaw ? "PCMU" : "PCMA" }
        /// The code for a zero sample (digital silence).
        public var silenceByte: UInt8 { self == .ulaw ? 0xFF : 0xD5 }
    }

    static let ulawBias: Int32 = 0x84
    static let alawAMIMask: UInt8 = 0x55

    // MARK: Scalar reference forms (used for tails and as the readable specification)

    /// Encodes one sample to µ-law (G.711 table 2, with the 0x84 bias).
    @inlinable
    public static func ulaw(_ sample: Int16) -> UInt8 {
        var linear = Int32(sample)
        let mask: UInt8
        if linear >= 0 { linear = 0x84 + linear; mask = 0xFF } else { linear = 0x84 - linear; mask = 0x7F }
        let topBit = 31 - Int32((linear | 0xFF).leadingZeroBitCount)
        let segment = topBit - 7
        if segment >= 8 { return 0x7F ^ mask }
        return UInt8(truncatingIfNeeded: (segment << 4) | ((linear >> (segment + 3)) & 0xF)) ^ mask
    }

    /// Encodes one sample to A-law (G.711 table 1a, even bits inverted).
    @inlinable
    public static func alaw(_ sample: Int16) -> UInt8 {
        var linear = Int32(sample)
        let mask: UInt8
        if linear >= 0 { mask = 0x55 | 0x80 } else { mask = 0x55; linear = -linear - 1 }
        let topBit = 31 - Int32((linear | 0xFF).leadingZeroBitCount)
        let segment = topBit - 7
        let shift = segment == 0 ? 4 : segment + 3
        return UInt8(truncatingIfNeeded: (segment << 4) | ((linear >> shift) & 0x0F)) ^ mask
    }

    /// Decodes one µ-law code.
    @inlinable
    public static func linear(ulaw code: UInt8) -> Int16 { ulawTable[Int(code)] }

    /// Decodes one A-law code.
    @inlinable
    public static func linear(alaw code: UInt8) -> Int16 { alawTable[Int(code)] }

    public static let ulawTable: [Int16] = (0..<256).map { decodeULaw(UInt8($0)) }
    public static let alawTable: [Int16] = (0..<256).map { decodeALaw(UInt8($0)) }

    static func decodeULaw(_ code: UInt8) -> Int16 {
        let u = Int32(~code)
        let t = (((u & 0x0F) << 3) + ulawBias) << ((u & 0x70) >> 4)
        return Int16(truncatingIfNeeded: (u & 0x80) != 0 ? (ulawBias - t) : (t - ulawBias))
    }

    static func decodeALaw(_ code: UInt8) -> Int16 {
        let a = Int32(code ^ alawAMIMask)
        var i = (a & 0x0F) << 4
        let segment = (a & 0x70) >> 4
        if segment != 0 { i = (i + 0x108) << (segment - 1) } else { i += 8 }
        return Int16(truncatingIfNeeded: (a & 0x80) != 0 ? i : -i)
    }

    // MARK: Block forms

    /// Encodes `input` into `output` (which must be at least as long).
    ///
    /// The loop body is branch-free (`ulawBranchless`/`alawBranchless`), which the
    /// compiler turns into vector code; it measured faster than explicit `SIMD16` code
    /// (`ulaw16`, kept for the comparison in the benchmarks).
    /// - Returns: the number of codes written (`input.count`), or 0 if `output` is too short.
    @discardableResult
    public static func encode(_ law: Law, _ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        guard output.count >= input.count, let src = input.baseAddress, let dst = output.baseAddress else { return 0 }
        let n = input.count
        switch law {
        case .ulaw: for i in 0..<n { dst[i] = ulawBranchless(src[i]) }
        case .alaw: for i in 0..<n { dst[i] = alawBranchless(src[i]) }
        }
        return n
    }

    /// µ-law without branches: the magnitude plus bias as a `Float` carries the segment in
    /// its exponent and the four mantissa bits below the top bit.
    @inlinable @inline(__always)
    public static func ulawBranchless(_ sample: Int16) -> UInt8 {
        let x = Int32(sample)
        let sign = x >> 31                              // 0 or -1
        let biased = ((x ^ sign) &- sign) &+ 0x84       // |x| + 132: 132 ... 32 900
        // Clamp in the float domain (minps is baseline SSE; a 32-bit integer min is not):
        // every magnitude from 32 767 up encodes as segment 7, mantissa 15 = 0x7F.
        let bits = Int32(bitPattern: min(Float(biased), 32767).bitPattern)
        let code = (bits >> 19) &- ((127 + 7) << 4)
        let mask = 0x7F | (~sign & 0x80)                // 0xFF for x >= 0, 0x7F below
        return UInt8(truncatingIfNeeded: code ^ mask)
    }

    /// A-law without branches (segment 0 below magnitude 256 is `magnitude >> 4`).
    @inlinable @inline(__always)
    public static func alawBranchless(_ sample: Int16) -> UInt8 {
        let x = Int32(sample)
        let sign = x >> 31
        let magnitude = x ^ sign                        // x, or -x - 1 below zero
        let bits = Int32(bitPattern: Float(magnitude).bitPattern)
        let segmented = (bits >> 19) &- ((127 + 7) << 4)
        let code = magnitude >= 256 ? segmented : magnitude >> 4
        let mask = 0x55 | (~sign & 0x80)
        return UInt8(truncatingIfNeeded: code ^ mask)
    }

    /// Encodes with explicit `SIMD16` steps (for comparison; see `encode`).
    @discardableResult
    public static func encodeSIMD16(_ law: Law, _ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        guard output.count >= input.count, let src = input.baseAddress, let dst = output.baseAddress else { return 0 }
        let n = input.count
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Int16>.self)
            let codes = law == .ulaw ? ulaw16(v) : alaw16(v)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: codes, as: SIMD16<UInt8>.self)
            i += 16
        }
        while i < n { dst[i] = law == .ulaw ? ulaw(src[i]) : alaw(src[i]); i += 1 }
        return n
    }

    /// Decodes `input` into `output` (which must be at least as long).
    ///
    /// Branch-free arithmetic per code (`linearBranchless`), which vectorizes; a table
    /// lookup cannot (no gather in the baseline instruction set).
    /// - Returns: the number of samples written, or 0 if `output` is too short.
    @discardableResult
    public static func decode(_ law: Law, _ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard output.count >= input.count, let src = input.baseAddress, let dst = output.baseAddress else { return 0 }
        switch law {
        case .ulaw: for i in 0..<input.count { dst[i] = linearBranchless(ulaw: src[i]) }
        case .alaw: for i in 0..<input.count { dst[i] = linearBranchless(alaw: src[i]) }
        }
        return input.count
    }

    /// µ-law to linear without branches or variable shifts. The decoded magnitude plus bias,
    /// `((mantissa << 3) + 132) << segment`, is the float 2^(7+segment) × (1 + m/16 + 1/32):
    /// its bit pattern is the code's low seven bits shifted into place plus a constant.
    @inlinable @inline(__always)
    public static func linearBranchless(ulaw code: UInt8) -> Int16 {
        let u = Int32(~code)
        let bits = ((u & 0x7F) << 19) &+ ((127 + 7) << 23 | 1 << 18)
        let t = floatToInt(Float(bitPattern: UInt32(bitPattern: bits)))
        let negative = (u & 0x80) >> 7                  // 1 when the sign bit is set
        let magnitude = t &- 0x84
        return Int16(truncatingIfNeeded: (magnitude ^ -negative) &+ negative)
    }

    /// Exact conversion of a whole-number float in [0, 2^23) to an integer without the range
    /// check `Int32(_: Float)` carries (a branch per element that stops vectorization):
    /// adding 2^23 puts the integer in the low mantissa bits.
    @inlinable @inline(__always)
    static func floatToInt(_ f: Float) -> Int32 {
        Int32(bitPattern: (f + 8_388_608).bitPattern) & 0x7F_FFFF
    }

    /// A-law to linear without branches: segments 1–7 decode as µ-law's float form without
    /// the bias; segment 0 is linear (16 m + 8).
    @inlinable @inline(__always)
    public static func linearBranchless(alaw code: UInt8) -> Int16 {
        let a = Int32(code ^ 0x55)
        let bits = ((a & 0x7F) << 19) &+ ((127 + 7) << 23 | 1 << 18)
        let segmented = floatToInt(Float(bitPattern: UInt32(bitPattern: bits)))
        let linear = ((a & 0x0F) << 4) &+ 8
        let magnitude = (a & 0x70) == 0 ? linear : segmented
        let negative = 1 &- ((a & 0x80) >> 7)            // A-law: sign bit set means positive
        return Int16(truncatingIfNeeded: (magnitude ^ -negative) &+ negative)
    }

    /// Sixteen µ-law codes at once. See the type's comment for the float-exponent method.
    @inlinable
    public static func ulaw16(_ x: SIMD16<Int16>) -> SIMD16<UInt8> {
        let linear = SIMD16<Int32>(truncatingIfNeeded: x)
        let negative = linear .< 0
        // Magnitude with bias: 132 ... 32 900, never below 2^7, so the segment is exponent - 7.
        let magnitude = (SIMD16<Int32>(repeating: 0x84) &+ linear).replacing(with: SIMD16<Int32>(repeating: 0x84) &- linear, where: negative)
        let bits = unsafeBitCast(SIMD16<Float>(magnitude), to: SIMD16<Int32>.self)
        // bits >> 19 = (exponent << 4) | top four mantissa bits; exponent = topBit + 127.
        var code = (bits &>> 19) &- SIMD16<Int32>(repeating: (127 + 7) << 4)
        code = pointwiseMin(code, SIMD16<Int32>(repeating: 0x7F))
        let mask = SIMD16<Int32>(repeating: 0xFF).replacing(with: SIMD16<Int32>(repeating: 0x7F), where: negative)
        return SIMD16<UInt8>(truncatingIfNeeded: code ^ mask)
    }

    /// Sixteen A-law codes at once.
    @inlinable
    public static func alaw16(_ x: SIMD16<Int16>) -> SIMD16<UInt8> {
        let linear = SIMD16<Int32>(truncatingIfNeeded: x)
        let negative = linear .< 0
        let magnitude = linear.replacing(with: SIMD16<Int32>(repeating: -1) &- linear, where: negative)
        let bits = unsafeBitCast(SIMD16<Float>(magnitude), to: SIMD16<Int32>.self)
        let segmented = (bits &>> 19) &- SIMD16<Int32>(repeating: (127 + 7) << 4)
        // Below 256 the code is segment 0 with magnitude >> 4.
        let code = (magnitude &>> 4).replacing(with: segmented, where: magnitude .>= 256)
        let mask = SIMD16<Int32>(repeating: 0xD5).replacing(with: SIMD16<Int32>(repeating: 0x55), where: negative)
        return SIMD16<UInt8>(truncatingIfNeeded: code ^ mask)
    }
}
