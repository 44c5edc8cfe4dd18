import CSndFile
import Foundation
import Testing
@testable import ParleyDSP

@Suite("Audio files through libsndfile")
struct AudioFileTests {
    @Test("PCM16 and µ-law WAV written frame by frame read back as written")
    func writeRead() throws {
        let speech = try TestAudio.prompt("welcome").samples
        for encoding in [AudioFileWriter.Encoding.pcm16, .ulaw, .alaw] {
            let path = TestAudio.temporaryPath("write-\(encoding).wav")
            let writer = try AudioFileWriter(path: path, sampleRate: 8000, encoding: encoding)
            try speech.withUnsafeBufferPointer { all in
                for start in stride(from: 0, to: all.count, by: 160) {
                    try writer.write(UnsafeBufferPointer(rebasing: all[start..<min(start + 160, all.count)]))
                }
            }
            writer.finish()
            #expect(writer.durationMilliseconds == speech.count * 1000 / 8000)
            let back = try PCMAudio.read(path: path)
            #expect(back.sampleRate == 8000)
            let expected: [Int16]
            switch encoding {
            case .pcm16: expected = speech
            case .ulaw: expected = speech.map { G711.linear(ulaw: G711.ulaw($0)) }
            case .alaw: expected = speech.map { G711.linear(alaw: G711.alaw($0)) }
            }
            // libsndfile's own companding tables may differ from G.711's by one step.
            let worst = zip(back.samples, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(back.samples.count == speech.count)
            #expect(encoding == .pcm16 ? worst == 0 : worst <= 1024)
        }
    }

    @Test("a file whose writer never finished (a crash or hang-up mid-write) still reads up to the last frame")
    func unfinishedFile() throws {
        let path = TestAudio.temporaryPath("unfinished.wav")
        let copy = TestAudio.temporaryPath("unfinished-copy.wav")
        let writer = try AudioFileWriter(path: path, sampleRate: 8000)
        let tone = TestAudio.sine(440, amplitude: 8000, count: 160)
        for _ in 0..<25 { try tone.withUnsafeBufferPointer { try writer.write($0) } }
        // Copy the file while the writer is still open, as a crash would leave it.
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let back = try PCMAudio.read(path: copy)
        #expect(back.samples.count == 25 * 160)
        writer.finish()
        writer.finish() // idempotent
        #expect(throws: AudioFileError.closed(path: path)) { try tone.withUnsafeBufferPointer { try writer.write($0) } }
    }

    @Test("WAV files made by sox in µ-law, A-law and PCM at common rates are read", arguments: [
        ("u-law", 8000), ("a-law", 8000), ("signed-integer", 16000), ("signed-integer", 44100), ("signed-integer", 48000), ("u-law", 11025),
    ])
    func soxFiles(encoding: String, rate: Int) throws {
        let source = TestAudio.repoRoot.appendingPathComponent("prompts/welcome.wav").path
        let path = TestAudio.temporaryPath("sox-\(encoding)-\(rate).wav")
        let bits = encoding == "signed-integer" ? "16" : "8"
        let status = try TestAudio.run("/usr/bin/sox", [source, "-e", encoding, "-b", bits, "-r", "\(rate)", path])
        #expect(status == 0, "sox is required for this test (Debian package sox)")
        let audio = try PCMAudio.read(path: path)
        #expect(audio.sampleRate == rate)
        let expectedCount = Int((Double(try TestAudio.prompt("welcome").samples.count) * Double(rate) / 8000).rounded())
        #expect(abs(audio.samples.count - expectedCount) <= 2)
        #expect(audio.samples.withUnsafeBufferPointer { FrameEnergy.dBov($0) } > -30)
    }

    @Test("Ogg/Opus files are read")
    func oggOpus() throws {
        let path = TestAudio.temporaryPath("tone.opus")
        var info = SF_INFO()
        info.samplerate = 48000
        info.channels = 1
        info.format = Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
        let file = try #require(sf_open(path, Int32(SFM_WRITE), &info), "libsndfile cannot write Ogg/Opus here")
        let tone = TestAudio.sine(440, amplitude: 10_000, count: 48_000, rate: 48_000)
        _ = tone.withUnsafeBufferPointer { sf_write_short(file, $0.baseAddress, sf_count_t($0.count)) }
        sf_close(file)
        let audio = try PCMAudio.read(path: path)
        #expect(audio.sampleRate == 48_000)
        #expect(abs(audio.samples.count - 48_000) < 2_000)
        #expect(abs(audio.samples.withUnsafeBufferPointer { FrameEnergy.dBov($0) } - (-13.3)) < 1.5)
    }

    @Test("missing, empty, truncated, lying and foreign files give a typed error")
    func badFiles() throws {
        #expect(throws: AudioFileError.self) { try PCMAudio.read(path: "/nonexistent/x.wav") }
        let empty = TestAudio.temporaryPath("empty.wav")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: AudioFileError.self) { try PCMAudio.read(path: empty) }
        let text = TestAudio.temporaryPath("text.wav")
        FileManager.default.createFile(atPath: text, contents: Data("this is not audio at all".utf8))
        #expect(throws: AudioFileError.self) { try PCMAudio.read(path: text) }

        let wav = try Data(contentsOf: TestAudio.repoRoot.appendingPathComponent("prompts/welcome.wav"))
        // Header only: a WAV with zero samples.
        #expect(throws: AudioFileError.self) { try PCMAudio.decode(bytes: Array(wav.prefix(44)), name: "header-only") }
        // A data chunk that claims 2 GB: everything actually present is read, nothing more.
        var lying = Array(wav)
        lying[40] = 0xFF; lying[41] = 0xFF; lying[42] = 0xFF; lying[43] = 0x7F
        let read = try PCMAudio.decode(bytes: lying, name: "lying")
        #expect(read.samples.count == (wav.count - 44) / 2)
        // Truncated mid-data: the samples present.
        let cut = try PCMAudio.decode(bytes: Array(wav.prefix(44 + 1000)), name: "cut")
        #expect(cut.samples.count == 500)
    }

    @Test("random mutations of a WAV never crash the reader")
    func fuzzReader() throws {
        let wav = Array(try Data(contentsOf: TestAudio.repoRoot.appendingPathComponent("prompts/beep.wav")))
        var rng = SystemRandomNumberGenerator()
        var decoded = 0, refused = 0
        for _ in 0..<3_000 {
            var b = wav
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<min(b.count, 64), using: &rng) // the header is where the danger is
                b[i] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
            if (try? PCMAudio.decode(bytes: b, name: "fuzz")) != nil { decoded += 1 } else { refused += 1 }
        }
        print("WAV reader fuzz: \(decoded) decoded, \(refused) refused, no crash")
        #expect(decoded + refused == 3_000)
    }
}
