import NIOConcurrencyHelpers
import ParleyDSP

/// Errors finding a prompt; each names the prompt and the file.
public enum PromptError: Error, CustomStringConvertible, Equatable {
    case notFound(name: String, path: String)
    case badName(String)
    case unreadable(name: String, underlying: AudioFileError)
    case wrongRate(name: String, rate: Int)
    case unsupportedRate(Int)

    public var description: String {
        switch self {
        case let .notFound(name, path): return "prompt '\(name)' not found (looked for \(path))"
        case let .badName(name): return "prompt name '\(name)' is not allowed (letters, digits, '-', '_' and '/' between names only)"
        case let .unreadable(name, err): return "prompt '\(name)': \(err)"
        case let .wrongRate(name, rate): return "prompt '\(name)' is recorded at \(rate) Hz; record or convert it at 8000, 16000 or 48000 Hz (e.g. sox in.wav -r 8000 out.wav)"
        case let .unsupportedRate(rate): return "prompts can be played at 8000, 16000 or 48000 Hz, not \(rate)"
        }
    }
}

/// Prompts decoded once per sample rate and shared read-only by every call.
///
/// Names are paths relative to the prompt folder without the `.wav` ending
/// (`welcome`, `acme/welcome`); a name can never leave the folder. A prompt recorded at
/// 8, 16 or 48 kHz is resampled once for each rate a call asks for; every later call at
/// that rate shares the same samples (arrays are copy-on-write: sharing costs nothing).
/// Thread-safe; file I/O happens on first use only, so load prompts at start-up.
public final class PromptCache: @unchecked Sendable {
    public static let rates = [8000, 16000, 48000]
    public let directory: String
    private let cache = NIOLockedValueBox<[String: PCMAudio]>([:])

    /// What the cache holds: entries, samples and bytes of audio.
    public struct Usage: Sendable, Equatable {
        public var prompts = 0
        public var samples = 0
        public var bytes = 0
        /// Audio held, in seconds of playback (summed over rates).
        public var seconds = 0.0
    }

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

    /// The prompt's audio at `rate` Hz, loaded and converted on first use.
    public func prompt(_ name: String, rate: Int = 8000) throws(PromptError) -> PCMAudio {
        guard PromptCache.rates.contains(rate) else { throw .unsupportedRate(rate) }
        let key = "\(rate)/\(name)"
        if let hit = cache.withLockedValue({ $0[key] }) { return hit }
        guard PromptCache.isValidName(name) else { throw .badName(name) }
        let path = path(for: name)
        let original: PCMAudio
        do {
            original = try PCMAudio.read(path: path)
        } catch {
            if case .cannotOpen = error { throw .notFound(name: name, path: path) }
            throw .unreadable(name: name, underlying: error)
        }
        guard PromptCache.rates.contains(original.sampleRate) else { throw .wrongRate(name: name, rate: original.sampleRate) }
        let audio = original.sampleRate == rate ? original : PromptCache.convert(original, to: rate)
        // Two threads may race to load the same prompt: keep the first, so all share one copy.
        return cache.withLockedValue { entries in
            if let existing = entries[key] { return existing }
            entries[key] = audio
            return audio
        }
    }

    public var usage: Usage {
        cache.withLockedValue { entries in
            var u = Usage()
            for audio in entries.values {
                u.prompts += 1
                u.samples += audio.samples.count
                u.bytes += audio.samples.count * MemoryLayout<Int16>.stride
                u.seconds += Double(audio.samples.count) / Double(audio.sampleRate)
            }
            return u
        }
    }

    /// Resamples between two of `rates`.
    public static func convert(_ audio: PCMAudio, to rate: Int) -> PCMAudio {
        // Rates were checked against the resampler's set above.
        audio.resampled(to: rate)
    }
}
