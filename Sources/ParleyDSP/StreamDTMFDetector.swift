/// DTMF detection for a stream at 8, 16 or 48 kHz.
///
/// DTMF lives below 1.7 kHz, so wider-band audio (Opus legs, a 16 kHz conference mix) is
/// downsampled to 8 kHz with the polyphase `Resampler` and fed to `DTMFDetector`; 8 kHz
/// audio goes straight through. Event sample positions (`startSample`,
/// `confirmedAtSample`) count 8 kHz samples; the resampler adds `resamplerDelay` of them.
/// Preallocated; no allocation per frame. Confined to one stream.
public final class StreamDTMFDetector {
    public let sampleRate: Int
    public let detector: DTMFDetector
    private let resampler: Resampler?
    private var narrowband: [Int16]
    /// Input processed per resampler call, in input samples (20 ms at 48 kHz).
    private static let chunk = 960

    public init(sampleRate: Int, settings: DTMFDetector.Settings = .telephony) throws(DTMFDetectorError) {
        self.sampleRate = sampleRate
        detector = try DTMFDetector(sampleRate: DTMFDetector.sampleRate, settings: settings)
        if sampleRate == DTMFDetector.sampleRate {
            resampler = nil
        } else {
            guard let r = try? Resampler(from: sampleRate, to: DTMFDetector.sampleRate) else {
                throw .unsupportedSampleRate(sampleRate)
            }
            resampler = r
        }
        narrowband = [Int16](repeating: 0, count: StreamDTMFDetector.chunk + 64)
    }

    /// Delay the downsampling adds, in 8 kHz samples (0 for 8 kHz streams).
    public var resamplerDelay: Int { resampler?.delaySamples ?? 0 }

    /// Feeds a block of audio at `sampleRate`; calls `onEvent` for each key event in it.
    public func process(_ samples: UnsafeBufferPointer<Int16>, _ onEvent: (DTMFEvent) -> Void) {
        guard let resampler else { return detector.process(samples, onEvent) }
        var start = 0
        while start < samples.count {
            let end = min(start + StreamDTMFDetector.chunk, samples.count)
            let n = narrowband.withUnsafeMutableBufferPointer { out in
                resampler.process(UnsafeBufferPointer(rebasing: samples[start..<end]), into: out)
            }
            narrowband.withUnsafeBufferPointer { detector.process(UnsafeBufferPointer(rebasing: $0[0..<n]), onEvent) }
            start = end
        }
    }
}
