import CParleyMediaIO
import Foundation
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

/// Owns the media I/O threads (one per core, see `MediaIOThread`), the port range, and the
/// event loops on which the legs' futures complete.
///
/// Legs are spread over the threads round robin; each leg stays on its thread for life.
public final class MediaEngine: @unchecked Sendable {
    public static let frameMilliseconds: Int64 = 20
    public let ports: PortAllocator
    public let bindHost: String
    let group: EventLoopGroup
    let clock: MediaClock
    let logger: Logger
    /// The media threads; legs run on them.
    public let threads: [MediaIOThread]
    private let nextThread = NIOLockedValueBox(0)

    /// `threads`: how many media threads (default: one per event loop of `group`, i.e. per
    /// core); `cpus`: pin thread i to `cpus[i]` when given; `realtimePriority`: SCHED_FIFO
    /// priority for the media threads (needs CAP_SYS_NICE).
    public init(group: EventLoopGroup, bindHost: String, ports: PortAllocator,
                clock: MediaClock = MonotonicMediaClock(), logger: Logger,
                threads: Int? = nil, cpus: [Int]? = nil, realtimePriority: Int32? = nil) {
        self.group = group
        self.bindHost = bindHost
        self.ports = ports
        self.clock = clock
        self.logger = logger
        let count = max(1, threads ?? Array(group.makeIterator()).count)
        self.threads = (0..<count).map { i in
            MediaIOThread(name: "parley-media-\(i)", clock: clock, cpu: cpus.flatMap { i < $0.count ? $0[i] : nil },
                          realtimePriority: realtimePriority)
        }
    }

    /// Raises the descriptor limit (legs are sockets) and starts the media threads.
    public func start() {
        let limit = parley_raise_descriptor_limit()
        if limit >= 0, limit < 2 * ports.capacity {
            logger.warning("open file limit \(limit) is below two descriptors per RTP port (\(2 * ports.capacity)); raise ulimit -n")
        }
        for t in threads {
            do { try t.start() } catch { logger.error("cannot start media thread \(t.name): \(error)") }
        }
    }

    /// Stops the threads (closing every leg) and logs how late their ticks ran.
    public func stop() {
        for t in threads {
            t.stop()
            let s = t.currentStatistics
            guard s.lateness.ticks > 0 else { continue }
            logger.info("media thread tick lateness", metadata: [
                "thread": "\(t.name)", "ticks": "\(s.lateness.ticks)",
                "p50_us": "\(s.lateness.percentileMicroseconds(0.5))", "p99_us": "\(s.lateness.percentileMicroseconds(0.99))",
                "max_us": "\(s.lateness.maxMicroseconds)", "cpu_ms": "\(s.cpuNanoseconds / 1_000_000)",
                "histogram": "\(s.lateness.counts)",
            ])
        }
    }

    /// Each media thread's counters, tick lateness among them (for metrics).
    public func threadStatistics() -> [MediaThreadStatistics] { threads.map(\.currentStatistics) }

    /// Tick lateness of every media thread, merged.
    public func tickLateness() -> EventLoopFuture<TickLateness> {
        var merged = TickLateness()
        for s in threadStatistics() { merged.merge(s.lateness) }
        return group.next().makeSucceededFuture(merged)
    }

    /// Reserves a port, binds its socket(s) and registers the leg with the next media thread.
    /// Tries the next port when one is taken by another process.
    public func openLeg(parameters: LegParameters, onEvent: @escaping @Sendable (MediaEvent) -> Void) -> EventLoopFuture<MediaLeg> {
        let thread = threads[nextThread.withLockedValue { i -> Int in let v = i; i = (i + 1) % threads.count; return v }]
        let loop = group.next()
        let promise = loop.makePromise(of: MediaLeg.self)
        let ports = self.ports
        do {
            let (rtp, rtcp, port) = try bindSockets(rtcpMux: parameters.rtcpMux)
            let leg: MediaLeg
            do {
                leg = try MediaLeg(socket: rtp, rtcpSocket: rtcp, localPort: port, io: thread, eventLoop: loop,
                                   cnameHost: bindHost == "0.0.0.0" || bindHost == "::" ? "localhost" : bindHost,
                                   parameters: parameters, clock: clock, onEvent: onEvent, onClose: { ports.release(port) })
            } catch {
                close(rtp)
                if let rtcp { close(rtcp) }
                ports.release(port)
                throw error
            }
            var sockets: [(fd: Int32, rtcp: Bool)] = [(rtp, false)]
            if let rtcp { sockets.append((rtcp, true)) }
            let queued = thread.execute {
                do {
                    try thread.register(leg, sockets: sockets)
                    promise.succeed(leg)
                } catch {
                    leg.closeOnThread()
                    promise.fail(error)
                }
            }
            if !queued {
                leg.closeOnThread()
                promise.fail(MediaIOError.stopped)
            }
        } catch {
            promise.fail(error)
        }
        return promise.futureResult
    }

    /// Binds an even RTP port and, unless RTCP is multiplexed, port + 1 for RTCP (RFC 3550
    /// §11); a port pair that cannot be bound whole is given back and the next one tried.
    private func bindSockets(rtcpMux: Bool) throws -> (Int32, Int32?, Int) {
        var attempt = 0
        while true {
            guard let port = ports.allocate() else { throw MediaError.portsExhausted(range: ports.range) }
            do {
                let rtp = try MediaSocket.open(host: bindHost, port: port)
                if rtcpMux { return (rtp, nil, port) }
                do {
                    return (rtp, try MediaSocket.open(host: bindHost, port: port + 1), port)
                } catch {
                    close(rtp)
                    throw error
                }
            } catch {
                ports.release(port)
                attempt += 1
                guard attempt < 16 else { throw MediaError.bindFailed(port: port, underlying: error) }
            }
        }
    }
}
