/// The N−1 mixer of a conference room: every participant hears the sum of everyone else
/// who is speaking, never themselves.
///
/// Each 20 ms the room writes one frame per participant slot (`input(_:)`, at the room's
/// rate), marks who speaks (`speaking`, from `TalkerDetector` and mutes) with their level
/// (`level`, dBov), and calls `mix(count:)`. The speakers' frames are summed once into a
/// 32-bit accumulator; a speaker's own output is that sum minus their frame, saturated to
/// 16 bits. Everyone who is not mixed in (listeners, the muted, those cut by loudest-N)
/// hears the same thing — the whole sum — so they share one output buffer (`sharedOutput`),
/// and the room encodes it once per codec.
///
/// The inner loops use `SIMD16` vectors (16 samples, 32-bit lanes); `ScalarConferenceMixer`
/// is the same mixer written per sample, the reference in tests and benchmarks. All buffers
/// are allocated at init: `mix` allocates nothing. Not thread-safe: one room, one thread.
public final class ConferenceMixer {
    public typealias Vector = SIMD16<Int32>
    public static let lanes = 16
    /// Samples per frame (20 ms at the room's rate: 160, 320 or 960).
    public let frameSamples: Int
    /// Participant slots.
    public let capacity: Int
    /// Mix at most this many speakers, the loudest by `level` (nil: every speaker).
    public var loudest: Int?
    /// Set by the caller before `mix`: who wants to be heard this frame, and how loud (dBov).
    public var speaking: [Bool]
    public var level: [Float]
    /// After `mix`: who was mixed in (and so has an output of their own).
    public private(set) var mixed: [Bool]
    /// After `mix`: how many were mixed in.
    public private(set) var mixedCount = 0

    private let stride: Int
    private let inputs: UnsafeMutablePointer<Int16>
    private let outputs: UnsafeMutablePointer<Int16>
    private let shared: UnsafeMutablePointer<Int16>
    private let total: UnsafeMutablePointer<Int32>
    private var order: [Int]

    /// `frameSamples`: any positive count (a tail shorter than 16 samples runs per sample).
    public init(frameSamples: Int, capacity: Int) {
        self.frameSamples = max(1, frameSamples)
        self.capacity = max(1, capacity)
        stride = (self.frameSamples + ConferenceMixer.lanes - 1) / ConferenceMixer.lanes * ConferenceMixer.lanes
        inputs = .allocate(capacity: self.capacity * stride)
        inputs.initialize(repeating: 0, count: self.capacity * stride)
        outputs = .allocate(capacity: self.capacity * stride)
        outputs.initialize(repeating: 0, count: self.capacity * stride)
        shared = .allocate(capacity: stride)
        shared.initialize(repeating: 0, count: stride)
        total = .allocate(capacity: stride)
        total.initialize(repeating: 0, count: stride)
        speaking = [Bool](repeating: false, count: self.capacity)
        level = [Float](repeating: -96, count: self.capacity)
        mixed = [Bool](repeating: false, count: self.capacity)
        order = [Int](repeating: 0, count: self.capacity)
    }

    deinit {
        inputs.deallocate(); outputs.deallocate(); shared.deallocate(); total.deallocate()
    }

    /// Where slot `slot` writes its next frame (`frameSamples` samples).
    public func input(_ slot: Int) -> UnsafeMutableBufferPointer<Int16> {
        UnsafeMutableBufferPointer(start: inputs + min(max(0, slot), capacity - 1) * stride, count: frameSamples)
    }

    /// What slot `slot` hears after `mix`: its own N−1 mix when it was mixed in, else the shared one.
    public func output(_ slot: Int) -> UnsafeBufferPointer<Int16> {
        let s = min(max(0, slot), capacity - 1)
        return UnsafeBufferPointer(start: mixed[s] ? outputs + s * stride : shared, count: frameSamples)
    }

    /// What everyone who is not mixed in hears: the whole mix.
    public var sharedOutput: UnsafeBufferPointer<Int16> { UnsafeBufferPointer(start: shared, count: frameSamples) }

    /// Mixes slots `0..<count`.
    public func mix(count: Int) {
        let n = min(max(0, count), capacity)
        selectSpeakers(n)
        let frames = stride / ConferenceMixer.lanes
        let rawTotal = UnsafeMutableRawPointer(total)
        // The 32-bit sum of every speaker.
        for k in 0..<frames { rawTotal.storeBytes(of: Vector(repeating: 0), toByteOffset: k * 64, as: Vector.self) }
        for i in 0..<n where mixed[i] {
            let source = UnsafeRawPointer(inputs + i * stride)
            for k in 0..<frames {
                let v = Vector(truncatingIfNeeded: source.loadUnaligned(fromByteOffset: k * 32, as: SIMD16<Int16>.self))
                let t = rawTotal.load(fromByteOffset: k * 64, as: Vector.self)
                rawTotal.storeBytes(of: t &+ v, toByteOffset: k * 64, as: Vector.self)
            }
        }
        let low = Vector(repeating: -32768), high = Vector(repeating: 32767)
        let rawShared = UnsafeMutableRawPointer(shared)
        for k in 0..<frames {
            let t = rawTotal.load(fromByteOffset: k * 64, as: Vector.self)
            rawShared.storeBytes(of: SIMD16<Int16>(truncatingIfNeeded: t.clamped(lowerBound: low, upperBound: high)),
                                 toByteOffset: k * 32, as: SIMD16<Int16>.self)
        }
        // Each speaker: the sum without their own frame.
        for i in 0..<n where mixed[i] {
            let source = UnsafeRawPointer(inputs + i * stride)
            let target = UnsafeMutableRawPointer(outputs + i * stride)
            for k in 0..<frames {
                let v = Vector(truncatingIfNeeded: source.loadUnaligned(fromByteOffset: k * 32, as: SIMD16<Int16>.self))
                let t = rawTotal.load(fromByteOffset: k * 64, as: Vector.self) &- v
                target.storeBytes(of: SIMD16<Int16>(truncatingIfNeeded: t.clamped(lowerBound: low, upperBound: high)),
                                  toByteOffset: k * 32, as: SIMD16<Int16>.self)
            }
        }
    }

    /// Marks `mixed`: every speaker, or the `loudest` of them by level (ties: lower slot first).
    private func selectSpeakers(_ n: Int) {
        mixedCount = 0
        for i in 0..<capacity { mixed[i] = false }
        var candidates = 0
        for i in 0..<n where speaking[i] {
            order[candidates] = i
            candidates += 1
        }
        let limit = loudest.map { max(0, $0) } ?? candidates
        if candidates > limit {
            // Partial selection sort: limit is small (a few talkers), n at most a few dozen.
            for a in 0..<limit {
                var best = a
                for b in (a + 1)..<candidates where level[order[b]] > level[order[best]] { best = b }
                order.swapAt(a, best)
            }
            candidates = limit
        }
        for c in 0..<candidates { mixed[order[c]] = true }
        mixedCount = candidates
    }

    /// `source` scaled by `gain` (Q8: 256 is unity), saturated, into `target` (same count).
    public static func applyGain(_ source: UnsafeBufferPointer<Int16>, gainQ8: Int32, into target: UnsafeMutableBufferPointer<Int16>) {
        guard let s = source.baseAddress, let t = target.baseAddress else { return }
        let count = min(source.count, target.count)
        let g = Vector(repeating: gainQ8)
        let low = Vector(repeating: -32768), high = Vector(repeating: 32767)
        var k = 0
        while k + lanes <= count {
            let v = Vector(truncatingIfNeeded: UnsafeRawPointer(s + k).loadUnaligned(as: SIMD16<Int16>.self))
            let scaled = (v &* g) &>> 8
            UnsafeMutableRawPointer(t + k).storeBytes(of: SIMD16<Int16>(truncatingIfNeeded: scaled.clamped(lowerBound: low, upperBound: high)),
                                                      as: SIMD16<Int16>.self)
            k += lanes
        }
        while k < count {
            t[k] = Int16(clamping: (Int32(s[k]) &* gainQ8) >> 8)
            k += 1
        }
    }
}
