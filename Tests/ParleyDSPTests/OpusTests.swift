import ParleyTestSupport
import Foundation
import Testing
@testable import ParleyDSP

/// Opus through libopus: speech survives, FEC beats concealment, DTX shrinks silence,
/// hostile packets give typed errors, settings are validated.
@Suite("Opus encoder and decoder")
struct OpusTests {
    // MARK: Fixtures

    /// The repository root, from this file's path (Tests/ParleyDSPTests/OpusTests.swift).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func prompt(_ name: String) throws -> PCMAudio {
        try PCMAudio.read(path: repoRoot.appendingPathComponent("prompts/\(name).wav").path)
    }

    /// 8 kHz → 16 kHz: zero-stuffing, then a 63-tap Blackman-windowed sinc low-pass at 4 kHz
    /// (gain 2 to make up for the stuffed zeros). The filter's 31-sample delay is removed,
    /// so sample 2n of the result lines up with sample n of the input.
    static func upsample2x(_ x: [Int16]) -> [Int16] {
        let taps = 63, mid = taps / 2
        let h: [Double] = (0..<taps).map { k in
            let n = Double(k - mid)
            let sinc = n == 0 ? 1 : sin(Double.pi * n / 2) / (Double.pi * n / 2)
            let w = 0.42 - 0.5 * cos(2 * Double.pi * Double(k) / Double(taps - 1)) + 0.08 * cos(4 * Double.pi * Double(k) / Double(taps - 1))
            return sinc * w
        }
        var stuffed = [Double](repeating: 0, count: 2 * x.count + taps)
        for (i, s) in x.enumerated() { stuffed[2 * i] = Double(s) }
        return (0..<(2 * x.count)).map { n in
            var acc = 0.0
            for k in 0..<taps where n + mid - k >= 0 { acc += h[k] * stuffed[n + mid - k] }
            return Int16(max(-32768, min(32767, acc.rounded())))
        }
    }

    /// `x` cut into whole 20 ms frames, the last one padded with zeros.
    static func frames(_ x: [Int16], frameSize: Int) -> [[Int16]] {
        stride(from: 0, to: x.count, by: frameSize).map { start in
            var f = Array(x[start..<min(start + frameSize, x.count)])
            f += [Int16](repeating: 0, count: frameSize - f.count)
            return f
        }
    }

    static func encodeAll(_ frames: [[Int16]], _ encoder: OpusEncoder) throws -> [[UInt8]] {
        var buffer = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        return try frames.map { f in
            let n = try f.withUnsafeBufferPointer { pcm in
                try buffer.withUnsafeMutableBufferPointer { try encoder.encode(pcm, into: $0) }
            }
            return Array(buffer[0..<n])
        }
    }

    /// Decodes `packets` in order; a frame whose index is in `lost` goes through
    /// `decodeLost`, with the next packet when `useFEC` is set.
    static func decodeAll(_ packets: [[UInt8]], _ decoder: OpusDecoder, lost: Set<Int> = [], useFEC: Bool = false) throws -> [Int16] {
        var out: [Int16] = []
        var pcm = [Int16](repeating: 0, count: decoder.maxPacketSamples)
        for (i, p) in packets.enumerated() {
            let n: Int
            if lost.contains(i) {
                let next = useFEC && i + 1 < packets.count ? packets[i + 1] : nil
                n = try pcm.withUnsafeMutableBufferPointer { buf in
                    if let next { return try next.withUnsafeBufferPointer { try decoder.decodeLost(next: $0, into: buf) } }
                    return try decoder.decodeLost(next: nil, into: buf)
                }
            } else {
                n = try p.withUnsafeBufferPointer { pkt in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(pkt, into: $0) } }
            }
            out += pcm[0..<n]
        }
        return out
    }

    /// Normalized cross-correlation of `x[n]` and `y[n + lag]` over the n in `range`.
    static func correlation(_ x: [Int16], _ y: [Int16], lag: Int, over range: Range<Int>? = nil) -> Double {
        var xy = 0.0, xx = 0.0, yy = 0.0
        for n in range ?? 0..<x.count where n + lag >= 0 && n + lag < y.count && n < x.count {
            let a = Double(x[n]), b = Double(y[n + lag])
            xy += a * b; xx += a * a; yy += b * b
        }
        return xx > 0 && yy > 0 ? xy / (xx * yy).squareRoot() : 0
    }

    /// The lag (in samples, 0 ..< maxLag) at which `y` best matches `x`, and that correlation.
    static func bestLag(_ x: [Int16], _ y: [Int16], maxLag: Int) -> (lag: Int, correlation: Double) {
        var best = (lag: 0, correlation: -2.0)
        for lag in 0..<maxLag {
            let c = correlation(x, y, lag: lag)
            if c > best.correlation { best = (lag, c) }
        }
        return best
    }

    /// SNR in dB of `y[n + lag]` against `x[n]` over the given sample ranges.
    static func snr(_ x: [Int16], _ y: [Int16], lag: Int, over ranges: [Range<Int>]) -> Double {
        var signal = 0.0, noise = 0.0
        for r in ranges {
            for n in r where n < x.count && n + lag < y.count {
                let a = Double(x[n]), e = a - Double(y[n + lag])
                signal += a * a; noise += e * e
            }
        }
        return 10 * log10(signal / max(noise, 1))
    }


    // MARK: Speech quality

    @Test("a speech prompt survives 24 kb/s at 8 kHz and at 16 kHz", arguments: [8000, 16000])
    func speechSurvives(sampleRate: Int) throws {
        let welcome = try OpusTests.prompt("welcome")
        #expect(welcome.sampleRate == 8000)
        let input = sampleRate == 8000 ? welcome.samples : OpusTests.upsample2x(welcome.samples)
        let encoder = try OpusEncoder(sampleRate: sampleRate, bitrate: 24_000, complexity: 5)
        let decoder = try OpusDecoder(sampleRate: sampleRate)
        let packets = try OpusTests.encodeAll(OpusTests.frames(input, frameSize: encoder.frameSize), encoder)
        let output = try OpusTests.decodeAll(packets, decoder)
        #expect(output.count == packets.count * encoder.frameSize)

        let (lag, corr) = OpusTests.bestLag(input, output, maxLag: 2 * encoder.frameSize)
        let bytes = packets.reduce(0) { $0 + $1.count }
        let kbps = Double(bytes * 8) / (Double(packets.count) * 0.020) / 1000
        print("Opus \(sampleRate) Hz, 24 kb/s (\(Opus.libraryVersion)): \(packets.count) frames, \(String(format: "%.1f", kbps)) kb/s actual, "
              + "best lag \(lag) samples (\(String(format: "%.2f", Double(lag) * 1000 / Double(sampleRate))) ms; "
              + "encoder lookahead \(encoder.lookahead)), correlation \(String(format: "%.4f", corr))")
        // TOC configurations (RFC 6716 §3.1): SILK-only narrowband is 0...3, wideband 8...11.
        let configs = Set(packets.compactMap { $0.first.map { Int($0 >> 3) } })
        print("  TOC configurations at \(sampleRate) Hz: \(configs.sorted()), \(bytes) bytes in all")
        #expect(configs.isSubset(of: sampleRate == 8000 ? Set(0...3) : Set(8...11)))
        #expect(corr >= 0.9)
        // The delay found is the encoder's documented algorithmic delay.
        #expect(abs(lag - encoder.lookahead) <= sampleRate / 1000)
    }

    // MARK: Loss

    @Test("with every 10th frame lost, in-band FEC recovers the lost frames better than concealment")
    func fecBeatsConcealment() throws {
        // Three prompts, so the lost frames land on plenty of speech.
        var speech: [Int16] = []
        for name in ["welcome", "enter-pin", "please-try-again"] { speech += try OpusTests.prompt(name).samples }
        let rate = 8000
        let frames = OpusTests.frames(speech, frameSize: Opus.frameSamples(sampleRate: rate))
        let withFEC = try OpusEncoder(sampleRate: rate, bitrate: 24_000, complexity: 5, inbandFEC: true, expectedPacketLossPercent: 15)
        let withoutFEC = try OpusEncoder(sampleRate: rate, bitrate: 24_000, complexity: 5)
        let fecPackets = try OpusTests.encodeAll(frames, withFEC)
        let plainPackets = try OpusTests.encodeAll(frames, withoutFEC)
        let lag = withFEC.lookahead
        let n = withFEC.frameSize

        // Every phase of "every 10th frame", so each frame is lost once across the runs.
        var fecSNR: [Double] = [], plcSNR: [Double] = [], fecCorr: [Double] = [], plcCorr: [Double] = []
        for phase in 0..<10 {
            let lost = Set(stride(from: phase, to: frames.count - 1, by: 10))
            // Output sample k*n + j holds input sample k*n + j - lag: the lost frame's span in the input.
            let spans = lost.sorted().map { ($0 * n - lag)..<(($0 + 1) * n - lag) }.filter { $0.lowerBound >= 0 }
            let fecOut = try OpusTests.decodeAll(fecPackets, OpusDecoder(sampleRate: rate), lost: lost, useFEC: true)
            let plcOut = try OpusTests.decodeAll(plainPackets, OpusDecoder(sampleRate: rate), lost: lost, useFEC: false)
            fecSNR.append(OpusTests.snr(speech, fecOut, lag: lag, over: spans))
            plcSNR.append(OpusTests.snr(speech, plcOut, lag: lag, over: spans))
            let joined = spans.flatMap { Array($0) }
            fecCorr.append(OpusTests.lostCorrelation(speech, fecOut, lag: lag, samples: joined))
            plcCorr.append(OpusTests.lostCorrelation(speech, plcOut, lag: lag, samples: joined))
        }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        let f = { (v: Double) in String(format: "%.2f", v) }
        print("Opus 8 kHz 24 kb/s, every 10th frame lost (\(frames.count) frames, 10 loss phases), over the lost frames: "
              + "FEC on (15 % expected loss): SNR \(f(mean(fecSNR))) dB, correlation \(f(mean(fecCorr))); "
              + "FEC off (PLC): SNR \(f(mean(plcSNR))) dB, correlation \(f(mean(plcCorr)))")
        print("  per phase SNR FEC \(fecSNR.map(f)), PLC \(plcSNR.map(f))")
        #expect(mean(fecSNR) > mean(plcSNR) + 3)
        #expect(mean(fecCorr) > mean(plcCorr))
    }

    /// Correlation of `x[k]` and `y[k + lag]` over the given sample indices.
    static func lostCorrelation(_ x: [Int16], _ y: [Int16], lag: Int, samples: [Int]) -> Double {
        var xy = 0.0, xx = 0.0, yy = 0.0
        for k in samples where k >= 0 && k < x.count && k + lag < y.count {
            let a = Double(x[k]), b = Double(y[k + lag])
            xy += a * b; xx += a * a; yy += b * b
        }
        return xx > 0 && yy > 0 ? xy / (xx * yy).squareRoot() : 0
    }

    @Test("FEC from a packet that carries none, or a corrupt one, falls back to concealment")
    func fecFallback() throws {
        let rate = 16000
        let encoder = try OpusEncoder(sampleRate: rate)  // no FEC
        let speech = OpusTests.upsample2x(try OpusTests.prompt("welcome").samples)
        let packets = try OpusTests.encodeAll(OpusTests.frames(speech, frameSize: encoder.frameSize), encoder)
        let garbage: [UInt8] = [0xFF, 0xFF, 0xFF]  // code 3 claiming 63 frames of 20 ms: does not parse
        // Each case on a fresh decoder with the same history, against plain concealment.
        func lost(next: [UInt8]?) throws -> [Int16] {
            let decoder = try OpusDecoder(sampleRate: rate)
            var pcm = [Int16](repeating: 0, count: decoder.frameSize)
            for p in packets.prefix(10) {
                _ = try p.withUnsafeBufferPointer { pkt in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(pkt, into: $0) } }
            }
            let n = try pcm.withUnsafeMutableBufferPointer { buf in
                if let next { return try next.withUnsafeBufferPointer { try decoder.decodeLost(next: $0, into: buf) } }
                return try decoder.decodeLost(next: nil, into: buf)
            }
            #expect(n == decoder.frameSize)
            return pcm
        }
        let concealed = try lost(next: nil)
        #expect(concealed.contains { $0 != 0 })
        #expect(try lost(next: packets[11]) == concealed)
        #expect(try lost(next: garbage) == concealed)
        #expect(try lost(next: []) == concealed)
        // A short buffer is an error, not a partial frame.
        let decoder = try OpusDecoder(sampleRate: rate)
        var short = [Int16](repeating: 0, count: 100)
        #expect(throws: OpusError.bufferTooSmall(.conceal, needed: 320, available: 100)) {
            try short.withUnsafeMutableBufferPointer { try decoder.decodeLost(next: nil, into: $0) }
        }
    }

    // MARK: DTX

    @Test("with DTX on, silence after speech shrinks to 1–2-byte packets")
    func dtxShrinksSilence() throws {
        let rate = 16000
        let speech = OpusTests.upsample2x(try OpusTests.prompt("welcome").samples)
        // Two seconds of near-silence: a faint dither (±8 LSB, about -72 dBFS), not digital zero.
        var rng = SeededRandom(seed: 7)
        let quiet = (0..<(2 * rate)).map { _ in Int16.random(in: -8...8, using: &rng) }
        let frames = OpusTests.frames(speech + quiet, frameSize: Opus.frameSamples(sampleRate: rate))
        let speechFrames = (speech.count + 319) / 320

        func silenceSizes(dtx: Bool) throws -> [Int] {
            let encoder = try OpusEncoder(sampleRate: rate, bitrate: 24_000, complexity: 5, dtx: dtx)
            return try OpusTests.encodeAll(frames, encoder).dropFirst(speechFrames).map(\.count)
        }
        let on = try silenceSizes(dtx: true), off = try silenceSizes(dtx: false)
        // Skip the first 400 ms of silence: libopus waits 200 ms of inactivity before DTX starts.
        let steadyOn = Array(on.dropFirst(20)), steadyOff = Array(off.dropFirst(20))
        let discontinuous = steadyOn.filter { OpusEncoder.isDiscontinuous(packetBytes: $0) }.count
        let meanOn = Double(steadyOn.reduce(0, +)) / Double(steadyOn.count)
        let meanOff = Double(steadyOff.reduce(0, +)) / Double(steadyOff.count)
        print("Opus 16 kHz DTX, packet bytes in silence: DTX on \(on), DTX off \(off); "
              + "after 400 ms: on mean \(String(format: "%.1f", meanOn)) B with \(discontinuous)/\(steadyOn.count) packets ≤ 2 B, "
              + "off mean \(String(format: "%.1f", meanOff)) B")
        #expect(Double(discontinuous) >= 0.8 * Double(steadyOn.count))
        #expect(steadyOff.allSatisfy { !OpusEncoder.isDiscontinuous(packetBytes: $0) })
        #expect(meanOn * 3 < meanOff)
    }

    // MARK: Hostile packets

    @Test("empty, truncated, oversized and corrupt packets give a typed error or a valid decode")
    func hostilePackets() throws {
        let rate = 48000
        let encoder = try OpusEncoder(sampleRate: rate)
        let decoder = try OpusDecoder(sampleRate: rate)
        var pcm = [Int16](repeating: 0, count: decoder.maxPacketSamples)
        func decode(_ p: [UInt8], into capacity: Int? = nil) -> Result<Int, OpusError> {
            p.withUnsafeBufferPointer { pkt in
                pcm.withUnsafeMutableBufferPointer { buf in
                    let out = UnsafeMutableBufferPointer(rebasing: buf[0..<(capacity ?? buf.count)])
                    return Result { () throws(OpusError) -> Int in try decoder.decode(pkt, into: out) }
                }
            }
        }
        #expect(decode([]) == .failure(.emptyPacket))

        // A valid packet, then every truncation of it.
        let tone = (0..<encoder.frameSize).map { Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }
        let valid = try OpusTests.encodeAll([tone], encoder)[0]
        #expect(try decode(valid).get() == decoder.frameSize)
        for length in 1..<valid.count {
            switch decode(Array(valid.prefix(length))) {
            case let .success(n): #expect(n == decoder.frameSize)
            case let .failure(error): #expect(error.isInvalidPacket, "\(error)")
            }
        }
        // A PCM buffer shorter than the packet: reported with both sizes.
        #expect(decode(valid, into: 100) == .failure(.bufferTooSmall(.decode(packetBytes: valid.count), needed: 960, available: 100)))
        #expect(decode(valid, into: 0) == .failure(.bufferTooSmall(.decode(packetBytes: valid.count), needed: 960, available: 0)))

        // Oversized: one frame of 1276+ bytes (code 0 allows at most 1275 after the TOC), and 100 kB.
        var big = [UInt8](repeating: 0x55, count: 1400)
        big[0] = valid[0] & 0xFC
        if case let .failure(error) = decode(big) { #expect(error.isInvalidPacket) } else { Issue.record("1400-byte code-0 packet decoded") }
        var rng = SeededRandom(seed: 1)
        let huge = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if case let .failure(error) = decode(huge) { #expect(error.libraryCode != nil) }
        // Code 3 with 63 frames of 20 ms = 1.26 s: more than any packet may hold.
        if case let .failure(error) = decode([0xFB, 0x3F] + [UInt8](repeating: 0, count: 64)) {
            #expect(error.isInvalidPacket)
        } else { Issue.record("a 1.26 s packet decoded") }

        // The decoder still works afterwards.
        #expect(try decode(valid).get() == decoder.frameSize)
        #expect(OpusError.emptyPacket.description.contains("empty"))
        let libraryError = OpusError.library(.decode(packetBytes: 3), code: -4)
        #expect(libraryError.description == "decoding a 3-byte Opus packet: corrupted stream (libopus -4)")
    }

    @Test("fuzz: 20,000 random and bit-flipped packets never crash the decoder")
    func fuzz() throws {
        var rng = SeededRandom(seed: 0x5EED)
        let encoder = try OpusEncoder(sampleRate: 16000, inbandFEC: true, expectedPacketLossPercent: 10)
        let speech = OpusTests.upsample2x(try OpusTests.prompt("welcome").samples)
        let valid = try OpusTests.encodeAll(OpusTests.frames(speech, frameSize: encoder.frameSize), encoder)
        var outcomes = (decoded: 0, invalid: 0, other: 0)
        for rate in Opus.supportedSampleRates {
            let decoder = try OpusDecoder(sampleRate: rate)
            var pcm = [Int16](repeating: 0, count: decoder.maxPacketSamples)
            for i in 0..<(20_000 / Opus.supportedSampleRates.count) {
                var packet: [UInt8]
                if i % 2 == 0 {
                    packet = (0..<Int.random(in: 0...1500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                } else {
                    packet = valid[Int.random(in: 0..<valid.count, using: &rng)]
                    for _ in 0..<Int.random(in: 1...8, using: &rng) {
                        let bit = Int.random(in: 0..<(packet.count * 8), using: &rng)
                        packet[bit / 8] ^= UInt8(1 << (bit % 8))
                    }
                    if Bool.random(using: &rng) { packet.removeLast(Int.random(in: 0..<packet.count, using: &rng)) }
                }
                let result = packet.withUnsafeBufferPointer { pkt in
                    pcm.withUnsafeMutableBufferPointer { buf in
                        Result { () throws(OpusError) -> Int in
                            i % 7 == 0 ? try decoder.decodeLost(next: pkt, into: buf) : try decoder.decode(pkt, into: buf)
                        }
                    }
                }
                switch result {
                case let .success(n):
                    outcomes.decoded += 1
                    #expect(n > 0 && n <= decoder.maxPacketSamples)
                case let .failure(error):
                    if error.isInvalidPacket || error == .emptyPacket { outcomes.invalid += 1 } else { outcomes.other += 1 }
                }
            }
        }
        print("Opus fuzz: \(outcomes.decoded) decoded, \(outcomes.invalid) rejected as invalid, \(outcomes.other) other errors")
        #expect(outcomes.other == 0)
        #expect(outcomes.decoded > 0 && outcomes.invalid > 0)
    }

    // MARK: Settings

    @Test("unsupported sample rates and out-of-range settings are typed errors")
    func settingsValidation() throws {
        #expect(throws: OpusError.unsupportedSampleRate(44100)) { try OpusEncoder(sampleRate: 44100) }
        #expect(throws: OpusError.unsupportedSampleRate(44100)) { try OpusDecoder(sampleRate: 44100) }
        #expect(throws: OpusError.unsupportedSampleRate(12000)) { try OpusDecoder(sampleRate: 12000) }
        #expect(throws: OpusError.unsupportedSampleRate(0)) { try OpusEncoder(sampleRate: 0) }
        #expect(throws: OpusError.invalidSetting(.bitrate, value: 100, allowed: 6000...510_000)) {
            try OpusEncoder(sampleRate: 8000, bitrate: 100)
        }
        #expect(throws: OpusError.invalidSetting(.complexity, value: 11, allowed: 0...10)) {
            try OpusEncoder(sampleRate: 8000, complexity: 11)
        }
        #expect(throws: OpusError.invalidSetting(.expectedPacketLoss, value: 101, allowed: 0...100)) {
            try OpusEncoder(sampleRate: 8000, inbandFEC: true, expectedPacketLossPercent: 101)
        }
        #expect(OpusError.unsupportedSampleRate(44100).description == "Opus sample rate 44100 Hz is not supported (use 8000, 16000, 48000)")

        let encoder = try OpusEncoder(sampleRate: 48000)
        #expect(encoder.frameSize == 960)
        try encoder.setBitrate(32_000)
        try encoder.setComplexity(10)
        try encoder.setDTX(true)
        try encoder.setInbandFEC(true, expectedPacketLossPercent: 20)
        try encoder.setConstantBitrate(true)
        #expect(encoder.bitrate == 32_000 && encoder.complexity == 10 && encoder.dtx && encoder.inbandFEC)
        #expect(encoder.expectedPacketLossPercent == 20 && encoder.constantBitrate)
        #expect(throws: OpusError.invalidSetting(.bitrate, value: 600_000, allowed: 6000...510_000)) { try encoder.setBitrate(600_000) }
        #expect(throws: OpusError.invalidSetting(.expectedPacketLoss, value: -1, allowed: 0...100)) { try encoder.setExpectedPacketLoss(percent: -1) }
        #expect(encoder.bitrate == 32_000)

        // encode takes exactly one 20 ms frame and some room for the packet.
        let short = [Int16](repeating: 0, count: 959)
        var out = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        #expect(throws: OpusError.wrongFrameLength(expected: 960, got: 959)) {
            try short.withUnsafeBufferPointer { pcm in try out.withUnsafeMutableBufferPointer { try encoder.encode(pcm, into: $0) } }
        }
        let frame = [Int16](repeating: 0, count: 960)
        var none: [UInt8] = []
        #expect(throws: OpusError.bufferTooSmall(.encode(samples: 960), needed: 1, available: 0)) {
            try frame.withUnsafeBufferPointer { pcm in try none.withUnsafeMutableBufferPointer { try encoder.encode(pcm, into: $0) } }
        }
        // Constant bitrate: every packet the same size (24 kb/s × 20 ms = 60 bytes).
        let cbr = try OpusEncoder(sampleRate: 16000, bitrate: 24_000, constantBitrate: true)
        let speech = OpusTests.upsample2x(try OpusTests.prompt("welcome").samples)
        let sizes = Set(try OpusTests.encodeAll(OpusTests.frames(speech, frameSize: 320), cbr).map(\.count))
        #expect(sizes == [60])
    }
}
