import Foundation
@testable import ParleyDSP

/// Shared helpers for the DSP tests: the repository's prompts and simple signals.
enum TestAudio {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func prompt(_ name: String) throws -> PCMAudio {
        try PCMAudio.read(path: repoRoot.appendingPathComponent("prompts/\(name).wav").path)
    }

    static func sine(_ hz: Double, amplitude: Double, count: Int, rate: Double = 8000) -> [Int16] {
        (0..<count).map { Int16(amplitude * sin(2 * .pi * hz * Double($0) / rate)) }
    }

    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// Runs a command; returns its exit status.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Signal-to-noise ratio of `test` against `reference`, in dB.
    static func snr(_ reference: ArraySlice<Int16>, _ test: ArraySlice<Int16>) -> Double {
        var signal = 0.0, noise = 0.0
        for (r, t) in zip(reference, test) {
            signal += Double(r) * Double(r)
            noise += (Double(r) - Double(t)) * (Double(r) - Double(t))
        }
        return 10 * log10(signal / max(noise, 1e-9))
    }
}
