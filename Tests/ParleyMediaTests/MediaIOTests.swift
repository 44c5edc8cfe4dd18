import Foundation
import Logging
import NIOCore
import NIOPosix
import ParleyDSP
@testable import ParleyMedia
import ParleyRTP
import Testing

/// A plain UDP socket on 127.0.0.1 playing the far end of a leg.
final class PeerSocket {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: a.sin_port))
    }

    deinit { close(fd) }

    var address: SocketAddress { get throws { try SocketAddress(ipAddress: "127.0.0.1", port: port) } }

    func send(_ bytes: [UInt8], to port: Int) {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port)).bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }

    /// Datagrams received within `seconds`.
    func receive(for seconds: Double) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { out.append(Array(buffer[0..<n])) }
        }
        return out
    }
}

func rtp(payloadType: UInt8, sequence: UInt16, timestamp: UInt32, marker: Bool = false, payload: [UInt8]) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: RTPHeader.fixedSize + payload.count)
    bytes.withUnsafeMutableBytes { b in
        _ = RTPHeader(marker: marker, payloadType: payloadType, sequenceNumber: sequence, timestamp: timestamp, ssrc: 0xCAFE).write(to: b)
    }
    bytes.replaceSubrange(RTPHeader.fixedSize..., with: payload)
    return bytes
}

/// µ-law frames of a DTMF key: 100 ms of the two tones, then 100 ms of silence.
func dtmfFrames(low: Double, high: Double) -> [[UInt8]] {
    (0..<10).map { f in
        (0..<160).map { k in
            guard f < 5 else { return G711.ulaw(0) }
            let t = Double(f * 160 + k) / 8000
            return G711.ulaw(Int16(5000 * sin(2 * Double.pi * low * t) + 5000 * sin(2 * Double.pi * high * t)))
        }
    }
}

final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [MediaEvent] = []
    func append(_ e: MediaEvent) { lock.lock(); events.append(e); lock.unlock() }
    var all: [MediaEvent] { lock.lock(); defer { lock.unlock() }; return events }
}

@Suite("Media I/O threads")
struct MediaIOTests {
    @Test("in-band DTMF runs only on legs configured for it (auto: peer without telephone-event)")
    func inbandOnlyWhereConfigured() throws {
        let remote = try SocketAddress(ipAddress: "127.0.0.1", port: 40_000)
        let five = dtmfFrames(low: 770, high: 1336)
        for inband in [true, false] {
            let parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: inband ? nil : 101,
                                           remote: remote, mediaTimeoutMilliseconds: nil, inbandDTMF: inband)
            let driver = try MediaTickDriver(legs: 2, parameters: parameters, prompt: nil, incoming: five)
            for _ in 0..<60 { driver.tick() }
            let digits = driver.events.filter { if case .digit = $0 { return true } else { return false } }
            if inband {
                // Six presses per leg over 1.2 s, each reported once.
                #expect(digits.count >= 10 && digits.allSatisfy { $0 == .digit("5", source: .inband) }, "\(digits)")
            } else {
                #expect(digits.isEmpty, "\(digits)")
            }
            #expect(driver.legs.allSatisfy { $0.statistics.packetsSent == 60 && $0.statistics.packetsReceived == 60 })
        }
    }

    @Test("a leg on its media thread: RTP both ways on real sockets, RFC 4733 digits, latching, oversize, close")
    func realSockets() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let base = 31_000 + Int(getpid() % 500) * 8
        let ports = PortAllocator(range: base...(base + 3))
        let engine = MediaEngine(group: group, bindHost: "127.0.0.1", ports: ports, logger: Logger(label: "test"), threads: 1)
        engine.start()
        defer { engine.stop() }
        let peer = try PeerSocket(), stranger = try PeerSocket()
        var parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: 101,
                                       remote: try peer.address, mediaTimeoutMilliseconds: nil, inbandDTMF: false)
        parameters.rtcpMux = true
        let events = EventBox()
        let leg = try engine.openLeg(parameters: parameters, onEvent: { events.append($0) }).wait()
        leg.play("tone", audio: PCMAudio(sampleRate: 8000, samples: [Int16](repeating: 1000, count: 1600)))

        // Audio, then a '7' as RFC 4733 (start, update, three ends), then a stranger and an oversized datagram.
        for i in 0..<10 {
            peer.send(rtp(payloadType: 0, sequence: UInt16(i), timestamp: UInt32(i * 160), payload: [UInt8](repeating: 0xFF, count: 160)), to: leg.localPort)
        }
        for (i, (end, duration)) in [(false, 160), (false, 320), (true, 480), (true, 480), (true, 480)].enumerated() {
            var payload = [UInt8](repeating: 0, count: 4)
            payload.withUnsafeMutableBytes { _ = TelephoneEvent(event: 7, end: end, volume: 10, duration: UInt16(duration)).write(to: $0) }
            peer.send(rtp(payloadType: 101, sequence: UInt16(10 + i), timestamp: 1600, marker: i == 0, payload: payload), to: leg.localPort)
        }
        let received = peer.receive(for: 0.6)
        stranger.send(rtp(payloadType: 0, sequence: 1, timestamp: 0, payload: [UInt8](repeating: 0xFF, count: 160)), to: leg.localPort)
        peer.send([UInt8](repeating: 0x80, count: 4000), to: leg.localPort)
        _ = peer.receive(for: 0.1)

        // 0.6 s of 20 ms frames: about 30 packets, µ-law from our port, 160-byte payloads.
        #expect(received.count >= 20, "received \(received.count)")
        #expect(received.allSatisfy { $0.count == 172 && $0[0] >> 6 == 2 && $0[1] & 0x7F == 0 })
        #expect(events.all.contains(.digit("7", source: .rfc4733)))
        #expect(events.all.filter { $0 == .digit("7", source: .rfc4733) }.count == 1)
        #expect(events.all.contains(.promptStarted("tone")))
        let s = try leg.currentStatistics().wait()
        #expect(s.packetsReceived == 15)
        #expect(s.strangersDropped == 1)
        #expect(s.packetsSent >= received.count)
        let thread = engine.threadStatistics()[0]
        #expect(thread.lateness.ticks >= 20)
        #expect(thread.endpoints == 1)
        #expect(thread.truncatedDropped == 1)

        // The second pair is free, the third does not exist: exhaustion is a clean refusal.
        let second = try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait()
        #expect(throws: MediaError.self) { try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait() }
        second.close()
        leg.close()
        Thread.sleep(forTimeInterval: 0.1)
        #expect(ports.inUseCount == 0)
        #expect(engine.threadStatistics()[0].endpoints == 0)
    }

    @Test("the bind host may be a name; RTCP gets port + 1 without rtcp-mux; stop closes every leg")
    func hostNameAndStop() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let base = 35_000 + Int(getpid() % 500) * 8
        let ports = PortAllocator(range: base...(base + 7))
        let engine = MediaEngine(group: group, bindHost: "localhost", ports: ports, logger: Logger(label: "test"), threads: 2)
        engine.start()
        let peer = try PeerSocket()
        let parameters = LegParameters(codec: .g711(.alaw), payloadType: 8, telephoneEventPayloadType: nil,
                                       remote: try peer.address, mediaTimeoutMilliseconds: nil, inbandDTMF: true)
        let a = try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait()
        let b = try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait()
        #expect(a.localPort % 2 == 0 && b.localPort % 2 == 0 && a.localPort != b.localPort)
        #expect(ports.inUseCount == 2)
        // Both threads tick: legs are spread round robin.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(engine.threadStatistics().map(\.endpoints) == [1, 1])
        #expect(peer.receive(for: 0.2).count >= 10)
        engine.stop()
        #expect(ports.inUseCount == 0)
        #expect(engine.threadStatistics().allSatisfy { $0.lateness.ticks > 0 })
        // After stop a leg cannot be opened, and says why.
        #expect(throws: MediaIOError.self) { try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait() }
    }
}
