import Testing
import ParleyTestSupport
@testable import ParleyRTP

/// Discontinuous transmission, comfort noise, recording mode and held underruns.
@Suite("Jitter buffer: DTX, comfort noise, recording mode")
struct JitterBufferModeTests {
    /// Talkspurt of 50 packets, then the sender goes silent for `pauseMs` (Opus DTX: no
    /// packets; sequence numbers continue, timestamps jump), then 50 more packets.
    static func dtxStream(pauseMs: Int64) -> [JitterHarness.Packet] {
        var packets = JitterHarness.stream(count: 100)
        for i in 50..<100 {
            packets[i].timestamp &+= UInt32(pauseMs * 8)
            packets[i].arrivalMs += pauseMs
        }
        return packets
    }

    @Test("given a DTX pause (no packets, timestamps jump, no sequence number missing), then no frame counts as lost")
    func dtxNoLoss() {
        let h = JitterHarness()
        let out = h.run(Self.dtxStream(pauseMs: 1_000), untilMs: 4_000)
        #expect(out.played == Array(0..<100))
        let s = h.buffer.statistics
        #expect(s.concealed == 0)
        #expect(s.late == 0)
        // While the pause was not yet known, play-out was held a few frames (not counted lost).
        let last = out.firstIndex(of: .normal(49)) ?? 0, next = out.firstIndex(of: .normal(50)) ?? 0
        #expect(out[last..<next].filter { $0 == .missing }.count <= h.buffer.configuration.maximumUnderrunFrames)
    }

    @Test("given the decoded audio was silence when the sender paused, then the pause plays as comfort noise, never concealed speech")
    func dtxComfortNoise() {
        let h = JitterHarness()
        h.buffer.sourceSilent = true
        let out = h.run(Self.dtxStream(pauseMs: 1_000), untilMs: 4_000)
        #expect(out.played == Array(0..<100))
        #expect(!out.contains(.missing))
        #expect(out.contains(.comfortNoise))
        #expect(h.buffer.statistics.concealed == 0)
        #expect(h.buffer.statistics.comfortNoise > 0)
    }

    @Test("given a packet really lost inside a talkspurt, then it is still counted concealed")
    func realLossCounted() {
        var packets = JitterHarness.stream(count: 100)
        packets.remove(at: 40)
        let h = JitterHarness()
        _ = h.run(packets, untilMs: 3_000)
        #expect(h.buffer.statistics.concealed == 1)
        #expect(h.buffer.statistics.pauseFrames == 0)
    }

    @Test("given comfort-noise packets (RFC 3389), then they count as received and play as comfort noise")
    func comfortNoisePackets() {
        let h = JitterHarness()
        var payload: [UInt8] = [40]
        var out: [JitterBuffer<AdaptivePlayoutPolicy>.Frame] = []
        for i in 0..<60 {
            let cn = i >= 20 && i < 40
            payload[0] = cn ? 40 : 0xFF
            let r = payload.withUnsafeBytes {
                h.buffer.put($0, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), marker: i == 0,
                             arrivalMs: Int64(i) * 20 + 30, comfortNoise: cn)
            }
            #expect(r == .stored)
            out.append(h.buffer.get(nowMs: Int64(i) * 20 + 100))
        }
        let s = h.buffer.statistics
        #expect(s.received == 60)
        #expect(s.concealed == 0)
        #expect(s.comfortNoise == 20)
        let levels = out.compactMap { if case let .comfortNoise(p?) = $0 { p.first } else { nil } }
        #expect(levels == [UInt8](repeating: 40, count: 20))
    }

    @Test("given a lossy, jittery stream, then recording mode conceals less than interactive mode, at a longer delay")
    func recordingConcealsLess() {
        // 3 000 packets, 30 ms base transit, 0–60 ms of jitter with 250 ms spikes now and then,
        // 2 % loss: the same stream through both modes.
        var rng = SeededRandom(seed: 7)
        var packets = JitterHarness.stream(count: 3_000)
        var kept: [JitterHarness.Packet] = []
        for var p in packets {
            if rng.unit() < 0.02 { continue }
            let spike: Int64 = rng.unit() < 0.01 ? 250 : 0
            p.arrivalMs += Int64(rng.unit() * 60) + spike
            kept.append(p)
        }
        packets = kept
        let interactive = JitterHarness()
        let recording = JitterHarness()
        recording.buffer.setMode(.recording)
        #expect(recording.buffer.mode == .recording)
        _ = interactive.run(packets, untilMs: 62_000)
        _ = recording.run(packets, untilMs: 62_000)
        let i = interactive.buffer.statistics, r = recording.buffer.statistics
        #expect(r.concealed < i.concealed)
        #expect(r.late < i.late)
        #expect(r.targetDelayMs > i.targetDelayMs)
        #expect(r.targetDelayMs <= 1_000)
    }

    @Test("switching to recording raises the target at once from the measured window; switching back restores it")
    func modeSwitch() {
        let h = JitterHarness()
        _ = h.run(JitterHarness.stream(count: 200) { i in Int64(30 + (i * 7) % 40) }, untilMs: 4_500)
        let before = h.buffer.estimator.targetDelayMs
        h.buffer.setMode(.recording)
        let recording = h.buffer.estimator.targetDelayMs
        h.buffer.setMode(.interactive)
        #expect(recording > before)
        #expect(h.buffer.policy.underrunAllowance == h.buffer.configuration.frameDuration * 15)
        #expect(abs(h.buffer.estimator.targetDelayMs - before) < 5)
    }

    @Test("given play-out held for a packet that then turns out lost, then the held frame stands in for it and the delay does not stay grown")
    func heldLossGivenBack() {
        // Packet 40 is lost and 41 arrives 30 ms late: the underrun at 40 holds play-out; when
        // 41 comes, the held frame was the concealment of 40.
        var packets = JitterHarness.stream(count: 100)
        packets[41].arrivalMs += 40
        packets.remove(at: 40)
        // Constant 30 ms transit and a 40 ms target: packet 40 plays at 870 ms, packet 41 at
        // 890 ms; 41 arrives at 890 ms instead of 850, so at 870 nothing is there and play-out holds.
        let h = JitterHarness(.init(estimator: .init(clockRate: 8000, quantile: 0.5, headroomMs: 40, initialDelayMs: 40)))
        let out = h.run(packets, untilMs: 3_000)
        let s = h.buffer.statistics
        #expect(out.played == Array(0..<40) + Array(41..<100))
        #expect(s.concealed == 1)
        #expect(s.late == 0)
        // One frame between 39 and 41 — the held frame, standing for 40 — and none added.
        let at39 = out.firstIndex(of: .normal(39)) ?? 0, at41 = out.firstIndex(of: .normal(41)) ?? 0
        #expect(at41 - at39 == 2)
        #expect(out[at39 + 1] == .missing)
    }
}
