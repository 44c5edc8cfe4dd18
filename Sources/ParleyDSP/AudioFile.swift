import CSndFile

/// Errors reading or writing audio files; each names the file and what was wrong.
public enum AudioFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case empty(path: String)
    case closed(path: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open audio file: \(reason)"
        case let .unsupported(path, reason): return "\(path): unsupported audio: \(reason)"
        case let .empty(path): return "\(path): audio file holds no samples"
        case let .closed(path): return "\(path): written after close"
        case let .writeFailed(path, reason): return "\(path): write failed: \(reason)"
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

    /// Reads a whole audio file with libsndfile (WAV in PCM, µ-law or A-law at any rate,
    /// Ogg/Opus, …). Multichannel files are mixed down to mono.
    public static func read(path: String) throws(AudioFileError) -> PCMAudio {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .cannotOpen(path: path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(file) }
        return try readAll(file, info: info, name: path)
    }

    /// Decodes a whole audio file held in memory (an upload, a fuzz input) without
    /// touching the disk. `name` is used in errors.
    public static func decode(bytes: [UInt8], name: String = "<memory>") throws(AudioFileError) -> PCMAudio {
        let source = MemorySource(bytes)
        var io = SF_VIRTUAL_IO(
            get_filelen: { user in MemorySource.from(user).length },
            seek: { offset, whence, user in MemorySource.from(user).seek(offset, whence) },
            read: { ptr, count, user in MemorySource.from(user).read(ptr, count) },
            write: { _, _, _ in 0 },
            tell: { user in MemorySource.from(user).position })
        var info = SF_INFO()
        let result: Result<PCMAudio, AudioFileError> = withExtendedLifetime(source) {
            guard let file = sf_open_virtual(&io, Int32(SFM_READ), &info, Unmanaged.passUnretained(source).toOpaque()) else {
                return .failure(.cannotOpen(path: name, reason: String(cString: sf_strerror(nil))))
            }
            defer { sf_close(file) }
            return Result { () throws(AudioFileError) in try readAll(file, info: info, name: name) }
        }
        return try result.get()
    }

    /// Longest audio accepted, in samples at 48 kHz (one hour).
    static let maximumSamples = 48_000 * 3600

    static func readAll(_ file: OpaquePointer, info: SF_INFO, name: String) throws(AudioFileError) -> PCMAudio {
        guard info.channels >= 1, info.channels <= 8, (8000...192_000).contains(info.samplerate) else {
            throw .unsupported(path: name, reason: "\(info.channels) channels at \(info.samplerate) Hz")
        }
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
            if samples.count > maximumSamples { throw .unsupported(path: name, reason: "longer than one hour") }
        }
        guard !samples.isEmpty else { throw .empty(path: name) }
        return PCMAudio(sampleRate: Int(info.samplerate), samples: samples)
    }
}

/// Bytes behind libsndfile's virtual I/O callbacks: a file in memory, read (`decode`) or
/// written (`gsm610WAV`).
final class MemorySource {
    private(set) var bytes: [UInt8]
    var position: sf_count_t = 0
    /// Set when a write would grow the bytes past `limit` (the writer then reports it).
    private(set) var failed = false
    /// Far beyond an hour of GSM 6.10 (about 5.9 MB).
    let limit = 64 << 20

    init(_ bytes: [UInt8] = []) { self.bytes = bytes }

    static func from(_ user: UnsafeMutableRawPointer?) -> MemorySource {
        // The pointer is always the one passed to sf_open_virtual, kept alive by the caller.
        Unmanaged<MemorySource>.fromOpaque(UnsafeRawPointer(user!)).takeUnretainedValue()
    }

    var length: sf_count_t { sf_count_t(bytes.count) }

    func seek(_ offset: sf_count_t, _ whence: Int32) -> sf_count_t {
        let base: sf_count_t
        switch whence {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = position
        case SEEK_END: base = length
        default: return -1
        }
        let (target, overflow) = base.addingReportingOverflow(offset)
        guard !overflow, target >= 0, target <= length else { return -1 }
        position = target
        return position
    }

    func read(_ destination: UnsafeMutableRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let destination, count > 0, position < length else { return 0 }
        let n = Int(min(count, length - position))
        bytes.withUnsafeBytes { src in
            destination.copyMemory(from: src.baseAddress! + Int(position), byteCount: n)
        }
        position += sf_count_t(n)
        return sf_count_t(n)
    }

    /// Writes at the position, growing the bytes as needed (up to `limit`).
    func write(_ source: UnsafeRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let source, count > 0 else { return 0 }
        let start = Int(position), n = Int(count)
        guard n <= limit - start else {
            failed = true
            return 0
        }
        if bytes.count < start + n { bytes.append(contentsOf: repeatElement(0, count: start + n - bytes.count)) }
        bytes.withUnsafeMutableBytes { dst in dst.baseAddress!.advanced(by: start).copyMemory(from: source, byteCount: n) }
        position += count
        return count
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
