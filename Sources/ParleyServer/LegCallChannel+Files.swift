import ParleyApps
import ParleyDSP
import ParleyMedia

extension LegCallChannel {
    /// Reads the whole file (libsndfile; any rate, mixed to mono), converts it to the leg's
    /// rate and queues it from `offsetMilliseconds`. Runs on the flow's task, never on the
    /// media thread: a 3-minute message is about 3 MB at 8 kHz, read in a few milliseconds.
    func playFile(_ path: String, offsetMilliseconds: Int, id: Int) throws(CallChannelError) {
        let file: PCMAudio
        do { file = try PCMAudio.read(path: path) } catch { throw .audioUnavailable(path: path, reason: "\(error)") }
        guard Resampler.supportedRates.contains(file.sampleRate) else {
            throw .audioUnavailable(path: path, reason: "recorded at \(file.sampleRate) Hz (8000, 16000 or 48000 expected)")
        }
        guard !file.samples.isEmpty else { throw .audioUnavailable(path: path, reason: "no samples") }
        var audio = file.resampled(to: leg.sendRate)
        let skip = min(audio.samples.count, max(0, offsetMilliseconds) * audio.sampleRate / 1000)
        if skip > 0 { audio.samples.removeFirst(skip) }
        enqueue(audio.samples.isEmpty ? [] : [("audio", audio)], id: id)
    }
}
