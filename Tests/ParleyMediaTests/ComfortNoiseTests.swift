import Foundation
import Logging
import NIOCore
import NIOPosix
import ParleyDSP
@testable import ParleyMedia
import ParleyRTP
import Testing

@Suite("Comfort noise (RFC 3389) from the peer")
struct ComfortNoiseTests {
    /// µ-law frames of talk: 440 Hz in 200 ms bursts with 100 ms pauses (a steady tone
    /// would become the detector's noise floor).
    static func talk(frames: Int, from first: Int) -> [[UInt8]] {
        (first..<(first + frames)).map { f in
            (0..<160).map { k in
                guard f % 15 < 10 else { return G711.ulaw(0) }
                return G711.ulaw(Int16(8000 * sin(2 * Double.pi * 440 * Double(f * 160 + k) / 8000)))
            }
        }
    }

    /// Level of a frame in dBov (0 dBov: RMS 32 767, as RFC 3389 defines it).
    static func dBov(_ frame: ArraySlice<Int16>) -> Double {
        let power = frame.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, frame.count))
        return power > 0 ? 10 * log10(power / (32767.0 * 32767.0)) : -200
    }

    @Test("a talkspurt, one CN packet at −50 dBov and 800 ms without packets, then talk again, on real sockets: the pause is played as noise at that level, nothing concealed or dropped")
    func cnBetweenTalkspurts() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let base = 39_000 + Int(getpid() % 500) * 8
        let engine = MediaEngine(group: group, bindHost: "127.0.0.1", ports: PortAllocator(range: base...(base + 3)),
                                 logger: Logger(label: "test"), threads: 1)
        engine.start()
        defer { engine.stop() }
        let peer = try PeerSocket()
        var parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: 101,
                                       remote: try peer.address, mediaTimeoutMilliseconds: nil, inbandDTMF: false)
        parameters.rtcpMux = true
        parameters.comfortNoisePayloadType = 13
        let leg = try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait()
        let file = NSTemporaryDirectory() + "parley-cn-\(UUID().uuidString).wav"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let recorder = try Recorder(path: file, silenceMilliseconds: nil, onSilence: {}, onFailure: { _ in Issue.record("write failed") })
        leg.startRecording(recorder)

        // 1 s of talk (sequence 0–49), the CN packet (50), 40 frames of nothing, 0.6 s of talk (51–80) from a new talkspurt.
        let before = Self.talk(frames: 50, from: 0), after = Self.talk(frames: 30, from: 0)
        for (i, frame) in before.enumerated() {
            peer.send(rtp(payloadType: 0, sequence: UInt16(i), timestamp: UInt32(i * 160), marker: i == 0, payload: frame), to: leg.localPort)
            Thread.sleep(forTimeInterval: 0.02)
        }
        peer.send(rtp(payloadType: 13, sequence: 50, timestamp: 50 * 160, payload: [50]), to: leg.localPort)
        Thread.sleep(forTimeInterval: 0.02 * 41)
        for (i, frame) in after.enumerated() {
            peer.send(rtp(payloadType: 0, sequence: UInt16(51 + i), timestamp: UInt32((91 + i) * 160), marker: i == 0, payload: frame),
                      to: leg.localPort)
            Thread.sleep(forTimeInterval: 0.02)
        }
        Thread.sleep(forTimeInterval: 0.3)
        try leg.stopRecording().wait()
        recorder.finish()
        let s = try leg.currentStatistics().wait()
        leg.close()

        #expect(s.packetsReceived == 81)
        #expect(s.unknownPayloadDropped == 0)
        #expect(s.comfortNoiseFrames >= 1)
        #expect(s.concealedFrames < 5, "\(s)")
        // The pause: frames at the CN packet's level (±6 dB), for most of its 41 frames.
        let audio = try PCMAudio.read(path: file)
        let levels = stride(from: 0, to: audio.samples.count - 159, by: 160).map { Self.dBov(audio.samples[$0..<($0 + 160)]) }
        let atLevel = levels.filter { abs($0 + 50) <= 6 }.count
        #expect(atLevel >= 30, "frames near −50 dBov: \(atLevel) of \(levels.count)")
    }
}
