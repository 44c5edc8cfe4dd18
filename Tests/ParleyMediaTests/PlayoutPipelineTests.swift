import Foundation
import Testing
@testable import ParleyDSP
@testable import ParleyMedia
import ParleyRTP

/// The receive side's play-out on G.711: decode or conceal, delay changes by time-scale
/// modification in speech and whole frames in silence, comfort noise through DTX.
@Suite("Play-out pipeline")
struct PlayoutPipelineTests {
    /// Continuous "speech": a voiced sound in 4 syllables a second (its level rising and
    /// falling 16 dB, never pausing), µ-law encoded.
    static func speechFrame(_ index: Int) -> [UInt8] {
        var pcm = [Int16](repeating: 0, count: 160)
        for j in 0..<160 {
            let t = Double(index * 160 + j) / 8000
            let envelope = 0.15 + 0.85 * abs(sin(2 * .pi * 2 * t))
            pcm[j] = Int16(envelope * (7000 * sin(2 * .pi * 150 * t) + 2500 * sin(4 * .pi * 150 * t + 0.4)))
        }
        var bytes = [UInt8](repeating: 0, count: 160)
        pcm.withUnsafeBufferPointer { src in
            _ = bytes.withUnsafeMutableBufferPointer { G711.encode(.ulaw, src, into: $0) }
        }
        return bytes
    }

    /// Runs `count` packets from a sender whose clock is `ppm` off, with `jitter(i)` ms of
    /// extra transit and `lost(i)` dropped, through a pipeline; returns it after `count`
    /// ticks plus a second, with the buffer's delay sampled every tick.
    static func run(count: Int, ppm: Double = 0, mode: PlayoutMode = .interactive, jitter: (Int) -> Double = { _ in 0 },
                    lost: (Int) -> Bool = { _ in false }, marker: (Int) -> Bool = { $0 == 0 },
                    gapAfter: Int? = nil, gapMs: Int64 = 0,
                    buffer: JitterBuffer<AdaptivePlayoutPolicy> = JitterBuffer()) -> (pipeline: PlayoutPipeline, delays: [Double], output: [Int16]) {
        let pipeline = PlayoutPipeline(buffer: buffer, decoder: G711Decoder(law: .ulaw))
        pipeline.setMode(mode)
        let frames = (0..<50).map(speechFrame)
        var arrivals: [(ms: Double, index: Int)] = []
        for i in 0..<count where !lost(i) {
            var sent = Double(i) * 20 / (1 + ppm * 1e-6)
            if let g = gapAfter, i > g { sent += Double(gapMs) }
            arrivals.append((sent + 30 + jitter(i), i))
        }
        arrivals.sort { $0.ms < $1.ms }
        var out = [Int16](repeating: 0, count: 160)
        var delays: [Double] = []
        var output: [Int16] = []
        var p = 0
        let ticks = count + 50 + Int(gapMs / 20)
        for k in 0..<ticks {
            let now = Int64(k) * 20
            while p < arrivals.count, arrivals[p].ms <= Double(now) {
                let i = arrivals[p].index
                var timestamp = UInt32(i * 160)
                if let g = gapAfter, i > g { timestamp &+= UInt32(gapMs * 8) }
                _ = frames[i % 50].withUnsafeBytes {
                    buffer.put($0, sequenceNumber: UInt16(truncatingIfNeeded: i), timestamp: timestamp, marker: marker(i),
                               arrivalMs: Int64(arrivals[p].ms))
                }
                p += 1
            }
            _ = out.withUnsafeMutableBufferPointer { pipeline.pull(nowMs: now, into: $0) }
            output += out
            delays.append(buffer.statistics.currentDelayMs)
        }
        return (pipeline, delays, output)
    }

    @Test("given a sender 300 ppm fast or slow talking without a pause for 10 minutes, then the delay neither drains nor grows",
          arguments: [300.0, -300.0])
    func drift(ppm: Double) {
        let count = 30_000
        let (pipeline, delays, _) = Self.run(count: count, ppm: ppm, jitter: { Double(($0 * 37) % 11) })
        let buffer = pipeline.buffer
        // 300 ppm over 10 minutes is 180 ms: without compensation the delay would drift by that.
        let early = delays[1_000..<2_000].reduce(0, +) / 1_000
        let late = delays[(count - 1_000)..<count].reduce(0, +) / 1_000
        let target = buffer.statistics.targetDelayMs
        let settled = delays[500..<count]
        // Within the policy's bands: a frame and 30 ms over the target, a frame and 50 ms under.
        #expect((settled.max() ?? 0) < target + 70)
        #expect((settled.min() ?? 0) > target - 90)
        #expect(abs(late - early) < 60)
        #expect(buffer.statistics.late == 0)
        #expect(buffer.statistics.concealed == 0)
        // No pause to drop or insert frames in: the speech itself was time-scaled.
        if ppm > 0 {
            #expect(pipeline.statistics.samplesRemoved >= 1_000)
        } else {
            #expect(pipeline.statistics.samplesAdded + buffer.statistics.inserted * 160 >= 1_000)
        }
        #expect(buffer.statistics.dropped == 0)
    }

    @Test("given a lossy, jittery stream, then recording mode conceals fewer frames than interactive mode")
    func recordingConcealsLess() {
        var state: UInt64 = 99
        func random() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let jitter = (0..<3_000).map { _ in random() < 0.02 ? 300 + random() * 50 : random() * 70 }
        let lost = (0..<3_000).map { _ in random() < 0.03 }
        let interactive = Self.run(count: 3_000, jitter: { jitter[$0] }, lost: { lost[$0] })
        let recording = Self.run(count: 3_000, mode: .recording, jitter: { jitter[$0] }, lost: { lost[$0] })
        let i = interactive.pipeline.statistics, r = recording.pipeline.statistics
        #expect(r.concealed < i.concealed)
        // Hardly anything that arrived is lost to lateness in recording mode.
        #expect(recording.pipeline.buffer.statistics.late * 5 < interactive.pipeline.buffer.statistics.late)
    }

    @Test("given a DTX pause after silence, then the pipeline plays comfort noise and counts no concealment")
    func dtx() {
        // Talkspurt 0..<100 whose last 30 frames are silence (µ-law 0xFF), 2 s without packets
        // (timestamps jump, sequence numbers continue), then speech again.
        let buffer = JitterBuffer()
        let pipeline = PlayoutPipeline(buffer: buffer, decoder: G711Decoder(law: .ulaw))
        let silence = [UInt8](repeating: 0xFF, count: 160)
        var out = [Int16](repeating: 0, count: 160)
        var outputs: [PlayoutPipeline.Output] = []
        for k in 0..<400 {
            let now = Int64(k) * 20
            if k < 100 || (200..<300).contains(k) {
                let index = k < 100 ? k : k - 100
                let payload = (70..<100).contains(k) || (270..<300).contains(k) ? silence : Self.speechFrame(index % 50)
                _ = payload.withUnsafeBytes {
                    buffer.put($0, sequenceNumber: UInt16(index), timestamp: UInt32(k * 160), marker: k == 0 || k == 200,
                               arrivalMs: now)
                }
            }
            outputs.append(out.withUnsafeMutableBufferPointer { pipeline.pull(nowMs: now, into: $0) })
        }
        // The pause after the silent frames was comfort noise (or silence), not concealment.
        #expect(pipeline.statistics.comfortNoise > 0)
        #expect(buffer.statistics.concealed == 0)
        #expect(pipeline.statistics.concealed == 0)
        #expect(pipeline.statistics.decoded == 200)
        #expect(buffer.statistics.late == 0)
    }

    @Test("output is one frame per pull, continuous across accelerated frames (no clicks)")
    func continuity() {
        // A delay spike of 200 ms once: the buffer holds, then — once the spike has left a
        // short window and the target has come down — sheds the excess by time-scale
        // modification in speech; the output has no jump larger than the signal's own steps.
        let buffer = JitterBuffer(configuration: .init(estimator: .init(clockRate: 8000, windowPackets: 100, releasePackets: 25)))
        let (pipeline, _, output) = Self.run(count: 1_500, jitter: { (700..<710).contains($0) ? Double(200 - ($0 - 700) * 20) : 0 },
                                             buffer: buffer)
        #expect(output.count == (1_500 + 50) * 160)
        #expect(pipeline.statistics.samplesRemoved > 0)
        let reference = (0..<50).flatMap { i -> [Int16] in
            Self.speechFrame(i).map { G711.linear(ulaw: $0) }
        }
        let largestInput = zip(reference, reference.dropFirst()).map { abs(Int($0) - Int($1)) }.max() ?? 0
        // Skip the start (prefetch) and the concealed frames of the hold.
        let steady = output[(20 * 160)..<(690 * 160)] + output[(760 * 160)..<(1_400 * 160)]
        let largestOutput = zip(steady, steady.dropFirst()).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(largestOutput <= largestInput + largestInput / 4)
    }
}
