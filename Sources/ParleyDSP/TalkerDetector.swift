/// Active-talker detection for a conference: frame energy against two fixed thresholds
/// (hysteresis), with an attack and a hangover.
///
/// A participant starts talking after `attackFrames` frames at or above `startDBov`, and
/// stops after `hangoverFrames` frames below `stopDBov`; between the two thresholds the
/// state holds. Unlike `VoiceActivityDetector` there is no adaptive noise floor: a steady
/// tone or a loud line stays "talking", which is what mixing needs (a listener must hear it).
/// `level` is a smoothed energy for loudest-N selection (fast rise, slow fall).
public struct TalkerDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        public var startDBov: Float = -42
        public var stopDBov: Float = -50
        public var attackFrames = 1
        public var hangoverFrames = 20 // 400 ms at 20 ms frames
        public init() {}
    }

    public var settings: Settings
    public private(set) var isTalking = false
    /// Smoothed energy in dBov.
    public private(set) var level: Float = FrameEnergy.floor
    private var above = 0
    private var below = 0

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// One frame's energy (dBov); returns true when the talking state changed.
    public mutating func process(energyDBov e: Float) -> Bool {
        level = e > level ? e : level * 0.9 + e * 0.1
        let was = isTalking
        if e >= settings.startDBov {
            above += 1
            below = 0
            if above >= settings.attackFrames { isTalking = true }
        } else if e < settings.stopDBov {
            above = 0
            below += 1
            if below >= settings.hangoverFrames { isTalking = false }
        } else {
            above = 0
            below = 0
        }
        return was != isTalking
    }

    public mutating func process(_ frame: UnsafeBufferPointer<Int16>) -> Bool {
        process(energyDBov: FrameEnergy.dBov(frame))
    }

    public mutating func reset() {
        isTalking = false; level = FrameEnergy.floor; above = 0; below = 0
    }
}
