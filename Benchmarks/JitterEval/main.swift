import CSpanDSP
import Foundation
import ParleyDSP
import ParleyMedia
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
    var accelerated = 0
    var stretched = 0
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

/// The library's defaults (`JitterBuffer()`: 10 s window, 99.5 % quantile, 55 ms headroom,
/// 30 s release, target at most 200 ms over the fastest packet; the policy's hysteresis 30 ms
/// to shrink and 50 ms to grow, underruns held up to 300 ms over the target). `JB_Q`,
/// `JB_WIN`, `JB_HEAD`, `JB_REL`, `JB_MAX` (estimator) and `JB_HYST`, `JB_GHYST`, `JB_UNDER`,
/// `JB_SPEECH` (policy, timestamp units) override them for tuning.
@MainActor func tunedBuffer() -> JitterBuffer<AdaptivePlayoutPolicy> {
    let env = ProcessInfo.processInfo.environment
    let defaults = JitterBuffer()
    var estimator = defaults.configuration.estimator
    if let v = env["JB_Q"].flatMap(Double.init) { estimator.quantile = v }
    if let v = env["JB_WIN"].flatMap(Int.init) { estimator.windowPackets = v }
    if let v = env["JB_HEAD"].flatMap(Double.init) { estimator.headroomMs = v }
    if let v = env["JB_REL"].flatMap(Double.init) { estimator.releasePackets = v }
    if let v = env["JB_MAX"].flatMap(Double.init) { estimator.maximumDelayMs = v }
    var policy = defaults.policy
    if let v = env["JB_HYST"].flatMap(Int64.init) { policy.hysteresis = v }
    if let v = env["JB_GHYST"].flatMap(Int64.init) { policy.growthHysteresis = v }
    if let v = env["JB_UNDER"].flatMap(Int64.init) { policy.underrunAllowance = v }
    if let v = env["JB_SPEECH"].flatMap(Int64.init) { policy.speechExcessLimit = v }
    return JitterBuffer(configuration: .init(estimator: estimator), policy: policy)
}

/// Parley's buffer behind the play-out pipeline (decode or conceal, comfort noise, delay
/// changes by time-scale modification in speech): the audio is the pipeline's PCM, and a
/// packet's play-out delay is when its first sample is heard.
@MainActor func runPipeline(_ packets: [SimulatedPacket], mode: PlayoutMode, timeScaling: Bool, trace: Bool = false) -> Result {
    let buffer = tunedBuffer()
    let pipeline = PlayoutPipeline(buffer: buffer, decoder: G711Decoder(law: .ulaw), timeScaling: timeScaling)
    pipeline.setMode(mode)
    if let v = ProcessInfo.processInfo.environment["TSM_CORR"].flatMap(Float.init) { pipeline.timeScaleCorrelation = v }
    if let v = ProcessInfo.processInfo.environment["TSM_PERIODS"].flatMap(Int.init) { pipeline.maximumPeriodsPerFrame = v }
    if let v = ProcessInfo.processInfo.environment["TSM_STEP"].flatMap(Double.init) { pipeline.accelerateStepMs = v }
    if let v = ProcessInfo.processInfo.environment["TSM_SPEECH"].flatMap(Double.init) { pipeline.speechAccelerateMs = v }
    if let v = ProcessInfo.processInfo.environment["TSM_QUIET"].flatMap(Float.init) { pipeline.quietDBov = v }
    if let v = ProcessInfo.processInfo.environment["TSM_MARGIN"].flatMap(Float.init) { pipeline.quietMarginDB = v }
    let arrivals = packets.filter { $0.arrivalMs != nil }.sorted { $0.arrivalMs! < $1.arrivalMs! }
    var r = Result()
    var out = [Int16](repeating: 0, count: frameSamples)
    r.audio.reserveCapacity((frameCount + 100) * frameSamples)
    var p = 0
    var firstPlayed = false
    var framesAfterStart = 0
    var lastPlayedIndex = 0
    for k in 0..<(frameCount + 100) {
        let now = Double(k) * frameMs
        while p < arrivals.count, let a = arrivals[p].arrivalMs, a <= now {
            let pkt = arrivals[p]
            _ = encoded[pkt.index].withUnsafeBytes {
                buffer.put($0, sequenceNumber: sequenceBase &+ UInt16(truncatingIfNeeded: pkt.index),
                           timestamp: UInt32(truncatingIfNeeded: pkt.index * frameSamples) &+ 7_000_000,
                           marker: marker[pkt.index], arrivalMs: Int64(a.rounded(.down)))
            }
            p += 1
        }
        let before = pipeline.statistics
        _ = out.withUnsafeMutableBufferPointer { pipeline.pull(nowMs: Int64(now), into: $0) }
        r.audio += out
        for i in 0..<pipeline.startedCount {
            let (sequence, offset) = pipeline.startedPacket(i)
            let index = Int(sequence &- sequenceBase)
            guard index < packets.count else { continue }
            firstPlayed = true
            lastPlayedIndex = index
            r.delays.append(now + Double(offset) / 8 - packets[index].sentMs)
        }
        let after = pipeline.statistics
        if trace {
            let b = buffer.statistics
            print(String(format: "%7.0f cur %6.1f tgt %6.1f ins %d drop %d acc %d conc %d late %d cn %d rm %d q %d", now, b.currentDelayMs, b.targetDelayMs,
                         b.inserted, b.dropped, b.accelerated, b.concealed, b.late, b.comfortNoise, after.samplesRemoved, pipeline.startedCount))
        }
        if firstPlayed && lastPlayedIndex < frameCount - 1 {
            let decoded = after.decoded - before.decoded
            let concealed = (after.concealed - before.concealed) + (after.comfortNoise - before.comfortNoise)
            framesAfterStart += decoded + concealed
            r.concealed += concealed
        }
    }
    r.played = framesAfterStart - r.concealed
    let s = buffer.statistics
    r.late = s.late
    r.arrived = arrivals.count
    r.inserted = s.inserted
    r.dropped = s.dropped
    r.accelerated = pipeline.statistics.samplesRemoved
    r.stretched = pipeline.statistics.samplesAdded
    return r
}

/// A sender ±300 ppm off, 40 ms transit and 2 ms of jitter, no loss, for ten minutes (the
/// prompts looped, with their pauses): the buffer's delay over the fastest packet as 10 s
/// means at 1, 5 and 10 minutes, and its range after the first minute. Uncompensated, the
/// delay would grow or drain by 180 ms.
@MainActor func driftRun(ppm: Double, mode: PlayoutMode) -> (marks: [Double], low: Double, high: Double, removed: Int, added: Int, inserted: Int, dropped: Int) {
    let buffer = tunedBuffer()
    let pipeline = PlayoutPipeline(buffer: buffer, decoder: G711Decoder(law: .ulaw))
    pipeline.setMode(mode)
    var out = [Int16](repeating: 0, count: frameSamples)
    let total = 30_000
    var delays: [Double] = []
    delays.reserveCapacity(total)
    var p = 0
    for k in 0..<total {
        let now = Double(k) * frameMs
        while p < total {
            let sent = Double(p) * frameMs / (1 + ppm * 1e-6)
            let arrival = sent + 40 + Double((p * 37) % 5) * 0.5
            guard arrival <= now else { break }
            let f = p % frameCount
            _ = encoded[f].withUnsafeBytes {
                buffer.put($0, sequenceNumber: UInt16(truncatingIfNeeded: p), timestamp: UInt32(truncatingIfNeeded: p * frameSamples),
                           marker: marker[f], arrivalMs: Int64(arrival.rounded(.down)))
            }
            p += 1
        }
        _ = out.withUnsafeMutableBufferPointer { pipeline.pull(nowMs: Int64(now), into: $0) }
        delays.append(buffer.statistics.currentDelayMs)
    }
    let mean = { (r: Range<Int>) in delays[r].reduce(0, +) / Double(r.count) }
    let settled = delays[3_000...]
    return ([mean(2_500..<3_000), mean(14_500..<15_000), mean(29_500..<30_000)], settled.min() ?? 0, settled.max() ?? 0,
            pipeline.statistics.samplesRemoved, pipeline.statistics.samplesAdded, buffer.statistics.inserted, buffer.statistics.dropped)
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

let wavDirectory = ProcessInfo.processInfo.environment["JITTER_EVAL_WAV"]
    ?? (NSTemporaryDirectory() + "jitter-eval-\(ProcessInfo.processInfo.processIdentifier)")
try? FileManager.default.createDirectory(atPath: wavDirectory, withIntermediateDirectories: true)
@MainActor func writeWAV(_ name: String, _ samples: [Int16]) {
    do {
        let writer = try AudioFileWriter(path: "\(wavDirectory)/\(name).wav", sampleRate: 8000)
        try samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
    } catch {
        print("could not write \(wavDirectory)/\(name).wav: \(error)")
    }
}
writeWAV("reference", reference.flatMap { $0 })

struct Row { var profile: String; var loss: Double; var label: String; var result: Result }
var rows: [Row] = []
// JITTER_EVAL_PROFILES=DE runs only those profiles (for tuning).
let profileFilter = ProcessInfo.processInfo.environment["JITTER_EVAL_PROFILES"]
for (n, profile) in NetworkProfile.all.enumerated() where profileFilter.map({ $0.contains(profile.name.prefix(1)) }) ?? true {
    let packets = simulate(profile, count: frameCount, frameMs: frameMs, seed: 0x5EED_0000 + UInt64(n))
    let lost = 100 * Double(packets.filter { $0.arrivalMs == nil }.count) / Double(frameCount)
    let traced = ProcessInfo.processInfo.environment["JITTER_EVAL_TRACE"] == String(profile.name.prefix(1))
    let runs: [(String, () -> Result)] = [("Parley", { runPipeline(packets, mode: .interactive, timeScaling: true, trace: traced) }),
                                          ("Parley-noTSM", { runPipeline(packets, mode: .interactive, timeScaling: false) }),
                                          ("Parley-rec", { runPipeline(packets, mode: .recording, timeScaling: true) }),
                                          ("spandsp", { runSpanDSP(packets) })]
    // JITTER_EVAL_BUFFERS=Parley,spandsp runs only those (for tuning).
    let only = ProcessInfo.processInfo.environment["JITTER_EVAL_BUFFERS"].map { $0.split(separator: ",").map(String.init) }
    for (label, run) in runs where only?.contains(label) ?? true {
        let r = run()
        writeWAV("\(profile.name.prefix(1))-\(label)", r.audio)
        rows.append(Row(profile: profile.name, loss: lost, label: label, result: r))
    }
}

// PESQ (ITU-T P.862 narrowband, PyPI `pesq`) of every output against the clean reference,
// through pesq_eval.py with the interpreter in PESQ_PYTHON (default python3).
@MainActor func pesqScores() -> [String: Double] {
    let python = ProcessInfo.processInfo.environment["PESQ_PYTHON"] ?? "/usr/bin/env"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + ["Benchmarks/JitterEval/pesq_eval.py", "--tsv", wavDirectory]
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch {
        print("PESQ not run (\(error)); set PESQ_PYTHON to a Python with numpy and pesq")
        return [:]
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var scores: [String: Double] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: "\t")
        if fields.count == 2, let v = Double(fields[1]) { scores[String(fields[0])] = v }
    }
    if scores.isEmpty { print("PESQ gave no scores; set PESQ_PYTHON to a Python with numpy and pesq") }
    return scores
}
let scores = pesqScores()

print("jitter-eval: \(seconds) s per profile, 20 ms G.711 µ-law frames from prompts/*.wav (looped), seeded network model")
print("delay = play-out time of a packet's first sample − its send time (end-to-end, ms); late % of arrived packets;")
print("concealed % = frames of loss concealment or comfort noise among the frames after the first play;")
print("PESQ = ITU-T P.862 narrowband MOS-LQO against the clean input (mean of six 10 s segments);")
print("TSM ms = audio removed / added by time-scale modification; ins/drop = whole frames inserted / dropped.")
print("Parley = JitterBuffer() + PlayoutPipeline (interactive); Parley-noTSM = the same without time-scale modification;")
print("Parley-rec = recording mode (setPlayoutMode(.recording)); spandsp = playout_init(2 × 160, 15 × 160), G.711 + spandsp PLC")
print("")
print("| profile    | loss % | buffer       | mean delay | p95 delay | late %  | concealed % | PESQ | TSM ms −/+  | ins/drop |")
print("|------------|--------|--------------|------------|-----------|---------|-------------|------|-------------|----------|")
for row in rows {
    let r = row.result
    let frames = Double(r.played + r.concealed)
    let pesq = scores["\(row.profile.prefix(1))-\(row.label)"].map { f($0, 2) } ?? "n/a"
    let tsm = row.label.hasPrefix("Parley") ? "\(r.accelerated / 8)/\(r.stretched / 8)" : "-"
    let insDrop = row.label.hasPrefix("Parley") ? "\(r.inserted)/\(r.dropped)" : "-/\(r.dropped)"
    print("| \(pad(row.profile, 10)) | \(pad(f(row.loss, 2), 6)) | \(pad(row.label, 12)) | "
          + "\(pad(f(r.delays.reduce(0, +) / Double(max(1, r.delays.count))), 10)) | \(pad(f(percentile(r.delays, 0.95)), 9)) | "
          + "\(pad(f(100 * Double(r.late) / Double(max(1, r.arrived)), 2), 7)) | \(pad(f(100 * Double(r.concealed) / max(1, frames), 2), 11)) | "
          + "\(pad(pesq, 4)) | \(pad(tsm, 11)) | \(pad(insDrop, 8)) |")
}

print("")
print("Clock drift: 10 min of the prompts (looped, with their pauses) from a sender ±300 ppm off (40 ms transit,")
print("2 ms jitter, no loss): the buffer's delay over the fastest packet (10 s means at 1, 5 and 10 min; range after 1 min).")
print("Uncompensated it would grow or drain by 180 ms.")
print("")
print("| skew ppm | mode        | 1 min | 5 min | 10 min | min–max      | TSM ms −/+ | frames ins/drop |")
print("|----------|-------------|-------|-------|--------|--------------|------------|-----------------|")
for ppm in [300.0, -300.0] {
    for mode in [PlayoutMode.interactive, .recording] {
        let d = driftRun(ppm: ppm, mode: mode)
        print("| \(pad(f(ppm, 0), 8)) | \(pad(mode == .interactive ? "interactive" : "recording", 11)) | \(pad(f(d.marks[0]), 5)) | "
              + "\(pad(f(d.marks[1]), 5)) | \(pad(f(d.marks[2]), 6)) | \(pad("\(f(d.low))–\(f(d.high))", 12)) | "
              + "\(pad("\(d.removed / 8)/\(d.added / 8)", 10)) | \(pad("\(d.inserted)/\(d.dropped)", 15)) |")
    }
}
