import CParleyMediaIO
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ParleyMedia

/// The same I/O work three ways — N sockets on loopback, one datagram in and one out per
/// socket per 20 ms, no media processing — to compare the designs' CPU per packet:
/// the raw system calls (recvfrom + sendto per socket per tick, nothing else), our media
/// I/O thread (epoll + timerfd + recvmmsg, `MediaIOThread`), and SwiftNIO datagram channels
/// (one per socket, a 20 ms scheduled task writing a ByteBuffer per packet: the former design),
/// and io_uring batching every socket's receive and send into one submission per tick.
enum IOCompare {
    static let payload = [UInt8](repeating: 0xD5, count: TrafficGenerator.packetBytes)

    static func run(legs: Int, seconds: Double, arms: [String], mediaCPU: Int, generatorCPU: Int) throws -> [Row] {
        var rows: [Row] = []
        for arm in arms {
            let generator = try TrafficGenerator(legs: legs, cpu: generatorCPU)
            defer { for fd in generator.sockets { close(fd) } }
            switch arm {
            case "raw": rows.append(try raw(legs: legs, seconds: seconds, generator: generator, cpu: mediaCPU))
            case "own": rows.append(try own(legs: legs, seconds: seconds, generator: generator, cpu: mediaCPU))
            case "nio": rows.append(try nio(legs: legs, seconds: seconds, generator: generator, cpu: mediaCPU))
            case "uring": rows.append(try uring(legs: legs, seconds: seconds, generator: generator, cpu: mediaCPU))
            default: throw UsageError("unknown arm \(arm) (raw, own, uring, nio)")
            }
            print(rows[rows.count - 1].line)
        }
        return rows
    }

    static func openSockets(_ n: Int) throws -> [Int32] {
        try (0..<n).map { _ in try TrafficGenerator.open() }
    }

    // MARK: Raw system calls

    static func raw(legs: Int, seconds: Double, generator: TrafficGenerator, cpu: Int) throws -> Row {
        let fds = try openSockets(legs)
        defer { for fd in fds { close(fd) } }
        generator.targets = fds.map { Int(parley_local_port($0)) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        var source = sockaddr_in()
        let thread = PacedThread(name: "raw-syscalls", cpu: cpu) {
            for fd in fds {
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let n = withUnsafeMutablePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer, 2048, Int32(MSG_DONTWAIT), $0, &length) }
                }
                guard n > 0 else { continue }
                _ = withUnsafePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { parley_sendto(fd, buffer, n, $0, length) }
                }
            }
        }
        defer { thread.stop() }
        generator.start()
        defer { generator.stop() }
        let row = measure("raw syscalls (recvfrom + sendto)", legs: legs, seconds: seconds, generator: generator,
                          cpu: { thread.cpuNanoseconds }, lateness: { nil })
        return row
    }

    // MARK: Our media I/O thread

    /// Answers each received datagram's source with one datagram per tick.
    final class EchoEndpoint: MediaIOEndpoint {
        let fd: Int32
        let io: MediaIOThread
        var peer: PeerAddress?
        var closed = false
        init(fd: Int32, io: MediaIOThread) { self.fd = fd; self.io = io }
        func receive(_ bytes: UnsafeRawBufferPointer, from source: PeerAddress, arrivalMilliseconds: Int64, rtcpSocket: Bool) {
            if peer == nil { peer = source }
        }
        func tick(nowMilliseconds: Int64) {
            guard let peer else { return }
            IOCompare.payload.withUnsafeBytes { _ = io.send(socket: fd, $0, to: peer) }
        }
        var isClosed: Bool { closed }
        func closeOnThread() { closed = true }
    }

    static func own(legs: Int, seconds: Double, generator: TrafficGenerator, cpu: Int) throws -> Row {
        let fds = try openSockets(legs)
        defer { for fd in fds { close(fd) } }
        generator.targets = fds.map { Int(parley_local_port($0)) }
        let io = MediaIOThread(name: "media-compare", clock: MonotonicMediaClock(), cpu: cpu, realtimePriority: realtime)
        try io.start()
        defer { io.stop() }
        let registered = DispatchGroup()
        for fd in fds {
            let endpoint = EchoEndpoint(fd: fd, io: io)
            registered.enter()
            io.execute {
                try? io.register(endpoint, sockets: [(fd, false)])
                registered.leave()
            }
        }
        registered.wait()
        generator.start()
        defer { generator.stop() }
        return measure("media I/O thread (epoll + timerfd + recvmmsg)", legs: legs, seconds: seconds, generator: generator,
                       cpu: { io.currentStatistics.cpuNanoseconds }, lateness: { io.currentStatistics.lateness })
    }

    // MARK: SwiftNIO datagram channels

    final class NIOEcho: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        var peer: SocketAddress?
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            if peer == nil { peer = envelope.remoteAddress }
        }
    }

    static func nio(legs: Int, seconds: Double, generator: TrafficGenerator, cpu: Int) throws -> Row {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        try loop.submit {
            _ = parley_pin_current_thread(Int32(cpu))
            if let realtime { _ = parley_set_realtime(realtime) }
        }.wait()
        var channels: [(Channel, NIOEcho)] = []
        for _ in 0..<legs {
            let handler = NIOEcho()
            let channel = try DatagramBootstrap(group: loop)
                .channelInitializer { $0.pipeline.addHandler(handler) }
                .bind(host: "127.0.0.1", port: 0).wait()
            channels.append((channel, handler))
        }
        defer { for (c, _) in channels { try? c.close().wait() } }
        generator.targets = channels.map { $0.0.localAddress?.port ?? 0 }
        // The former MediaTicker: absolute 20 ms deadlines, one ByteBuffer per packet.
        let lateness = NIOLockedValueBox(TickLateness())
        let running = NIOLockedValueBox(true)
        let frozen = channels
        final class Deadline: @unchecked Sendable { var value = NIODeadline.now() + .milliseconds(20) }
        let next = Deadline()
        @Sendable func tick() {
            var deadline = next.value
            defer { next.value = deadline }
            guard running.withLockedValue({ $0 }) else { return }
            let started = NIODeadline.now()
            let late = started > deadline ? Int64((started.uptimeNanoseconds - deadline.uptimeNanoseconds) / 1000) : 0
            lateness.withLockedValue { $0.record(microseconds: late) }
            for (channel, handler) in frozen {
                guard let peer = handler.peer else { continue }
                var buffer = channel.allocator.buffer(capacity: payload.count)
                buffer.writeBytes(payload)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: peer, data: buffer), promise: nil)
            }
            deadline = deadline + .milliseconds(20)
            if deadline < .now() { deadline = .now() + .milliseconds(20) }
            loop.scheduleTask(deadline: deadline) { tick() }
        }
        loop.scheduleTask(deadline: next.value) { tick() }
        generator.start()
        defer { generator.stop() }
        let row = measure("SwiftNIO DatagramChannel (former design)", legs: legs, seconds: seconds, generator: generator,
                          cpu: { (try? loop.submit { parley_thread_cpu_ns() }.wait()) ?? 0 },
                          lateness: { lateness.withLockedValue { $0 } })
        try loop.submit { running.withLockedValue { $0 = false } }.wait()
        return row
    }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
