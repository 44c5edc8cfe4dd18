import CSpanDSP
import Foundation
import ParleyDSP
import ParleyRTP

// jitter-eval: replays the same simulated streams through Parley's jitter buffer and
// spandsp's play-out buffer and prints delay, late loss, concealment and a quality
// measure per network profile. Run from the package root:
//   PARLEY_BENCHMARKS=1 swift run -c release --scratch-path .build-bench JitterEval

let frameSamples = 160
let frameMs = 20.0
let seconds = 60
let frameCount = seconds * 1000 / Int(frameMs)

// MARK: Speech-like input: the prompts, concatenated and looped, G.711 µ-law encoded.

@MainActor func loadSpeech() -> [Int16] {
    let dir = "prompts"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".wav") }.sorted()
    var all: [Int16] = []
    for name in names {
        guard let audio = try? PCMAudio.read(path: "\(dir)/\(name)"), audio.sampleRate == 8000 else { continue }
        all += audio.samples
    }
    guard !all.isEmpty else { fatalError("no 8 kHz prompts found under ./prompts (run from the package root)") }
    var looped: [Int16] = []
    looped.reserveCapacity(frameCount * frameSamples)
    while looped.count < frameCount * frameSamples { looped += all.prefix(frameCount * frameSamples - looped.count) }
    return looped
}

let speech = loadSpeech()
var encoded = [[UInt8]](repeating: [], count: frameCount)
var reference = [[Int16]](repeating: [], count: frameCount)
var silent = [Bool](repeating: false, count: frameCount)
for f in 0..<frameCount {
    var bytes = [UInt8](repeating: 0, count: frameSamples)
    speech.withUnsafeBufferPointer { src in
        let frame = UnsafeBufferPointer(rebasing: src[(f * frameSamples)..<((f + 1) * frameSamples)])
        _ = bytes.withUnsafeMutableBufferPointer { G711.encode(.ulaw, frame, into: $0) }
    }
    encoded[f] = bytes
    reference[f] = bytes.map { G711.linear(ulaw: $0) }
    let energy = reference[f].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(frameSamples)
    silent[f] = energy.squareRoot() < 150
}
let marker = (0..<frameCount).map { $0 == 0 || (!silent[$0] && silent[$0 - 1]) }

// MARK: Measurement

enum Outcome { case played(Int), concealed, silence }

struct Result {
    var delays: [Double] = []
    var late = 0
    var arrived = 0
    var concealed = 0
    var played = 0
    var segSNR = 0.0
    var inserted = 0
    var dropped = 0
    var spandspDrops = 0
    var audio: [Int16] = []
}

@MainActor func percentile(_ v: [Double], _ q: Double) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted()
    return s[min(s.count - 1, Int(q * Double(s.count)))]
}

/// Segmental SNR (dB, each frame clamped to −10 ... 35, speech frames only) of the output
/// against the clean frames, aligned frame by frame: a played frame is compared with the
/// frame it came from, a concealed or silent frame with the frame that was due.
@MainActor func segmentalSNR(_ outcomes: [Outcome], _ outputs: [[Int16]]) -> Double {
    var last: Int? = nil
    var sum = 0.0, n = 0
    for (k, outcome) in outcomes.enumerated() {
        let due: Int
        switch outcome {
        case let .played(i): due = i
        case .concealed, .silence:
            guard let l = last else { continue }
            due = l + 1
        }
        last = due
        guard due < frameCount, !silent[due] else { continue }
        var signal = 0.0, noise = 0.0
        for j in 0..<frameSamples {
            let r = Double(reference[due][j]), o = Double(outputs[k][j])
            signal += r * r
            noise += (r - o) * (r - o)
        }
        let snr = noise == 0 ? 35 : min(35, max(-10, 10 * log10(signal / noise)))
        sum += snr
        n += 1
    }
    return n > 0 ? sum / Double(n) : 0
}

/// Feeds arrivals and 20 ms ticks in time order; `put` and `tick` are the buffer under test.
@MainActor func replay(_ packets: [SimulatedPacket], put: (SimulatedPacket) -> Void, tick: (Double) -> Outcome,
            conceal: (Int) -> Void = { _ in }) -> [Outcome] {
    let arrivals = packets.filter { $0.arrivalMs != nil }.sorted { $0.arrivalMs! < $1.arrivalMs! }
    var p = 0
    var outcomes: [Outcome] = []
    let ticks = frameCount + 100
    for k in 0..<ticks {
        let now = Double(k) * frameMs
        while p < arrivals.count, let a = arrivals[p].arrivalMs, a <= now {
            put(arrivals[p])
            p += 1
        }
        outcomes.append(tick(now))
    }
    return outcomes
}

@MainActor func decodeOutputs(_ outcomes: [Outcome]) -> [[Int16]] {
    let decoder = G711Decoder(law: .ulaw)
    var out = [Int16](repeating: 0, count: frameSamples)
    return outcomes.map { outcome in
        out.withUnsafeMutableBufferPointer { o in
            switch outcome {
            case let .played(i):
                _ = encoded[i].withUnsafeBytes { try? decoder.decode($0, into: o) }
            case .concealed:
                _ = decoder.conceal(samples: frameSamples, next: nil, into: o)
            case .silence:
                for j in 0..<frameSamples { o[j] = 0 }
            }
        }
        return out
    }
}

@MainActor func summarize(_ outcomes: [Outcome], packets: [SimulatedPacket], late: Int, inserted: Int = 0, dropped: Int = 0,
               spandspDrops: Int = 0) -> Result {
    var r = Result()
    r.spandspDrops = spandspDrops
    r.late = late
    r.arrived = packets.filter { $0.arrivalMs != nil }.count
    r.inserted = inserted
    r.dropped = dropped
    var started = false
    var lastPlayed = 0
    for (k, o) in outcomes.enumerated() {
        switch o {
        case let .played(i):
            started = true
            lastPlayed = i
            r.played += 1
            r.delays.append(Double(k) * frameMs - packets[i].sentMs)
        case .concealed:
            if started && lastPlayed < frameCount - 1 { r.concealed += 1 }
        case .silence: break
        }
    }
    let outputs = decodeOutputs(outcomes)
    r.segSNR = segmentalSNR(outcomes, outputs)
    r.audio = outputs.flatMap { $0 }
    return r
}

// MARK: The two buffers

let sequenceBase: UInt16 = 51_000  // wraps at 65535 within the run

/// The library's defaults (10 s window, 99.5 % quantile, 30 ms headroom, 30 s release,
/// target at most 200 ms over the fastest packet, underruns may hold play-out up to 300 ms
/// over the target). `JB_Q`, `JB_WIN`, `JB_HEAD`, `JB_REL`, `JB_MAX` (estimator) and
/// `JB_UNDER` (policy, timestamp units) override them for tuning.
@MainActor func tunedBuffer() -> JitterBuffer<AdaptivePlayoutPolicy> {
    let env = ProcessInfo.processInfo.environment
    var estimator = JitterDelayEstimator.Configuration(clockRate: 8000)
    if let v = env["JB_Q"].flatMap(Double.init) { estimator.quantile = v }
    if let v = env["JB_WIN"].flatMap(Int.init) { estimator.windowPackets = v }
    if let v = env["JB_HEAD"].flatMap(Double.init) { estimator.headroomMs = v }
    if let v = env["JB_REL"].flatMap(Double.init) { estimator.releasePackets = v }
    if let v = env["JB_MAX"].flatMap(Double.init) { estimator.maximumDelayMs = v }
    let allowance = env["JB_UNDER"].flatMap(Int64.init) ?? 2400
    let speechLimit = env["JB_SPEECH"].flatMap(Int64.init) ?? 1600
    return JitterBuffer(configuration: .init(estimator: estimator),
                        policy: AdaptivePlayoutPolicy(hysteresis: 80, speechExcessLimit: speechLimit, underrunAllowance: allowance))
}

/// A low-delay configuration: 2 s window, 96 % quantile, no headroom, 5 s release, no
/// underrun holding.
@MainActor func fastBuffer() -> JitterBuffer<AdaptivePlayoutPolicy> {
    let estimator = JitterDelayEstimator.Configuration(clockRate: 8000, windowPackets: 100, quantile: 0.96, headroomMs: 0,
                                                       releasePackets: 250, maximumDelayMs: 1000)
    return JitterBuffer(configuration: .init(estimator: estimator),
                        policy: AdaptivePlayoutPolicy(hysteresis: 80, speechExcessLimit: 1600, underrunAllowance: 0))
}

@MainActor func runParley(_ packets: [SimulatedPacket], buffer: JitterBuffer<AdaptivePlayoutPolicy>) -> Result {
    let outcomes = replay(packets, put: { pkt in
        _ = encoded[pkt.index].withUnsafeBytes {
            buffer.put($0, sequenceNumber: sequenceBase &+ UInt16(truncatingIfNeeded: pkt.index),
                       timestamp: UInt32(truncatingIfNeeded: pkt.index * frameSamples) &+ 7_000_000,
                       marker: marker[pkt.index], arrivalMs: Int64(pkt.arrivalMs!.rounded(.down)),
                       silence: silent[pkt.index])
        }
    }, tick: { now in
        switch buffer.get(nowMs: Int64(now)) {
        case .normal:
            let seq = buffer.lastPlayedSequenceNumber ?? 0
            return .played(Int(seq &- sequenceBase))
        case .missing: return .concealed
        case .prefetching, .empty: return .silence
        }
    })
    let s = buffer.statistics
    return summarize(outcomes, packets: packets, late: s.late, inserted: s.inserted, dropped: s.dropped)
}

@MainActor func runSpanDSP(_ packets: [SimulatedPacket]) -> Result {
    // As spandsp's own dynamic-buffer test sets it up: 2 to 15 frames, in samples.
    guard let s = playout_init(Int32(2 * frameSamples), Int32(15 * frameSamples)) else { fatalError("playout_init") }
    var drops = 0
    let outcomes = replay(packets, put: { pkt in
        // The frame's index travels as its data pointer (never dereferenced).
        let tag = UnsafeMutableRawPointer(bitPattern: pkt.index + 1)
        let type = ProcessInfo.processInfo.environment["SPANDSP_SILENCE"] == "1" && silent[pkt.index] ? PLAYOUT_TYPE_SILENCE : PLAYOUT_TYPE_SPEECH
        _ = playout_put(s, tag, Int32(type), Int32(frameSamples), Int32(pkt.index * frameSamples),
                        Int32((pkt.arrivalMs! * 8).rounded(.down)))
    }, tick: { now in
        var frame = playout_frame_t()
        while true {
            let ret = Int(playout_get(s, &frame, Int32(now * 8)))
            switch ret {
            case Int(PLAYOUT_DROP): drops += 1; continue
            case Int(PLAYOUT_OK): return .played(Int(bitPattern: frame.data) - 1)
            case Int(PLAYOUT_FILLIN): return .concealed
            default: return .silence
            }
        }
    })
    let late = Int(s.pointee.frames_late)
    let trimmed = Int(s.pointee.frames_trimmed)
    while playout_get_unconditional(s) != nil {}
    playout_free(s)
    return summarize(outcomes, packets: packets, late: late, dropped: trimmed, spandspDrops: drops)
}

// MARK: Report

@MainActor func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
@MainActor func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

print("jitter-eval: \(seconds) s per profile, 20 ms G.711 µ-law frames from prompts/*.wav (looped)")
print("delay = play-out time − send time (end-to-end, ms); late % of arrived packets; concealed % of frames after the first play;")
print("segSNR = frame-aligned segmental SNR of the decoded output (G.711 + spandsp PLC) against the clean frames, speech frames only")
print("Parley = JitterBuffer() with the library defaults (tunedBuffer()); Parley0 = the low-delay fastBuffer();")
print("spandsp = playout_init(2 × 160, 15 × 160) as in spandsp's own test, every frame typed PLAYOUT_TYPE_SPEECH")
print("(SPANDSP_SILENCE=1 types silent frames PLAYOUT_TYPE_SILENCE, as Parley's silence hint; spandsp then plays seconds late)")
print("")
print("| profile    | network loss % | buffer  | mean delay | p95 delay | late %  | concealed % | segSNR dB | ins/drop |")
print("|------------|----------------|---------|------------|-----------|---------|-------------|-----------|----------|")
// JITTER_EVAL_WAV=dir writes the clean reference and every output as 8 kHz WAV files, for
// Benchmarks/JitterEval/pesq_eval.py (ITU-T P.862 narrowband through PyPI's `pesq`).
let wavDirectory = ProcessInfo.processInfo.environment["JITTER_EVAL_WAV"]
@MainActor func writeWAV(_ name: String, _ samples: [Int16]) {
    guard let dir = wavDirectory else { return }
    do {
        let writer = try AudioFileWriter(path: "\(dir)/\(name).wav", sampleRate: 8000)
        try samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
    } catch {
        print("could not write \(dir)/\(name).wav: \(error)")
    }
}
writeWAV("reference", reference.flatMap { $0 })

for (n, profile) in NetworkProfile.all.enumerated() {
    let packets = simulate(profile, count: frameCount, frameMs: frameMs, seed: 0x5EED_0000 + UInt64(n))
    let lost = packets.filter { $0.arrivalMs == nil }.count
    for (label, r) in [("Parley", runParley(packets, buffer: tunedBuffer())),
                       ("Parley0", runParley(packets, buffer: fastBuffer())),
                       ("spandsp", runSpanDSP(packets))] {
        writeWAV("\(profile.name.prefix(1))-\(label)", r.audio)
        let frames = Double(r.played + r.concealed)
        print("| \(pad(profile.name, 10)) | \(pad(f(100 * Double(lost) / Double(frameCount), 2), 14)) | \(pad(label, 7)) | "
              + "\(pad(f(r.delays.reduce(0, +) / Double(max(1, r.delays.count))), 10)) | \(pad(f(percentile(r.delays, 0.95)), 9)) | "
              + "\(pad(f(100 * Double(r.late) / Double(max(1, r.arrived)), 2), 7)) | \(pad(f(100 * Double(r.concealed) / max(1, frames), 2), 11)) | "
              + "\(pad(f(r.segSNR, 2), 9)) | \(pad(label.hasPrefix("Parley") ? "\(r.inserted)/\(r.dropped)" : "-/\(r.dropped)", 8)) |")
    }
}
