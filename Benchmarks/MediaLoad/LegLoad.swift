import CParleyMediaIO
import Foundation
import Logging
import NIOCore
import NIOPosix
import ParleyDSP
import ParleyMedia

/// N real legs on the server's engine (`MediaEngine.openLeg`, one media thread pinned to one
/// CPU) driven by the traffic generator from another CPU: G.711 in (jitter buffer → decode →
/// in-band DTMF detection) and a prompt out (encode → send) on every leg, every 20 ms.
enum LegLoad {
    static func run(legs: Int, seconds: Double, inband: Bool, mediaCPU: Int, generatorCPU: Int) throws -> Row {
        return try withLoadRig(label: "media-load", legs: legs, mediaCPU: mediaCPU, generatorCPU: generatorCPU) { group, engine, generator in
            // A minute of speech-like prompt, shared by every leg (no copy per leg).
            let frames = TrafficGenerator.speechFrames()
            var samples: [Int16] = []
            samples.reserveCapacity(8000 * 60)
            for _ in 0..<60 { for frame in frames { for code in frame { samples.append(G711.linear(ulaw: code)) } } }
            let prompt = PCMAudio(sampleRate: 8000, samples: samples)
            var opened: [MediaLeg] = []
            for i in 0..<legs {
                let remote = try SocketAddress(ipAddress: "127.0.0.1", port: generator.peerPort(leg: i))
                var parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: inband ? nil : 101,
                                               remote: remote, mediaTimeoutMilliseconds: nil, inbandDTMF: inband)
                parameters.rtcpMux = true
                let leg = try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait()
                leg.play("load", audio: prompt)
                opened.append(leg)
            }
            generator.targets = opened.map(\.localPort)
            generator.start()
            defer { generator.stop() }
            let thread = engine.threads[0]
            var row = measure("\(legs) G.711 legs\(inband ? ", in-band DTMF" : "")", legs: legs, seconds: seconds, generator: generator,
                              cpu: { thread.currentStatistics.cpuNanoseconds }, lateness: { thread.currentStatistics.lateness })
            generator.stop()
            var received = 0, concealed = 0
            let all = EventLoopFuture.whenAllSucceed(opened.map { $0.currentStatistics() }, on: group.next())
            for s in (try? all.wait()) ?? [] { received += s.packetsReceived; concealed += s.concealedFrames }
            row.label += " (legs received \(received), concealed \(concealed))"
            for leg in opened { leg.close() }
            return row
        }
    }
}
