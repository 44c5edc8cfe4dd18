/// `ConferenceMixer` written per sample with no vector types: the reference its results are
/// checked against and its speed compared with (MediaBenchmarks). Same selection rules.
public final class ScalarConferenceMixer {
    public let frameSamples: Int
    public let capacity: Int
    public var loudest: Int?
    public var speaking: [Bool]
    public var level: [Float]
    public private(set) var mixed: [Bool]
    public var inputs: [[Int16]]
    public private(set) var outputs: [[Int16]]
    public private(set) var shared: [Int16]
    private var total: [Int32]

    public init(frameSamples: Int, capacity: Int) {
        self.frameSamples = frameSamples
        self.capacity = capacity
        speaking = [Bool](repeating: false, count: capacity)
        level = [Float](repeating: -96, count: capacity)
        mixed = [Bool](repeating: false, count: capacity)
        inputs = [[Int16]](repeating: [Int16](repeating: 0, count: frameSamples), count: capacity)
        outputs = inputs
        shared = [Int16](repeating: 0, count: frameSamples)
        total = [Int32](repeating: 0, count: frameSamples)
    }

    /// What slot `slot` hears after `mix`.
    public func output(_ slot: Int) -> [Int16] { mixed[slot] ? outputs[slot] : shared }

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
        for s in 0..<frameSamples {
            var sum: Int32 = 0
            for i in 0..<n where mixed[i] { sum += Int32(inputs[i][s]) }
            total[s] = sum
            shared[s] = Int16(clamping: sum)
        }
        for i in 0..<n where mixed[i] {
            for s in 0..<frameSamples { outputs[i][s] = Int16(clamping: total[s] - Int32(inputs[i][s])) }
        }
    }
}
