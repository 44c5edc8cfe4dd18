/// Estimates the play-out delay a stream needs from the distribution of its packets'
/// arrival delays over a sliding window.
///
/// Each packet's transit is `arrival - timestamp` (both in RTP timestamp units; the
/// sender's clock offset cancels out of differences). The relative delay of a packet is
/// its transit minus the smallest transit in the window — how much later than the
/// fastest recent packet it came. A packet is late exactly when its relative delay
/// exceeds the buffer's delay over that same minimum, so the target is a high quantile
/// (99.5 % by default) of the relative delay in the window, plus a headroom.
///
/// The target follows increases at once (fast attack: a jitter burst raises it within
/// the few packets it takes to move the quantile) and decays towards lower estimates
/// exponentially (slow release), so a burst that ends does not leave the stream exposed
/// to the next one. Taking the minimum over a sliding window tracks sender clock drift.
///
/// Storage is allocated in `init`; `update` allocates nothing and keeps a 1 ms histogram
/// of the window up to date incrementally (one bin in, one bin out per packet).
public struct JitterDelayEstimator: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// RTP clock rate in Hz.
        public var clockRate: Int
        /// Window length in packets (500 × 20 ms = 10 s).
        public var windowPackets: Int
        /// The quantile of relative delay to cover, 0.5 ... 1.
        public var quantile: Double
        /// Added to the quantile, in ms.
        public var headroomMs: Double
        /// Time constant of the release, in packets (1500 × 20 ms = 30 s).
        public var releasePackets: Double
        /// The target before the first packets have been seen, in ms: a stream starts
        /// with this much delay and releases towards what it measures.
        public var initialDelayMs: Double
        /// Bounds of the target, in ms.
        public var minimumDelayMs: Double
        public var maximumDelayMs: Double

        /// The defaults are the configuration `Benchmarks/JitterEval` measured against
        /// spandsp's play-out buffer (README): a 10 s window, the 99.5 % quantile, 55 ms
        /// headroom, a 30 s release and at most 200 ms over the fastest packet.
        public init(clockRate: Int = 8000, windowPackets: Int = 500, quantile: Double = 0.995,
                    headroomMs: Double = 55, releasePackets: Double = 1500,
                    initialDelayMs: Double = 40, minimumDelayMs: Double = 0, maximumDelayMs: Double = 200) {
            self.initialDelayMs = initialDelayMs
            self.clockRate = clockRate
            self.windowPackets = windowPackets
            self.quantile = quantile
            self.headroomMs = headroomMs
            self.releasePackets = releasePackets
            self.minimumDelayMs = minimumDelayMs
            self.maximumDelayMs = maximumDelayMs
        }
    }

    public private(set) var configuration: Configuration
    /// RTP timestamp units per millisecond.
    private(set) var unitsPerMs: Double
    private var transits: [Int64]
    /// Window counts per 1 ms bin of transit above `base`, kept up to date packet by packet.
    private var histogram: [Int32]
    private var count = 0
    private var next = 0
    /// Transit (timestamp units) at the lower edge of bin 0; moved only when a packet falls
    /// outside the histogram (clock drift or a route change), which rebuilds it.
    private var base: Int64 = 0
    /// Lowest and highest occupied bins (`low > high` when empty).
    private var low = Int.max
    private var high = -1
    /// Bins kept free below the window's minimum at a rebuild, so drift rebuilds rarely.
    private static let marginBins = 256
    /// The window's quantile of relative delay, before attack/release (timestamp units).
    public private(set) var rawEstimate: Double = 0
    private var target: Double

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        unitsPerMs = Double(configuration.clockRate) / 1000
        transits = [Int64](repeating: 0, count: max(1, configuration.windowPackets))
        histogram = [Int32](repeating: 0, count: Int(configuration.maximumDelayMs) + 2 * Self.marginBins + 2)
        target = configuration.initialDelayMs * unitsPerMs
    }

    /// Packets in the window.
    public var sampleCount: Int { count }

    /// Smallest transit in the window (timestamp units, to 1 ms); meaningful once `sampleCount > 0`.
    public var minimumTransit: Int64 {
        count > 0 ? base + Int64((Double(low) * unitsPerMs).rounded(.down)) : 0
    }

    /// The target delay over the window's minimum transit, in timestamp units.
    public var targetDelay: Int64 { Int64(target.rounded(.up)) }
    /// The target delay in ms.
    public var targetDelayMs: Double { target / unitsPerMs }

    @inline(__always)
    private func rawBin(_ transit: Int64) -> Int { Int((Double(transit - base) / unitsPerMs).rounded(.down)) }

    @inline(__always)
    private func bin(_ transit: Int64) -> Int { min(histogram.count - 1, max(0, rawBin(transit))) }

    @inline(__always)
    private mutating func add(_ b: Int) {
        histogram[b] += 1
        if b < low { low = b }
        if b > high { high = b }
    }

    @inline(__always)
    private mutating func remove(_ b: Int) {
        histogram[b] -= 1
        guard histogram[b] == 0 else { return }
        if b == low {
            while low <= high && histogram[low] == 0 { low += 1 }
        }
        if b == high {
            while high >= low && high >= 0 && histogram[high] == 0 { high -= 1 }
        }
        if low > high { low = Int.max; high = -1 }
    }

    /// Re-centres the histogram on the window's minimum (O(window); rare).
    private mutating func rebuild() {
        var lowest = Int64.max
        for i in 0..<count where transits[i] < lowest { lowest = transits[i] }
        base = lowest - Int64(Double(Self.marginBins) * unitsPerMs)
        for b in histogram.indices { histogram[b] = 0 }
        low = Int.max
        high = -1
        for i in 0..<count { add(bin(transits[i])) }
    }

    /// Records one packet's transit (`arrival - timestamp`, timestamp units). O(1) apart
    /// from the walk down from the highest bin to the quantile, and the rare rebuild.
    public mutating func update(transit: Int64) {
        let window = transits.count
        if count == window { remove(bin(transits[next])) }
        transits[next] = transit
        next = next + 1 == window ? 0 : next + 1
        count = min(count + 1, window)
        let r = rawBin(transit)
        if count == 1 || r < 0 || r >= histogram.count {
            rebuild()
        } else {
            add(r)
        }

        // The quantile: walk down from the top until more packets lie above than it may leave out.
        let needed = Int((configuration.quantile * Double(count)).rounded(.up))
        let allowedAbove = count - needed
        var above = 0
        var quantileBin = low
        var b = high
        while b >= low {
            above += Int(histogram[b])
            if above > allowedAbove { quantileBin = b; break }
            b -= 1
        }
        // The bin's upper edge over the minimum's bin: a packet in it is covered.
        rawEstimate = Double(quantileBin - low + 1) * unitsPerMs

        let wanted = min(configuration.maximumDelayMs * unitsPerMs,
                         max(configuration.minimumDelayMs * unitsPerMs,
                             rawEstimate + configuration.headroomMs * unitsPerMs))
        if wanted >= target {
            target = wanted
        } else {
            target += (wanted - target) / max(1, configuration.releasePackets)
        }
    }

    /// Changes the settings (a play-out mode switch) and keeps the measured window: the
    /// most recent packets are replayed into the new histogram, and the target moves at once
    /// to what the new settings want from them. Allocates; not for the per-packet path.
    public mutating func reconfigure(_ newConfiguration: Configuration) {
        let window = transits.count
        var recent: [Int64] = []
        recent.reserveCapacity(count)
        for k in 0..<count { recent.append(transits[(next - count + k + window) % window]) }
        let rate = configuration.clockRate
        self = JitterDelayEstimator(newConfiguration)
        guard newConfiguration.clockRate == rate else { return }
        for t in recent.suffix(transits.count) { update(transit: t) }
        // A mode switch is a deliberate change: no slow release from the old target.
        if count > 0 {
            target = min(configuration.maximumDelayMs * unitsPerMs,
                         max(configuration.minimumDelayMs * unitsPerMs, rawEstimate + configuration.headroomMs * unitsPerMs))
        }
    }

    /// Forgets the window (a resync to a new stream); the target restarts from the initial delay.
    public mutating func reset() {
        count = 0
        next = 0
        for b in histogram.indices { histogram[b] = 0 }
        low = Int.max
        high = -1
        rawEstimate = 0
        target = configuration.initialDelayMs * unitsPerMs
    }
}
