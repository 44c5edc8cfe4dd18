import Foundation
import Testing
@testable import ParleyDSP
@testable import ParleyMedia

@Suite("Prompt cache")
struct PromptCacheTests {
    static let prompts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("prompts").path

    @Test("each prompt is decoded once per rate and shared; memory per prompt-minute is the PCM size")
    func perRate() throws {
        let cache = PromptCache(directory: PromptCacheTests.prompts)
        let base = try cache.prompt("welcome")
        for rate in PromptCache.rates {
            let a = try cache.prompt("welcome", rate: rate)
            let b = try cache.prompt("welcome", rate: rate)
            #expect(a.sampleRate == rate)
            // Same duration within one 20 ms frame.
            #expect(abs(a.durationMilliseconds - base.durationMilliseconds) <= 20)
            // Shared: the second caller gets the same storage, not a copy.
            let same = a.samples.withUnsafeBufferPointer { pa in b.samples.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
            #expect(same)
        }
        let usage = cache.usage
        #expect(usage.prompts == 3)
        let bytesPerMinute = Double(usage.bytes) / (usage.seconds / 60)
        // 8, 16 and 48 kHz held once each: 2 bytes a sample, (8000 + 16000 + 48000) / 3 samples a second on average.
        let expected = 2.0 * 60 * (8000 + 16000 + 48000) / 3
        print("prompt cache: \(usage.prompts) entries, \(usage.bytes) bytes, \(String(format: "%.0f", bytesPerMinute)) bytes per prompt-minute averaged over 8/16/48 kHz (960000 / 1920000 / 5760000 at each)")
        #expect(abs(bytesPerMinute - expected) / expected < 0.01)
    }

    @Test("a prompt resampled to 48 kHz and back to 8 kHz is the same audio")
    func roundTrip() throws {
        let cache = PromptCache(directory: PromptCacheTests.prompts)
        let original = try cache.prompt("welcome")
        let wide = try cache.prompt("welcome", rate: 48000)
        let back = PromptCache.convert(wide, to: 8000)
        let r48 = try Resampler(from: 8000, to: 48000), r8 = try Resampler(from: 48000, to: 8000)
        let delay = r48.delaySamples / 6 + r8.delaySamples
        var signal = 0.0, noise = 0.0
        for i in 200..<(original.samples.count - 200) where i + delay < back.samples.count {
            let r = Double(original.samples[i]), t = Double(back.samples[i + delay])
            signal += r * r; noise += (r - t) * (r - t)
        }
        let snr = 10 * log10(signal / max(noise, 1))
        print("welcome 8k -> 48k -> 8k: \(String(format: "%.1f", snr)) dB SNR (delay \(delay) samples)")
        #expect(snr > 25)
    }

    @Test("bad names, missing files and unsupported rates are typed errors")
    func errors() {
        let cache = PromptCache(directory: PromptCacheTests.prompts)
        #expect(throws: PromptError.badName("../etc/passwd")) { try cache.prompt("../etc/passwd") }
        #expect(throws: PromptError.unsupportedRate(44100)) { try cache.prompt("welcome", rate: 44100) }
        #expect(throws: PromptError.self) { try cache.prompt("no-such-prompt") }
    }
}
