import Benchmark
import CSpanDSP
import ParleyDSP
import ParleyMedia
import ParleyRTP

/// One received packet through the jitter buffer: `put` then the tick's `get`, on a
/// stream with reordering (every 10th pair swapped), 2 % loss and ±10 ms jitter, beside
/// spandsp's play-out buffer on the same schedule; the same in recording mode; the whole
/// play-out pipeline (decode, PLC, VAD, time-scale modification) with and without DTX;
/// and the time-scale modification alone. One packet per measured iteration, so
/// the malloc count reads directly per packet (Parley's must be 0 in steady state).
func registerJitterBufferBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    // A 10 000-packet schedule, replayed cyclically with advancing numbers and times.
    struct Arrival { var index: Int; var lost: Bool; var jitterMs: Int64 }
    let count = 10_000
    var schedule: [Arrival] = (0..<count).map { i in
        Arrival(index: i, lost: (i * 7919) % 100 < 2, jitterMs: Int64((i * 37) % 21) - 10)
    }
    for i in stride(from: 5, to: count - 1, by: 10) { schedule.swapAt(i, i + 1) }
    let frozen = schedule
    let payload = [UInt8](repeating: 0xD5, count: 160)

    // The buffer as legs use it, and the same stream in recording mode (up to 1 s, waiting
    // for reordered packets).
    let recording = JitterBuffer()
    recording.setMode(.recording)
    for (label, buffer) in [("Parley", JitterBuffer()), ("Parley recording mode", recording)] {
        var step = 0
        Benchmark("Jitter buffer put + get, 20 ms G.711 packet (reordering, 2 % loss), \(label)", configuration: configuration) { benchmark in
            payload.withUnsafeBytes { bytes in
                for _ in benchmark.scaledIterations {
                    let cycle = step / count, a = frozen[step % count]
                    let i = cycle * count + a.index
                    if !a.lost {
                        blackHole(buffer.put(bytes, sequenceNumber: UInt16(truncatingIfNeeded: i),
                                             timestamp: UInt32(truncatingIfNeeded: i * 160), marker: false,
                                             arrivalMs: Int64(i) * 20 + 40 + a.jitterMs))
                    }
                    blackHole(buffer.get(nowMs: Int64(step) * 20 + 40))
                    step += 1
                }
            }
        }
    }

    // The whole receive play-out per packet: put, then the tick's pull through the pipeline
    // (G.711 decode or PLC, voice activity, time-scale modification when the delay is over
    // the target). Speech-like payloads, the same schedule with a 100 ms delay spike every
    // 500 packets so the time-scale path runs.
    let speech: [[UInt8]] = (0..<50).map { f in
        var pcm = [Int16](repeating: 0, count: 160)
        for j in 0..<160 {
            let t = Double(f * 160 + j) / 8000
            let envelope = 0.15 + 0.85 * abs(sin(2 * Double.pi * 2 * t))
            pcm[j] = Int16(envelope * (7000 * sin(2 * Double.pi * 150 * t) + 2500 * sin(4 * Double.pi * 150 * t + 0.4)))
        }
        var bytes = [UInt8](repeating: 0, count: 160)
        pcm.withUnsafeBufferPointer { src in _ = bytes.withUnsafeMutableBufferPointer { G711.encode(.ulaw, src, into: $0) } }
        return bytes
    }
    func spike(_ i: Int) -> Int64 { i % 500 < 5 ? Int64(100 - (i % 500) * 20) : 0 }
    for (label, dtx) in [("speech", false), ("talkspurts of 1 s and 0.5 s of DTX", true)] {
        let pipelineBuffer = JitterBuffer()
        let pipeline = PlayoutPipeline(buffer: pipelineBuffer, decoder: G711Decoder(law: .ulaw))
        var out = [Int16](repeating: 0, count: 160)
        var pipelineStep = 0
        Benchmark("Jitter buffer + play-out pipeline, 20 ms G.711 packet (reordering, 2 % loss, spikes, \(label))",
                  configuration: configuration) { benchmark in
            out.withUnsafeMutableBufferPointer { o in
                for _ in benchmark.scaledIterations {
                    let cycle = pipelineStep / count, a = frozen[pipelineStep % count]
                    let i = cycle * count + a.index
                    // DTX: 25 of every 75 frames are not sent; sequence numbers skip nothing.
                    let silent = dtx && i % 75 >= 50
                    if !a.lost && !silent {
                        let frame = dtx && i % 75 >= 45 ? 0 : i % 50
                        speech[frame].withUnsafeBytes { bytes in
                            blackHole(pipelineBuffer.put(bytes, sequenceNumber: UInt16(truncatingIfNeeded: i - (dtx ? i / 75 * 25 : 0)),
                                                         timestamp: UInt32(truncatingIfNeeded: i * 160), marker: dtx && i % 75 == 0,
                                                         arrivalMs: Int64(i) * 20 + 40 + a.jitterMs + spike(i)))
                        }
                    }
                    blackHole(pipeline.pull(nowMs: Int64(pipelineStep) * 20 + 40, into: o))
                    pipelineStep += 1
                }
            }
        }
    }

    // Time-scale modification alone: one pitch period out of, or into, two 20 ms frames.
    let voiced = (speech[10] + speech[11]).map { G711.linear(ulaw: $0) }
    for (label, lengthen) in [("remove one pitch period from", false), ("add one pitch period to", true)] {
        // Allocated once, outside the measured closure (one sample per call at this scaling).
        var work = [Int16](repeating: 0, count: 640)
        var scaler = TimeScaleModifier(sampleRate: 8000)
        Benchmark("Time-scale modification (WSOLA, SIMD8<Float>), \(label) 40 ms at 8 kHz", configuration: configuration) { benchmark in
            work.withUnsafeMutableBufferPointer { w in
                voiced.withUnsafeBufferPointer { v in
                    for _ in benchmark.scaledIterations {
                        for k in 0..<320 { w[k] = v[k] }
                        blackHole(lengthen ? scaler.stretch(w, count: 320) : scaler.compress(w, count: 320))
                    }
                }
            }
        }
    }

    // spandsp's time_scale on the same 40 ms, at the rate that removes or adds about one
    // pitch period per 40 ms (1.125 and 1/1.125): its cost per 40 ms frame beside WSOLA's.
    for (label, rate) in [("faster", Float(1.125)), ("slower", Float(1 / 1.125))] {
        guard let state = time_scale_init(nil, 8000, rate) else { continue }
        var input = voiced
        var output = [Int16](repeating: 0, count: Int(time_scale_max_output_len(state, 320)) + 320)
        Benchmark("Time-scale modification (spandsp time_scale, rate \(label) by 1.125), 40 ms at 8 kHz", configuration: configuration) { benchmark in
            input.withUnsafeMutableBufferPointer { i in
                output.withUnsafeMutableBufferPointer { o in
                    for _ in benchmark.scaledIterations { blackHole(time_scale(state, o.baseAddress, i.baseAddress, 320)) }
                }
            }
        }
    }

    guard let spandsp = playout_init(2 * 160, 15 * 160) else { return }
    var spandspStep = 0
    Benchmark("Jitter buffer put + get, 20 ms G.711 packet (reordering, 2 % loss), spandsp playout", configuration: configuration) { benchmark in
        payload.withUnsafeBytes { bytes in
            let data = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
            var frame = playout_frame_t()
            for _ in benchmark.scaledIterations {
                let cycle = spandspStep / count, a = frozen[spandspStep % count]
                let i = cycle * count + a.index
                if !a.lost {
                    blackHole(playout_put(spandsp, data, Int32(PLAYOUT_TYPE_SPEECH), 160, Int32(truncatingIfNeeded: i * 160),
                                          Int32(truncatingIfNeeded: (i * 20 + 40 + Int(a.jitterMs)) * 8)))
                }
                var ret: Int32
                repeat {
                    ret = playout_get(spandsp, &frame, Int32(truncatingIfNeeded: (spandspStep * 20 + 40) * 8))
                } while Int(ret) == Int(PLAYOUT_DROP)
                blackHole(ret)
                spandspStep += 1
            }
        }
    }
}
