import NIOConcurrencyHelpers
import ParleyDSP

/// Errors finding a prompt; each names the prompt and the file.
public enum PromptError: Error, CustomStringConvertible, Equatable {
    case notFound(name: String, path: String)
    case badName(String)
    case unreadable(name: String, underlying: AudioFileError)
    case wrongRate(name: String, rate: Int)

    public var description: String {
        switch self {
        case let .notFound(name, path): return "prompt '\(name)' not found (looked for \(path))"
        case let .badName(name): return "prompt name '\(name)' is not allowed (letters, digits, '-', '_' and '/' between names only)"
        case let .unreadable(name, err): return "prompt '\(name)': \(err)"
        case let .wrongRate(name, rate): return "prompt '\(name)' is \(rate) Hz; 8000 Hz is required"
        }
    }
}

/// Prompts decoded once and shared read-only by every call.
///
/// Names are paths relative to the prompt folder without the `.wav` ending
/// (`welcome`, `acme/welcome`); a name can never leave the folder.
public final class PromptCache: @unchecked Sendable {
    public let directory: String
    private let cache = NIOLockedValueBox<[String: PCMAudio]>([:])

    public init(directory: String) {
        self.directory = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 200 else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part != "." && part != ".." && part.first != "."
                && part.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" || $0 == "." }
        }
    }

    public func path(for name: String) -> String { "\(directory)/\(name).wav" }

    /// The prompt's audio at 8 kHz, loaded on first use.
    public func prompt(_ name: String) throws(PromptError) -> PCMAudio {
        if let hit = cache.withLockedValue({ $0[name] }) { return hit }
        guard PromptCache.isValidName(name) else { throw .badName(name) }
        let path = path(for: name)
        let audio: PCMAudio
        do {
            audio = try PCMAudio.read(path: path)
        } catch {
            if case .cannotOpen = error { throw .notFound(name: name, path: path) }
            throw .unreadable(name: name, underlying: error)
        }
        guard audio.sampleRate == 8000 else { throw .wrongRate(name: name, rate: audio.sampleRate) }
        cache.withLockedValue { $0[name] = audio }
        return audio
    }
}
