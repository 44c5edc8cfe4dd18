/// A play-out decision that never changes the delay chosen when play-out started: the
/// static buffer, as a baseline to compare adaptive policies against.
public struct FixedPlayoutPolicy: PlayoutPolicy, Sendable {
    public init() {}

    public mutating func adjustment(currentDelay: Int64, targetDelay: Int64, frameDuration: Int64,
                                    at opportunity: PlayoutOpportunity) -> PlayoutAdjustment {
        .none
    }
}
