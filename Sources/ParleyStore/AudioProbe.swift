import CSndFile

/// Reads an audio file's header with libsndfile, without decoding it: enough to tell a
/// playable WAV from a missing, empty, truncated-to-nothing or foreign file, cheaply for
/// every file at start-up.
enum AudioProbe {
    enum Result: Equatable {
        case playable(durationMilliseconds: Int)
        case unplayable(reason: String)
    }

    static func probe(path: String) -> Result {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            return .unplayable(reason: String(cString: sf_strerror(nil)))
        }
        sf_close(file)
        guard info.format & Int32(SF_FORMAT_TYPEMASK) == Int32(SF_FORMAT_WAV) else { return .unplayable(reason: "not a WAV file") }
        guard info.channels >= 1, info.channels <= 2, (8000...48000).contains(info.samplerate) else {
            return .unplayable(reason: "\(info.channels) channels at \(info.samplerate) Hz")
        }
        guard info.frames > 0 else { return .unplayable(reason: "no samples") }
        return .playable(durationMilliseconds: Int(info.frames * 1000 / sf_count_t(info.samplerate)))
    }
}
