import CParleyMediaIO
import Foundation
import Logging
import NIOPosix
import ParleyMedia

/// One measured window: the system under test's CPU and tick lateness, and the traffic.
struct Row {
    var label: String
    var legs: Int
    var seconds: Double
    var cpuNanoseconds: Int64
    var packetsIn: Int
    var packetsOut: Int
    var lateness: TickLateness?

    var cpuPercent: Double { Double(cpuNanoseconds) / (seconds * 1e9) * 100 }
    /// CPU per leg per 20 ms tick: one datagram received and one sent.
    var microsecondsPerLegTick: Double {
        let ticks = seconds * 50
        return legs > 0 ? Double(cpuNanoseconds) / 1000 / (Double(legs) * ticks) : 0
    }
    /// CPU per datagram handled (in or out).
    var microsecondsPerDatagram: Double {
        let n = packetsIn + packetsOut
        return n > 0 ? Double(cpuNanoseconds) / 1000 / Double(n) : 0
    }

    static let header = "| design | legs | s | CPU % | µs/leg/tick (1 in + 1 out) | µs/datagram | in/s | out/s | tick p50/p99/max µs |\n|---|---|---|---|---|---|---|---|---|"

    var line: String {
        let late = lateness.map { "\($0.percentileMicroseconds(0.5))/\($0.percentileMicroseconds(0.99))/\($0.maxMicroseconds)" } ?? "–"
        return "| \(label) | \(legs) | \(f(seconds, 0)) | \(f(cpuPercent, 1)) | \(f(microsecondsPerLegTick, 2)) | \(f(microsecondsPerDatagram, 2)) | \(Int(Double(packetsIn) / seconds)) | \(Int(Double(packetsOut) / seconds)) | \(late) |"
    }
}

func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

extension TickLateness {
    /// The ticks recorded since `earlier`.
    func since(_ earlier: TickLateness) -> TickLateness {
        var d = self
        d.ticks -= earlier.ticks
        for i in d.counts.indices { d.counts[i] -= earlier.counts[i] }
        return d
    }
}

/// Warms up, then measures `seconds` of traffic: `cpu` reads the system under test's CPU time.
func measure(_ label: String, legs: Int, seconds: Double, generator: TrafficGenerator,
             cpu: () -> Int64, lateness: () -> TickLateness?) -> Row {
    Thread.sleep(forTimeInterval: 2)
    let cpu0 = cpu(), traffic0 = generator.current, late0 = lateness(), t0 = parley_monotonic_ns()
    Thread.sleep(forTimeInterval: seconds)
    let cpu1 = cpu(), traffic1 = generator.current, late1 = lateness(), t1 = parley_monotonic_ns()
    var late: TickLateness?
    if let late0, let late1 { late = late1.since(late0) }
    return Row(label: label, legs: legs, seconds: Double(t1 - t0) / 1e9, cpuNanoseconds: cpu1 - cpu0,
               packetsIn: traffic1.sent - traffic0.sent, packetsOut: traffic1.received - traffic0.received, lateness: late)
}

/// One media engine with one thread pinned to `mediaCPU`, and the traffic generator for
/// `legs` legs on `generatorCPU`, alive for `body`.
func withLoadRig<T>(label: String, legs: Int, mediaCPU: Int, generatorCPU: Int,
                    frames: [[UInt8]]? = nil, payloadType: UInt8 = 0, timestampStep: UInt32 = 160,
                    _ body: (MultiThreadedEventLoopGroup, MediaEngine, TrafficGenerator) throws -> T) throws -> T {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let engine = MediaEngine(group: group, bindHost: "127.0.0.1", ports: PortAllocator(range: 12000...64000),
                             logger: logger, threads: 1, cpus: [mediaCPU], realtimePriority: realtime)
    engine.start()
    defer { engine.stop() }
    let generator = try TrafficGenerator(legs: legs, cpu: generatorCPU, frames: frames, payloadType: payloadType,
                                         timestampStep: timestampStep)
    defer { for fd in generator.sockets { close(fd) } }
    return try body(group, engine, generator)
}
