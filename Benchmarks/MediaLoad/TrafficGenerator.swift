import CParleyMediaIO
import Foundation
import NIOConcurrencyHelpers
import ParleyDSP

/// The far end of N legs: every 20 ms (absolute timerfd deadlines) one 172-byte G.711 RTP
/// packet to each leg, sent with sendmmsg from a few sockets, and every reply drained with
/// recvmmsg. Runs on its own thread, pinned to another CPU than the media thread.
final class TrafficGenerator: @unchecked Sendable {
    static let packetBytes = 12 + 160
    static let perSocket = 256

    struct Counters { var sent = 0; var received = 0; var sendErrors = 0; var cpuNanoseconds: Int64 = 0 }

    let sockets: [Int32]
    /// Where each leg listens (127.0.0.1), in leg order; set before `start`.
    var targets: [Int] = []
    let cpu: Int?
    private let counters = NIOLockedValueBox(Counters())
    private var paced: PacedThread?
    private let frames: [[UInt8]]
    private let payloadType: UInt8
    private let timestampStep: UInt32

    /// Binds the generator's sockets first: legs are told these addresses as their peers.
    /// `frames`: 160-byte payloads sent in turn (default: speech-like PCMU), with `payloadType`
    /// and `timestampStep` RTP ticks per 20 ms.
    init(legs: Int, cpu: Int?, frames: [[UInt8]]? = nil, payloadType: UInt8 = 0, timestampStep: UInt32 = 160) throws {
        var sockets: [Int32] = []
        for _ in 0..<max(1, (legs + Self.perSocket - 1) / Self.perSocket) {
            sockets.append(try Self.open())
        }
        self.sockets = sockets
        self.cpu = cpu
        self.frames = frames ?? Self.speechFrames()
        self.payloadType = payloadType
        self.timestampStep = timestampStep
    }

    /// The generator's address for leg `i`.
    func peerPort(leg i: Int) -> Int { Int(parley_local_port(sockets[(i / Self.perSocket) % sockets.count])) }

    var current: Counters { counters.withLockedValue { $0 } }

    func start() {
        paced = PacedThread(name: "traffic-generator", cpu: cpu, tick: makeTick())
    }

    func stop() {
        paced?.stop()
        paced = nil
    }

    static func open() throws -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let fd = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                parley_udp_open($0, socklen_t(MemoryLayout<sockaddr_in>.size), 8 << 20)
            }
        }
        guard fd >= 0 else { throw GeneratorError.socket(-fd) }
        return fd
    }

    /// One second of speech-like µ-law (a sum of tones under a syllable envelope), 50 frames.
    static func speechFrames() -> [[UInt8]] {
        (0..<50).map { f in
            (0..<160).map { k in
                let t = Double(f * 160 + k) / 8000
                let envelope = 0.2 + 0.8 * abs(sin(2 * Double.pi * 3 * t))
                let v = envelope * (6000 * sin(2 * Double.pi * 440 * t) + 4000 * sin(2 * Double.pi * 1270 * t))
                return G711.ulaw(Int16(max(-32768, min(32767, v))))
            }
        }
    }

    /// Builds one packet buffer, destination and message per leg once; the tick then only
    /// updates sequence number, timestamp and payload, sends, and drains the replies.
    private func makeTick() -> () -> Void {
        let n = targets.count
        let packets = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, n) * Self.packetBytes)
        let names = UnsafeMutablePointer<sockaddr_in>.allocate(capacity: max(1, n))
        let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: max(1, n))
        let messages = UnsafeMutablePointer<parley_mmsghdr>.allocate(capacity: max(1, n))
        let receiveBatch = 256
        let receiveData = UnsafeMutableRawPointer.allocate(byteCount: receiveBatch * 2048, alignment: 16)
        let receiveIovecs = UnsafeMutablePointer<iovec>.allocate(capacity: receiveBatch)
        let receiveMessages = UnsafeMutablePointer<parley_mmsghdr>.allocate(capacity: receiveBatch)
        // Freed when the tick closure goes, i.e. when the paced thread has stopped.
        let owner = Deallocator {
            packets.deallocate(); names.deallocate(); iovecs.deallocate(); messages.deallocate()
            receiveData.deallocate(); receiveIovecs.deallocate(); receiveMessages.deallocate()
        }
        for i in 0..<n {
            let p = packets + i * Self.packetBytes
            p[0] = 0x80; p[1] = 0  // V=2, PCMU
            let ssrc = UInt32(0x5000_0000 + i)
            for b in 0..<4 { p[8 + b] = UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * b)) }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(targets[i])).bigEndian
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            names[i] = a
            iovecs[i] = iovec(iov_base: UnsafeMutableRawPointer(p), iov_len: Self.packetBytes)
            var m = parley_mmsghdr()
            m.msg_hdr.msg_name = UnsafeMutableRawPointer(names + i)
            m.msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
            m.msg_hdr.msg_iov = iovecs + i
            m.msg_hdr.msg_iovlen = 1
            messages[i] = m
        }
        for i in 0..<receiveBatch {
            receiveIovecs[i] = iovec(iov_base: receiveData + i * 2048, iov_len: 2048)
            var m = parley_mmsghdr()
            m.msg_hdr.msg_iov = receiveIovecs + i
            m.msg_hdr.msg_iovlen = 1
            receiveMessages[i] = m
        }
        let sockets = self.sockets, frames = self.frames, counters = self.counters
        let payloadType = self.payloadType, step = self.timestampStep
        var tick: UInt32 = 0
        return {
            withExtendedLifetime(owner) {}
            let frame = frames[Int(tick % UInt32(frames.count))]
            var sent = 0, errors = 0, received = 0
            for i in 0..<n {
                let p = packets + i * Self.packetBytes
                let seq = UInt16(truncatingIfNeeded: tick), ts = tick &* step
                p[1] = (tick == 0 ? 0x80 : 0) | payloadType
                p[2] = UInt8(seq >> 8); p[3] = UInt8(truncatingIfNeeded: seq)
                p[4] = UInt8(ts >> 24); p[5] = UInt8(truncatingIfNeeded: ts >> 16)
                p[6] = UInt8(truncatingIfNeeded: ts >> 8); p[7] = UInt8(truncatingIfNeeded: ts)
                frame.withUnsafeBufferPointer { src in
                    if let base = src.baseAddress { (p + 12).update(from: base, count: min(160, src.count)) }
                }
            }
            // Leg i belongs to socket i / perSocket: one sendmmsg per socket.
            var first = 0
            while first < n {
                let count = min(Self.perSocket, n - first)
                let fd = sockets[(first / Self.perSocket) % sockets.count]
                var done = 0
                while done < count {
                    let r = parley_sendmmsg(fd, messages + first + done, UInt32(count - done))
                    if r <= 0 { errors += count - done; break }
                    done += Int(r)
                }
                sent += done
                first += count
            }
            for fd in sockets {
                while true {
                    for i in 0..<receiveBatch { receiveMessages[i].msg_hdr.msg_flags = 0 }
                    let r = parley_recvmmsg(fd, receiveMessages, UInt32(receiveBatch))
                    guard r > 0 else { break }
                    received += Int(r)
                    if r < receiveBatch { break }
                }
            }
            tick &+= 1
            let cpuNow = parley_thread_cpu_ns()
            counters.withLockedValue { c in
                c.sent += sent; c.received += received; c.sendErrors += errors; c.cpuNanoseconds = cpuNow
            }
        }
    }
}

/// Runs a clean-up when the last reference goes.
final class Deallocator {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    deinit { body() }
}

enum GeneratorError: Error { case socket(Int32) }
