/// What a received stream's play-out is for.
///
/// - `interactive`: a conversation (menus, conferences): the delay is kept as low as the
///   measured jitter allows, at the price of concealing the few packets that come later.
/// - `recording`: a message being recorded (the voicemail deposit): nobody waits for the
///   audio, so the buffer may hold up to about a second and covers nearly every late
///   packet, and the recording is whole with the least concealment.
public enum PlayoutMode: Sendable, Equatable {
    case interactive
    case recording

    /// The delay estimator's settings for this mode at `clockRate` (Hz).
    public func estimatorConfiguration(clockRate: Int) -> JitterDelayEstimator.Configuration {
        switch self {
        case .interactive:
            return JitterDelayEstimator.Configuration(clockRate: clockRate)
        case .recording:
            // The whole window's worst delay (99.9 %) plus 120 ms, held for a minute; up to 1 s.
            return JitterDelayEstimator.Configuration(clockRate: clockRate, windowPackets: 500, quantile: 0.999,
                                                      headroomMs: 120, releasePackets: 3000, initialDelayMs: 200,
                                                      maximumDelayMs: 1000)
        }
    }
}
