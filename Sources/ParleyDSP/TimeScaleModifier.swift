/// Pitch-synchronous time-scale modification of a short run of PCM (WSOLA-style, the
/// shape of WebRTC NetEq's "accelerate" and "preemptive expand"): it removes or repeats
/// exactly one pitch period, cross-faded over that period, so a jitter buffer can change
/// its delay in the middle of speech without a click or a cut word.
///
/// The pitch period is the lag in `minimumPeriodMs ... maximumPeriodMs` (2.5 ... 15 ms,
/// 400 ... 67 Hz) with the highest normalized cross-correlation between the run and
/// itself shifted by that lag, searched on an 8 kHz grid (every `sampleRate / 8000`th
/// sample) with `SIMD8<Float>` dot products. A period is removed or repeated only where
/// the two periods match (correlation at least `minimumCorrelation`) or the run is quiet
/// (below `quietDBov`): a poor match in loud, unvoiced sound is left alone and the caller
/// tries again on the next frame.
///
/// Works in place on the caller's buffer; scratch space is allocated in `init`, nothing
/// per call. Confined to one stream.
public struct TimeScaleModifier {
    public let sampleRate: Int
    /// Lag search step in samples (1 at 8 kHz, 6 at 48 kHz).
    public let step: Int
    public let minimumPeriod: Int
    public let maximumPeriod: Int
    public var minimumCorrelation: Float = 0.5
    public var quietDBov: Float = -45
    private var scratch: [Float]

    /// Samples a run should hold for every period to be searched: two longest periods
    /// (a shorter run, down to two shortest periods, searches the periods it can).
    public var minimumRun: Int { 2 * maximumPeriod }

    public init(sampleRate: Int, minimumPeriodMs: Double = 2.5, maximumPeriodMs: Double = 15) {
        self.sampleRate = sampleRate
        step = max(1, sampleRate / 8000)
        minimumPeriod = max(step, Int(Double(sampleRate) * minimumPeriodMs / 1000) / step * step)
        maximumPeriod = max(minimumPeriod, Int(Double(sampleRate) * maximumPeriodMs / 1000) / step * step)
        scratch = [Float](repeating: 0, count: 2 * maximumPeriod / step + 8)
    }

    /// The best period at the start of `run` and its normalized correlation (0 when the
    /// run is too short or silent).
    public mutating func period(_ run: UnsafeBufferPointer<Int16>) -> (period: Int, correlation: Float) {
        // A run shorter than two longest periods searches only the periods it holds twice.
        let longest = min(maximumPeriod, run.count / 2 / step * step)
        guard longest >= minimumPeriod, let base = run.baseAddress else { return (0, 0) }
        let step = self.step, minLag = minimumPeriod / step, maxLag = longest / step
        let decimated = 2 * maxLag
        return scratch.withUnsafeMutableBufferPointer { s -> (Int, Float) in
            guard let x = s.baseAddress else { return (0, 0) }
            for i in 0..<decimated { x[i] = Float(base[i * step]) }
            for i in decimated..<s.count { x[i] = 0 }
            var bestLag = 0
            var best: Float = -2
            for lag in minLag...maxLag {
                // Correlate x[0 ..< lag] with x[lag ..< 2 lag]: one period with the next.
                let (xy, xx, yy) = Self.dot(x, x + lag, count: lag)
                let denominator = (xx * yy).squareRoot()
                let c = denominator > 0 ? xy / denominator : 0
                if c > best { best = c; bestLag = lag }
            }
            return (bestLag * step, max(0, best))
        }
    }

    /// Removes one pitch period from the start of `buffer[0 ..< count]` (cross-fading the
    /// first period into the second). Returns the new count: `count - period`, or `count`
    /// when nothing could be removed without being heard.
    public mutating func compress(_ buffer: UnsafeMutableBufferPointer<Int16>, count: Int) -> Int {
        guard count <= buffer.count, let base = buffer.baseAddress,
              let p = acceptablePeriod(UnsafeBufferPointer(rebasing: buffer[0..<count])) else { return count }
        // y[0 ..< p] = fade(x[0 ..< p] → x[p ..< 2p]); then x[2p ..< count] follows.
        Self.crossFade(from: base, to: base + p, into: base, count: p)
        UnsafeMutableRawPointer(base + p).copyMemory(from: base + 2 * p, byteCount: (count - 2 * p) * 2)  // memmove
        return count - p
    }

    /// Repeats one pitch period near the start of `buffer[0 ..< count]`. Returns the new
    /// count: `count + period`, or `count` when it could not (poor match, or no room).
    public mutating func stretch(_ buffer: UnsafeMutableBufferPointer<Int16>, count: Int) -> Int {
        guard count <= buffer.count, let base = buffer.baseAddress,
              let p = acceptablePeriod(UnsafeBufferPointer(rebasing: buffer[0..<count])),
              count + p <= buffer.count else { return count }
        // y = x[0 ..< p], fade(x[p ..< 2p] → x[0 ..< p]), x[p ..< count].
        UnsafeMutableRawPointer(base + 2 * p).copyMemory(from: base + p, byteCount: (count - p) * 2)  // memmove
        Self.crossFade(from: base + 2 * p, to: base, into: base + p, count: p)
        return count + p
    }

    private mutating func acceptablePeriod(_ run: UnsafeBufferPointer<Int16>) -> Int? {
        let (p, c) = period(run)
        guard p > 0, 2 * p <= run.count else { return nil }
        if c >= minimumCorrelation { return p }
        let head = UnsafeBufferPointer(rebasing: run[0..<(2 * p)])
        return FrameEnergy.dBov(head) < quietDBov ? p : nil
    }

    /// `(Σ a·b, Σ a², Σ b²)` over `count` floats, eight lanes at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> (Float, Float, Float) {
        var ab = SIMD8<Float>(), aa = SIMD8<Float>(), bb = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            ab.addProduct(va, vb)
            aa.addProduct(va, va)
            bb.addProduct(vb, vb)
            i += 8
        }
        var sab = ab.sum(), saa = aa.sum(), sbb = bb.sum()
        while i < count {
            sab += a[i] * b[i]
            saa += a[i] * a[i]
            sbb += b[i] * b[i]
            i += 1
        }
        return (sab, saa, sbb)
    }

    /// `out[k] = from[k]·(1 − w) + to[k]·w` with `w` rising linearly over `count`
    /// samples, eight at a time. `out` may be `from` or `to` (read before written).
    static func crossFade(from: UnsafePointer<Int16>, to: UnsafePointer<Int16>, into out: UnsafeMutablePointer<Int16>, count: Int) {
        let scale = 1 / Float(count + 1)
        let ramp = SIMD8<Float>(1, 2, 3, 4, 5, 6, 7, 8)
        var i = 0
        while i + 8 <= count {
            let w = (ramp + Float(i)) * scale
            let a = SIMD8<Float>(UnsafeRawPointer(from + i).loadUnaligned(as: SIMD8<Int16>.self))
            let b = SIMD8<Float>(UnsafeRawPointer(to + i).loadUnaligned(as: SIMD8<Int16>.self))
            let y = (a + (b - a) * w).rounded(.toNearestOrAwayFromZero)
            UnsafeMutableRawPointer(out + i).storeBytes(of: SIMD8<Int16>(clamping: SIMD8<Int32>(y)), as: SIMD8<Int16>.self)
            i += 8
        }
        while i < count {
            let w = Float(i + 1) * scale
            let a = Float(from[i]), b = Float(to[i])
            out[i] = Int16(clamping: Int32((a + (b - a) * w).rounded()))
            i += 1
        }
    }
}
