import CSndFile
import Foundation
import Testing
@testable import ParleyDSP

@Suite("GSM 6.10 WAV for mail attachments")
struct AudioFileGSMTests {
    /// Greatest normalised cross-correlation of `b` against `a` over lags in ±`maxLag`.
    static func alignedCorrelation(_ a: [Int16], _ b: [Int16], maxLag: Int = 400) -> Double {
        var best = -1.0
        for lag in -maxLag...maxLag {
            var ab = 0.0, aa = 0.0, bb = 0.0
            for i in 0..<a.count {
                let j = i + lag
                guard j >= 0, j < b.count else { continue }
                let x = Double(a[i]), y = Double(b[j])
                ab += x * y; aa += x * x; bb += y * y
            }
            if aa > 0, bb > 0 { best = max(best, ab / (aa * bb).squareRoot()) }
        }
        return best
    }

    /// The PCM WAV of `audio` as the recorder stores it (16-bit), for the size comparison.
    static func pcmWAVSize(_ audio: PCMAudio) throws -> Int {
        let path = TestAudio.temporaryPath("gsm-reference-\(audio.sampleRate).wav")
        let writer = try AudioFileWriter(path: path, sampleRate: audio.sampleRate)
        try audio.samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }

    /// Writes the bytes to a file and opens it with libsndfile to read the header.
    static func info(_ bytes: [UInt8]) throws -> SF_INFO {
        let path = TestAudio.temporaryPath("gsm-\(UUID().uuidString).wav")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var info = SF_INFO()
        let file = try #require(sf_open(path, Int32(SFM_READ), &info))
        sf_close(file)
        return info
    }

    @Test("8 kHz speech and a 16 kHz tone mix become GSM 6.10 WAV that libsndfile reads back: right length, ≥ 0.8 correlated, < 1/5 of PCM")
    func convertsAndReadsBack() throws {
        let speech = try TestAudio.prompt("welcome")
        #expect(speech.sampleRate == 8000)
        let mix = zip(TestAudio.sine(440, amplitude: 6000, count: 32_000, rate: 16_000),
                      TestAudio.sine(1210, amplitude: 4000, count: 32_000, rate: 16_000)).map { $0 &+ $1 }
        let tone = PCMAudio(sampleRate: 16_000, samples: mix)
        for input in [speech, tone] {
            let gsm = try input.gsm610WAV()
            let info = try Self.info(gsm)
            #expect(info.format == Int32(SF_FORMAT_WAV | SF_FORMAT_GSM610))
            #expect(info.samplerate == 8000 && info.channels == 1)
            let back = try PCMAudio.decode(bytes: gsm)
            let reference = input.resampled(to: 8000)
            // GSM 6.10 codes 160-sample frames: at most one partial frame of padding.
            #expect(abs(back.samples.count - reference.samples.count) <= 320)
            #expect(abs(back.durationMilliseconds - input.durationMilliseconds) <= 40)
            let correlation = Self.alignedCorrelation(reference.samples, back.samples)
            #expect(correlation >= 0.8, "correlation \(correlation) at \(input.sampleRate) Hz")
            let pcm = try Self.pcmWAVSize(input)
            #expect(gsm.count * 5 < pcm, "GSM \(gsm.count) bytes vs PCM \(pcm) bytes")
            print("GSM 6.10 WAV from \(input.sampleRate) Hz: \(gsm.count) bytes, 16-bit PCM WAV \(pcm) bytes, ratio \(Double(pcm) / Double(gsm.count)), correlation \(correlation)")
        }
    }

    @Test("empty audio and a rate the resampler cannot reach are errors, not traps")
    func refusesWhatItCannotEncode() {
        #expect(throws: AudioFileError.empty(path: "x")) { try PCMAudio(sampleRate: 8000, samples: []).gsm610WAV(name: "x") }
        #expect(throws: AudioFileError.self) { try PCMAudio(sampleRate: 11_025, samples: [1, 2, 3]).gsm610WAV() }
    }
}
