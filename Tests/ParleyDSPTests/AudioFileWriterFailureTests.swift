import Foundation
import Testing
@testable import ParleyDSP

/// A writer that hits a write error fails cleanly: an error naming the file and the cause,
/// never a trap. Real errors: /dev/full answers every write with ENOSPC; a small tmpfs (root
/// only) fills up part way through a file.
@Suite("AudioFileWriter: write errors")
struct AudioFileWriterFailureTests {
    @Test("Given /dev/full, creating a WAV there fails with ENOSPC's text (the header is the first write)")
    func devFull() {
        #expect {
            _ = try AudioFileWriter(path: "/dev/full", sampleRate: 8000)
        } throws: { error in
            "\(error)".contains(String(cString: strerror(ENOSPC)))
        }
    }

    @Test("Given an ordinary file, close() reports nothing and the file reads back whole; closing twice is harmless")
    func ordinaryClose() throws {
        let path = NSTemporaryDirectory() + "parley-writer-\(UUID().uuidString).wav"
        defer { unlink(path) }
        let writer = try AudioFileWriter(path: path, sampleRate: 8000)
        let samples = (0..<8000).map { Int16(truncatingIfNeeded: $0 * 7) }
        try samples.withUnsafeBufferPointer { (p) throws(AudioFileError) in try writer.write(p) }
        try writer.close()
        try writer.close()
        #expect(try PCMAudio.read(path: path).samples == samples)
    }

    @Test("Given a 64 KiB tmpfs, writing 10 s fails part way with ENOSPC, and what was written still opens",
          .enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
    func fullTmpfs() throws {
        let dir = NSTemporaryDirectory() + "parley-writer-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard mountTmpfs(dir, size: "64k") else { return }
        defer { _ = unmount(dir) }
        let path = "\(dir)/take.wav"
        let writer = try AudioFileWriter(path: path, sampleRate: 8000)
        let frame = [Int16](repeating: 1000, count: 160)
        var failure: AudioFileError?
        for _ in 0..<500 {   // 10 s at 8 kHz, 16-bit: 160 KB, more than the file system holds
            do { try frame.withUnsafeBufferPointer { (p) throws(AudioFileError) in try writer.write(p) } } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        guard case let .writeFailed(failedPath, reason) = error else { Issue.record("\(error)"); return }
        #expect(failedPath == path && reason.contains(String(cString: strerror(ENOSPC))))
        #expect(writer.samplesWritten > 0 && writer.samplesWritten < 500 * 160)
        // Closing after the failure never traps; the header kept up to date lets what was
        // written open (the caller, told by the error, does not keep it).
        try? writer.close()
        let back = try PCMAudio.read(path: path)
        #expect(back.samples.count > 0 && back.samples.count <= writer.samplesWritten)
    }
}

/// Mounts a tmpfs of `size` at `dir` (root only); false when mounting is not permitted.
func mountTmpfs(_ dir: String, size: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/mount")
    p.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

func unmount(_ dir: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/umount")
    p.arguments = ["-l", dir]
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}
