extension PCMAudio {
    /// The audio at `rate` Hz (8, 16 or 48 kHz), converted in one pass; unchanged when it is
    /// at that rate already or when either rate is one the resampler does not support.
    public func resampled(to rate: Int) -> PCMAudio {
        guard rate != sampleRate, let resampler = try? Resampler(from: sampleRate, to: rate) else { return self }
        var out = [Int16](repeating: 0, count: resampler.outputCount(forInput: samples.count) + 64)
        let n = samples.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { resampler.process(src, into: $0) } }
        out.removeSubrange(n...)
        return PCMAudio(sampleRate: rate, samples: out)
    }
}
