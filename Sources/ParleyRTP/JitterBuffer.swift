/// An adaptive jitter buffer for one received RTP stream of fixed-duration frames.
///
/// Three parts, each replaceable (NetEq's split): `JitterBufferStorage` holds the packets
/// (a preallocated ring; no allocation per packet), `JitterDelayEstimator` turns arrival
/// times into a target delay, and a `PlayoutPolicy` decides, frame by frame, whether to
/// grow or shrink the delay.
///
/// The media tick calls `get(nowMs:)` once per frame and the socket side calls `put` for
/// each packet; both take the time as a parameter (ms on the local clock), so tests and
/// simulations drive the buffer with any clock. `get` never blocks: it answers
/// `.normal` (a payload to decode), `.missing` (conceal one frame, with `peekNext()` as
/// the codec's look-ahead), `.prefetching` (packets are waiting for their play-out time)
/// or `.empty` (nothing to play).
///
/// Time model: a frame with extended timestamp `ts` is played at local time
/// `ts + offset`; the buffer's delay is that offset minus the smallest transit
/// (`arrival - timestamp`) seen in the estimator's window. Delay changes happen only at
/// talkspurt starts (marker bit, or a timestamp gap after suppressed silence), on frames
/// marked as silence, or while concealing an underrun — by inserting or dropping whole
/// frames, counted in `Statistics.inserted` and `.dropped`.
///
/// Confined to one stream on one event loop; not thread-safe.
public final class JitterBuffer<Policy: PlayoutPolicy> {
    public struct Configuration: Sendable, Equatable {
        /// RTP clock rate in Hz.
        public var clockRate: Int
        /// Duration of one frame in timestamp units (160 = 20 ms at 8 kHz).
        public var frameDuration: Int64
        /// Ring slots (packets) and the largest payload accepted (bytes).
        public var capacity: Int
        public var slotSize: Int
        public var estimator: JitterDelayEstimator.Configuration
        /// Consecutive underrun frames concealed before the buffer reports `.empty` and
        /// waits for the next talkspurt.
        public var maximumUnderrunFrames: Int
        /// A sequence number this far ahead of the highest seen (or `maximumMisorder`
        /// behind it) is a restart of the stream once the next packet confirms it
        /// (RFC 3550 Appendix A.1's MAX_DROPOUT / MAX_MISORDER).
        public var maximumDropout: Int64
        public var maximumMisorder: Int64

        public init(clockRate: Int = 8000, frameDuration: Int64 = 160, capacity: Int = 64, slotSize: Int = 1500,
                    estimator: JitterDelayEstimator.Configuration? = nil, maximumUnderrunFrames: Int = 5,
                    maximumDropout: Int64 = 3000, maximumMisorder: Int64 = 100) {
            self.clockRate = clockRate
            self.frameDuration = frameDuration
            self.capacity = capacity
            self.slotSize = slotSize
            self.estimator = estimator ?? JitterDelayEstimator.Configuration(clockRate: clockRate)
            self.maximumUnderrunFrames = maximumUnderrunFrames
            self.maximumDropout = maximumDropout
            self.maximumMisorder = maximumMisorder
        }
    }

    /// What to do for the current frame.
    public enum Frame: Equatable {
        /// Decode this payload; it stays valid until the next `put`.
        case normal(UnsafeRawBufferPointer)
        /// No packet for this frame (lost, late, or a frame inserted to grow the delay):
        /// conceal it, passing `peekNext()` as the look-ahead.
        case missing
        /// Packets are buffered but not yet due (start of the stream or of a talkspurt).
        case prefetching
        /// Nothing to play.
        case empty
        /// The sender is silent (discontinuous transmission, or a comfort-noise packet,
        /// RFC 3389, whose payload is given): play comfort noise; nothing was lost.
        case comfortNoise(UnsafeRawBufferPointer?)

        public static func == (a: Frame, b: Frame) -> Bool {
            switch (a, b) {
            case let (.normal(x), .normal(y)): return x.baseAddress == y.baseAddress && x.count == y.count
            case let (.comfortNoise(x), .comfortNoise(y)): return x?.baseAddress == y?.baseAddress && x?.count == y?.count
            case (.missing, .missing), (.prefetching, .prefetching), (.empty, .empty): return true
            default: return false
            }
        }
    }

    /// What `put` did with a packet.
    public enum PutResult: Sendable, Equatable {
        case stored
        /// Already stored or played; dropped.
        case duplicate
        /// Its frame was already played or concealed; dropped.
        case late
        /// Larger than a slot; dropped.
        case tooLarge
        /// A sequence jump; held back until the next packet confirms a restart.
        case probation
        /// The second packet of a restarted stream: the buffer started over with it.
        case resynchronized
    }

    public struct Statistics: Sendable, Equatable {
        public var received = 0
        public var played = 0
        /// Frames concealed because their packet was lost or late.
        public var concealed = 0
        public var late = 0
        public var duplicate = 0
        /// Frames inserted (grow) and dropped (shrink) to follow the target delay.
        public var inserted = 0
        public var dropped = 0
        /// Speech frames played with a request to shorten (accelerate) or lengthen (stretch)
        /// them by time-scale modification.
        public var accelerated = 0
        public var stretched = 0
        /// Frames answered with comfort noise: the sender's silence (DTX) or its CN packets.
        public var comfortNoise = 0
        /// Frames first concealed in an underrun that the stream's resumption showed were
        /// a pause (no sequence number missing), taken back out of `concealed`.
        public var pauseFrames = 0
        /// Unplayed packets pushed out of a full ring.
        public var overflow = 0
        public var resyncs = 0
        /// Delay over the fastest recent packet at the last `get`, and the target, in ms.
        public var currentDelayMs: Double = 0
        public var targetDelayMs: Double = 0
    }

    public let configuration: Configuration
    public let storage: JitterBufferStorage
    /// Interactive (lowest delay) or recording (completeness) play-out; see `setMode`.
    public private(set) var mode: PlayoutMode = .interactive
    /// Audio already taken out of the buffer and not yet heard (decoded samples queued in
    /// the play-out stage), in timestamp units: part of the delay. Set by the consumer.
    public var pendingOutput: Int64 = 0
    /// The consumer's voice-activity decision on the decoded audio: while the sender is
    /// silent, an underrun is its discontinuous transmission (comfort noise), not a loss.
    public var sourceSilent = false
    /// The last frame played was a comfort-noise packet (RFC 3389): until speech resumes the
    /// sender is silent by its own word, so an underrun is comfort noise, not a loss.
    public private(set) var inComfortNoise = false
    /// For the frame last returned as `.normal`: `.accelerate` or `.stretch` when the
    /// policy wants it shortened or lengthened by time-scale modification, else `.none`.
    public private(set) var timeScale: PlayoutAdjustment = .none
    public private(set) var estimator: JitterDelayEstimator
    public var policy: Policy
    public private(set) var statistics = Statistics()

    private let unitsPerMs: Double
    private var highestSequence: Int64?
    private var lastTimestamp: Int64 = 0
    private var probation: UInt16?
    /// The next frame to play (extended sequence number and timestamp); nil until play-out starts.
    private var nextSequence: Int64?
    private var nextTimestamp: Int64 = 0
    private var playing = false
    private var underruns = 0
    /// Frames concealed (and skipped) in the current underrun.
    private var underrunAdvances = 0
    /// Frames concealed in the last underrun whose sequence numbers were given back: if the
    /// stream resumes exactly there, they were a pause, not a loss.
    private var givenBack = 0
    /// Of `underrunAdvances`, the frames concealed (not answered with comfort noise).
    private var underrunConcealed = 0
    private var resumeSequence: Int64?
    private var resumeTimestamp: Int64 = 0
    /// Frames inserted (play-out held back) in the current underrun.
    private var heldFrames = 0
    /// After an underrun stopped play-out: local time minus timestamp of the frame that was
    /// due (timestamp units), to resume on the same schedule if the gap was a loss.
    private var scheduleOffset: Int64?

    public init(configuration: Configuration = Configuration(), policy: Policy) {
        self.configuration = configuration
        self.policy = policy
        storage = JitterBufferStorage(capacity: configuration.capacity, slotSize: configuration.slotSize)
        estimator = JitterDelayEstimator(configuration.estimator)
        unitsPerMs = Double(configuration.clockRate) / 1000
    }

    @inline(__always)
    private func units(ms: Int64) -> Int64 { ms * Int64(configuration.clockRate) / 1000 }

    /// Stores one received packet.
    /// - Parameters:
    ///   - payload: the RTP payload; copied.
    ///   - arrivalMs: local receive time in ms, on the same clock as `get(nowMs:)`.
    ///   - silence: the frame carries silence (comfort noise, or the caller's VAD says so):
    ///     the buffer may drop or stretch it to change its delay.
    @discardableResult
    ///   - comfortNoise: a comfort-noise packet (RFC 3389): it counts as received and plays
    ///     as `.comfortNoise(payload)`.
    public func put(_ payload: UnsafeRawBufferPointer, sequenceNumber: UInt16, timestamp: UInt32, marker: Bool,
                    arrivalMs: Int64, silence: Bool = false, comfortNoise: Bool = false) -> PutResult {
        statistics.received += 1
        guard payload.count <= storage.slotSize else { return .tooLarge }
        var resynchronized = false
        if let highest = highestSequence {
            let d = Int64(Int16(bitPattern: sequenceNumber &- UInt16(truncatingIfNeeded: highest)))
            if d > configuration.maximumDropout || d < -configuration.maximumMisorder {
                guard probation == sequenceNumber else {
                    probation = sequenceNumber &+ 1
                    return .probation
                }
                restart()
                statistics.resyncs += 1
                resynchronized = true
            }
        }
        probation = nil

        let sequence: Int64, extendedTimestamp: Int64
        if let highest = highestSequence {
            sequence = highest + Int64(Int16(bitPattern: sequenceNumber &- UInt16(truncatingIfNeeded: highest)))
            extendedTimestamp = lastTimestamp + Int64(Int32(bitPattern: timestamp &- UInt32(truncatingIfNeeded: lastTimestamp)))
        } else {
            // Offsets keep extended numbers positive when the first packets are reordered.
            sequence = Int64(sequenceNumber) + 1 << 16
            extendedTimestamp = Int64(timestamp) + 1 << 32
        }
        highestSequence = max(highestSequence ?? sequence, sequence)
        lastTimestamp = extendedTimestamp

        if storage.contains(sequence) {
            statistics.duplicate += 1
            return .duplicate
        }
        estimator.update(transit: units(ms: arrivalMs) - extendedTimestamp)
        statistics.targetDelayMs = estimator.targetDelayMs
        if let next = nextSequence {
            if sequence < next {
                statistics.late += 1
                return .late
            }
            // Ahead of the ring: push out the oldest unplayed frames to make room.
            let firstKept = sequence - Int64(storage.capacity) + 1
            if firstKept > next {
                for s in next..<firstKept where storage.slot(s) != nil {
                    storage.markPlayed(s)
                    statistics.overflow += 1
                }
                nextTimestamp += (firstKept - next) * configuration.frameDuration
                nextSequence = firstKept
            }
        }
        switch storage.store(sequence: sequence, timestamp: extendedTimestamp, marker: marker, silence: silence || comfortNoise,
                             comfortNoise: comfortNoise, payload: payload) {
        case .stored: break
        case .displaced: statistics.overflow += 1
        case .duplicate:
            statistics.duplicate += 1
            return .duplicate
        case .tooLarge: return .tooLarge
        }
        return resynchronized ? .resynchronized : .stored
    }

    /// The frame to play now. Call once per frame duration.
    public func get(nowMs: Int64) -> Frame {
        let now = units(ms: nowMs)
        let frame = configuration.frameDuration
        timeScale = .none
        if !playing {
            guard var head = storage.oldest() else { return .empty }
            // A talkspurt (or the stream) starts: schedule its first frame at the target delay.
            var due = head.timestamp + estimator.minimumTransit + estimator.targetDelay
            if let offset = scheduleOffset, let resume = resumeSequence, !head.marker, head.sequence >= resume,
               head.timestamp - resumeTimestamp == (head.sequence - resume) * frame {
                // The timestamps run on with the sequence numbers: packets were lost or
                // delayed, the sender did not pause. Play-out resumes on the schedule it had,
                // so the delay does not jump in the middle of speech — unless waiting for
                // the delayed packets is within what the policy would hold an underrun for.
                let delayIfPlayedNow = now - head.timestamp - estimator.minimumTransit
                if policy.adjustment(currentDelay: delayIfPlayedNow, targetDelay: estimator.targetDelay,
                                     frameDuration: frame, at: .underrun) != .insertFrame {
                    while head.timestamp + offset < now - frame / 2 {
                        storage.markPlayed(head.sequence)
                        statistics.late += 1
                        guard let following = storage.oldest() else { return .empty }
                        head = following
                    }
                }
                due = head.timestamp + offset
            }
            guard now >= due else { return .prefetching }
            scheduleOffset = nil
            playing = true
            underruns = 0
            underrunAdvances = 0
            if head.sequence == resumeSequence, givenBack > 0 {
                // The stream resumed with no sequence number missing: the underrun was the
                // sender pausing (DTX, silence suppression), not a loss.
                statistics.concealed -= givenBack
                statistics.pauseFrames += givenBack
            }
            givenBack = 0
            resumeSequence = nil
            nextSequence = head.sequence
            nextTimestamp = head.timestamp
            updateDelay(now: now)
            return play(head)
        }
        guard var next = nextSequence else { playing = false; return .empty }
        if heldFrames > 0, storage.slot(next) == nil, storage.storedCount > 0 {
            // Play-out was held back for this frame, and a later packet has come but not it:
            // it was lost, not delayed. The frames already held stand in for it (and the
            // next ones missing), so the delay returns to what it was instead of staying grown.
            while heldFrames > 0, storage.slot(next) == nil {
                heldFrames -= 1
                statistics.inserted -= 1
                statistics.concealed += 1
                advance()
                next += 1
            }
        }
        let current = updateDelay(now: now)

        if let head = storage.slot(next) {
            if head.timestamp > nextTimestamp + frame / 2 {
                // A timestamp gap: the sender suppressed silence. Restart as a talkspurt;
                // the frames concealed while waiting were a pause, not a loss.
                statistics.concealed -= underrunConcealed
                statistics.pauseFrames += underrunConcealed
                underrunConcealed = 0
                heldFrames = 0
                playing = false
                return get(nowMs: nowMs)
            }
            let opportunity: PlayoutOpportunity = head.marker ? .talkspurtStart : head.silence ? .silence : .speech
            switch policy.adjustment(currentDelay: current, targetDelay: estimator.targetDelay,
                                     frameDuration: frame, at: opportunity) {
            case .none:
                return play(head)
            case .accelerate:
                statistics.accelerated += 1
                let played = play(head)
                timeScale = .accelerate
                return played
            case .stretch:
                statistics.stretched += 1
                let played = play(head)
                timeScale = .stretch
                return played
            case .insertFrame:
                statistics.inserted += 1
                return .missing
            case .dropFrame:
                statistics.dropped += 1
                storage.markPlayed(head.sequence)
                advance()
                if let following = storage.slot(head.sequence + 1), following.timestamp <= nextTimestamp + frame / 2 {
                    return play(following)
                }
                return conceal()
            }
        }
        if storage.storedCount == 0 {
            underruns += 1
            if underruns > configuration.maximumUnderrunFrames {
                // The stream paused (suppressed silence, or it ended). The frames concealed
                // in this underrun were never shown lost: give their sequence numbers back,
                // so a talkspurt resuming there is played, not counted late.
                scheduleOffset = now - nextTimestamp
                nextSequence = next - Int64(underrunAdvances)
                nextTimestamp -= Int64(underrunAdvances) * frame
                givenBack = underrunConcealed
                resumeSequence = nextSequence
                resumeTimestamp = nextTimestamp
                underrunAdvances = 0
                underrunConcealed = 0
                heldFrames = 0
                playing = false
                return .empty
            }
            if policy.adjustment(currentDelay: current, targetDelay: estimator.targetDelay,
                                 frameDuration: frame, at: .underrun) == .insertFrame {
                statistics.inserted += 1
                heldFrames += 1
                if sourceSilent || inComfortNoise {
                    statistics.comfortNoise += 1
                    return .comfortNoise(nil)
                }
                return .missing
            }
            underrunAdvances += 1
            if sourceSilent || inComfortNoise {
                // Discontinuous transmission: the sender stopped after silence. Not a loss.
                statistics.comfortNoise += 1
                advance()
                return .comfortNoise(nil)
            }
            underrunConcealed += 1
        } else if mode == .recording, current + frame <= estimator.targetDelay {
            // Recording: a later packet is here but not this one, and the delay is under the
            // target: wait for it (reordered or delayed) rather than conceal it.
            statistics.inserted += 1
            return .missing
        }
        return conceal()
    }

    /// The payload of the next frame, if it has arrived: the look-ahead for
    /// `FrameDecoder.conceal(samples:next:into:)` after a `.missing`.
    public func peekNext() -> UnsafeRawBufferPointer? {
        guard let next = nextSequence else { return nil }
        return storage.payload(next)
    }

    /// The RTP sequence number of the frame last returned as `.normal`.
    public private(set) var lastPlayedSequenceNumber: UInt16?

    /// Packets waiting to be played.
    public var bufferedPackets: Int { storage.storedCount }

    private func play(_ slot: JitterBufferStorage.Slot) -> Frame {
        let payload = storage.payload(slot.sequence) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        storage.markPlayed(slot.sequence)
        nextSequence = slot.sequence
        nextTimestamp = slot.timestamp
        advance()
        underruns = 0
        underrunAdvances = 0
        underrunConcealed = 0
        inComfortNoise = slot.comfortNoise
        if slot.comfortNoise {
            statistics.comfortNoise += 1
            return .comfortNoise(payload)
        }
        lastPlayedSequenceNumber = UInt16(truncatingIfNeeded: slot.sequence)
        heldFrames = 0
        statistics.played += 1
        return .normal(payload)
    }

    private func conceal() -> Frame {
        statistics.concealed += 1
        advance()
        return .missing
    }

    @inline(__always)
    private func advance() {
        nextSequence = (nextSequence ?? 0) + 1
        nextTimestamp += configuration.frameDuration
    }

    @discardableResult
    private func updateDelay(now: Int64) -> Int64 {
        let current = now + pendingOutput - nextTimestamp - estimator.minimumTransit
        statistics.currentDelayMs = Double(current) / unitsPerMs
        statistics.targetDelayMs = estimator.targetDelayMs
        return current
    }

    private func restart() {
        storage.reset()
        estimator.reset()
        highestSequence = nil
        nextSequence = nil
        playing = false
        inComfortNoise = false
        underruns = 0
        underrunAdvances = 0
        underrunConcealed = 0
        givenBack = 0
        resumeSequence = nil
        scheduleOffset = nil
        heldFrames = 0
    }

    /// Switches between interactive play-out (the configured estimator) and recording
    /// (`PlayoutMode.recording`'s: up to about 1 s, nearly every late packet covered). The
    /// measured window is kept; the new target applies from the next frame. Allocates
    /// (the estimator's histogram); call it on the stream's loop, not per packet.
    public func setMode(_ newMode: PlayoutMode) {
        guard newMode != mode else { return }
        mode = newMode
        let settings = newMode == .interactive ? configuration.estimator
            : newMode.estimatorConfiguration(clockRate: configuration.clockRate)
        estimator.reconfigure(settings)
        policy.setMode(newMode, frameDuration: configuration.frameDuration)
        statistics.targetDelayMs = estimator.targetDelayMs
    }
}

extension JitterBuffer where Policy == AdaptivePlayoutPolicy {
    /// The adaptive policy as `Benchmarks/JitterEval` tuned it (20 ms frames: 30 ms of
    /// hysteresis before shrinking, 50 ms under the target before growing — each change is
    /// heard, and scored by PESQ, as a shift — speech dropped only 200 ms over the target
    /// when it cannot be time-scaled, and an underrun held up to 300 ms over the target).
    public convenience init(configuration: Configuration = Configuration()) {
        self.init(configuration: configuration, policy: AdaptivePlayoutPolicy(
            hysteresis: configuration.frameDuration * 3 / 2,
            growthHysteresis: configuration.frameDuration * 5 / 2,
            speechExcessLimit: configuration.frameDuration * 10,
            underrunAllowance: configuration.frameDuration * 15))
    }
}
