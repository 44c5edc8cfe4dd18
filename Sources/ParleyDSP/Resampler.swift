#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors creating a `Resampler`; each names the rate that was refused.
public enum ResamplerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Which side of the converter a refused rate was given for.
    public enum Side: String, Sendable { case input, output }

    /// `rate` (Hz) is not one of `Resampler.supportedRates`.
    case unsupportedRate(rate: Int, side: Side)

    public var description: String {
        switch self {
        case let .unsupportedRate(rate, side):
            let supported = Resampler.supportedRates.map(String.init).joined(separator: ", ")
            return "unsupported \(side.rawValue) sample rate \(rate) Hz (supported: \(supported) Hz)"
        }
    }
}

/// Streaming sample-rate converter between 8, 16 and 48 kHz mono 16-bit PCM.
///
/// A polyphase FIR: one windowed-sinc low-pass prototype (Kaiser window, β = 7) at the
/// rate `inputRate × up`, split into `up` sub-filters so that upsampling never multiplies
/// by the zeros it inserts, and evaluated only at kept outputs when downsampling. Every
/// supported pair is an integer ratio (2, 3 or 6) one way or the other, so either `up` or
/// `down` is 1.
///
/// The filter's transition band is centred on the lower rate's Nyquist frequency and
/// ±15 % of it wide: 3.4–4.6 kHz when 8 kHz is involved, 6.8–9.2 kHz between 16 and 48 kHz.
/// It is sized (Kaiser's formula for 72 dB) so that the passband ripple stays far below
/// 0.1 dB up to the band edge and everything beyond the stop edge (aliases when
/// downsampling, images when upsampling) is more than 60 dB down; `ResamplerTests`
/// measures both. Its length is then rounded so that the group delay is a whole number of
/// output samples (`delaySamples`: 1.875 ms where 8 kHz is involved, 0.9375 ms
/// between 16 and 48 kHz).
///
/// Arithmetic is in `Float` with `SIMD8` multiply-adds over a history buffer that holds
/// the last `taps - 1` input samples, so the state carries across calls and streaming in
/// chunks of any size gives bit-for-bit the output of one large call. Results are rounded
/// to nearest and saturate at the 16-bit limits (a full-scale square wave overshoots by
/// the Gibbs ripple; it clips rather than wraps).
///
/// All buffers are allocated in `init`; `process` allocates nothing. One converter per
/// stream; not thread-safe (confine it to the stream's event loop).
public final class Resampler {
    /// The sample rates (Hz) a converter can be created for, in either direction.
    public static let supportedRates = [8000, 16000, 48000]

    /// Input sample rate in Hz.
    public let inputRate: Int
    /// Output sample rate in Hz.
    public let outputRate: Int
    /// Upsampling factor (outputs per input); 1 when downsampling.
    let up: Int
    /// Downsampling factor (inputs per output); 1 when upsampling.
    let down: Int
    /// Taps per polyphase sub-filter, a multiple of 8 (zero-padded at the oldest end).
    let taps: Int
    /// Non-zero taps of the prototype filter at `inputRate × up` (odd).
    let prototypeLength: Int
    /// Group delay in output samples: an output at index `m` shows the input at the
    /// (output-rate) time `m - delaySamples`.
    public let delaySamples: Int

    /// `up` sub-filters of `taps` coefficients each, stored oldest tap first so that a
    /// forward dot product with the history window computes the convolution.
    private let coefficients: UnsafeMutablePointer<Float>
    /// `taps - 1` samples of history followed by room for `blockCapacity` new ones.
    private let work: UnsafeMutablePointer<Float>
    private let historyLength: Int
    /// Input samples converted to `Float` per inner pass; longer inputs take several passes.
    private static let blockCapacity = 1024
    /// When downsampling: how many input samples of the next call come before the one
    /// that completes the next output (0 ..< down). Always 0 when upsampling.
    private var skip = 0
    /// Stand-in destination for an empty output buffer (never written).
    private let sink: UnsafeMutablePointer<Int16>

    /// Creates a converter from `inputRate` to `outputRate` (Hz, each one of
    /// `supportedRates`). Equal rates give a pass-through copy with no delay.
    public init(from inputRate: Int, to outputRate: Int) throws(ResamplerError) {
        guard Resampler.supportedRates.contains(inputRate) else { throw .unsupportedRate(rate: inputRate, side: .input) }
        guard Resampler.supportedRates.contains(outputRate) else { throw .unsupportedRate(rate: outputRate, side: .output) }
        self.inputRate = inputRate
        self.outputRate = outputRate
        let up = outputRate > inputRate ? outputRate / inputRate : 1
        let down = inputRate > outputRate ? inputRate / outputRate : 1
        self.up = up
        self.down = down

        let design = Resampler.design(inputRate: inputRate, outputRate: outputRate, up: up, down: down)
        prototypeLength = design.prototype.count
        delaySamples = design.delay
        taps = design.taps
        historyLength = taps - 1

        // Polyphase split: sub-filter p holds h[p + j·up] for input delays j = 0 ..< taps,
        // scaled by `up` (each output sees only one input in `up`), newest input last.
        coefficients = .allocate(capacity: up * taps)
        coefficients.initialize(repeating: 0, count: up * taps)
        for p in 0..<up {
            for j in 0..<taps {
                let k = p + j * up
                if k < design.prototype.count {
                    coefficients[p * taps + (taps - 1 - j)] = Float(design.prototype[k] * Double(up))
                }
            }
        }
        work = .allocate(capacity: historyLength + Resampler.blockCapacity)
        work.initialize(repeating: 0, count: historyLength + Resampler.blockCapacity)
        sink = .allocate(capacity: 1)
        sink.initialize(to: 0)
    }

    deinit {
        coefficients.deallocate()
        work.deallocate()
        sink.deallocate()
    }

    /// Output samples produced for `inputCount` input samples, given the converter's
    /// current state. Exact and constant for 20 ms frames (160, 320, 960 samples); for
    /// other counts when downsampling it depends on where the previous call stopped.
    /// Negative counts give 0; absurdly large ones saturate at `Int.max`.
    public func outputCount(forInput inputCount: Int) -> Int {
        guard inputCount > 0 else { return 0 }
        if down == 1 {
            let (product, overflow) = inputCount.multipliedReportingOverflow(by: up)
            return overflow ? Int.max : product
        }
        guard inputCount > skip else { return 0 }
        return (inputCount - skip - 1) / down + 1
    }

    /// Converts `input` and writes the result to the start of `output`.
    ///
    /// - Returns: the number of samples written (`outputCount(forInput: input.count)`), or 0,
    ///   with the state unchanged, if `output` is shorter than that.
    @discardableResult
    public func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        let needed = outputCount(forInput: input.count)
        guard let src = input.baseAddress, input.count > 0, output.count >= needed else { return 0 }
        // An empty `output` is fine when nothing is due (a short input while downsampling):
        // the input still goes into the history. `sink` is never written then.
        let dst = output.baseAddress ?? sink
        if up == 1 && down == 1 {
            dst.update(from: src, count: input.count)
            return input.count
        }

        var written = 0
        var consumed = 0
        while consumed < input.count {
            let n = min(Resampler.blockCapacity, input.count - consumed)
            let fresh = work + historyLength
            for i in 0..<n { fresh[i] = Float(src[consumed + i]) }

            if down == 1 {
                // Every input sample completes `up` outputs, one per sub-filter; all read
                // the same window (the `taps` samples ending at that input).
                for i in 0..<n {
                    let window = UnsafePointer(work + i)
                    for p in 0..<up {
                        dst[written] = Resampler.saturate(Resampler.dot(coefficients + p * taps, window, taps))
                        written += 1
                    }
                }
            } else {
                // Only every `down`-th input sample completes an output.
                var i = skip
                while i < n {
                    dst[written] = Resampler.saturate(Resampler.dot(coefficients, UnsafePointer(work + i), taps))
                    written += 1
                    i += down
                }
                skip = i - n
            }

            // Keep the newest `historyLength` samples for the next block (forward copy:
            // the source lies above the destination).
            for i in 0..<historyLength { work[i] = work[i + n] }
            consumed += n
        }
        return written
    }

    /// Forgets all history, as if newly created.
    public func reset() {
        work.update(repeating: 0, count: historyLength + Resampler.blockCapacity)
        skip = 0
    }

    // MARK: Kernels

    /// Dot product of `count` (a multiple of 8) floats, in two `SIMD8` accumulators.
    @inline(__always)
    static func dot(_ c: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int) -> Float {
        let cr = UnsafeRawPointer(c), xr = UnsafeRawPointer(x)
        let stride = 8 * MemoryLayout<Float>.stride
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var offset = 0
        let end = count * MemoryLayout<Float>.stride
        while offset + 2 * stride <= end {
            a0 += cr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                * xr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a1 += cr.loadUnaligned(fromByteOffset: offset + stride, as: SIMD8<Float>.self)
                * xr.loadUnaligned(fromByteOffset: offset + stride, as: SIMD8<Float>.self)
            offset += 2 * stride
        }
        if offset < end {
            a0 += cr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                * xr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
        }
        let s = a0 + a1
        let s4 = s.lowHalf + s.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2.x + s2.y
    }

    /// Rounds to nearest and clips to the 16-bit range (never traps, never wraps).
    @inline(__always)
    static func saturate(_ v: Float) -> Int16 { Int16(saturatingRounded: v) }

    // MARK: Filter design

    /// The prototype low-pass, its delay in output samples and the padded sub-filter length.
    struct Design {
        var prototype: [Double]
        var delay: Int
        var taps: Int
    }

    /// Kaiser-window design: attenuation target (dB) for the length estimate and β.
    static let designAttenuation = 72.0
    /// Half-width of the transition band as a fraction of the lower Nyquist frequency.
    static let transitionHalfWidth = 0.15

    static func design(inputRate: Int, outputRate: Int, up: Int, down: Int) -> Design {
        if up == 1 && down == 1 { return Design(prototype: [1], delay: 0, taps: 8) }
        let rate = Double(inputRate * up)                           // prototype rate, Hz
        let cutoff = Double(min(inputRate, outputRate)) / 2         // centre of transition, Hz
        let transition = 2 * transitionHalfWidth * cutoff           // width, Hz
        let a = designAttenuation
        let beta = 0.1102 * (a - 8.7)
        // Kaiser's length estimate, then the next length 2·down·D + 1 so that the delay
        // (length - 1) / 2 prototype samples is a whole number D of output samples.
        let estimate = Int(((a - 8) / (2.285 * 2 * Double.pi * transition / rate)).rounded(.up)) + 1
        let delay = (estimate - 1 + 2 * down - 1) / (2 * down)
        let length = 2 * down * delay + 1
        let subLength = (length + up - 1) / up
        let taps = (subLength + 7) / 8 * 8

        let fc = cutoff / rate                                      // cycles per prototype sample
        let centre = Double(length - 1) / 2
        let i0Beta = besselI0(beta)
        var h = (0..<length).map { k -> Double in
            let t = Double(k) - centre
            let sinc = t == 0 ? 2 * fc : sin(2 * Double.pi * fc * t) / (Double.pi * t)
            let r = t / centre
            return sinc * besselI0(beta * (1 - r * r).squareRoot()) / i0Beta
        }
        let sum = h.reduce(0, +)
        for k in h.indices { h[k] /= sum }                           // unity gain at 0 Hz
        return Design(prototype: h, delay: delay, taps: taps)
    }

    /// Modified Bessel function of the first kind, order 0 (power series).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        let q = x * x / 4
        while term > 1e-12 * sum {
            term *= q / (k * k)
            sum += term
            k += 1
        }
        return sum
    }
}
