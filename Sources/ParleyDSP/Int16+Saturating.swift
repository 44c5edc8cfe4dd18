// Float → 16-bit PCM conversion shared by the resampler and the tone generator.

extension Int16 {
    /// `v` rounded to nearest (ties to even) and clipped to the 16-bit range.
    ///
    /// Adding and subtracting 1.5 × 2²³ leaves a `Float` with no fraction bits (for
    /// |v| < 2²²); `rounded(.toNearestOrEven)` compiles to a call to `rintf` on the baseline
    /// x86-64 target (no SSE4.1 `roundss`), which measured 5–17 % of the time per frame.
    /// `v` must not be NaN, and cannot be here: the callers compute it from 16-bit samples
    /// and finite, validated coefficients. (Ordering the clamp so that NaN maps to −32 768
    /// measured 20 % slower on 48 → 8 kHz.)
    @inline(__always)
    init(saturatingRounded v: Float) {
        let clipped = Swift.min(Swift.max(v, -32768), 32767)
        let magic: Float = 12_582_912
        self.init((clipped + magic) - magic)
    }
}
