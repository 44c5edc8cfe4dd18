import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import ParleyDSP
@testable import ParleyMedia

/// A recorder whose disk fills: the recording fails once, with the reason, and whoever
/// closes it learns the file is not whole (`failure`). Nothing traps.
@Suite("Recorder: write errors")
struct RecorderWriteFailureTests {
    @Test("Given /dev/full, the recorder cannot be created: an error, before any frame")
    func devFull() {
        #expect(throws: AudioFileError.self) {
            _ = try Recorder(path: "/dev/full", silenceMilliseconds: nil, onSilence: {}, onFailure: { _ in })
        }
    }

    @Test("Given a 32 KiB tmpfs, recording 6 s fails once with ENOSPC's text; finish() keeps the reason",
          .enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
    func fullDisk() throws {
        let dir = NSTemporaryDirectory() + "parley-recorder-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard mount(dir, size: "32k") else { return }
        defer { unmount(dir) }
        let failures = NIOLockedValueBox([String]())
        let recorder = try Recorder(path: "\(dir)/take.wav", silenceMilliseconds: nil, onSilence: {},
                                    onFailure: { reason in failures.withLockedValue { $0.append(reason) } })
        let frame = [Int16](repeating: 2000, count: 160)
        // 6 s of frames (96 KB), fed in 20 ms steps of wall-clock time so the writer thread drains.
        for i in 0..<300 {
            frame.withUnsafeBufferPointer { recorder.receive($0, rate: 8000) }
            if i % 25 == 0 { Thread.sleep(forTimeInterval: 0.02) }
        }
        recorder.finish()
        let reasons = failures.withLockedValue { $0 }
        #expect(reasons.count == 1, "\(reasons)")
        #expect(reasons.first?.contains(String(cString: strerror(ENOSPC))) == true, "\(reasons)")
        #expect(recorder.failure == reasons.first)
    }

    @Test("Given room enough, finish() leaves no failure")
    func noFailure() throws {
        let path = NSTemporaryDirectory() + "parley-recorder-ok-\(UUID().uuidString).wav"
        defer { unlink(path) }
        let recorder = try Recorder(path: path, silenceMilliseconds: nil, onSilence: {}, onFailure: { _ in Issue.record("failed") })
        let frame = [Int16](repeating: 2000, count: 160)
        for _ in 0..<50 { frame.withUnsafeBufferPointer { recorder.receive($0, rate: 8000) } }
        recorder.finish()
        #expect(recorder.failure == nil && recorder.durationMilliseconds == 1000)
    }

    func mount(_ dir: String, size: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir]
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    func unmount(_ dir: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/umount")
        p.arguments = ["-l", dir]
        try? p.run()
        p.waitUntilExit()
    }
}
