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
        let sink = MemorySource()
        var io = SF_VIRTUAL_IO(
            get_filelen: { user in MemorySource.from(user).length },
            seek: { offset, whence, user in MemorySource.from(user).seek(offset, whence) },
            read: { ptr, count, user in MemorySource.from(user).read(ptr, count) },
            write: { ptr, count, user in MemorySource.from(user).write(ptr, count) },
            tell: { user in MemorySource.from(user).position })
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
