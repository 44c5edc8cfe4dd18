import Foundation
import ParleyFuzzChecks
import Testing

/// Replays the SIP fuzz corpus (`Tests/Fixtures/fuzz/sip/`, seeded with the RFC 4475
/// messages and grown by `scripts/fuzz sip`) through the fuzz target's own checks.
@Suite("Fuzz corpus replay: SIP parsers")
struct SIPFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz/sip")

    @Test("every corpus file passes the SIP fuzz checks; the valid seeds are accepted")
    func replay() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(names.count >= 30)
        var accepted = 0
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            if SIPFuzzChecks.check(bytes) { accepted += 1 }
        }
        #expect(accepted >= 10)
    }
}
