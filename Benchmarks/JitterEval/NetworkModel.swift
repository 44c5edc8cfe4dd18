import ParleyTestSupport
import Foundation

/// The draws the network model uses, on the shared seeded generator (same sequences as before).
extension SeededRandom {
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        return sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
    }
    mutating func exponential(mean: Double) -> Double { -mean * log(max(uniform(), 1e-12)) }
}


/// A network impairment profile, structured after ITU-T G.1050 (our own model and
/// numbers, not the Recommendation's tables): a fixed base delay; jitter as the sum of a
/// slowly varying correlated component (first-order autoregressive, i.e. a drifting
/// queue) and a per-packet exponential queueing component, with FIFO order kept unless a
/// packet is reordered; occasional delay spikes (a route change or a burst of cross
/// traffic: the delay jumps and drains back linearly); bursty loss from a two-state
/// Gilbert–Elliott chain; and sender clock skew.
///
/// | profile      | base ms | AR σ ms / ρ   | queue mean ms | spikes /pkt, height ms, drain ms | GE p / r      | reorder | skew ppm |
/// |--------------|---------|---------------|---------------|----------------------------------|---------------|---------|----------|
/// | A good       | 20      | 1 / 0.95      | 1             | 0                                | 0.001 / 0.50  | 0       | +50      |
/// | B fair       | 40      | 3 / 0.95      | 4             | 0.0005, 80, 300                  | 0.005 / 0.40  | 0.001   | −300     |
/// | C poor       | 60      | 6 / 0.97      | 8             | 0.001, 150, 500                  | 0.010 / 0.30  | 0.005   | +300     |
/// | D bad        | 80      | 12 / 0.97     | 15            | 0.002, 250, 800                  | 0.020 / 0.25  | 0.010   | −300     |
/// | E very bad   | 100     | 20 / 0.98     | 25            | 0.003, 400, 1000                 | 0.030 / 0.20  | 0.020   | +300     |
///
/// Gilbert–Elliott: p = P(good → bad) and r = P(bad → good) per packet; every packet in
/// the bad state is lost, none in the good state, so the mean loss is p / (p + r) and the
/// mean burst r⁻¹ packets. A reordered packet is held 1–3 frame times extra and so
/// overtaken by the packets behind it.
struct NetworkProfile: Sendable {
    var name: String
    var baseDelayMs: Double
    var arSigmaMs: Double
    var arRho: Double
    var queueMeanMs: Double
    var spikeProbability: Double
    var spikeHeightMs: Double
    var spikeDrainMs: Double
    var lossP: Double
    var lossR: Double
    var reorderProbability: Double
    var skewPPM: Double

    static let all: [NetworkProfile] = [
        .init(name: "A good", baseDelayMs: 20, arSigmaMs: 1, arRho: 0.95, queueMeanMs: 1, spikeProbability: 0,
              spikeHeightMs: 0, spikeDrainMs: 1, lossP: 0.001, lossR: 0.5, reorderProbability: 0, skewPPM: 50),
        .init(name: "B fair", baseDelayMs: 40, arSigmaMs: 3, arRho: 0.95, queueMeanMs: 4, spikeProbability: 0.0005,
              spikeHeightMs: 80, spikeDrainMs: 300, lossP: 0.005, lossR: 0.4, reorderProbability: 0.001, skewPPM: -300),
        .init(name: "C poor", baseDelayMs: 60, arSigmaMs: 6, arRho: 0.97, queueMeanMs: 8, spikeProbability: 0.001,
              spikeHeightMs: 150, spikeDrainMs: 500, lossP: 0.01, lossR: 0.3, reorderProbability: 0.005, skewPPM: 300),
        .init(name: "D bad", baseDelayMs: 80, arSigmaMs: 12, arRho: 0.97, queueMeanMs: 15, spikeProbability: 0.002,
              spikeHeightMs: 250, spikeDrainMs: 800, lossP: 0.02, lossR: 0.25, reorderProbability: 0.01, skewPPM: -300),
        .init(name: "E very bad", baseDelayMs: 100, arSigmaMs: 20, arRho: 0.98, queueMeanMs: 25, spikeProbability: 0.003,
              spikeHeightMs: 400, spikeDrainMs: 1000, lossP: 0.03, lossR: 0.2, reorderProbability: 0.02, skewPPM: 300),
    ]
}

/// One packet of the simulated stream.
struct SimulatedPacket {
    var index: Int
    /// Send time on the receiver's clock (the sender's clock skewed), ms.
    var sentMs: Double
    /// Arrival time on the receiver's clock, ms; nil when the network lost it.
    var arrivalMs: Double?
}

/// Arrival times of a stream of `count` packets sent every `frameMs` by the sender's clock.
func simulate(_ profile: NetworkProfile, count: Int, frameMs: Double = 20, seed: UInt64) -> [SimulatedPacket] {
    var rng = SeededRandom(seed: seed)
    var ar = 0.0
    var spike = 0.0
    var bad = false
    var previousArrival = -Double.infinity
    var packets: [SimulatedPacket] = []
    packets.reserveCapacity(count)
    let arScale = profile.arSigmaMs * sqrt(1 - profile.arRho * profile.arRho)
    for i in 0..<count {
        let sent = Double(i) * frameMs / (1 + profile.skewPPM * 1e-6)
        // Correlated component: AR(1) with stationary σ = arSigmaMs, only ever adding delay.
        ar = profile.arRho * ar + arScale * rng.normal()
        // Spikes: jump, then drain linearly.
        spike = max(0, spike - frameMs * profile.spikeHeightMs / max(profile.spikeDrainMs, 1))
        if rng.uniform() < profile.spikeProbability { spike = profile.spikeHeightMs }
        var delay = profile.baseDelayMs + abs(ar) + rng.exponential(mean: profile.queueMeanMs) + spike
        // Gilbert–Elliott loss.
        bad = bad ? rng.uniform() >= profile.lossR : rng.uniform() < profile.lossP
        if bad {
            packets.append(SimulatedPacket(index: i, sentMs: sent, arrivalMs: nil))
            continue
        }
        var arrival = sent + delay
        if rng.uniform() < profile.reorderProbability {
            delay += frameMs * Double(1 + Int(rng.uniform() * 3))
            arrival = sent + delay
        } else {
            // FIFO: a packet cannot overtake the one queued before it.
            arrival = max(arrival, previousArrival + 0.05)
            previousArrival = arrival
        }
        packets.append(SimulatedPacket(index: i, sentMs: sent, arrivalMs: arrival))
    }
    return packets
}
