/// The default play-out decision: keep the delay within one frame above the target,
/// changing it only where no speech is cut.
///
/// - Grows (inserts a frame) when the delay is `growthHysteresis` below the target, at a
///   talkspurt start or in silence; during an underrun (already concealing) it holds play-out back while the
///   delay is below the target plus `underrunAllowance`: when nothing at all has arrived,
///   the packet is more likely delayed (a delay spike) than lost, and holding turns what
///   would be a late loss into a stretch.
/// - Shrinks (drops a frame) when the delay is at least one frame plus `hysteresis`
///   above the target, at a talkspurt start or in silence.
/// - Mid-speech, when the play-out stage can scale time (`timeScaling`), it asks for one
///   pitch period less (`.accelerate`) while the delay is a frame plus `hysteresis` over
///   the target, and one more (`.stretch`) while it is as far under it. Without time
///   scaling it never acts mid-speech — except, as a bound for senders that never pause
///   while their clock runs fast, when the delay exceeds the target by `speechExcessLimit`.
public struct AdaptivePlayoutPolicy: PlayoutPolicy, Sendable {
    /// Extra margin before shrinking, in timestamp units.
    public var hysteresis: Int64
    /// Margin under the target before growing (timestamp units): every delay change is
    /// heard as a shift, so a target that rises a little is not followed at once.
    public var growthHysteresis: Int64
    /// Excess delay over the target at which a speech frame is dropped after all
    /// (timestamp units); `Int64.max` disables it.
    public var speechExcessLimit: Int64
    /// How far above the target an underrun may hold play-out back (timestamp units).
    public var underrunAllowance: Int64
    /// The consumer can shorten or lengthen speech by time-scale modification.
    public var timeScaling: Bool
    /// The settings for interactive play-out, restored when recording ends.
    private var interactive: (speechExcessLimit: Int64, underrunAllowance: Int64)?

    public init(hysteresis: Int64 = 80, growthHysteresis: Int64? = nil, speechExcessLimit: Int64 = 1600,
                underrunAllowance: Int64 = 0, timeScaling: Bool = false) {
        self.hysteresis = hysteresis
        self.growthHysteresis = growthHysteresis ?? hysteresis
        self.speechExcessLimit = speechExcessLimit
        self.underrunAllowance = underrunAllowance
        self.timeScaling = timeScaling
    }

    public mutating func adjustment(currentDelay: Int64, targetDelay: Int64, frameDuration: Int64,
                                    at opportunity: PlayoutOpportunity) -> PlayoutAdjustment {
        switch opportunity {
        case .speech:
            if currentDelay - targetDelay > speechExcessLimit { return .dropFrame }
            guard timeScaling else { return .none }
            if currentDelay >= targetDelay + frameDuration + hysteresis { return .accelerate }
            if currentDelay + frameDuration + growthHysteresis < targetDelay { return .stretch }
            return .none
        case .underrun:
            return currentDelay < targetDelay + underrunAllowance ? .insertFrame : .none
        case .talkspurtStart, .silence:
            if currentDelay + growthHysteresis < targetDelay { return .insertFrame }
            if currentDelay >= targetDelay + frameDuration + hysteresis { return .dropFrame }
            return .none
        }
    }

    /// Recording holds play-out through an underrun of up to a second over the target and
    /// drops speech only a second over it; interactive restores the settings it had.
    public mutating func setMode(_ mode: PlayoutMode, frameDuration: Int64) {
        switch mode {
        case .recording:
            if interactive == nil { interactive = (speechExcessLimit, underrunAllowance) }
            underrunAllowance = max(underrunAllowance, 50 * frameDuration)
            speechExcessLimit = max(speechExcessLimit, 50 * frameDuration)
        case .interactive:
            if let saved = interactive {
                speechExcessLimit = saved.speechExcessLimit
                underrunAllowance = saved.underrunAllowance
                interactive = nil
            }
        }
    }
}
