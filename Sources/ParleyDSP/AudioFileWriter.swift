import CSndFile

/// Writes mono audio to a WAV file frame by frame (streaming), through libsndfile.
///
/// The header is kept valid as the file grows (`SFC_SET_UPDATE_HEADER_AUTO`), so a file
/// cut short by a crash or a hang-up mid-write still opens with every frame written
/// before it. `finish()` flushes to disk (fsync) and closes; `deinit` closes too.
/// Confined to one thread at a time.
public final class AudioFileWriter {
    public enum Encoding: Sendable {
        case pcm16
        case ulaw
        case alaw

        var format: Int32 {
            switch self {
            case .pcm16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .ulaw: return Int32(SF_FORMAT_WAV | SF_FORMAT_ULAW)
            case .alaw: return Int32(SF_FORMAT_WAV | SF_FORMAT_ALAW)
            }
        }
    }

    public let path: String
    public let sampleRate: Int
    public private(set) var samplesWritten = 0
    private var file: OpaquePointer?

    /// Creates (or truncates) the file.
    public init(path: String, sampleRate: Int, encoding: Encoding = .pcm16) throws(AudioFileError) {
        guard (8000...48000).contains(sampleRate) else {
            throw .unsupported(path: path, reason: "sample rate \(sampleRate) Hz")
        }
        self.path = path
        self.sampleRate = sampleRate
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = 1
        info.format = encoding.format
        guard let f = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw .cannotOpen(path: path, reason: String(cString: sf_strerror(nil)))
        }
        _ = sf_command(f, Int32(SFC_SET_UPDATE_HEADER_AUTO), nil, Int32(SF_TRUE))
        file = f
    }

    deinit {
        if let file { sf_close(file) }
    }

    /// Appends samples. A short write (disk full) is an error naming the file.
    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioFileError) {
        guard let file else { throw .closed(path: path) }
        guard let base = samples.baseAddress, samples.count > 0 else { return }
        let n = sf_write_short(file, base, sf_count_t(samples.count))
        if n > 0 { samplesWritten += Int(n) }
        guard n == samples.count else {
            throw .writeFailed(path: path, reason: String(cString: sf_strerror(file)))
        }
    }

    /// Flushes to stable storage and closes. Idempotent.
    public func finish() {
        guard let f = file else { return }
        sf_write_sync(f)
        sf_close(f)
        file = nil
    }

    /// Duration written so far, in milliseconds.
    public var durationMilliseconds: Int { samplesWritten * 1000 / sampleRate }
}
