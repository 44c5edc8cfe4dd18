import ParleyDSP
import ParleyRTP

/// The receive side's play-out, one 20 ms frame of PCM per tick: the jitter buffer's
/// frame, decoded or concealed (G.711 PLC, Opus FEC/PLC), comfort noise while the sender
/// is silent, and the delay changes the buffer asks for done on the audio — by
/// time-scale modification (one pitch period less or more, `TimeScaleModifier`) in
/// speech, by whole frames only where the voice-activity detector hears silence.
///
/// Decoded audio not yet played waits in a small queue; its length is part of the delay
/// the buffer sees (`JitterBuffer.pendingOutput`), so a shortened or lengthened frame
/// moves the buffer's delay by exactly the samples removed or added.
///
/// Runs on the leg's event loop; storage is allocated in `init`, nothing per frame
/// (comfort noise allocates its cadence when its level changes, at most once per pause).
public final class PlayoutPipeline {
    public struct Statistics: Sendable, Equatable {
        /// Frames decoded from packets, concealed (loss), and filled with comfort noise.
        public var decoded = 0
        public var concealed = 0
        public var comfortNoise = 0
        /// Samples removed (accelerate) and added (stretch) by time-scale modification.
        public var samplesRemoved = 0
        public var samplesAdded = 0
        /// Quiet frames dropped, and frames of comfort noise added, to change the delay.
        public var framesRemoved = 0
        public var framesAdded = 0
        /// Payloads the decoder rejected (concealed instead).
        public var undecodable = 0
    }

    /// What a `pull` produced.
    public enum Output: Sendable, Equatable {
        /// Received audio (decoded, concealed or comfort noise).
        case audio
        /// Nothing is being received: the frame is silence.
        case silence
    }

    public let buffer: JitterBuffer<AdaptivePlayoutPolicy>
    public private(set) var statistics = Statistics()
    /// Output samples per tick.
    public let frameSamples: Int
    /// Whether delay changes in speech are made by time-scale modification (else the
    /// buffer changes its delay only in silence, at talkspurts and in underruns).
    public var timeScaling: Bool {
        didSet { buffer.policy.timeScaling = timeScaling }
    }

    /// The normalized correlation two pitch periods must reach for time-scale modification
    /// of loud audio (`TimeScaleModifier.minimumCorrelation`).
    public var timeScaleCorrelation: Float {
        get { scaler.minimumCorrelation }
        set { scaler.minimumCorrelation = newValue }
    }

    /// At most this many pitch periods are removed per frame, one per `accelerateStepMs`
    /// of delay over the target.
    public var maximumPeriodsPerFrame = 2
    public var accelerateStepMs = 30.0
    /// Speech is shortened only this far (ms) over the target; below it, only quiet frames go.
    public var speechAccelerateMs = 40.0
    /// A frame is quiet below this level (dBov), or outside speech within this many dB of
    /// the background.
    public var quietDBov: Float = -55
    public var quietMarginDB: Float = 6

    private let decoder: any FrameDecoder
    private var scaler: TimeScaleModifier
    private var vad = VoiceActivityDetector()
    private let noise: ToneGenerator?
    private var noiseLevel: Double = .nan
    /// The level (dBov) of the sender's last comfort-noise packet, until it speaks again:
    /// its silence is played at that level.
    private var comfortNoiseLevel: Double?
    private let unitsPerSample: Double
    private var queue: [Int16]
    private var queued = 0
    /// Pitch periods still to remove (accelerate): more than one per frame when the delay
    /// is far over the target, so a delay spike's excess is shed within a word or two.
    private var pendingAccelerate = 0
    private var pendingStretch = false
    /// The packets whose audio started in the last `pull`: RTP sequence number and the
    /// sample offset in that pull's output where it starts (past the frame: later pulls).
    public private(set) var startedCount = 0
    private var started: [(sequence: UInt16, offset: Int)] = Array(repeating: (0, 0), count: 4)

    /// - Parameters:
    ///   - buffer: the leg's jitter buffer (its clock rate is the RTP clock).
    ///   - decoder: decodes and conceals; its sample rate is the output rate.
    public init(buffer: JitterBuffer<AdaptivePlayoutPolicy>, decoder: any FrameDecoder, timeScaling: Bool = true) {
        self.buffer = buffer
        self.decoder = decoder
        self.timeScaling = timeScaling
        buffer.policy.timeScaling = timeScaling
        let rate = decoder.sampleRate
        frameSamples = Int(buffer.configuration.frameDuration) * rate / buffer.configuration.clockRate
        unitsPerSample = Double(buffer.configuration.clockRate) / Double(rate)
        scaler = TimeScaleModifier(sampleRate: rate)
        noise = try? ToneGenerator(sampleRate: rate)
        // Room for the longest Opus packet (120 ms at 48 kHz), two frames and a period.
        queue = [Int16](repeating: 0, count: 5760 + 3 * frameSamples + scaler.maximumPeriod)
    }

    /// The sequence number and output offset (samples) of the `i`th packet started in the last pull.
    public func startedPacket(_ i: Int) -> (sequence: UInt16, offset: Int) { started[i] }

    /// Interactive or recording play-out (see `PlayoutMode`).
    public func setMode(_ mode: PlayoutMode) { buffer.setMode(mode) }

    /// Produces the next `frameSamples` samples into `output` (which must hold them).
    public func pull(nowMs: Int64, into output: UnsafeMutableBufferPointer<Int16>) -> Output {
        startedCount = 0
        var receiving = queued > 0
        var pulls = 0
        while (queued < frameSamples || (pendingAccelerate > 0 && queued < scaler.minimumRun)) && pulls < 4 {
            pulls += 1
            buffer.pendingOutput = Int64((Double(queued) * unitsPerSample).rounded())
            let frame = buffer.get(nowMs: nowMs)
            switch frame {
            case let .normal(payload):
                receiving = true
                if startedCount < started.count, let sequence = buffer.lastPlayedSequenceNumber {
                    started[startedCount] = (sequence, queued)
                    startedCount += 1
                }
                let start = queued
                comfortNoiseLevel = nil
                decode(payload)
                let quiet = listen(from: start)
                if timeScaling { adjust(frameStart: start, quiet: quiet) }
            case .missing:
                receiving = true
                statistics.concealed += 1
                let next = buffer.peekNext()
                queued += queue.withUnsafeMutableBufferPointer { q in
                    decoder.conceal(samples: frameSamples, next: next,
                                    into: UnsafeMutableBufferPointer(rebasing: q[queued..<q.count]))
                }
            case let .comfortNoise(payload):
                receiving = true
                statistics.comfortNoise += 1
                fillComfortNoise(payload)
            case .prefetching, .empty:
                // Nothing due: finish the frame with what is queued (padded with silence);
                // between talkspurts of a stream, comfort noise at the background level.
                if queued == 0, buffer.statistics.received > 0,
                   comfortNoiseLevel != nil || (!vad.isSpeech && vad.noiseFloorDBov > -90) {
                    fillComfortNoise(nil)
                    receiving = true
                }
                pendingAccelerate = 0
                pendingStretch = false
                pulls = 4
            }
        }
        if pendingAccelerate > 0 {
            let before = queued
            for _ in 0..<pendingAccelerate where queued > frameSamples {
                queued = queue.withUnsafeMutableBufferPointer { scaler.compress($0, count: queued) }
            }
            pendingAccelerate = 0
            statistics.samplesRemoved += before - queued
        } else if pendingStretch {
            pendingStretch = false
            let before = queued
            queued = queue.withUnsafeMutableBufferPointer { scaler.stretch($0, count: queued) }
            statistics.samplesAdded += queued - before
        }
        // Play the first frame of the queue; keep the rest.
        let n = min(frameSamples, output.count)
        queue.withUnsafeMutableBufferPointer { q in
            guard let base = q.baseAddress, let out = output.baseAddress else { return }
            let have = min(n, queued)
            out.update(from: base, count: have)
            for i in have..<n { out[i] = 0 }
            if queued > have {
                UnsafeMutableRawPointer(base).copyMemory(from: base + have, byteCount: (queued - have) * 2)
            }
            queued -= have
        }
        return receiving ? .audio : .silence
    }

    /// Carries out the buffer's request for the frame just decoded at `frameStart`: in a
    /// quiet frame (background noise, a pause between words) whole frames go or come —
    /// the frame is dropped, or a frame of comfort noise follows it; in speech, pitch
    /// periods are removed once the delay is `speechAccelerateMs` over the target, and
    /// speech is never lengthened (the next pause will do).
    private func adjust(frameStart: Int, quiet: Bool) {
        switch buffer.timeScale {
        case .accelerate:
            pendingStretch = false
            if quiet {
                statistics.samplesRemoved += queued - frameStart
                statistics.framesRemoved += 1
                queued = frameStart
                if startedCount > 0 { startedCount -= 1 }
                return
            }
            let excess = buffer.statistics.currentDelayMs - buffer.statistics.targetDelayMs
            if excess >= speechAccelerateMs {
                pendingAccelerate = min(maximumPeriodsPerFrame, max(1, Int(excess / accelerateStepMs)))
            }
        case .stretch:
            pendingAccelerate = 0
            if quiet {
                let before = queued
                fillComfortNoise(nil)
                statistics.samplesAdded += queued - before
                statistics.framesAdded += 1
            }
        default:
            break
        }
    }

    private func decode(_ payload: UnsafeRawBufferPointer) {
        let n = queue.withUnsafeMutableBufferPointer { q -> Int? in
            try? decoder.decode(payload, into: UnsafeMutableBufferPointer(rebasing: q[queued..<q.count]))
        }
        if let n {
            statistics.decoded += 1
            queued += n
        } else {
            statistics.undecodable += 1
            queued += queue.withUnsafeMutableBufferPointer { q in
                decoder.conceal(samples: frameSamples, next: nil, into: UnsafeMutableBufferPointer(rebasing: q[queued..<q.count]))
            }
        }
    }

    /// Runs the voice-activity detector on freshly decoded audio and tells the buffer.
    /// Returns whether that audio is quiet: below `quietDBov`, or, once the detector
    /// hears no speech, within `quietMarginDB` of the background.
    private func listen(from start: Int) -> Bool {
        var loudest = FrameEnergy.floor
        queue.withUnsafeBufferPointer { q in
            var i = start
            while i + frameSamples <= queued {
                let frame = UnsafeBufferPointer(rebasing: q[i..<(i + frameSamples)])
                let energy = FrameEnergy.dBov(frame)
                loudest = max(loudest, energy)
                _ = vad.process(energyDBov: energy)
                i += frameSamples
            }
        }
        buffer.sourceSilent = !vad.isSpeech
        return loudest < quietDBov || !vad.isSpeech && loudest < vad.noiseFloorDBov + quietMarginDB
    }

    /// Appends comfort noise up to the end of the current frame (a whole frame if the
    /// queue is empty): at the level the sender's last CN packet gave (RFC 3389 §3: −dBov in
    /// its first byte) until it speaks again, else at the background level the detector measured.
    private func fillComfortNoise(_ payload: UnsafeRawBufferPointer?) {
        if let payload, payload.count > 0 { comfortNoiseLevel = -Double(payload[0] & 0x7F) }
        var level = comfortNoiseLevel ?? Double(vad.noiseFloorDBov)
        if !level.isFinite || level < -90 { level = -96 }
        let wanted = max(frameSamples, queued + frameSamples - queued % frameSamples) - queued
        let count = min(wanted, queue.count - queued)
        guard count > 0 else { return }
        queue.withUnsafeMutableBufferPointer { q in
            let out = UnsafeMutableBufferPointer(rebasing: q[queued..<(queued + count)])
            guard let noise, level > -90 else {
                for i in out.indices { out[i] = 0 }
                return
            }
            if abs(level - noiseLevel) >= 3 || noiseLevel.isNaN {
                noiseLevel = level
                try? noise.start(.comfortNoise(level: min(0, level)))
            }
            noise.generate(into: out)
        }
        queued += count
    }
}
