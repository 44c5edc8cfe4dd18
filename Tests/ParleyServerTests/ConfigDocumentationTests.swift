import Foundation
import Testing
@testable import ParleyServer

/// docs/configuration.md is the schema operators read: it must name every key the parser accepts.
@Suite("Configuration reference")
struct ConfigDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every key in an `allowed: [...]` list or a key set of the configuration parser's files.
    static func acceptedKeys() throws -> Set<String> {
        let folder = root.appendingPathComponent("Sources/ParleyServer")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("ParleyConfig") }
        var keys = Set<String>()
        let list = try NSRegularExpression(pattern: #"(?:allowed: |Keys: Set<String> = )\[([^\]]*)\]"#)
        let quoted = try NSRegularExpression(pattern: #""([a-z_]+)""#)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for m in list.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let r = Range(m.range(at: 1), in: text) else { continue }
                let inner = String(text[r])
                for q in quoted.matches(in: inner, range: NSRange(inner.startIndex..., in: inner)) {
                    if let k = Range(q.range(at: 1), in: inner) { keys.insert(String(inner[k])) }
                }
            }
        }
        return keys
    }

    @Test("every key the parser accepts appears in docs/configuration.md")
    func everyKeyDocumented() throws {
        let keys = try Self.acceptedKeys()
        // The scan finds the lists at all: the top level and a nested one at least.
        #expect(keys.isSuperset(of: ["sip", "rtp", "tenants", "shutdown_grace", "media_timeout", "concurrent_calls", "voicemail"]))
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let missing = keys.filter { !doc.contains("`\($0)`") && !doc.contains(".\($0)`") && !doc.contains("{ \($0):") }.sorted()
        #expect(missing.isEmpty, "keys accepted by the parser but not in docs/configuration.md: \(missing)")
    }

    @Test("the error messages the reference shows are the ones the parser gives")
    func documentedMessages() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let typo = ConfigTests.valid.replacingOccurrences(of: "media_timeout", with: "media_timout")
        let unset = ConfigTests.valid.replacingOccurrences(of: "play: welcome", with: "play: \"${NAME}\"")
        for (text, env) in [(typo, [String: String]()), (unset, [:]), ("sip: {}\n", [:]), ("", [:])] {
            do {
                _ = try ParleyConfig.parse(text, file: "p.yaml", environment: env)
                Issue.record("no error for \(text)")
            } catch {
                let message = "\(error)".replacingOccurrences(of: "p.yaml:12:", with: "p.yaml:9:")
                #expect(doc.contains("`\(message)`"), "not in the reference: \(message)")
            }
        }
    }
}
