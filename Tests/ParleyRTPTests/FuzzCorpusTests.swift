import Foundation
import Testing
@testable import ParleyRTP
import ParleyFuzzChecks

/// Replays the fuzzing corpus (`Tests/Fixtures/fuzz/rtp/`, grown by `scripts/fuzz`) through
/// the same three parsers and invariants as `Fuzz/ParleyFuzz`, so every CI run re-checks
/// each input libFuzzer once found interesting.
@Suite("Fuzz corpus replay: RTP, RTCP compound and telephone-event parsers")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz/rtp")

    static func files() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []
        return names.sorted().map { corpus.appendingPathComponent($0) }
    }

    @Test("the corpus is there, with the hand-made seeds")
    func present() {
        let names = Self.files().map(\.lastPathComponent)
        #expect(names.count >= 9)
    }

    @Test("every corpus file goes through the three parsers without a trap or a broken invariant")
    func replay() throws {
        var rtp = 0, rtcp = 0
        for url in Self.files() {
            let data = try Data(contentsOf: url)
            let bytes = [UInt8](data)
            let accepted = bytes.withUnsafeBytes { RTPFuzzChecks.check($0) }
            if accepted.rtp { rtp += 1 }
            if accepted.rtcp { rtcp += 1 }
        }
        // The seeds alone give four valid RTP packets and four valid RTCP compounds.
        #expect(rtp >= 4)
        #expect(rtcp >= 4)
    }
}
