/// `ConferenceMixer` written per sample with no vector types: the reference its results are
/// checked against and its speed compared with (MediaBenchmarks). Same selection rules, same
/// flat buffer layout (slot after slot), plain loops over `Int32` sums.
public final class ScalarConferenceMixer {
    public let frameSamples: Int
    public let capacity: Int
    public var loudest: Int?
    public var speaking: [Bool]
    public var level: [Float]
    public private(set) var mixed: [Bool]
    private var inputs: [Int16]
    private var outputs: [Int16]
    public private(set) var shared: [Int16]
    private var total: [Int32]

    public init(frameSamples: Int, capacity: Int) {
        self.frameSamples = frameSamples
        self.capacity = capacity
        speaking = [Bool](repeating: false, count: capacity)
        level = [Float](repeating: -96, count: capacity)
        mixed = [Bool](repeating: false, count: capacity)
        inputs = [Int16](repeating: 0, count: capacity * frameSamples)
        outputs = inputs
        shared = [Int16](repeating: 0, count: frameSamples)
        total = [Int32](repeating: 0, count: frameSamples)
    }

    /// Sets slot `slot`'s next frame (`frameSamples` samples).
    public func setInput(_ slot: Int, _ samples: [Int16]) {
        for s in 0..<min(frameSamples, samples.count) { inputs[slot * frameSamples + s] = samples[s] }
    }

    /// What slot `slot` hears after `mix` (a copy).
    public func output(_ slot: Int) -> [Int16] {
        mixed[slot] ? Array(outputs[slot * frameSamples..<(slot + 1) * frameSamples]) : shared
    }

    public func mix(count n: Int) {
        for i in 0..<capacity { mixed[i] = false }
        var speakers = 0
        for i in 0..<n where speaking[i] { speakers += 1 }
        let limit = loudest.map { max(0, $0) } ?? speakers
        if speakers <= limit {
            for i in 0..<n where speaking[i] { mixed[i] = true }
        } else {
            for _ in 0..<limit {
                var best = -1
                for i in 0..<n where speaking[i] && !mixed[i] && (best < 0 || level[i] > level[best]) { best = i }
                if best >= 0 { mixed[best] = true }
            }
        }
        let frame = frameSamples
        for s in 0..<frame { total[s] = 0 }
        for i in 0..<n where mixed[i] {
            for s in 0..<frame { total[s] += Int32(inputs[i * frame + s]) }
        }
        for s in 0..<frame { shared[s] = Int16(clamping: total[s]) }
        for i in 0..<n where mixed[i] {
            for s in 0..<frame { outputs[i * frame + s] = Int16(clamping: total[s] - Int32(inputs[i * frame + s])) }
        }
    }
}
