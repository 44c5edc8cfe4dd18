import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Why a leg could not be opened.
public enum MediaError: Error, CustomStringConvertible {
    case portsExhausted(range: ClosedRange<Int>)
    case bindFailed(port: Int, underlying: Error)

    public var description: String {
        switch self {
        case let .portsExhausted(range): return "no free RTP port in \(range.lowerBound)-\(range.upperBound)"
        case let .bindFailed(port, err): return "cannot bind RTP port \(port): \(err)"
        }
    }
}

/// Owns the media event loops, the port range and one 20 ms ticker per loop.
///
/// Legs are spread over the loops round robin; each leg stays on its loop for life.
public final class MediaEngine: @unchecked Sendable {
    public static let frameMilliseconds: Int64 = 20
    public let ports: PortAllocator
    public let bindHost: String
    let group: EventLoopGroup
    let clock: MediaClock
    let logger: Logger
    private let tickers: [MediaTicker]
    private let nextTicker = NIOLockedValueBox(0)

    public init(group: EventLoopGroup, bindHost: String, ports: PortAllocator,
                clock: MediaClock = MonotonicMediaClock(), logger: Logger) {
        self.group = group
        self.bindHost = bindHost
        self.ports = ports
        self.clock = clock
        self.logger = logger
        var tickers: [MediaTicker] = []
        for loop in group.makeIterator() { tickers.append(MediaTicker(eventLoop: loop, clock: clock)) }
        self.tickers = tickers
    }

    /// Starts the tickers.
    public func start() { for t in tickers { t.start() } }

    /// Stops the tickers and closes every leg.
    public func stop() { for t in tickers { t.stop() } }

    /// Tick lateness of every loop, merged.
    public func tickLateness() -> EventLoopFuture<TickLateness> {
        let futures = tickers.map { t in t.eventLoop.submit { t.lateness } }
        return EventLoopFuture.whenAllSucceed(futures, on: group.next()).map { all in
            var merged = TickLateness()
            for l in all {
                merged.ticks += l.ticks
                merged.maxMicroseconds = max(merged.maxMicroseconds, l.maxMicroseconds)
                for i in 0..<merged.counts.count { merged.counts[i] += l.counts[i] }
            }
            return merged
        }
    }

    /// Reserves a port, binds its socket on the next loop and registers the leg with that
    /// loop's ticker. Tries the next port when one is taken by another process.
    public func openLeg(parameters: LegParameters, onEvent: @escaping @Sendable (MediaEvent) -> Void) -> EventLoopFuture<MediaLeg> {
        let ticker = tickers[nextTicker.withLockedValue { i -> Int in let v = i; i = (i + 1) % tickers.count; return v }]
        let handler = MediaLegHandler(clock: clock)
        let ports = self.ports
        let rtcpHandler = MediaLegHandler(clock: clock)
        return bindSocket(on: ticker.eventLoop, handler: handler, rtcpHandler: parameters.rtcpMux ? nil : rtcpHandler, attempt: 0)
            .flatMapThrowing { channel, rtcpChannel, port in
                let leg: MediaLeg
                do {
                    leg = try MediaLeg(channel: channel, localPort: port, parameters: parameters,
                                       clock: self.clock, onEvent: onEvent,
                                       onClose: { ports.release(port) })
                } catch {
                    channel.close(promise: nil)
                    rtcpChannel?.close(promise: nil)
                    ports.release(port)
                    throw error
                }
                leg.rtcpChannel = rtcpChannel
                handler.leg = leg
                rtcpHandler.leg = leg
                ticker.add(leg)
                return leg
            }
    }

    /// Binds an even RTP port and, unless RTCP is multiplexed, port + 1 for RTCP (RFC 3550
    /// §11); a port pair that cannot be bound whole is given back and the next one tried.
    private func bindSocket(on loop: EventLoop, handler: MediaLegHandler, rtcpHandler: MediaLegHandler?,
                            attempt: Int) -> EventLoopFuture<(Channel, Channel?, Int)> {
        guard let port = ports.allocate() else {
            return loop.makeFailedFuture(MediaError.portsExhausted(range: ports.range))
        }
        let ports = self.ports
        let bindHost = self.bindHost
        let rtp = DatagramBootstrap(group: loop)
            .channelInitializer { channel in channel.pipeline.addHandler(handler) }
            .bind(host: bindHost, port: port)
        let pair: EventLoopFuture<(Channel, Channel?, Int)> = rtp.flatMap { rtpChannel in
            guard let rtcpHandler else { return loop.makeSucceededFuture((rtpChannel, nil, port)) }
            return DatagramBootstrap(group: loop)
                .channelInitializer { channel in channel.pipeline.addHandler(rtcpHandler) }
                .bind(host: bindHost, port: port + 1)
                .map { (rtpChannel, $0, port) }
                .flatMapErrorThrowing { error in
                    rtpChannel.close(promise: nil)
                    throw error
                }
        }
        return pair.flatMapError { error in
            ports.release(port)
            guard attempt < 16 else { return loop.makeFailedFuture(MediaError.bindFailed(port: port, underlying: error)) }
            return self.bindSocket(on: loop, handler: handler, rtcpHandler: rtcpHandler, attempt: attempt + 1)
        }
    }
}

/// The 20 ms media clock of one event loop: every tick processes all of its legs in one pass.
///
/// Ticks are scheduled at absolute deadlines (start + k × 20 ms), so they never drift;
/// how late each one ran is recorded.
final class MediaTicker: @unchecked Sendable {
    let eventLoop: EventLoop
    let clock: MediaClock
    private var legs: [MediaLeg] = []
    private var running = false
    private var nextDeadline = NIODeadline.now()
    private var scheduled: Scheduled<Void>?
    var lateness = TickLateness()

    init(eventLoop: EventLoop, clock: MediaClock) {
        self.eventLoop = eventLoop
        self.clock = clock
    }

    func start() {
        eventLoop.execute {
            guard !self.running else { return }
            self.running = true
            self.nextDeadline = .now() + .milliseconds(MediaEngine.frameMilliseconds)
            self.schedule()
        }
    }

    func stop() {
        eventLoop.execute {
            self.running = false
            self.scheduled?.cancel()
            for leg in self.legs { leg.closeOnLoop() }
            self.legs.removeAll()
        }
    }

    func add(_ leg: MediaLeg) {
        eventLoop.preconditionInEventLoop()
        legs.append(leg)
    }

    private func schedule() {
        scheduled = eventLoop.scheduleTask(deadline: nextDeadline) { self.tick() }
    }

    private func tick() {
        guard running else { return }
        let started = NIODeadline.now()
        let late = started.uptimeNanoseconds >= nextDeadline.uptimeNanoseconds
            ? Int64((started.uptimeNanoseconds - nextDeadline.uptimeNanoseconds) / 1_000) : 0
        lateness.record(microseconds: late)
        let now = clock.nowMilliseconds()
        var anyClosed = false
        for leg in legs {
            leg.tick(nowMilliseconds: now)
            if leg.isClosed { anyClosed = true }
        }
        if anyClosed { legs.removeAll { $0.isClosed } }
        nextDeadline = nextDeadline + .milliseconds(MediaEngine.frameMilliseconds)
        // After a stall longer than a frame, resume from now instead of bursting.
        if nextDeadline < .now() { nextDeadline = .now() + .milliseconds(MediaEngine.frameMilliseconds) }
        schedule()
    }
}
