import ParleyTestSupport
import CSpanDSP
import Foundation
import Testing
@testable import ParleyDSP

/// DTMF receiver conformance, after ITU-T Q.24 (and Telcordia GR-506 practice):
/// frequency tolerance, tone and pause durations, twist, level range, noise, G.711, and
/// talk-off. Every test prints its table (parameter, value, expected, detected); rows
/// marked "(not specified)" show behaviour where the recommendations leave a gap.
///
/// Signals are two sines synthesised here. "Alignment" is the position of the tone
/// relative to the detector's 102-sample analysis blocks: tests that depend on it run
/// every one of the 102 alignments.
@Suite("DTMF conformance (Q.24)")
struct DTMFConformanceTests {
    static let frequencies: [(name: String, hz: Double, isRow: Bool)] =
        DTMFKey.rowFrequencies.map { ("\(Int($0)) Hz", $0, true) } + DTMFKey.columnFrequencies.map { ("\(Int($0)) Hz", $0, false) }

    /// True when exactly one key was reported and it is `key`.
    static func detectedExactly(_ key: DTMFKey, _ events: [DTMFEvent]) -> Bool {
        DTMFSignal.keys(events) == String(key.character)
    }

    /// A single key, optionally with one tone moved off frequency and with its own levels.
    static func trial(_ key: DTMFKey, rowHz: Double? = nil, columnHz: Double? = nil, lowDBm0: Double = -10,
                      highDBm0: Double = -10, ms: Double = 60, alignment: Int = 0) throws -> [DTMFEvent] {
        let tone = DTMFSignal.pair(low: rowHz ?? key.rowFrequency, high: columnHz ?? key.columnFrequency,
                                   lowDBm0: lowDBm0, highDBm0: highDBm0, samples: DTMFSignal.samples(ms: ms))
        let x = DTMFSignal.silence(samples: 200 + alignment) + tone + DTMFSignal.silence(ms: 100)
        return try DTMFSignal.detect(DTMFSignal.pcm(x))
    }

    // MARK: Frequency

    @Test("frequency deviation: ±1.5 % detected, ±3.5 % and beyond rejected, every frequency both ways")
    func frequencyDeviation() throws {
        var table = ConformanceTable("frequency deviation (60 ms, -10 dBm0 per tone; each of the 4 keys using the frequency × 3 alignments)")
        for f in Self.frequencies {
            let keys = DTMFKey.all.filter { f.isRow ? $0.rowFrequency == f.hz : $0.columnFrequency == f.hz }
            for deviation in [-5.0, -3.5, -1.5, 1.5, 3.5, 5.0] {
                let shifted = f.hz * (1 + deviation / 100)
                var hits = 0, trials = 0, other = 0
                for key in keys {
                    for alignment in [0, 34, 68] {
                        let events = try Self.trial(key, rowHz: f.isRow ? shifted : nil, columnHz: f.isRow ? nil : shifted,
                                                    alignment: alignment)
                        trials += 1
                        if Self.detectedExactly(key, events) { hits += 1 } else if !events.isEmpty { other += 1 }
                    }
                }
                let accept = abs(deviation) <= 1.5
                let detected = "\(hits)/\(trials)" + (other > 0 ? " (+\(other) wrong)" : "")
                table.check(f.name, "\(deviation.signed(1)) % (\(shifted.fixed(1)) Hz)",
                            expected: accept ? "\(trials)/\(trials)" : "0/\(trials)", detected: detected,
                            pass: accept ? hits == trials : (hits == 0 && other == 0))
            }
        }
        // The measured acceptance band of each tone (0.1 % steps outwards from nominal).
        for f in Self.frequencies {
            let key = DTMFKey.all.first { f.isRow ? $0.rowFrequency == f.hz && $0.columnFrequency == 1336 : $0.columnFrequency == f.hz && $0.rowFrequency == 770 }!
            func edge(_ sign: Double) throws -> Double {
                var last = 0.0
                for step in 1...60 {
                    let d = sign * Double(step) / 10
                    let shifted = f.hz * (1 + d / 100)
                    let events = try Self.trial(key, rowHz: f.isRow ? shifted : nil, columnHz: f.isRow ? nil : shifted)
                    guard Self.detectedExactly(key, events) else { break }
                    last = d
                }
                return last
            }
            let lower = try edge(-1), upper = try edge(1)
            table.check("\(f.name) accept band", "measured", expected: "⊇ ±1.5 %, ⊂ ±3.5 %",
                        detected: "\(lower.signed(1)) % … \(upper.signed(1)) %",
                        pass: lower <= -1.5 && upper >= 1.5 && lower > -3.5 && upper < 3.5)
        }
        table.report()
    }

    // MARK: Timing

    @Test("tone duration: ≥ 40 ms detected, ≤ 23 ms rejected, at all 102 alignments")
    func toneDuration() throws {
        var table = ConformanceTable("tone duration (-10 dBm0 per tone; key varies with alignment; 102 alignments each)")
        for ms in [10.0, 15, 20, 23, 24, 26, 28, 30, 32, 34, 36, 38, 40, 45, 50, 60, 100] {
            var hits = 0, wrong = 0
            for alignment in 0..<102 {
                let key = DTMFKey.all[alignment % 16]
                let events = try Self.trial(key, ms: ms, alignment: alignment)
                if Self.detectedExactly(key, events) { hits += 1 } else if !events.isEmpty { wrong += 1 }
            }
            let detected = "\(hits)/102" + (wrong > 0 ? " (+\(wrong) wrong)" : "")
            if ms >= 40 {
                table.check("tone on", "\(Int(ms)) ms", expected: "102/102", detected: detected, pass: hits == 102 && wrong == 0)
            } else if ms <= 23 {
                table.check("tone on", "\(Int(ms)) ms", expected: "0/102", detected: detected, pass: hits == 0 && wrong == 0)
            } else {
                table.note("tone on", "\(Int(ms)) ms", detected: detected)
            }
        }
        table.report()
    }

    @Test("40 ms pauses separate repeated digits; a 10 ms interruption does not split one")
    func pauses() throws {
        var table = ConformanceTable("pauses (-10 dBm0 per tone; 102 alignments each)")
        for (tone, gap) in [(40.0, 40.0), (50.0, 40.0), (40.0, 50.0)] {
            var exact = 0
            for alignment in 0..<102 {
                let events = try DTMFSignal.detect(DTMFSignal.pcm(DTMFSignal.sequence("555", toneMs: tone, gapMs: gap, leadIn: alignment)))
                if DTMFSignal.keys(events) == "555" { exact += 1 }
            }
            table.check("\"555\"", "\(Int(tone)) ms on / \(Int(gap)) ms off", expected: "555 × 102", detected: "555 × \(exact)", pass: exact == 102)
        }
        var exact = 0
        for alignment in stride(from: 0, to: 102, by: 6) {
            let events = try DTMFSignal.detect(DTMFSignal.pcm(DTMFSignal.sequence("1234567890*#ABCD", toneMs: 40, gapMs: 40, leadIn: alignment)))
            if DTMFSignal.keys(events) == "1234567890*#ABCD" { exact += 1 }
        }
        table.check("all 16 keys", "40 ms on / 40 ms off", expected: "17/17 alignments", detected: "\(exact)/17", pass: exact == 17)

        // Shorter pauses: Q.24 does not require them to separate digits.
        for gap in [30.0, 25.0, 20.0] {
            var counts: [Int: Int] = [:]
            for alignment in 0..<102 {
                let events = try DTMFSignal.detect(DTMFSignal.pcm(DTMFSignal.sequence("555", toneMs: 50, gapMs: gap, leadIn: alignment)))
                counts[DTMFSignal.keys(events).count, default: 0] += 1
            }
            let text = counts.keys.sorted().map { "\($0) digits × \(counts[$0]!)" }.joined(separator: ", ")
            table.note("\"555\"", "50 ms on / \(Int(gap)) ms off", detected: text)
        }
        // A short break inside one tone (a bad contact, a lost sample run) must not make two digits.
        var single = 0
        for alignment in 0..<102 {
            let key = DTMFKey.all[alignment % 16]
            let x = DTMFSignal.silence(samples: 200 + alignment) + DTMFSignal.key(key, ms: 60) + DTMFSignal.silence(ms: 10)
                + DTMFSignal.key(key, ms: 60) + DTMFSignal.silence(ms: 100)
            if Self.detectedExactly(key, try DTMFSignal.detect(DTMFSignal.pcm(x))) { single += 1 }
        }
        table.check("interruption", "60 ms + 10 ms break + 60 ms", expected: "1 digit × 102", detected: "1 digit × \(single)", pass: single == 102)
        table.report()
    }

    @Test("reported start and duration match the tone")
    func startAndDuration() throws {
        var table = ConformanceTable("event timing (-10 dBm0; 102 alignments each; errors = reported − true)")
        var worstStart = 0.0, worstDuration = 0.0
        for ms in [40.0, 60, 100, 250, 1000] {
            var startErrors: [Double] = [], durationErrors: [Double] = [], latencies: [Double] = []
            var complete = 0
            for alignment in 0..<102 {
                let key = DTMFKey.all[alignment % 16]
                let onset = 200 + alignment
                let events = try Self.trial(key, ms: ms, alignment: alignment)
                guard events.count == 2, events[0].kind == .began, events[1].kind == .ended,
                      events[0].key == key, events[1].key == key, events[0].startSample == events[1].startSample,
                      let duration = events[1].durationMilliseconds else { continue }
                complete += 1
                startErrors.append(Double(events[0].startSample - Int64(onset)) / 8)
                durationErrors.append(Double(duration) - ms)
                latencies.append(Double(events[0].confirmedAtSample - Int64(onset)) / 8)
            }
            table.check("began + ended pairs", "\(Int(ms)) ms", expected: "102/102", detected: "\(complete)/102", pass: complete == 102)
            guard let s0 = startErrors.min(), let s1 = startErrors.max(),
                  let d0 = durationErrors.min(), let d1 = durationErrors.max(),
                  let l0 = latencies.min(), let l1 = latencies.max() else { continue }
            worstStart = max(worstStart, abs(s0), abs(s1))
            worstDuration = max(worstDuration, abs(d0), abs(d1))
            table.check("start error", "\(Int(ms)) ms tone", expected: "within ±4 ms",
                        detected: "\(s0.signed(1)) … \(s1.signed(1)) ms", pass: abs(s0) <= 4 && abs(s1) <= 4)
            table.check("duration error", "\(Int(ms)) ms tone", expected: "within ±7 ms",
                        detected: "\(d0.signed(0)) … \(d1.signed(0)) ms", pass: abs(d0) <= 7 && abs(d1) <= 7)
            table.note("latency of .began", "\(Int(ms)) ms tone", detected: "\(l0.fixed(1)) … \(l1.fixed(1)) ms after onset", expected: "(information)")
        }
        table.report()
        #expect(worstStart <= 4 && worstDuration <= 7)
    }

    // MARK: Levels

    /// spandsp compares each 102-sample block's Goertzel energies with its limits. The
    /// stronger tone leaks into the weaker tone's filter (rectangular window, about -26 dB
    /// at DTMF spacings), so a block's estimate of the twist or level wanders by up to
    /// about ±1 dB with the tones' relative phase: right at a limit some keys pass and
    /// some do not. Acceptance is therefore checked 1 dB inside each limit and rejection
    /// 1 dB outside; the band in between is shown as measured.
    @Test("twist: within spandsp's limits (8 dB low louder, 4 dB high louder) detected, beyond rejected")
    func twist() throws {
        var table = ConformanceTable("twist (mean level -10 dBm0 per tone; 60 ms; all 16 keys; \"low +8 dB\" = row tone 8 dB louder)")
        // expected: true = all keys detected, false = none, nil = transition band (shown only)
        let cases: [(lowLouderDB: Double, accept: Bool?)] =
            [(0, true), (2, true), (4, true), (6, true), (7, nil), (8, nil), (8.5, nil), (9, false), (10, false), (12, false),
             (-1, true), (-2, true), (-3, true), (-3.5, nil), (-4, nil), (-4.5, nil), (-5, false), (-6, false), (-8, false)]
        for c in cases {
            var hits = 0
            for key in DTMFKey.all {
                let events = try Self.trial(key, lowDBm0: -10 + c.lowLouderDB / 2, highDBm0: -10 - c.lowLouderDB / 2)
                if Self.detectedExactly(key, events) { hits += 1 }
            }
            let label = c.lowLouderDB >= 0 ? "low +\(c.lowLouderDB.fixed(1)) dB" : "high +\((-c.lowLouderDB).fixed(1)) dB"
            switch c.accept {
            case true?: table.check("twist", label, expected: "16/16", detected: "\(hits)/16", pass: hits == 16)
            case false?: table.check("twist", label, expected: "0/16", detected: "\(hits)/16", pass: hits == 0)
            case nil: table.note("twist", label, detected: "\(hits)/16", expected: "(at spandsp's limit: either)")
            }
        }
        // The measured edges, 0.1 dB steps: the largest twist every key passes, and the
        // smallest no key passes.
        for sign in [1.0, -1.0] {
            var allPass = 0.0, nonePass = 0.0
            for step in 1...150 {
                let t = Double(step) / 10
                var hits = 0
                for key in DTMFKey.all {
                    let events = try Self.trial(key, lowDBm0: -10 + sign * t / 2, highDBm0: -10 - sign * t / 2)
                    if Self.detectedExactly(key, events) { hits += 1 }
                }
                if hits == 16 { allPass = t }
                if hits == 0 { nonePass = t; break }
            }
            let limit = sign > 0 ? DTMFDetector.Settings.telephony.twistDB : DTMFDetector.Settings.telephony.reverseTwistDB
            table.note(sign > 0 ? "low louder: edges" : "high louder: edges", "spandsp limit \(limit) dB",
                       detected: "all keys ≤ \(allPass.fixed(1)) dB, none ≥ \(nonePass.fixed(1)) dB", expected: "(measured)")
        }
        table.report()
    }

    @Test("level: -3 dBm0 down to spandsp's -42 dBm0 threshold detected, below rejected")
    func levels() throws {
        var table = ConformanceTable("level per tone (equal tones, 60 ms; all 16 keys; 0 dBm0 = amplitude 22 706)")
        for level in [-3.0, -6, -10, -15, -20, -25, -30, -35, -40, -41, -41.5, -42, -42.5, -43, -45, -50, -55] {
            var hits = 0
            for key in DTMFKey.all {
                if Self.detectedExactly(key, try Self.trial(key, lowDBm0: level, highDBm0: level)) { hits += 1 }
            }
            let value = "\(level.fixed(1)) dBm0"
            if level >= -41 {
                table.check("level", value, expected: "16/16", detected: "\(hits)/16", pass: hits == 16)
            } else if level <= -43 {
                table.check("level", value, expected: "0/16", detected: "\(hits)/16", pass: hits == 0)
            } else {
                table.note("level", value, detected: "\(hits)/16", expected: "(at the threshold: either)")
            }
        }
        var allPass = 0.0, nonePass = 0.0
        for step in 380...500 {
            let level = -Double(step) / 10
            var hits = 0
            for key in DTMFKey.all {
                if Self.detectedExactly(key, try Self.trial(key, lowDBm0: level, highDBm0: level)) { hits += 1 }
            }
            if hits == 16 { allPass = level }
            if hits == 0 { nonePass = level; break }
        }
        table.note("threshold: edges", "spandsp threshold \(DTMFDetector.Settings.telephony.thresholdDBm0) dBm0",
                   detected: "all keys ≥ \(allPass.fixed(1)), none ≤ \(nonePass.fixed(1)) dBm0", expected: "(measured)")
        let reported = try Self.trial(DTMFKey("5")!).first?.levelDBm0
        table.note("levelDBm0 reported", "two tones at -10 dBm0", detected: reported.map { "\($0) dBm0" } ?? "none",
                   expected: "(information: block power ≈ -7)")
        table.report()
    }

    // MARK: Channel impairments

    @Test("white noise at 20 dB SNR: every key still detected, nothing extra")
    func noise() throws {
        var table = ConformanceTable("white Gaussian noise (all 16 keys, 50 ms on / 50 ms off; SNR = both tones / noise over 0–4 kHz)")
        for (snr, level, checked) in [(20.0, -10.0, true), (20.0, -25.0, true), (15.0, -10.0, false)] {
            var exact = 0
            let seeds = 10
            for seed in 0..<seeds {
                var rng = SeededRandom(seed: UInt64(seed) &* 7919 &+ 1)
                let clean = DTMFSignal.sequence("123A456B789C*0#D", toneMs: 50, gapMs: 50, dBm0: level, leadIn: seed * 13)
                let signalPower = 2 * pow(DTMFSignal.amplitude(dBm0: level), 2) / 2
                let sigma = sqrt(signalPower / pow(10, snr / 10))
                let noisy = clean.map { $0 + sigma * rng.gaussian() }
                if DTMFSignal.keys(try DTMFSignal.detect(DTMFSignal.pcm(noisy))) == "123A456B789C*0#D" { exact += 1 }
            }
            let value = "\(snr.fixed(0)) dB SNR, \(level.fixed(0)) dBm0 per tone"
            if checked {
                table.check("16-key sequence", value, expected: "\(seeds)/\(seeds) seeds exact", detected: "\(exact)/\(seeds)", pass: exact == seeds)
            } else {
                table.note("16-key sequence", value, detected: "\(exact)/\(seeds) seeds exact")
            }
        }
        var rng = SeededRandom(seed: 42)
        let sigma = DTMFSignal.amplitude(dBm0: -20) / sqrt(2)
        let noiseOnly = (0..<(8000 * 60)).map { _ in sigma * rng.gaussian() }
        let digits = DTMFSignal.keys(try DTMFSignal.detect(DTMFSignal.pcm(noiseOnly)))
        table.check("noise only", "60 s at -20 dBm0", expected: "0 digits", detected: "\(digits.count) digits", pass: digits.isEmpty)
        table.report()
    }

    @Test("all 16 keys after G.711 µ-law and A-law round trips")
    func g711() throws {
        var table = ConformanceTable("G.711 round trip (40 ms on / 40 ms off; 6 alignments each)")
        for law in [G711.Law.ulaw, .alaw] {
            for level in [-3.0, -10, -30, -40] {
                var exact = 0
                for alignment in stride(from: 0, to: 102, by: 17) {
                    let x = DTMFSignal.pcm(DTMFSignal.sequence("123A456B789C*0#D", toneMs: 40, gapMs: 40, dBm0: level, leadIn: alignment))
                    if DTMFSignal.keys(try DTMFSignal.detect(DTMFSignal.g711RoundTrip(x, law))) == "123A456B789C*0#D" { exact += 1 }
                }
                table.check(law == .ulaw ? "µ-law (PCMU)" : "A-law (PCMA)", "\(level.fixed(0)) dBm0 per tone",
                            expected: "16 keys × 6", detected: "16 keys × \(exact)", pass: exact == 6)
            }
        }
        table.report()
    }

    // MARK: Talk-off

    /// Speech (espeak-ng, several voices, languages, rates and pitches, at three levels)
    /// and synthesised music must produce no digit at all, on linear audio and again
    /// after a µ-law round trip. espeak-ng and sox are required: missing tools fail the
    /// test rather than skip it, so talk-off is never silently unchecked.
    @Test("talk-off: no false digits in over 10 minutes of speech and music")
    func talkOff() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("parley-dtmf-talkoff-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let speech: [(rendition: TalkOffCorpus.Rendition, samples: [Int16])]
        do {
            speech = try TalkOffCorpus.speech(in: directory)
        } catch {
            Issue.record("talk-off speech could not be generated: \(error)")
            return
        }
        let music = TalkOffCorpus.music()
        let material: [(kind: String, label: String, samples: [Int16])] =
            speech.map { ("speech", $0.rendition.label, $0.samples) } + music.map { ("music", $0.label, $0.samples) }

        var table = ConformanceTable("talk-off (false digits; linear and after µ-law; 20 ms frames)")
        var minutes: [String: Double] = [:]
        var falseDigits: [String: Int] = [:]
        var totalRejected = 0, spandspAlone = 0
        for m in material {
            let linear = try DTMFSignal.detect(m.samples)
            let ulaw = try DTMFSignal.detect(DTMFSignal.g711RoundTrip(m.samples, .ulaw))
            let found = DTMFSignal.keys(linear), foundULaw = DTMFSignal.keys(ulaw)
            let length = Double(m.samples.count) / 8000 / 60
            minutes[m.kind, default: 0] += length
            falseDigits[m.kind, default: 0] += found.count
            falseDigits[m.kind + " µ-law", default: 0] += foundULaw.count
            let reference = Self.spandspDigits(m.samples)
            spandspAlone += reference.count
            var detail = found.isEmpty && foundULaw.isEmpty ? "0" : "\(found.count) \"\(found)\" / µ-law \(foundULaw.count) \"\(foundULaw)\""
            if !reference.isEmpty { detail += " (spandsp alone: \(reference.count) \"\(reference)\")" }
            table.check(m.kind, "\(m.label) (\(length.fixed(2)) min)", expected: "0", detected: detail,
                        pass: found.isEmpty && foundULaw.isEmpty)
            totalRejected += rejectedCount(m.samples)
        }
        let speechMinutes = minutes["speech"] ?? 0, musicMinutes = minutes["music"] ?? 0
        table.check("total", "speech \(speechMinutes.fixed(1)) min + music \(musicMinutes.fixed(1)) min",
                    expected: "≥ 10 min, 0 false digits",
                    detected: "\((speechMinutes + musicMinutes).fixed(1)) min, \(falseDigits.values.reduce(0, +)) false digits",
                    pass: speechMinutes + musicMinutes >= 10 && falseDigits.values.allSatisfy { $0 == 0 })
        table.note("frequency check", "candidates both receivers agreed on, then refused (linear)",
                   detected: "\(totalRejected)", expected: "(information)")
        table.note("reference", "spandsp dtmf_rx alone on the same linear audio",
                   detected: "\(spandspAlone) digits", expected: "(information)")
        table.report()
    }

    /// Digits from one plain spandsp receiver (default parameters, 160-sample calls): the
    /// reference the talk-off material is measured against.
    static func spandspDigits(_ pcm: [Int16]) -> String {
        guard let state = dtmf_rx_init(nil, nil, nil) else { return "" }
        defer { dtmf_rx_free(state) }
        var digits = ""
        var buffer = [CChar](repeating: 0, count: 130)
        pcm.withUnsafeBufferPointer { all in
            var i = 0
            while i < all.count {
                let n = min(160, all.count - i)
                _ = dtmf_rx(state, all.baseAddress! + i, Int32(n))
                let got = buffer.withUnsafeMutableBufferPointer { Int(dtmf_rx_get(state, $0.baseAddress, 128)) }
                digits += String(decoding: buffer[0..<got].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                i += n
            }
        }
        return digits
    }

    /// How many key candidates the frequency check refused on `pcm` (talk-off diagnostics).
    func rejectedCount(_ pcm: [Int16]) -> Int {
        guard let detector = try? DTMFDetector(sampleRate: 8000) else { return 0 }
        pcm.withUnsafeBufferPointer { detector.process($0) { _ in } }
        return detector.statistics.rejectedByFrequency
    }
}
