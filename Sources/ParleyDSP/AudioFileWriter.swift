import CSndFile
#if canImport(Glibc)
import Glibc
#endif

/// Writes mono audio to a WAV file frame by frame (streaming), through libsndfile.
///
/// The header is kept valid as the file grows (`SFC_SET_UPDATE_HEADER_AUTO`), so a file
/// cut short by a crash or a hang-up mid-write still opens with every frame written
/// before it. `close()` flushes to disk (fsync) and closes, reporting any failure;
/// `finish()` does the same for scratch files whose loss does not matter; `deinit` closes too.
/// Confined to one thread at a time.
///
/// The file descriptor is ours (`sf_open_fd`), not libsndfile's: libsndfile ignores the
/// result of its own fsync and close, and a full disk or an I/O error must reach the
/// caller as an error, never a trap nor silence.
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
    private var descriptor: Int32 = -1

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
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        // libsndfile writes the header here: on a full disk this is the first write to fail.
        guard let f = sf_open_fd(fd, Int32(SFM_WRITE), &info, Int32(SF_FALSE)) else {
            let reason = String(cString: sf_strerror(nil))
            Glibc.close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        _ = sf_command(f, Int32(SFC_SET_UPDATE_HEADER_AUTO), nil, Int32(SF_TRUE))
        file = f
        descriptor = fd
    }

    deinit {
        if let file { sf_close(file) }
        if descriptor >= 0 { Glibc.close(descriptor) }
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

    /// Brings the header up to date, writes the file to stable storage (fsync) and closes
    /// it. Any failure on the way (a header the disk had no room for, EIO or ENOSPC from
    /// fsync on a file system that allocates late, EDQUOT) is an error naming the file: the
    /// file must then not be taken for whole. Idempotent: once closed, nothing is reported.
    public func close() throws(AudioFileError) {
        guard let f = file else { return }
        file = nil
        _ = sf_command(f, Int32(SFC_UPDATE_HEADER_NOW), nil, 0)
        let code = sf_error(f)
        var failure: String? = code == 0 ? nil : String(cString: sf_strerror(f))
        sf_close(f)
        if fsync(descriptor) != 0, failure == nil { failure = "fsync: \(String(cString: strerror(errno)))" }
        if Glibc.close(descriptor) != 0, failure == nil { failure = "close: \(String(cString: strerror(errno)))" }
        descriptor = -1
        if let failure { throw .writeFailed(path: path, reason: failure) }
    }

    /// Closes like `close()` without reporting a failure: for scratch files and tests, where
    /// a later read finds out anyway. Idempotent.
    public func finish() {
        try? close()
    }

    /// Duration written so far, in milliseconds.
    public var durationMilliseconds: Int { samplesWritten * 1000 / sampleRate }
}
