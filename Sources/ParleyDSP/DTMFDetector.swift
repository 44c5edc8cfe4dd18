import CSpanDSP
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One of the sixteen DTMF keys (ITU-T Q.23): `0`–`9`, `*`, `#` and `A`–`D`.
///
/// Stored as its ASCII code, so an event carrying a key is a plain value (no reference
/// counting, nothing allocated when it is created or copied on the media path).
public struct DTMFKey: Hashable, Sendable, CustomStringConvertible {
    /// The ASCII code of the key's character (`"5"` is 0x35).
    public let ascii: UInt8

    /// The keypad in Q.23 order: row `r` (low group) and column `c` (high group) is
    /// `layout[r * 4 + c]`.
    static let layout: [UInt8] = Array("123A456B789C*0#D".utf8)

    /// The low-group (row) frequencies, Hz.
    public static let rowFrequencies: [Double] = [697, 770, 852, 941]
    /// The high-group (column) frequencies, Hz.
    public static let columnFrequencies: [Double] = [1209, 1336, 1477, 1633]

    /// All sixteen keys, row by row (`1 2 3 A 4 5 6 B 7 8 9 C * 0 # D`).
    public static let all: [DTMFKey] = layout.map { DTMFKey(uncheckedASCII: $0) }

    private init(uncheckedASCII: UInt8) { ascii = uncheckedASCII }

    /// The key for an ASCII code, or nil if the code is not a DTMF key (lower-case
    /// `a`–`d` are accepted and stored upper-case).
    public init?(ascii: UInt8) {
        let upper = (ascii >= 0x61 && ascii <= 0x64) ? ascii - 0x20 : ascii
        guard DTMFKey.layout.contains(upper) else { return nil }
        self.ascii = upper
    }

    /// The key for a character, or nil if it is not one of `0-9 * # A-D` (either case).
    public init?(_ character: Character) {
        guard let value = character.asciiValue else { return nil }
        self.init(ascii: value)
    }

    /// The key as a character; no allocation (an ASCII character is stored inline).
    public var character: Character { Character(Unicode.Scalar(ascii)) }

    public var description: String { String(character) }

    /// Index into `layout`; every stored key is in it.
    var position: Int { DTMFKey.layout.firstIndex(of: ascii) ?? 0 }

    /// The low-group frequency of this key, Hz.
    public var rowFrequency: Double { DTMFKey.rowFrequencies[position / 4] }
    /// The high-group frequency of this key, Hz.
    public var columnFrequency: Double { DTMFKey.columnFrequencies[position % 4] }
}

/// A key press seen by `DTMFDetector`.
///
/// A press produces a `.began` event as soon as it is confirmed (low latency: a menu can
/// stop its prompt and act) and an `.ended` event, with the duration, once the tone has
/// stopped. Every `.began` is followed by exactly one `.ended` for the same key, unless
/// the stream stops while the key is still down.
public struct DTMFEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The key was confirmed; `durationMilliseconds` is nil.
        case began
        /// The tone stopped (or another key replaced it); `durationMilliseconds` is set.
        case ended
    }

    public var kind: Kind
    public var key: DTMFKey
    /// Estimated first sample of the tone: an index into the 8 kHz stream, counting from
    /// the first sample given to this detector (0). Accurate to about ±30 samples (±4 ms):
    /// see `DTMFDetector.onsetLagSamples`. The same value is repeated in `.ended`.
    public var startSample: Int64
    /// The stream index at which the detector decided (the end of the analysis block that
    /// confirmed the change): `confirmedAtSample - startSample` is the detection latency.
    public var confirmedAtSample: Int64
    /// Estimated length of the tone in ms (accurate to about ±7 ms); nil in `.began`.
    public var durationMilliseconds: Int?
    /// Signal level when the key was confirmed, in dBm0, as spandsp measures it: the power
    /// of the whole 102-sample block (both tones plus anything else), rounded, ±1 dB; with
    /// two equal tones it reads about 3 dB above the level of each tone.
    public var levelDBm0: Int

    public init(kind: Kind, key: DTMFKey, startSample: Int64, confirmedAtSample: Int64,
                durationMilliseconds: Int?, levelDBm0: Int) {
        self.kind = kind; self.key = key; self.startSample = startSample
        self.confirmedAtSample = confirmedAtSample; self.durationMilliseconds = durationMilliseconds
        self.levelDBm0 = levelDBm0
    }
}

/// Why a `DTMFDetector` could not be created.
public enum DTMFDetectorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The detector works on 8 kHz audio only; wider-band streams are downsampled first.
    case unsupportedSampleRate(Int)
    /// A twist limit outside `DTMFDetector.Settings.twistRange` (dB).
    case twistOutOfRange(Int)
    /// A threshold outside `DTMFDetector.Settings.thresholdRange` (dBm0).
    case thresholdOutOfRange(Int)
    /// A frequency tolerance outside `DTMFDetector.Settings.frequencyToleranceRange` (%).
    case frequencyToleranceOutOfRange(Double)
    /// spandsp could not allocate its receiver state.
    case outOfMemory

    public var description: String {
        switch self {
        case let .unsupportedSampleRate(rate):
            return "DTMF detection needs 8000 Hz audio, got \(rate) Hz (downsample first)"
        case let .twistOutOfRange(dB):
            return "DTMF twist limit \(dB) dB is outside \(DTMFDetector.Settings.twistRange) dB"
        case let .thresholdOutOfRange(dBm0):
            return "DTMF threshold \(dBm0) dBm0 is outside \(DTMFDetector.Settings.thresholdRange) dBm0"
        case let .frequencyToleranceOutOfRange(percent):
            return "DTMF frequency tolerance \(percent) % is outside \(DTMFDetector.Settings.frequencyToleranceRange) %"
        case .outOfMemory:
            return "spandsp could not allocate a DTMF receiver"
        }
    }
}

/// In-band DTMF detection on 8 kHz linear audio, conforming to ITU-T Q.24 / Telcordia
/// limits (see `Tests/ParleyDSPTests/DTMFConformanceTests.swift` for the measured table).
///
/// **8 kHz only.** 16 and 48 kHz streams (wideband codecs) are downsampled to 8 kHz
/// before they reach the detector; DTMF lies below 1.7 kHz, so nothing is lost.
///
/// **How.** spandsp's Goertzel receiver (`dtmf_rx`) does the signal analysis, in blocks
/// of 102 samples (12.75 ms); it declares a key after two successive blocks agree and
/// reports on/off changes through its realtime callback. Two measured shortcomings of
/// spandsp alone, and what this type adds:
///
/// - *Duration.* A single receiver accepts 22–23 ms bursts when they happen to line up
///   with its blocks (about 12 % of alignments), while Q.24 practice requires rejecting
///   ≤ 23 ms. So two receivers run on the same audio, their blocks offset by half a block
///   (51 samples), and a key counts only when both hold it: a burst ≤ 27 ms never
///   satisfies both alignments at once, a tone ≥ 36 ms always does.
/// - *Frequency.* spandsp's acceptance band is asymmetric and reaches -3.8 % at 697 Hz,
///   beyond the ±3.5 % that must be rejected. When both receivers agree on a key, the
///   frequency of each of its two tones is measured from the phase advance of a
///   Hann-windowed DFT bin over the last 153 samples (two 102-sample windows 51 apart,
///   unambiguous to ±78 Hz, within 0.5 Hz on a clean tone) and the key is dropped
///   if either deviates by more than `Settings.frequencyTolerancePercent`.
///
/// **When keys are reported.** Both at the start (`.began`, 30–36 ms after the tone
/// starts: what menus want) and at the end (`.ended`, 18–25 ms after it stops, with the
/// duration); see `DTMFEvent`.
///
/// **Cost.** The per-frame path allocates nothing: the history ring, the callback inbox
/// and the spandsp states are allocated at creation. The C callback gets the receiver
/// through `Unmanaged` user data and only stores the report; events are built and handed
/// to the caller after each slice of audio, never from inside spandsp.
///
/// One detector per stream; not thread-safe (confine it to the stream's event loop).
/// Like spandsp, it assumes audio without DC offset.
public final class DTMFDetector {
    /// The only sample rate the detector accepts, Hz.
    public static let sampleRate = 8000
    /// spandsp's analysis block, samples (12.75 ms at 8 kHz; `DTMF_SAMPLES_PER_BLOCK`).
    static let blockSamples = 102
    /// The second receiver's block boundaries lag the first's by this many samples.
    static let halfBlock = 51
    /// Average lag between a tone's first sample and the mean of the two receivers'
    /// "on" confirmations, samples (measured over all 102 alignments: 213–264).
    static let onsetLagSamples: Int64 = 238
    /// Average lag between a tone's last sample and the mean of the two receivers'
    /// "off" confirmations, samples (measured: 145–199).
    static let endLagSamples: Int64 = 172
    /// History kept for the frequency check, samples (a power of two ≥ 153).
    static let historySize = 256

    /// Tunables, with the limits of Q.24 / Telcordia practice and spandsp as defaults.
    public struct Settings: Sendable, Equatable {
        /// Notch out 350 and 440 Hz (North American dial tone) before detection. Off: an
        /// IVR leg carries no dial tone, and the notches cost time and distort 697 Hz
        /// slightly.
        public var filterDialTone: Bool
        /// How much louder the low (row) tone may be than the high (column) tone, dB:
        /// spandsp's "twist" (long loops attenuate the high group; telephone engineering
        /// usually calls this case *reverse* twist). Default 8 dB, spandsp's own limit.
        ///
        /// spandsp applies twist and threshold to each 102-sample block's Goertzel
        /// energies, and the stronger tone leaks into the weaker tone's filter (about
        /// -26 dB), so the effective limit moves by up to ±1 dB with key and phase.
        /// Measured with the default: every key passes up to 6.8 dB, none at 8.0 dB.
        public var twistDB: Int
        /// How much louder the high (column) tone may be than the low tone, dB: spandsp's
        /// "reverse twist" (a telephone's pre-emphasis case, usually called standard
        /// twist). Default 4 dB, spandsp's own limit. Measured: every key passes up to
        /// 3.4 dB, none at 4.1 dB or more.
        public var reverseTwistDB: Int
        /// Weakest tone accepted, dBm0 per tone (0 dBm0 is a sine of amplitude about
        /// 22 700 on the 16-bit G.711 scale). Default -42, spandsp's own threshold.
        /// Measured: every key passes down to -41.2 dBm0, none at -42.0 or below.
        public var thresholdDBm0: Int
        /// Largest deviation of either tone from its nominal frequency, percent. Q.24 /
        /// Telcordia: accept within ±1.5 %, reject beyond ±3.5 %; the default sits
        /// halfway, leaving about 1 % margin for estimation error on each side.
        public var frequencyTolerancePercent: Double

        /// Accepted values of `twistDB` and `reverseTwistDB`, dB. Beyond 20 dB the weaker
        /// tone is below any practical noise floor; spandsp ignores negative values.
        public static let twistRange = 0...20
        /// Accepted values of `thresholdDBm0`. spandsp ignores values ≤ -99; below -60
        /// dBm0 the quantisation noise of G.711 dominates, above 0 nothing is detected.
        public static let thresholdRange = -60...0
        /// Accepted values of `frequencyTolerancePercent`: Q.24's accept and reject limits.
        public static let frequencyToleranceRange = 1.5...3.5

        public init(filterDialTone: Bool = false, twistDB: Int = 8, reverseTwistDB: Int = 4,
                    thresholdDBm0: Int = -42, frequencyTolerancePercent: Double = 2.5) {
            self.filterDialTone = filterDialTone
            self.twistDB = twistDB
            self.reverseTwistDB = reverseTwistDB
            self.thresholdDBm0 = thresholdDBm0
            self.frequencyTolerancePercent = frequencyTolerancePercent
        }

        /// The defaults: Q.24 / Telcordia limits as spandsp implements them.
        public static let telephony = Settings()

        func validate() throws(DTMFDetectorError) {
            guard Settings.twistRange.contains(twistDB) else { throw .twistOutOfRange(twistDB) }
            guard Settings.twistRange.contains(reverseTwistDB) else { throw .twistOutOfRange(reverseTwistDB) }
            guard Settings.thresholdRange.contains(thresholdDBm0) else { throw .thresholdOutOfRange(thresholdDBm0) }
            guard Settings.frequencyToleranceRange.contains(frequencyTolerancePercent) else {
                throw .frequencyToleranceOutOfRange(frequencyTolerancePercent)
            }
        }
    }

    /// Counters for diagnosis (talk-off investigations, tuning).
    public struct Statistics: Sendable, Equatable {
        /// Keys both receivers agreed on but the frequency check refused.
        public var rejectedByFrequency = 0
        /// Receiver reports dropped because the inbox was full (should stay 0: a receiver
        /// reports at most once per block and the inbox is drained every half block).
        public var droppedReports = 0
    }

    public let settings: Settings
    /// Samples given to the detector so far; the stream index of the next sample.
    public private(set) var samplesProcessed: Int64 = 0
    public private(set) var statistics = Statistics()

    /// The two receivers; nil only if `init()` could not allocate them (the detector is
    /// then inert: it counts samples and reports nothing).
    private let receivers: (first: SpanDTMFReceiver, second: SpanDTMFReceiver)?
    /// The last `historySize` samples, indexed by stream index modulo the size.
    private let history: UnsafeMutablePointer<Int16>
    /// Per-receiver view of the key it currently holds.
    private var tracks = (first: Track(), second: Track())
    private var press = Press.idle

    /// What one receiver currently holds, and when it changed (stream indexes).
    private struct Track {
        var key: UInt8 = 0
        var onAt: Int64 = 0
        var leftPressAt: Int64 = 0
        var level: Int32 = 0
    }

    private enum Press {
        case idle
        case down(key: UInt8, start: Int64, level: Int32)
        /// Both receivers hold a key the frequency check refused; wait until they let go.
        case rejected(key: UInt8)
    }

    /// Creates a detector for one 8 kHz stream.
    /// - Throws: `unsupportedSampleRate` for anything but 8000 Hz; the `…OutOfRange`
    ///   errors for settings spandsp would misinterpret or ignore; `outOfMemory`.
    public init(sampleRate: Int, settings: Settings = .telephony) throws(DTMFDetectorError) {
        guard sampleRate == DTMFDetector.sampleRate else { throw .unsupportedSampleRate(sampleRate) }
        try settings.validate()
        guard let receivers = DTMFDetector.makeReceivers(settings) else { throw .outOfMemory }
        self.settings = settings
        self.receivers = receivers
        self.history = DTMFDetector.makeHistory()
    }

    /// Creates an 8 kHz detector with `Settings.telephony`. Cannot fail on its inputs;
    /// should spandsp fail to allocate (a few hundred bytes), the detector is inert.
    public init() {
        settings = .telephony
        receivers = DTMFDetector.makeReceivers(.telephony)
        history = DTMFDetector.makeHistory()
    }

    deinit { history.deallocate() }

    private static func makeReceivers(_ settings: Settings) -> (first: SpanDTMFReceiver, second: SpanDTMFReceiver)? {
        _ = hann.count // build the window now, not on the media path
        guard let first = SpanDTMFReceiver(settings: settings, leadIn: 0),
              let second = SpanDTMFReceiver(settings: settings, leadIn: halfBlock) else { return nil }
        return (first, second)
    }

    private static func makeHistory() -> UnsafeMutablePointer<Int16> {
        let h = UnsafeMutablePointer<Int16>.allocate(capacity: historySize)
        h.initialize(repeating: 0, count: historySize)
        return h
    }

    /// The key currently held down (reported `.began`, not yet `.ended`), if any.
    public var currentKey: DTMFKey? {
        if case let .down(key, _, _) = press { return DTMFKey(ascii: key) }
        return nil
    }

    // MARK: Processing

    /// Feeds a block of 8 kHz audio (any length) and calls `onEvent` for each event, in
    /// order, before returning. Allocation-free. `onEvent` must not call back into this
    /// detector.
    public func process(_ samples: UnsafeBufferPointer<Int16>, _ onEvent: (DTMFEvent) -> Void) {
        guard let base = samples.baseAddress, samples.count > 0 else { return }
        guard let receivers else {
            samplesProcessed &+= Int64(samples.count)
            return
        }
        let half = Int64(DTMFDetector.halfBlock)
        let mask = DTMFDetector.historySize - 1
        var offset = 0
        while offset < samples.count {
            // Slices end on every half-block boundary: each ends one receiver's block, so
            // a report seen after a slice happened exactly at its end.
            let toBoundary = Int(half - samplesProcessed % half)
            let n = min(toBoundary, samples.count - offset)
            let slice = base + offset
            var index = Int(truncatingIfNeeded: samplesProcessed)
            for i in 0..<n {
                history[index & mask] = slice[i]
                index &+= 1
            }
            receivers.first.feed(slice, count: n)
            receivers.second.feed(slice, count: n)
            samplesProcessed &+= Int64(n)
            offset += n
            drain(receivers.first, isFirst: true, onEvent)
            drain(receivers.second, isFirst: false, onEvent)
        }
    }

    /// Feeds a block of 8 kHz audio and returns the keys whose press was confirmed in it
    /// (`.began`), in order. Allocates the returned string only when a key was found;
    /// the media path uses `process(_:_:)`.
    public func process(_ samples: UnsafeBufferPointer<Int16>) -> String {
        var found = ""
        process(samples) { event in
            if event.kind == .began { found.append(event.key.character) }
        }
        return found
    }

    private func drain(_ receiver: SpanDTMFReceiver, isFirst: Bool, _ onEvent: (DTMFEvent) -> Void) {
        guard receiver.pendingCount > 0 || receiver.droppedReports > 0 else { return }
        statistics.droppedReports += receiver.droppedReports
        for i in 0..<receiver.pendingCount {
            let report = receiver.pending[i]
            if isFirst {
                update(&tracks.first, report)
            } else {
                update(&tracks.second, report)
            }
            advance(level: report.level, onEvent)
        }
        receiver.clear()
    }

    private func update(_ track: inout Track, _ report: SpanDTMFReceiver.Report) {
        let key = UInt8(truncatingIfNeeded: report.code)
        guard key != track.key else { return }
        if track.key != 0, track.key == pressKey { track.leftPressAt = samplesProcessed }
        track.key = key
        if key != 0 {
            track.onAt = samplesProcessed
            track.level = report.level
        }
    }

    private var pressKey: UInt8? {
        switch press {
        case .idle: return nil
        case let .down(key, _, _): return key
        case let .rejected(key): return key
        }
    }

    /// Moves the combined state after a receiver report at `samplesProcessed`.
    private func advance(level: Int32, _ onEvent: (DTMFEvent) -> Void) {
        let now = samplesProcessed
        let a = tracks.first, b = tracks.second
        switch press {
        case let .down(key, start, pressLevel) where a.key != key && b.key != key:
            let end = (a.leftPressAt + b.leftPressAt) / 2 - DTMFDetector.endLagSamples
            let samples = max(0, end - start)
            press = .idle
            if let k = DTMFKey(ascii: key) {
                onEvent(DTMFEvent(kind: .ended, key: k, startSample: start, confirmedAtSample: now,
                                  durationMilliseconds: Int((samples + 4) / 8), levelDBm0: Int(pressLevel)))
            }
        case let .rejected(key) where a.key != key && b.key != key:
            press = .idle
        default:
            break
        }
        guard case .idle = press, a.key != 0, a.key == b.key, let key = DTMFKey(ascii: a.key) else { return }
        let start = max(0, (a.onAt + b.onAt) / 2 - DTMFDetector.onsetLagSamples)
        let confirmLevel = a.onAt >= b.onAt ? a.level : b.level
        guard frequenciesWithinTolerance(key, end: now) else {
            press = .rejected(key: a.key)
            statistics.rejectedByFrequency += 1
            return
        }
        press = .down(key: a.key, start: start, level: confirmLevel)
        onEvent(DTMFEvent(kind: .began, key: key, startSample: start, confirmedAtSample: now,
                          durationMilliseconds: nil, levelDBm0: Int(confirmLevel)))
    }

    // MARK: Frequency check

    /// A 102-point Hann window (symmetric), built once.
    static let hann: [Double] = (0..<blockSamples).map { m in
        0.5 - 0.5 * cos(2 * Double.pi * Double(m) / Double(blockSamples - 1))
    }

    private func frequenciesWithinTolerance(_ key: DTMFKey, end: Int64) -> Bool {
        let limit = settings.frequencyTolerancePercent / 100
        let row = key.rowFrequency, column = key.columnFrequency
        guard let rowOffset = frequencyOffsetHz(nominal: row, end: end),
              let columnOffset = frequencyOffsetHz(nominal: column, end: end) else { return false }
        return abs(rowOffset) <= limit * row && abs(columnOffset) <= limit * column
    }

    /// Measured offset of the tone near `nominal` Hz from `nominal`, Hz: the phase advance
    /// of the DFT bin at `nominal` between two Hann-windowed 102-sample windows, the
    /// second ending at `end` and the first 51 samples earlier, minus the advance a tone
    /// exactly at `nominal` would show. Nil if the bin is empty.
    func frequencyOffsetHz(nominal: Double, end: Int64) -> Double? {
        let n = DTMFDetector.blockSamples
        let hop = DTMFDetector.halfBlock
        let mask = DTMFDetector.historySize - 1
        let omega = 2 * Double.pi * nominal / Double(DTMFDetector.sampleRate)
        let stepCos = cos(omega), stepSin = sin(omega)
        var c = 1.0, s = 0.0 // e^{jωm}, advanced by rotation
        var re1 = 0.0, im1 = 0.0, re2 = 0.0, im2 = 0.0
        let first = Int(truncatingIfNeeded: end) &- n &- hop
        let window = DTMFDetector.hann
        for m in 0..<n {
            let w = window[m]
            let x1 = w * Double(history[(first &+ m) & mask])
            let x2 = w * Double(history[(first &+ hop &+ m) & mask])
            re1 += x1 * c; im1 -= x1 * s
            re2 += x2 * c; im2 -= x2 * s
            let nextC = c * stepCos - s * stepSin
            s = s * stepCos + c * stepSin
            c = nextC
        }
        // X2 · conj(X1): its angle is the phase advance over `hop` samples.
        let re = re2 * re1 + im2 * im1
        let im = im2 * re1 - re2 * im1
        guard re != 0 || im != 0 else { return nil }
        let excess = remainder(atan2(im, re) - omega * Double(hop), 2 * Double.pi)
        return excess * Double(DTMFDetector.sampleRate) / (2 * Double.pi * Double(hop))
    }
}

/// One spandsp DTMF receiver with its realtime callback wired to a fixed-size inbox.
///
/// spandsp calls the callback from inside `dtmf_rx` at the end of a 102-sample block when
/// the receiver's state changes (code = the key's ASCII, or 0 for "no key"; level in
/// dBm0, -99 for off). The callback only appends to the inbox; `DTMFDetector` drains it
/// after each slice. Digits are not buffered by spandsp once a realtime callback is set.
final class SpanDTMFReceiver {
    struct Report {
        var code: Int32
        var level: Int32
    }

    /// Inbox capacity. A receiver reports at most once per block and is drained at least
    /// once per block, so 4 leaves room to spare; overflow is counted, never a trap.
    static let capacity = 4

    private let state: OpaquePointer
    let pending: UnsafeMutablePointer<Report>
    private(set) var pendingCount = 0
    private(set) var droppedReports = 0

    /// - Parameter leadIn: zero samples fed at creation, shifting this receiver's block
    ///   boundaries that many samples later in the stream.
    init?(settings: DTMFDetector.Settings, leadIn: Int) {
        guard let state = dtmf_rx_init(nil, nil, nil) else { return nil }
        self.state = state
        pending = .allocate(capacity: SpanDTMFReceiver.capacity)
        pending.initialize(repeating: Report(code: 0, level: 0), count: SpanDTMFReceiver.capacity)
        dtmf_rx_parms(state, settings.filterDialTone ? 1 : 0, Int32(settings.twistDB),
                      Int32(settings.reverseTwistDB), Int32(settings.thresholdDBm0))
        dtmf_rx_set_realtime_callback(state, { userData, code, level, _ in
            guard let userData else { return }
            Unmanaged<SpanDTMFReceiver>.fromOpaque(userData).takeUnretainedValue().record(code: code, level: level)
        }, Unmanaged.passUnretained(self).toOpaque())
        if leadIn > 0 {
            let zeros = [Int16](repeating: 0, count: leadIn)
            zeros.withUnsafeBufferPointer { _ = dtmf_rx(state, $0.baseAddress, Int32($0.count)) }
        }
    }

    deinit {
        dtmf_rx_free(state)
        pending.deallocate()
    }

    /// Runs spandsp on `count` samples (callers pass at most half a block).
    @inline(__always)
    func feed(_ samples: UnsafePointer<Int16>, count: Int) {
        _ = dtmf_rx(state, samples, Int32(truncatingIfNeeded: count))
    }

    fileprivate func record(code: Int32, level: Int32) {
        guard pendingCount < SpanDTMFReceiver.capacity else {
            droppedReports += 1
            return
        }
        pending[pendingCount] = Report(code: code, level: level)
        pendingCount += 1
    }

    func clear() {
        pendingCount = 0
        droppedReports = 0
    }
}
