/// Where a DTMF key press was detected.
public enum DTMFSource: String, Sendable {
    case rfc4733
    case inband
    case info
}

/// What a media leg reports to its call. Delivered on the leg's media thread.
public enum MediaEvent: Sendable, Equatable {
    case digit(Character, source: DTMFSource)
    case promptStarted(String)
    case promptFinished(String)
    /// No RTP arrived for the configured media timeout.
    case mediaTimeout
}

/// Counters of one leg; kept on its media thread (read them with `MediaLeg.currentStatistics`).
public struct LegStatistics: Sendable, Equatable {
    public var packetsReceived = 0
    public var packetsSent = 0
    public var malformedDropped = 0
    public var unknownPayloadDropped = 0
    /// RTP and RTCP packets from a source the leg does not take (`RTPSourceLatch`): before it
    /// latched, any source the rules refuse; after, any other than the latched one.
    public var strangersDropped = 0
    public var ssrcChanges = 0
    /// Jitter buffer: packets that came after their play-out time, duplicates, frames
    /// concealed, and the play-out delay in ms at the last tick.
    public var lateDropped = 0
    public var duplicatesDropped = 0
    public var concealedFrames = 0
    /// Frames played as comfort noise: the peer's CN packets (RFC 3389) and its silences.
    public var comfortNoiseFrames = 0
    public var jitterBufferDelayMilliseconds = 0
    /// Packets of the peer's stream lost (RFC 3550 A.3 cumulative count; may go negative
    /// with duplicates), as of the last tick.
    public var packetsLost = 0
    /// RTCP: compounds sent and received, the round-trip time (-1 unknown) and the peer's
    /// reported fraction lost of our stream in 1/256 (-1 unknown).
    public var rtcpSent = 0
    public var rtcpReceived = 0
    public var roundTripMilliseconds = -1
    public var remoteFractionLost = -1
    public var digitsReported = 0
    public init() {}
}
