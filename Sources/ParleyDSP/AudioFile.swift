import CSndFile

/// Errors reading or writing audio files; each names the file and what was wrong.
public enum AudioFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open audio file: \(reason)"
        case let .unsupported(path, reason): return "\(path): unsupported audio: \(reason)"
        case let .empty(path): return "\(path): audio file holds no samples"
        }
    }
}

/// Mono 16-bit PCM audio in memory, at a known sample rate.
public struct PCMAudio: Sendable, Equatable {
    public var sampleRate: Int
    public var samples: [Int16]

    public init(sampleRate: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    /// Duration in milliseconds.
    public var durationMilliseconds: Int { sampleRate > 0 ? samples.count * 1000 / sampleRate : 0 }

    /// Reads a whole audio file with libsndfile (WAV in PCM, µ-law or A-law, Ogg/Opus, …).
    /// Stereo files are mixed down to mono.
    public static func read(path: String) throws(AudioFileError) -> PCMAudio {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .cannotOpen(path: path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(file) }
        guard info.channels >= 1, info.channels <= 8, info.samplerate > 0 else {
            throw .unsupported(path: path, reason: "\(info.channels) channels at \(info.samplerate) Hz")
        }
        guard info.frames > 0 else { throw .empty(path: path) }
        // A lying header can claim any length: read in blocks instead of trusting `frames`.
        let channels = Int(info.channels)
        var samples: [Int16] = []
        var block = [Int16](repeating: 0, count: 4096 * channels)
        while true {
            let got = block.withUnsafeMutableBufferPointer { sf_readf_short(file, $0.baseAddress, 4096) }
            if got <= 0 { break }
            if channels == 1 {
                samples.append(contentsOf: block[0..<Int(got)])
            } else {
                for f in 0..<Int(got) {
                    var sum: Int32 = 0
                    for c in 0..<channels { sum += Int32(block[f * channels + c]) }
                    samples.append(Int16(sum / Int32(channels)))
                }
            }
            if samples.count > 48_000 * 3600 { throw .unsupported(path: path, reason: "longer than one hour") }
        }
        guard !samples.isEmpty else { throw .empty(path: path) }
        return PCMAudio(sampleRate: Int(info.samplerate), samples: samples)
    }
}
