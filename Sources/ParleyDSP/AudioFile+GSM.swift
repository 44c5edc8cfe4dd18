import CSndFile

extension PCMAudio {
    /// GSM 6.10 in a WAV container (`WAVE_FORMAT_GSM610`, 8 kHz mono, 13 kbit/s): about a
    /// tenth of 16-bit PCM and playable by common desktop players. The audio is resampled to
    /// 8 kHz first when it is at another rate; encoded in memory through libsndfile's virtual
    /// I/O (no temporary file). `name` is used in errors.
    public func gsm610WAV(name: String = "<memory>") throws(AudioFileError) -> [UInt8] {
        let audio = resampled(to: 8000)
        guard audio.sampleRate == 8000 else {
            throw .unsupported(path: name, reason: "cannot resample \(sampleRate) Hz to 8000 Hz for GSM 6.10")
        }
        guard !audio.samples.isEmpty else { throw .empty(path: name) }
        let sink = MemorySink()
        var io = SF_VIRTUAL_IO(
            get_filelen: { user in MemorySink.from(user).length },
            seek: { offset, whence, user in MemorySink.from(user).seek(offset, whence) },
            read: { ptr, count, user in MemorySink.from(user).read(ptr, count) },
            write: { ptr, count, user in MemorySink.from(user).write(ptr, count) },
            tell: { user in MemorySink.from(user).position })
        var info = SF_INFO()
        info.samplerate = 8000
        info.channels = 1
        info.format = Int32(SF_FORMAT_WAV | SF_FORMAT_GSM610)
        let result: Result<[UInt8], AudioFileError> = withExtendedLifetime(sink) {
            guard let file = sf_open_virtual(&io, Int32(SFM_WRITE), &info, Unmanaged.passUnretained(sink).toOpaque()) else {
                return .failure(.cannotOpen(path: name, reason: String(cString: sf_strerror(nil))))
            }
            let written = audio.samples.withUnsafeBufferPointer { sf_write_short(file, $0.baseAddress, sf_count_t($0.count)) }
            let reason = String(cString: sf_strerror(file))
            // Closing writes the final header (data and fact chunk sizes) through `seek`/`write`.
            guard sf_close(file) == 0, written == audio.samples.count, !sink.failed else {
                return .failure(.writeFailed(path: name, reason: reason))
            }
            return .success(sink.bytes)
        }
        return try result.get()
    }
}

/// A growable in-memory file behind libsndfile's virtual I/O callbacks, for writing.
private final class MemorySink {
    var bytes: [UInt8] = []
    var position: sf_count_t = 0
    /// Set when a write would exceed `limit` (the caller then reports the failure).
    var failed = false
    /// Far beyond an hour of GSM 6.10 (about 5.9 MB).
    let limit = 64 << 20

    static func from(_ user: UnsafeMutableRawPointer?) -> MemorySink {
        // The pointer is always the one passed to sf_open_virtual, kept alive by the caller.
        Unmanaged<MemorySink>.fromOpaque(UnsafeRawPointer(user!)).takeUnretainedValue()
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
        guard !overflow, target >= 0, target <= sf_count_t(limit) else { return -1 }
        position = target
        return position
    }

    func read(_ destination: UnsafeMutableRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let destination, count > 0, position < length else { return 0 }
        let n = Int(min(count, length - position))
        bytes.withUnsafeBytes { src in destination.copyMemory(from: src.baseAddress! + Int(position), byteCount: n) }
        position += sf_count_t(n)
        return sf_count_t(n)
    }

    func write(_ source: UnsafeRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let source, count > 0 else { return 0 }
        let start = Int(position), n = Int(count)
        guard start + n <= limit else {
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
