import Testing
@testable import ParleyDSP

/// DTMF through the paths a real call takes besides G.711: wideband streams that are
/// downsampled first, and Opus coding.
@Suite("DTMF on wideband and Opus streams")
struct DTMFCodecPathTests {
    static let keys = "123A456B789C*0#D"

    /// The sixteen keys, 100 ms on / 100 ms off at `level` dBm0 per tone, at `rate`.
    func keyTones(rate: Int, level: Double) throws -> [Int16] {
        let generator = try ToneGenerator(sampleRate: rate)
        try generator.start(try Cadence.dtmf(DTMFCodecPathTests.keys, settings: DTMFSettings(level: level, onMilliseconds: 100, offMilliseconds: 100)))
        var all: [Int16] = []
        var frame = [Int16](repeating: 0, count: rate / 50)
        while !generator.isFinished {
            _ = frame.withUnsafeMutableBufferPointer { generator.nextFrame(into: $0) }
            all += frame
        }
        return all + [Int16](repeating: 0, count: rate / 5)
    }

    func detect(_ audio: [Int16], rate: Int) throws -> String {
        let detector = try StreamDTMFDetector(sampleRate: rate)
        var found = ""
        audio.withUnsafeBufferPointer { all in
            let step = rate / 50
            for start in stride(from: 0, to: all.count, by: step) {
                detector.process(UnsafeBufferPointer(rebasing: all[start..<min(start + step, all.count)])) { event in
                    if event.kind == .began { found.append(event.key.character) }
                }
            }
        }
        return found
    }

    @Test("all 16 keys at 16 and 48 kHz are detected after downsampling", arguments: [16000, 48000])
    func wideband(rate: Int) throws {
        for level in [-10.0, -30.0] {
            #expect(try detect(try keyTones(rate: rate, level: level), rate: rate) == DTMFCodecPathTests.keys)
        }
    }

    @Test("all 16 keys survive Opus at 32 kb/s (8 and 16 kHz)", arguments: [8000, 16000])
    func opus(rate: Int) throws {
        for level in [-10.0, -30.0] {
            let tones = try keyTones(rate: rate, level: level)
            let encoder = try OpusEncoder(sampleRate: rate, bitrate: 32_000)
            let decoder = try OpusDecoder(sampleRate: rate)
            let frame = rate / 50
            var decoded: [Int16] = []
            var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
            var pcm = [Int16](repeating: 0, count: decoder.maxPacketSamples)
            for start in stride(from: 0, to: tones.count - frame + 1, by: frame) {
                let n = try tones[start..<(start + frame)].withUnsafeBufferPointer { f in
                    try packet.withUnsafeMutableBufferPointer { try encoder.encode(f, into: $0) }
                }
                let got = try packet[0..<n].withUnsafeBufferPointer { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
                decoded += pcm[0..<got]
            }
            let found = try detect(decoded, rate: rate)
            print("Opus 32 kb/s at \(rate) Hz, \(level) dBm0: detected \(found)")
            #expect(found == DTMFCodecPathTests.keys)
        }
    }

    @Test("an unsupported stream rate is refused")
    func badRate() {
        #expect(throws: DTMFDetectorError.unsupportedSampleRate(44100)) { try StreamDTMFDetector(sampleRate: 44100) }
    }
}
