import Foundation
import NIOConcurrencyHelpers
import ParleyDSP

/// One conference room on one media thread, mixed on that thread's 20 ms tick.
///
/// Control code (any thread) queues joins, leaves, mutes, volume, tones and recording with
/// `enqueue`; the room applies them at the start of its next tick, then mixes with no lock
/// held except each `ConferencePort`'s for a copy. Per tick, for every participant: the
/// frame its leg decoded (after the leg's own jitter buffer) is taken from its port —
/// missing frames are silence, so a leg that sends nothing, floods or has just left never
/// holds up the others — resampled to the room's rate, measured (`TalkerDetector`), and
/// given to `ConferenceMixer`. The room mixes at 8 kHz while every leg is narrowband and at
/// 16 or 48 kHz once an Opus leg at that rate joins. Each listener's mix is resampled to
/// its leg's rate and handed back; listeners who hear the shared mix at the same rate and
/// volume share one resampled frame, and their legs encode it.
///
/// A room "source" slot carries the join/leave chimes and, while one participant is
/// alone, music on hold.
public final class ConferenceRoom: MediaIOEndpoint, @unchecked Sendable {
    public enum Command {
        /// `rate`: the highest audio rate of the leg (8000 for G.711, the Opus rates otherwise).
        case join(id: Int, port: ConferencePort, rate: Int)
        case leave(id: Int)
        case mute(id: Int, Bool)
        /// Listening volume in Q8 (256 is unity).
        case volume(id: Int, gainQ8: Int32)
        /// Mix this audio (at any supported rate) once into everyone's ear.
        case tone(PCMAudio)
        case recordMix(Recorder?)
        case close
    }

    /// What the control side can see of a participant.
    public struct ParticipantState: Sendable, Equatable {
        public var id: Int
        public var talking: Bool
        public var muted: Bool
        public var port: ConferencePort.Counters
    }

    public let name: String
    /// Mix the loudest this many talkers (nil: everyone talking).
    public let loudest: Int?
    /// Audio played to a participant who is alone (any supported rate), looped.
    private let holdMusic: PCMAudio?
    private let commands = NIOLockedValueBox<[Command]>([])
    private let published = NIOLockedValueBox<(states: [ParticipantState], rate: Int, ticks: Int)>(([], 8000, 0))
    private let capacity: Int
    /// Called on the room's thread when a participant starts (true) or stops (false)
    /// talking; rare (the detector's hysteresis and hangover), so the callee may hop threads.
    private let onTalking: (@Sendable (_ participant: Int, _ talking: Bool) -> Void)?

    // Room thread only.
    private final class Participant {
        let id: Int
        let port: ConferencePort
        let rate: Int
        var muted = false
        var gainQ8: Int32 = 256
        var detector = TalkerDetector()
        var inbound: Resampler?
        var outbound: Resampler?
        init(id: Int, port: ConferencePort, rate: Int) { self.id = id; self.port = port; self.rate = rate }
    }
    private var participants: [Participant] = []
    private var rate = 8000
    private var mixer: ConferenceMixer
    /// Work buffers of one frame (with room for a resampler's extra sample), owned by the room.
    private let scratch = UnsafeMutableBufferPointer<Int16>.allocate(capacity: ConferencePort.maxFrameSamples + 64)
    private let resampled = UnsafeMutableBufferPointer<Int16>.allocate(capacity: ConferencePort.maxFrameSamples + 64)
    /// The shared mix, resampled once per listening rate this tick.
    private final class SharedFrame {
        var tick = -1
        var samples = [Int16](repeating: 0, count: ConferencePort.maxFrameSamples + 64)
        var count = 0
        let resampler: Resampler?
        /// The frame encoded once per codec its listeners send (shared encode).
        var encodings: [SharedEncoding] = []
        init(resampler: Resampler?) { self.resampler = resampler }
    }
    /// The shared mix at one rate in one codec (`ConferencePort.encodeKey`), encoded this tick.
    private final class SharedEncoding {
        let codec: LegCodecChoice
        let encoder: LegEncoder
        var tick = -1
        var payload = [UInt8](repeating: 0, count: ConferencePort.maxPayloadBytes)
        var length = 0
        init(codec: LegCodecChoice, encoder: LegEncoder) { self.codec = codec; self.encoder = encoder }
    }
    /// Encodes of the shared mix done so far (room thread; tests and benchmarks).
    private(set) var sharedEncodes = 0
    private var sharedAt: [Int: SharedFrame] = [:]
    private var tone: PCMAudio?
    private var tonePosition = 0
    private var music: PCMAudio?
    private var musicPosition = 0
    private var recorder: Recorder?
    private var closed = false
    private var ticks = 0

    /// `capacity`: the most participants the room will hold. `onTalking`: see the property.
    public init(name: String, capacity: Int, loudest: Int?, holdMusic: PCMAudio?,
                onTalking: (@Sendable (_ participant: Int, _ talking: Bool) -> Void)? = nil) {
        self.name = name
        self.onTalking = onTalking
        self.capacity = max(1, capacity)
        self.loudest = loudest
        self.holdMusic = holdMusic
        mixer = ConferenceMixer(frameSamples: 160, capacity: self.capacity + 1)
        mixer.loudest = loudest.map { $0 + 1 }
        scratch.initialize(repeating: 0)
        resampled.initialize(repeating: 0)
    }

    deinit {
        scratch.deallocate()
        resampled.deallocate()
    }

    /// Starts the room on `leg`'s media thread (where its first participant already is).
    public func start(on leg: MediaLeg) -> Bool {
        let io = leg.io
        return io.execute { try? io.register(self, sockets: []) }
    }

    /// Queues a command for the start of the next tick (any thread).
    public func enqueue(_ command: Command) {
        commands.withLockedValue { $0.append(command) }
    }

    /// Participants as of the last tick (any thread).
    public var states: [ParticipantState] { published.withLockedValue { $0.states } }
    /// The mixing rate as of the last tick (any thread).
    public var mixingRate: Int { published.withLockedValue { $0.rate } }
    /// Ticks run so far (any thread).
    public var tickCount: Int { published.withLockedValue { $0.ticks } }

    // MARK: MediaIOEndpoint (the room's media thread)

    public func receive(_ bytes: UnsafeRawBufferPointer, from source: PeerAddress, arrivalMilliseconds: Int64, rtcpSocket: Bool) {}

    public var isClosed: Bool { closed }

    public func closeOnThread() {
        closed = true
        finishRecording()
    }

    public func tick(nowMilliseconds: Int64) {
        guard !closed else { return }
        applyCommands()
        guard !closed else { return }
        ticks += 1
        mixOnce()
        publish()
    }

    /// Applies the queued commands (start of a tick).
    private func applyCommands() {
        let queued = commands.withLockedValue { q -> [Command] in
            guard !q.isEmpty else { return [] }
            let taken = q
            q.removeAll(keepingCapacity: true)
            return taken
        }
        guard !queued.isEmpty else { return }
        var membershipChanged = false
        for command in queued {
            switch command {
            case let .join(id, port, legRate):
                guard participants.count < capacity, !participants.contains(where: { $0.id == id }) else { continue }
                participants.append(Participant(id: id, port: port, rate: legRate))
                membershipChanged = true
            case let .leave(id):
                participants.removeAll { $0.id == id }
                membershipChanged = true
            case let .mute(id, on):
                participants.first { $0.id == id }?.muted = on
            case let .volume(id, gain):
                participants.first { $0.id == id }?.gainQ8 = min(max(gain, 32), 2048)
            case let .tone(audio):
                tone = audio
                tonePosition = 0
            case let .recordMix(r):
                finishRecording()
                recorder = r
            case .close:
                closed = true
                finishRecording()
                return
            }
        }
        if membershipChanged { membershipDidChange() }
    }

    /// Picks the mixing rate for the legs present and rebuilds what depends on it.
    private func membershipDidChange() {
        let highest = participants.map(\.rate).max() ?? 8000
        let newRate = highest > 16000 ? 48000 : highest > 8000 ? 16000 : 8000
        if newRate != rate || mixer.frameSamples != newRate / 50 {
            rate = newRate
            mixer = ConferenceMixer(frameSamples: rate / 50, capacity: capacity + 1)
            mixer.loudest = loudest.map { $0 + 1 }
            sharedAt.removeAll()
            for p in participants { p.inbound = nil; p.outbound = nil }
            if let t = tone { tone = ConferenceRoom.converted(t, to: rate) }
        }
        music = participants.count == 1 ? holdMusic.flatMap { ConferenceRoom.converted($0, to: rate) } : nil
        musicPosition = 0
    }

    private func mixOnce() {
        let frame = mixer.frameSamples
        let n = participants.count
        for (i, p) in participants.enumerated() {
            let input = mixer.input(i)
            if let (count, frameRate) = p.port.roomTake(into: scratch), count > 0 {
                var source = UnsafeBufferPointer(rebasing: scratch[0..<count])
                if frameRate != rate {
                    if p.inbound?.inputRate != frameRate { p.inbound = try? Resampler(from: frameRate, to: rate) }
                    let written = p.inbound?.process(source, into: resampled) ?? 0
                    source = UnsafeBufferPointer(rebasing: resampled[0..<written])
                }
                let c = min(source.count, frame)
                if c > 0, let from = source.baseAddress { input.baseAddress?.update(from: from, count: c) }
                if c < frame { UnsafeMutableBufferPointer(rebasing: input[c...]).update(repeating: 0) }
            } else {
                input.update(repeating: 0)
            }
            if p.detector.process(UnsafeBufferPointer(input)) { onTalking?(p.id, p.detector.isTalking) }
            mixer.speaking[i] = p.detector.isTalking && !p.muted
            mixer.level[i] = p.detector.level
        }
        // The room's own source in the last slot: a chime, or music for someone alone.
        let sourceSlot = n
        let sourceActive = fillSource(mixer.input(sourceSlot))
        mixer.speaking[sourceSlot] = sourceActive
        mixer.level[sourceSlot] = 100 // always among the loudest
        mixer.mix(count: sourceActive ? n + 1 : n)
        if let recorder { recorder.receive(mixer.sharedOutput, rate: rate) }
        for (i, p) in participants.enumerated() { deliver(to: p, slot: i) }
    }

    /// Copies the next frame of the chime or the hold music into `input`; false when neither plays.
    private func fillSource(_ input: UnsafeMutableBufferPointer<Int16>) -> Bool {
        if let t = tone {
            let count = t.samples.count
            let start = tonePosition
            let n = max(0, min(input.count, count - start))
            t.samples.withUnsafeBufferPointer { s in
                if n > 0, let from = s.baseAddress { input.baseAddress?.update(from: from + start, count: n) }
            }
            if n < input.count { UnsafeMutableBufferPointer(rebasing: input[n...]).update(repeating: 0) }
            tonePosition += n
            if tonePosition >= count { tone = nil }
            return true
        }
        if let m = music, !m.samples.isEmpty {
            m.samples.withUnsafeBufferPointer { s in
                for k in 0..<input.count {
                    input[k] = s[musicPosition]
                    musicPosition += 1
                    if musicPosition >= s.count { musicPosition = 0 }
                }
            }
            return true
        }
        return false
    }

    /// The participant's mix at its leg's rate and volume, into its port.
    private func deliver(to p: Participant, slot: Int) {
        let format = p.port.sendFormat
        let legRate = format.rate
        let own = mixer.mixed[slot]
        if !own, p.gainQ8 == 256 {
            // Shared: resampled once per rate per tick.
            let shared: SharedFrame
            if let s = sharedAt[legRate] { shared = s } else {
                shared = SharedFrame(resampler: legRate == rate ? nil : try? Resampler(from: rate, to: legRate))
                sharedAt[legRate] = shared
            }
            if shared.tick != ticks {
                shared.tick = ticks
                let src = mixer.sharedOutput
                if let r = shared.resampler {
                    shared.count = shared.samples.withUnsafeMutableBufferPointer { r.process(src, into: $0) }
                } else {
                    shared.samples.withUnsafeMutableBufferPointer { d in if let from = src.baseAddress { d.baseAddress?.update(from: from, count: src.count) } }
                    shared.count = src.count
                }
            }
            guard let codec = format.codec, codec.sendRate == legRate, let encoding = encoding(of: shared, in: codec) else {
                shared.samples.withUnsafeBufferPointer { p.port.roomGive(UnsafeBufferPointer(rebasing: $0[0..<shared.count]), rate: legRate) }
                return
            }
            shared.samples.withUnsafeBufferPointer { pcm in
                encoding.payload.withUnsafeBufferPointer { payload in
                    p.port.roomGive(UnsafeBufferPointer(rebasing: pcm[0..<shared.count]), rate: legRate,
                                    payload: UnsafeBufferPointer(rebasing: payload[0..<encoding.length]), encodedFor: codec)
                }
            }
            return
        }
        var source = mixer.output(slot)
        if p.gainQ8 != 256 {
            ConferenceMixer.applyGain(source, gainQ8: p.gainQ8, into: scratch)
            source = UnsafeBufferPointer(rebasing: scratch[0..<mixer.frameSamples])
        }
        if legRate == rate {
            p.port.roomGive(source, rate: legRate)
            return
        }
        if p.outbound?.outputRate != legRate || p.outbound?.inputRate != rate { p.outbound = try? Resampler(from: rate, to: legRate) }
        guard let r = p.outbound else { return }
        let n = r.process(source, into: resampled)
        p.port.roomGive(UnsafeBufferPointer(rebasing: resampled[0..<n]), rate: legRate)
    }

    /// `shared`'s frame of this tick encoded in `codec`, once per tick for all its listeners;
    /// nil when no encoder can be made (the legs then encode for themselves).
    private func encoding(of shared: SharedFrame, in codec: LegCodecChoice) -> SharedEncoding? {
        let encoding: SharedEncoding
        if let e = shared.encodings.first(where: { $0.codec == codec }) { encoding = e } else {
            guard let encoder = try? LegEncoder(codec) else { return nil }
            encoding = SharedEncoding(codec: codec, encoder: encoder)
            shared.encodings.append(encoding)
        }
        if encoding.tick != ticks {
            encoding.tick = ticks
            sharedEncodes += 1
            encoding.length = shared.samples.withUnsafeBufferPointer { pcm in
                encoding.payload.withUnsafeMutableBufferPointer { encoding.encoder.encode(UnsafeBufferPointer(rebasing: pcm[0..<shared.count]), into: $0) }
            }
        }
        return encoding
    }

    private func publish() {
        // Only participants' flags change per tick; the array is rebuilt only when they do.
        let changed = published.withLockedValue { s -> Bool in
            s.ticks = ticks
            s.rate = rate
            guard s.states.count == participants.count else { return true }
            for (i, p) in participants.enumerated() {
                let st = s.states[i]
                if st.id != p.id || st.talking != p.detector.isTalking || st.muted != p.muted { return true }
            }
            return false
        }
        guard changed || ticks % 50 == 0 else { return }
        let states = participants.map { ParticipantState(id: $0.id, talking: $0.detector.isTalking, muted: $0.muted, port: $0.port.currentCounters) }
        published.withLockedValue { $0.states = states }
    }

    private func finishRecording() {
        guard let r = recorder else { return }
        recorder = nil
        DispatchQueue.global().async { r.finish() }
    }

    /// `audio` at `rate` (whole-prompt conversion, off the per-frame path: joins and tones).
    static func converted(_ audio: PCMAudio, to rate: Int) -> PCMAudio? {
        if audio.sampleRate == rate { return audio }
        guard let r = try? Resampler(from: audio.sampleRate, to: rate) else { return nil }
        var out = [Int16](repeating: 0, count: r.outputCount(forInput: audio.samples.count) + 16)
        let n = audio.samples.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { r.process(s, into: $0) } }
        return PCMAudio(sampleRate: rate, samples: Array(out[0..<n]))
    }
}
