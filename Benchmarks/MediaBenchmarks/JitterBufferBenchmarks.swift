import Benchmark
import CSpanDSP
import ParleyRTP

/// One received packet through the jitter buffer: `put` then the tick's `get`, on a
/// stream with reordering (every 10th pair swapped), 2 % loss and ±10 ms jitter, beside
/// spandsp's play-out buffer on the same schedule. One packet per measured iteration, so
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

    let buffer = JitterBuffer()
    var step = 0
    Benchmark("Jitter buffer put + get, 20 ms G.711 packet (reordering, 2 % loss), Parley", configuration: configuration) { benchmark in
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
