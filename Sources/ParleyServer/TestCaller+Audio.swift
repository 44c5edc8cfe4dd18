import NIOCore
import NIOPosix
import ParleyDSP
import ParleyMedia
import ParleySIP

extension TestCaller {
    /// An audio file to play, checked before the call is placed (8, 16 or 48 kHz mono).
    static func readAudio(_ path: String) throws -> PCMAudio {
        let audio: PCMAudio
        do { audio = try PCMAudio.read(path: path) } catch { throw Failure.audio("cannot read \(path): \(error)") }
        guard Resampler.supportedRates.contains(audio.sampleRate) else {
            throw Failure.audio("\(path): \(audio.sampleRate) Hz; 8000, 16000 or 48000 Hz expected")
        }
        return audio
    }

    /// `audio` at the leg's send rate.
    static func resampled(_ audio: PCMAudio, to rate: Int) -> PCMAudio {
        guard audio.sampleRate != rate, let resampler = try? Resampler(from: audio.sampleRate, to: rate) else { return audio }
        var out = [Int16](repeating: 0, count: resampler.outputCount(forInput: audio.samples.count) + 64)
        let n = audio.samples.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { resampler.process(src, into: $0) } }
        return PCMAudio(sampleRate: rate, samples: Array(out.prefix(n)))
    }

    /// In-band DTMF for `keys` (100 ms tone, 100 ms gap each; `,` is 500 ms of silence) at `rate`.
    static func inbandAudio(_ keys: String, rate: Int) throws -> PCMAudio {
        var samples: [Int16] = []
        for (i, group) in keys.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            if i > 0 { samples += [Int16](repeating: 0, count: rate / 2) }
            guard !group.isEmpty else { continue }
            do {
                let generator = try ToneGenerator(sampleRate: rate)
                try generator.start(Cadence.dtmf(String(group)))
                var frame = [Int16](repeating: 0, count: generator.frameSize)
                while !generator.isFinished {
                    let n = frame.withUnsafeMutableBufferPointer { generator.nextFrame(into: $0) }
                    samples += frame.prefix(n)
                    if n == 0 { break }
                }
            } catch {
                throw Failure.audio("--inband-digits: \(error)")
            }
        }
        return PCMAudio(sampleRate: rate, samples: samples)
    }

    /// The local address the system would send from toward `remote` (a connected UDP
    /// socket's name; nothing is sent).
    static func sourceAddress(toward remote: SocketAddress, group: EventLoopGroup) async -> String? {
        guard let probe = try? await DatagramBootstrap(group: group).connect(to: remote).get() else { return nil }
        let address = probe.localAddress?.ipAddress
        try? await probe.close()
        return address
    }

    /// Our offer without telephone-event, as a phone that sends its keys in-band makes it
    /// (the server then listens for tones).
    static func withoutTelephoneEvent(_ offer: SessionDescription) -> SessionDescription {
        var offer = offer
        for i in offer.media.indices {
            let events = Set(offer.media[i].formats.filter { offer.media[i].rtpmap($0)?.name.lowercased() == "telephone-event" })
            offer.media[i].formats.removeAll { events.contains($0) }
            offer.media[i].attributes.removeAll { a in
                guard a.name == "rtpmap" || a.name == "fmtp", let pt = a.value?.split(separator: " ").first else { return false }
                return events.contains(String(pt))
            }
        }
        return offer
    }
}
