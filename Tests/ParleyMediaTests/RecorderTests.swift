import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import ParleyDSP
@testable import ParleyMedia

@Suite("Recorder: the caller's audio to an 8 kHz WAV")
struct RecorderTests {
    static func tone(_ n: Int, rate: Int, hz: Double = 440, amplitude: Double = 8000, offset: Int = 0) -> [Int16] {
        (0..<n).map { Int16(amplitude * sin(2 * Double.pi * hz * Double($0 + offset) / Double(rate))) }
    }

    func path(_ name: String) -> String {
        NSTemporaryDirectory() + "parley-recorder-\(UUID().uuidString)-\(name).wav"
    }

    @Test("8 kHz frames are written as they come; silence after speech is reported once")
    func narrowband() throws {
        let file = path("nb")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let silences = NIOLockedValueBox(0)
        let recorder = try Recorder(path: file, silenceMilliseconds: 1000, onSilence: { silences.withLockedValue { $0 += 1 } },
                                    onFailure: { _ in Issue.record("write failed") })
        var written: [Int16] = []
        for i in 0..<50 {   // 1 s of talk: 200 ms bursts with 100 ms pauses (a steady tone would become the noise floor)
            let frame = i % 15 < 10 ? Self.tone(160, rate: 8000, offset: i * 160) : [Int16](repeating: 0, count: 160)
            written += frame
            frame.withUnsafeBufferPointer { recorder.receive($0, rate: 8000) }
        }
        let quiet = [Int16](repeating: 0, count: 160)
        for _ in 0..<49 { quiet.withUnsafeBufferPointer { recorder.receive($0, rate: 8000) } }
        #expect(silences.withLockedValue { $0 } == 0)   // 980 ms of silence: not yet
        for _ in 0..<10 { quiet.withUnsafeBufferPointer { recorder.receive($0, rate: 8000) } }
        #expect(silences.withLockedValue { $0 } == 1)   // reported once, not per frame
        recorder.finish()
        #expect(recorder.durationMilliseconds == 2180)
        let back = try PCMAudio.read(path: file)
        #expect(back.sampleRate == 8000 && back.samples.count == 109 * 160)
        #expect(Array(back.samples.prefix(written.count)) == written)
    }

    @Test("16 kHz frames (Opus legs) are resampled to 8 kHz")
    func wideband() throws {
        let file = path("wb")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let recorder = try Recorder(path: file, silenceMilliseconds: nil, onSilence: {}, onFailure: { _ in Issue.record("write failed") })
        for i in 0..<50 {
            Self.tone(320, rate: 16000, offset: i * 320).withUnsafeBufferPointer { recorder.receive($0, rate: 16000) }
        }
        recorder.finish()
        let back = try PCMAudio.read(path: file)
        #expect(back.sampleRate == 8000)
        #expect(abs(back.samples.count - 8000) <= 64)   // 1 s, less the resampler's delay
    }

    @Test("the media side only queues: a disk that falls more than 5 s behind fails the recording once; what was queued is written")
    func overflow() throws {
        let file = path("overflow")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let failures = NIOLockedValueBox([String]())
        let recorder = try Recorder(path: file, silenceMilliseconds: nil, onSilence: {},
                                    onFailure: { reason in failures.withLockedValue { $0.append(reason) } })
        // 8 s of frames in a burst, far faster than the writer thread wakes (every 100 ms).
        let frame = Self.tone(160, rate: 8000)
        for _ in 0..<400 { frame.withUnsafeBufferPointer { recorder.receive($0, rate: 8000) } }
        recorder.finish()
        let reasons = failures.withLockedValue { $0 }
        #expect(reasons.count == 1 && reasons.first?.contains("did not keep up") == true, "\(reasons)")
        let back = try PCMAudio.read(path: file)
        #expect(back.samples.count >= Recorder.ringCapacity && back.samples.count < 400 * 160)
        #expect(recorder.durationMilliseconds == back.samples.count / 8)
    }

    @Test("a path that cannot be written fails at once, naming it")
    func badPath() {
        #expect(throws: AudioFileError.self) {
            _ = try Recorder(path: "/nonexistent/dir/x.wav", silenceMilliseconds: nil, onSilence: {}, onFailure: { _ in })
        }
    }
}
