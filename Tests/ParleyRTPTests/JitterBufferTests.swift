import Testing
@testable import ParleyRTP

/// Drives a jitter buffer with an injected clock: packets are put at their arrival times
/// and `get` runs on a 20 ms tick; nothing sleeps.
final class JitterHarness {
    struct Packet {
        var index: Int
        var sequence: UInt16
        var timestamp: UInt32
        var marker: Bool
        var arrivalMs: Int64
        var silence = false
    }
    enum Out: Equatable { case normal(Int), missing, prefetching, empty, comfortNoise }

    let buffer: JitterBuffer<AdaptivePlayoutPolicy>
    var results: [JitterBuffer<AdaptivePlayoutPolicy>.PutResult] = []

    init(_ configuration: JitterBuffer<AdaptivePlayoutPolicy>.Configuration = .init()) {
        buffer = JitterBuffer(configuration: configuration)
    }

    /// Packets 0..<count, 20 ms apart, arriving `delay(i)` ms after they were sent.
    static func stream(count: Int, firstSequence: UInt16 = 1000, firstTimestamp: UInt32 = 50_000,
                       delay: (Int) -> Int64 = { _ in 30 }) -> [Packet] {
        (0..<count).map { i in
            Packet(index: i, sequence: firstSequence &+ UInt16(truncatingIfNeeded: i),
                   timestamp: firstTimestamp &+ UInt32(truncatingIfNeeded: i * 160),
                   marker: i == 0, arrivalMs: Int64(i) * 20 + delay(i))
        }
    }

    /// Runs the clock from 0 to `untilMs` in 1 ms steps: arrivals first, then the 20 ms tick.
    /// Each payload's first byte carries the packet index (mod 256) so plays can be identified.
    func run(_ packets: [Packet], untilMs: Int64) -> [Out] {
        let sorted = packets.enumerated().sorted { ($0.element.arrivalMs, $0.offset) < ($1.element.arrivalMs, $1.offset) }.map(\.element)
        var p = 0
        var out: [Out] = []
        var payload = [UInt8](repeating: 0, count: 160)
        var t: Int64 = 0
        while t <= untilMs {
            while p < sorted.count && sorted[p].arrivalMs <= t {
                let k = sorted[p]
                payload[0] = UInt8(truncatingIfNeeded: k.index)
                payload[1] = UInt8(truncatingIfNeeded: k.index >> 8)
                let r = payload.withUnsafeBytes {
                    buffer.put($0, sequenceNumber: k.sequence, timestamp: k.timestamp, marker: k.marker,
                               arrivalMs: k.arrivalMs, silence: k.silence)
                }
                results.append(r)
                p += 1
            }
            if t % 20 == 0 {
                switch buffer.get(nowMs: t) {
                case let .normal(b): out.append(.normal(Int(b[0]) | Int(b[1]) << 8))
                case .missing: out.append(.missing)
                case .prefetching: out.append(.prefetching)
                case .empty: out.append(.empty)
                case .comfortNoise: out.append(.comfortNoise)
                }
            }
            t += 1
        }
        return out
    }
}

extension [JitterHarness.Out] {
    var played: [Int] { compactMap { if case let .normal(i) = $0 { i } else { nil } } }
    var missing: Int { filter { $0 == .missing }.count }
}

@Suite("Jitter buffer")
struct JitterBufferTests {
    @Test("given an in-order stream, when it plays, then every packet plays in order after the prefetch")
    func inOrder() {
        let h = JitterHarness()
        let out = h.run(JitterHarness.stream(count: 100), untilMs: 2200)
        #expect(out.first == .empty)
        #expect(out.contains(.prefetching))
        #expect(out.played == Array(0..<100))
        #expect(out.missing <= h.buffer.configuration.maximumUnderrunFrames)  // only after the stream ends
        let s = h.buffer.statistics
        #expect(s.received == 100 && s.played == 100 && s.late == 0 && s.duplicate == 0)
    }

    @Test("given packets reordered inside the window, then they play in sequence order")
    func reordering() {
        var packets = JitterHarness.stream(count: 200) { i in
            // Every 7th packet is overtaken by the next one, arriving 30 ms later than usual.
            i % 7 == 3 ? 60 : 30
        }
        packets.swapAt(10, 11)
        let h = JitterHarness()
        let out = h.run(packets, untilMs: 4500)
        #expect(out.played == Array(0..<200))
        #expect(h.buffer.statistics.late == 0)
        #expect(h.buffer.statistics.concealed <= h.buffer.configuration.maximumUnderrunFrames)  // the stream's end only
    }

    @Test("given a packet received twice, then the copy is dropped and counted")
    func duplicate() {
        var packets = JitterHarness.stream(count: 50)
        var copy = packets[20]
        copy.arrivalMs += 5
        packets.append(copy)
        let h = JitterHarness()
        let out = h.run(packets, untilMs: 1200)
        #expect(out.played == Array(0..<50))
        #expect(h.buffer.statistics.duplicate == 1)
        #expect(h.results.filter { $0 == .duplicate }.count == 1)
    }

    @Test("given a packet arriving after its play-out time, then it is dropped and counted late, and its frame concealed once")
    func late() {
        let packets = JitterHarness.stream(count: 100) { i in i == 50 ? 400 : 30 }
        let h = JitterHarness()
        let out = h.run(packets, untilMs: 2400)
        #expect(h.buffer.statistics.late == 1)
        #expect(h.results.filter { $0 == .late }.count == 1)
        #expect(!out.played.contains(50))
        #expect(out.played.count == 99)
    }

    @Test("given one lost packet, then exactly one .missing stands in for it and peekNext shows the packet after the gap")
    func loss() {
        var packets = JitterHarness.stream(count: 100)
        packets.remove(at: 40)
        let h = JitterHarness()
        // Run until just after the gap's tick and look at the peek there.
        let out = h.run(packets, untilMs: 2400)
        // From the first frame played to the last one (the stream's end is concealed too).
        let first = out.firstIndex(of: .normal(0)) ?? 0
        let last = out.lastIndex(of: .normal(99)) ?? out.count - 1
        let trimmed = Array(out[first...last])
        #expect(trimmed.missing == 1)
        #expect(trimmed.played == Array(0..<40) + Array(41..<100))
        #expect(h.buffer.statistics.concealed >= 1)
    }

    @Test("peekNext gives the packet following a gap")
    func peek() {
        let h = JitterHarness()
        var packets = JitterHarness.stream(count: 30)
        packets.remove(at: 10)
        var sawPeek = false
        let sorted = packets
        var p = 0
        var payload = [UInt8](repeating: 0, count: 160)
        for t in stride(from: Int64(0), through: 700, by: 1) {
            while p < sorted.count && sorted[p].arrivalMs <= t {
                payload[0] = UInt8(sorted[p].index)
                payload.withUnsafeBytes {
                    _ = h.buffer.put($0, sequenceNumber: sorted[p].sequence, timestamp: sorted[p].timestamp,
                                     marker: sorted[p].marker, arrivalMs: t)
                }
                p += 1
            }
            if t % 20 == 0, h.buffer.get(nowMs: t) == .missing, let next = h.buffer.peekNext() {
                #expect(next[0] == 11)
                sawPeek = true
            }
        }
        #expect(sawPeek)
    }

    @Test("given a jitter burst, then the target delay rises quickly and comes down slowly")
    func burst() {
        // 10 s calm (30 ms ± 2), 2 s burst (up to +150 ms), then calm again.
        let packets = JitterHarness.stream(count: 1500) { i in
            let wobble = Int64((i * 37) % 5) - 2
            if i >= 500 && i < 600 { return 30 + Int64((i * 53) % 150) }
            return 30 + wobble
        }
        // A short window and a 5 s release, so the whole rise and fall fits in 30 s.
        let h = JitterHarness(.init(estimator: .init(clockRate: 8000, windowPackets: 100, quantile: 0.96, headroomMs: 0,
                                                     releasePackets: 250, maximumDelayMs: 1000)))
        var before = 0.0, inBurst = 0.0, burstEnd = 0.0, justAfter = 0.0, later = 0.0
        let sorted = packets
        var p = 0
        let payload = [UInt8](repeating: 0, count: 160)
        for t in stride(from: Int64(0), through: 30_000, by: 1) {
            while p < sorted.count && sorted[p].arrivalMs <= t {
                let k = sorted[p]
                payload.withUnsafeBytes {
                    _ = h.buffer.put($0, sequenceNumber: k.sequence, timestamp: k.timestamp, marker: k.index % 50 == 0,
                                     arrivalMs: k.arrivalMs)
                }
                p += 1
            }
            if t % 20 == 0 { _ = h.buffer.get(nowMs: t) }
            let target = h.buffer.estimator.targetDelayMs
            if t == 9_900 { before = target }
            if t == 10_400 { inBurst = target }      // 0.4 s into the burst
            if t == 11_990 { burstEnd = target }
            if t == 13_000 { justAfter = target }    // 1 s after it
            if t == 29_000 { later = target }        // 17 s after it
        }
        #expect(before < 10)
        #expect(inBurst > 60)
        #expect(burstEnd > 100)
        #expect(justAfter > 60)          // still high: slow release
        #expect(later < 15)              // but it does come down
        #expect(later < justAfter)
    }

    @Test("given a sender clock 300 ppm fast or slow, then over 10 minutes the buffer stays bounded", arguments: [300.0, -300.0])
    func drift(ppm: Double) {
        // Talkspurts of 2 s (marker on the first packet), continuous packets, ±5 ms jitter.
        let count = 30_000
        let h = JitterHarness()
        let payload = [UInt8](repeating: 0, count: 160)
        var p = 0
        var maxBuffered = 0
        var maxDelay = 0.0
        for t in stride(from: Int64(0), through: Int64(count) * 20 + 500, by: 1) {
            while p < count {
                let sent = Double(p) * 20 / (1 + ppm * 1e-6)
                let arrival = Int64(sent + 30 + Double((p * 37) % 11) - 5)
                guard arrival <= t else { break }
                payload.withUnsafeBytes {
                    _ = h.buffer.put($0, sequenceNumber: UInt16(truncatingIfNeeded: p), timestamp: UInt32(p * 160),
                                     marker: p % 100 == 0, arrivalMs: arrival)
                }
                p += 1
            }
            if t % 20 == 0 {
                _ = h.buffer.get(nowMs: t)
                if t > 5_000 && p < count {
                    maxBuffered = max(maxBuffered, h.buffer.bufferedPackets)
                    maxDelay = max(maxDelay, h.buffer.statistics.currentDelayMs)
                }
            }
        }
        let s = h.buffer.statistics
        #expect(maxBuffered <= 7)
        // The target is about 66 ms (10 ms of jitter + 55 ms headroom); the delay stays within
        // the policy's hysteresis (a frame and 30 ms) of it instead of growing or draining by 180 ms.
        #expect(maxDelay < 130)
        #expect(s.overflow == 0)
        #expect(Double(s.late) < 0.01 * Double(count))
        // 180 ms of drift over 10 minutes is about 9 frames, absorbed by inserting or dropping frames.
        if ppm > 0 { #expect(s.dropped >= 5) } else { #expect(s.inserted >= 5) }
    }

    @Test("given suppressed silence (a timestamp gap, then a marker), then the next talkspurt is rescheduled at the target delay and plays whole")
    func talkspurtResync() {
        // Talkspurt 1: packets 0..<50 with 30 ms transit. 2 s of suppressed silence. Talkspurt 2:
        // packets 50..<100, sequence numbers continuing, timestamps 2 s further, 90 ms transit.
        var packets = JitterHarness.stream(count: 100)
        for i in 50..<100 {
            packets[i].timestamp &+= 16_000
            packets[i].arrivalMs += 2_000 + 60
            packets[i].marker = i == 50
        }
        let h = JitterHarness()
        let out = h.run(packets, untilMs: 5_000)
        #expect(out.played == Array(0..<100))
        #expect(h.buffer.statistics.late == 0)
        // Between the spurts the buffer conceals briefly, then reports nothing to play.
        let first = out.lastIndex(of: .normal(49)) ?? 0, second = out.firstIndex(of: .normal(50)) ?? 0
        let gap = out[(first + 1)..<second]
        #expect(gap.filter { $0 == .missing }.count <= h.buffer.configuration.maximumUnderrunFrames)
        #expect(gap.contains(.empty))
        // The second spurt starts once its first packet has waited the target delay.
        let startMs = Int64(second) * 20
        #expect(startMs >= packets[50].arrivalMs)
        #expect(startMs < packets[50].arrivalMs + 20 + Int64(h.buffer.estimator.targetDelayMs.rounded(.up)))
    }

    @Test("given frames marked as silence and a delay above the target, then only silence frames are dropped")
    func dropsOnlySilence() {
        // No jitter: the 120 ms initial target releases towards 1 ms, so the buffer has frames
        // to shed. Every 10th to 14th frame of each 25 is silence.
        var packets = JitterHarness.stream(count: 1500) { _ in 30 }
        for i in packets.indices { packets[i].silence = (i % 25) >= 10 && (i % 25) < 15 }
        // No headroom and a 5 s release, so the target falls well below the start-up delay.
        let h = JitterHarness(.init(estimator: .init(clockRate: 8000, windowPackets: 100, quantile: 0.96, headroomMs: 0,
                                                     releasePackets: 250, initialDelayMs: 120, maximumDelayMs: 1000)))
        let out = h.run(packets, untilMs: 31_000)
        let played = Set(out.played)
        let notPlayed = (0..<1500).filter { !played.contains($0) }
        #expect(h.buffer.statistics.dropped >= 1)
        #expect(notPlayed.count == h.buffer.statistics.dropped)
        #expect(notPlayed.allSatisfy { packets[$0].silence })
        #expect(h.buffer.statistics.late == 0)
    }

    @Test("given sequence numbers that wrap at 65535, then play-out continues across the wrap")
    func wrap() {
        let h = JitterHarness()
        let packets = JitterHarness.stream(count: 100, firstSequence: 65500, firstTimestamp: UInt32.max - 3200)
        let out = h.run(packets, untilMs: 2200)
        #expect(out.played == Array(0..<100))
        #expect(h.buffer.statistics.late == 0)
    }

    @Test("given a sequence and timestamp jump (a restarted sender), then the buffer resyncs to the new stream")
    func restart() {
        var packets = JitterHarness.stream(count: 50)
        let second = JitterHarness.stream(count: 50, firstSequence: 40_000, firstTimestamp: 9_000_000) { _ in 30 }
        for var k in second {
            k.index += 50
            k.arrivalMs += 50 * 20
            packets.append(k)
        }
        let h = JitterHarness()
        let out = h.run(packets, untilMs: 2400)
        #expect(h.buffer.statistics.resyncs == 1)
        #expect(h.results.contains(.probation))
        #expect(h.results.contains(.resynchronized))
        // The first packet of the new stream was held on probation; the resync discarded the
        // old stream's last packets, still waiting for their play-out time (the 55 ms headroom
        // holds two or three); the new stream plays.
        let old = out.played.prefix { $0 < 50 }
        #expect(Array(old) == Array(0..<old.count))
        #expect(old.count >= 47)
        #expect(Array(out.played.dropFirst(old.count)) == Array(51..<100))
    }
}

@Suite("Play-out policy")
struct PlayoutPolicyTests {
    @Test("the adaptive policy never changes the delay mid-speech within its excess limit, and acts at talkspurt starts and in silence")
    func adaptive() {
        var policy = AdaptivePlayoutPolicy(hysteresis: 80, speechExcessLimit: 1600, underrunAllowance: 480)
        // Below target: grow where allowed, never mid-speech.
        #expect(policy.adjustment(currentDelay: 100, targetDelay: 400, frameDuration: 160, at: .speech) == .none)
        #expect(policy.adjustment(currentDelay: 100, targetDelay: 400, frameDuration: 160, at: .talkspurtStart) == .insertFrame)
        #expect(policy.adjustment(currentDelay: 100, targetDelay: 400, frameDuration: 160, at: .silence) == .insertFrame)
        // Well above target: shrink where allowed.
        #expect(policy.adjustment(currentDelay: 700, targetDelay: 400, frameDuration: 160, at: .speech) == .none)
        #expect(policy.adjustment(currentDelay: 700, targetDelay: 400, frameDuration: 160, at: .silence) == .dropFrame)
        // Within one frame plus hysteresis: leave it.
        #expect(policy.adjustment(currentDelay: 600, targetDelay: 400, frameDuration: 160, at: .silence) == .none)
        // An underrun holds play-out up to the allowance over the target.
        #expect(policy.adjustment(currentDelay: 800, targetDelay: 400, frameDuration: 160, at: .underrun) == .insertFrame)
        #expect(policy.adjustment(currentDelay: 900, targetDelay: 400, frameDuration: 160, at: .underrun) == .none)
        // The bound for senders that never pause.
        #expect(policy.adjustment(currentDelay: 2100, targetDelay: 400, frameDuration: 160, at: .speech) == .dropFrame)
    }

    @Test("given the fixed policy, a drifting-slow sender underruns instead of inserting frames")
    func fixed() {
        let buffer = JitterBuffer(policy: FixedPlayoutPolicy())
        var payload = [UInt8](repeating: 0, count: 160)
        var p = 0
        for t in stride(from: Int64(0), through: 20_000, by: 20) {
            while p < 1000, Int64(Double(p) * 20.1 + 30) <= t {  // 0.5 % slow
                payload[0] = UInt8(truncatingIfNeeded: p)
                payload.withUnsafeBytes {
                    _ = buffer.put($0, sequenceNumber: UInt16(p), timestamp: UInt32(p * 160), marker: p % 50 == 0,
                                   arrivalMs: Int64(Double(p) * 20.1 + 30))
                }
                p += 1
            }
            _ = buffer.get(nowMs: t)
        }
        #expect(buffer.statistics.inserted == 0 && buffer.statistics.dropped == 0)
        #expect(buffer.statistics.late > 0)
    }
}

@Suite("Jitter delay estimator")
struct JitterDelayEstimatorTests {
    @Test("given random transits with drift and jumps, the incremental histogram gives the same minimum and quantile as sorting the window (up to the maximum delay)")
    func matchesBruteForce() {
        let window = 50, quantile = 0.95
        var estimator = JitterDelayEstimator(.init(clockRate: 8000, windowPackets: window, quantile: quantile,
                                                   headroomMs: 0, maximumDelayMs: 300))
        var seed: UInt64 = 12345
        func random(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        var history: [Int64] = []
        var drift = 0
        for step in 0..<20_000 {
            // Whole milliseconds (8 units) plus a constant, a slow drift both ways, and
            // occasional jumps far outside the histogram (route changes).
            if step % 50 == 0 { drift += step < 10_000 ? -1 : 1 }
            if step % 3_000 == 1_500 { drift += random(2) == 0 ? 700 : -700 }
            let ms = 100 + drift + random(40) + (random(100) == 0 ? 250 : 0)
            let transit = Int64(ms) * 8 + 3
            estimator.update(transit: transit)
            history.append(transit)
            let w = history.suffix(window)
            let lowest = w.min() ?? 0
            #expect(estimator.minimumTransit == lowest, "step \(step)")
            let relative = w.map { Int(($0 - lowest) / 8) }.sorted()
            let needed = Int((quantile * Double(w.count)).rounded(.up))
            // Exact up to the maximum delay; beyond it (the target is capped there) the
            // histogram may saturate.
            let cap = Double(300 + 1) * 8
            let expected = min(cap, Double(relative[needed - 1] + 1) * 8)
            #expect(min(cap, estimator.rawEstimate) == expected, "step \(step)")
            if estimator.minimumTransit != lowest || min(cap, estimator.rawEstimate) != expected { break }
        }
    }
}
