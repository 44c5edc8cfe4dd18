import NIOCore
import ParleyDSP

extension MediaLeg {
    /// Joins the leg to a room through `port`: from the next tick its decoded audio goes to
    /// the port and, whenever no prompt is playing, it sends the room's mix from the port.
    public func attachConference(_ port: ConferencePort) {
        io.execute { self.conference = port }
    }

    /// Leaves the room: the leg goes back to prompts and silence.
    public func detachConference() {
        io.execute { self.conference = nil }
    }

}

/// How a participant's stream reaches us (RFC 3550 A.3 and A.8, and the jitter buffer).
public struct ReceiveQuality: Sendable, Equatable {
    public var packetsExpected: Int
    public var packetsLost: Int
    /// Interarrival jitter in milliseconds.
    public var jitterMilliseconds: Double
    public var jitterBufferDelayMilliseconds: Int
    public var concealedFrames: Int
    public init(packetsExpected: Int = 0, packetsLost: Int = 0, jitterMilliseconds: Double = 0,
                jitterBufferDelayMilliseconds: Int = 0, concealedFrames: Int = 0) {
        self.packetsExpected = packetsExpected; self.packetsLost = packetsLost; self.jitterMilliseconds = jitterMilliseconds
        self.jitterBufferDelayMilliseconds = jitterBufferDelayMilliseconds; self.concealedFrames = concealedFrames
    }
}

extension MediaLeg {
    /// Reads the receive side's quality on the leg's thread; completes on `eventLoop`.
    public func receiveQuality() -> EventLoopFuture<ReceiveQuality> {
        let promise = eventLoop.makePromise(of: ReceiveQuality.self)
        let queued = io.execute {
            let r = self.rtcp.statistics
            let started = r.isValid
            promise.succeed(ReceiveQuality(
                packetsExpected: started ? Int(r.expected) : 0, packetsLost: started ? max(0, Int(r.cumulativeLost)) : 0,
                jitterMilliseconds: Double(r.jitter) * 1000 / Double(max(1, self.rtcp.clockRate)),
                jitterBufferDelayMilliseconds: self.statistics.jitterBufferDelayMilliseconds,
                concealedFrames: self.statistics.concealedFrames))
        }
        if !queued { promise.fail(MediaIOError.stopped) }
        return promise.futureResult
    }
}
