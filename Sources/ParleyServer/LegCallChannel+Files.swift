import ParleyApps
import ParleyDSP
import ParleyMedia

extension LegCallChannel {
    /// Reads the whole file (`readAudio`: any supported rate, mixed to mono, converted to the
    /// leg's rate) and queues it from `offsetMilliseconds`. Runs on the flow's task, never on
    /// the media thread: a 3-minute message is about 3 MB at 8 kHz, read in a few milliseconds.
    func playFile(_ path: String, offsetMilliseconds: Int, id: Int) throws(CallChannelError) {
        var audio: PCMAudio
        do { audio = try LegCallChannel.readAudio(path, rate: leg.sendRate) } catch {
            throw .audioUnavailable(path: path, reason: "\(error)")
        }
        let skip = min(audio.samples.count, max(0, offsetMilliseconds) * audio.sampleRate / 1000)
        if skip > 0 { audio.samples.removeFirst(skip) }
        enqueue(audio.samples.isEmpty ? [] : [("audio", audio)], id: id)
    }
}
