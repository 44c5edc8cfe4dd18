import Benchmark
import Foundation
import NIOCore
import ParleyDSP
import ParleyMedia

/// One media tick of 1,000 G.711 legs, the real per-frame work without the system calls
/// (those are measured by `scripts/load-media compare`): each leg receives one packet (RTP
/// parse → jitter buffer), pulls one frame (decode → in-band DTMF detection where configured)
/// and sends one (prompt → µ-law encode → RTP packet); RTCP reports, one per leg about every
/// 5 s, are written in place. One tick per measured iteration, so the malloc count reads per
/// tick: 0. (Not with `.cpuTotal`: the harness's own CPU-time reading allocates 16 times per sample.)
func registerTickBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 2_500)

    // Speech-like µ-law from the peer, and a two-minute prompt shared by every leg.
    let frames: [[UInt8]] = (0..<50).map { f in
        (0..<160).map { k in
            let t = Double(f * 160 + k) / 8000
            let envelope = 0.2 + 0.8 * abs(sin(2 * Double.pi * 3 * t))
            return G711.ulaw(Int16(envelope * (6000 * sin(2 * Double.pi * 440 * t) + 4000 * sin(2 * Double.pi * 1270 * t))))
        }
    }
    let prompt = PCMAudio(sampleRate: 8000, samples: (0..<(8000 * 120)).map { n in
        Int16(8000 * sin(2 * Double.pi * 300 * Double(n) / 8000))
    })
    guard let remote = try? SocketAddress(ipAddress: "127.0.0.1", port: 40_000) else { return }

    for inband in [true, false] {
        let parameters = LegParameters(codec: .g711(.ulaw), payloadType: 0, telephoneEventPayloadType: inband ? nil : 101,
                                       remote: remote, mediaTimeoutMilliseconds: 30_000, inbandDTMF: inband)
        guard let driver = try? MediaTickDriver(legs: 1_000, parameters: parameters, prompt: prompt, incoming: frames) else { return }
        // Past the first frame's events and the jitter buffer's prefetch.
        for _ in 0..<50 { driver.tick() }
        let label = inband ? "in-band DTMF detection (peer without telephone-event)" : "no in-band detection (peer with telephone-event)"
        Benchmark("Media tick, 1,000 G.711 legs, \(label)", configuration: configuration) { benchmark in
            for _ in benchmark.scaledIterations { driver.tick() }
        }
    }
}
