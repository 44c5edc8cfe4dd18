/// Where in the stream the jitter buffer stands when it may change its delay.
public enum PlayoutOpportunity: Sendable, Equatable {
    /// The next frame is speech in the middle of a talkspurt: changing the delay here
    /// would be an audible jump.
    case speech
    /// The next frame starts a talkspurt (RTP marker bit, RFC 3550 §5.1).
    case talkspurtStart
    /// The next frame is marked as silence (comfort noise or the caller's VAD).
    case silence
    /// Nothing has arrived for this frame and nothing after it: the frame is concealed
    /// anyway, so holding play-out back (inserting a frame) costs nothing audible.
    case underrun
}

/// What the play-out decision asks the buffer to do with the next frame.
public enum PlayoutAdjustment: Sendable, Equatable {
    /// Play (or conceal) the frame as scheduled.
    case none
    /// Insert one concealed frame before it: the delay grows by one frame.
    case insertFrame
    /// Drop it: the delay shrinks by one frame.
    case dropFrame
    /// Play it, and have the play-out stage shorten the audio by about one pitch period
    /// (time-scale modification): the delay shrinks a few ms without a cut word.
    case accelerate
    /// Play it, and have the play-out stage lengthen the audio by about one pitch period.
    case stretch
}

/// The play-out decision, separate from storage and delay estimation (NetEq's split), so
/// policies can be swapped and compared on the same streams.
///
/// Delays are in RTP timestamp units: `currentDelay` is how long after the fastest recent
/// packet (the estimator's minimum transit) the frame is being played; `targetDelay` is
/// the estimator's target on the same scale.
public protocol PlayoutPolicy {
    mutating func adjustment(currentDelay: Int64, targetDelay: Int64, frameDuration: Int64,
                             at opportunity: PlayoutOpportunity) -> PlayoutAdjustment
    /// Switches between interactive and recording play-out; `frameDuration` in timestamp units.
    mutating func setMode(_ mode: PlayoutMode, frameDuration: Int64)
}

extension PlayoutPolicy {
    public mutating func setMode(_ mode: PlayoutMode, frameDuration: Int64) {}
}
