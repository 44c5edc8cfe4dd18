/// Extends a wrapping counter (16-bit RTP sequence number, 32-bit RTP timestamp) to 64 bits.
///
/// The one place where wrap-around is resolved: each value is placed at the extension
/// nearest to the highest value seen so far, so a step forward of less than half the
/// counter's range counts as forward (crossing the wrap adds a cycle) and a step back of
/// at most half the range is a late arrival (it may lie in the previous cycle).
///
/// ```
///   highest = 3 cycles + 65530     value 2    -> 4 cycles + 2      (forward across the wrap)
///   highest = 4 cycles + 2         value 65533 -> 3 cycles + 65533 (late, previous cycle)
/// ```
/// The first value starts at cycle 1 (`1 << bitWidth`), so a late value just before it
/// never goes below zero.
public struct WrapUnwrapper<Value: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// The highest extended value so far, or nil before the first value.
    public private(set) var highest: UInt64?

    public init() {}

    static var modulus: UInt64 { UInt64(1) << UInt64(Value.bitWidth) }

    /// - Returns: the extended value; `highest` moves forward when it is newer.
    public mutating func unwrap(_ value: Value) -> UInt64 {
        let modulus = Self.modulus
        guard let high = highest else {
            let first = modulus + UInt64(value)
            highest = first
            return first
        }
        let extended = Self.extend(value, near: high)
        if extended > high { highest = extended }
        return extended
    }

    /// The extension of `value` nearest to `reference`, without changing any state.
    public static func extend(_ value: Value, near reference: UInt64) -> UInt64 {
        let modulus = Self.modulus
        let half = modulus / 2
        let refLow = reference & (modulus - 1)
        let v = UInt64(value)
        let forward = (v &- refLow) & (modulus - 1)     // steps from reference to value, going up
        if forward < half { return reference + forward }
        let backward = modulus - forward                // value is `backward` steps behind
        return backward <= reference ? reference - backward : reference + forward
    }
}

public typealias SequenceUnwrapper = WrapUnwrapper<UInt16>
public typealias TimestampUnwrapper = WrapUnwrapper<UInt32>
