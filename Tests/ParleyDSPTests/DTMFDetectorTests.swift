import Foundation
import Testing
@testable import ParleyDSP

@Suite("In-band DTMF detection")
struct DTMFDetectorTests {
    static let allKeys = "123A456B789C*0#D"

    @Test("every key of a sequence is reported once, in order (string API)")
    func allKeys() {
        let signal = DTMFSignal.pcm(DTMFSignal.sequence(Self.allKeys, toneMs: 80, gapMs: 80))
        let detector = DTMFDetector()
        var found = ""
        signal.withUnsafeBufferPointer { all in
            var i = 0
            while i < all.count {
                let end = min(i + 160, all.count)
                found += detector.process(UnsafeBufferPointer(rebasing: all[i..<end]))
                i = end
            }
        }
        #expect(found == Self.allKeys)
    }

    @Test("silence and a steady 1 kHz tone report nothing")
    func noFalseDigits() {
        let detector = DTMFDetector()
        let tone = (0..<8000).map { Int16(8000 * sin(2 * .pi * 1000 * Double($0) / 8000)) }
        let silence = [Int16](repeating: 0, count: 8000)
        #expect(tone.withUnsafeBufferPointer { detector.process($0) }.isEmpty)
        #expect(silence.withUnsafeBufferPointer { detector.process($0) }.isEmpty)
        #expect(detector.samplesProcessed == 16000)
    }

    @Test("each press gives .began then .ended with the same key and start")
    func beganEnded() throws {
        let signal = DTMFSignal.pcm(DTMFSignal.sequence("19#", toneMs: 120, gapMs: 100, leadIn: 400))
        let events = try DTMFSignal.detect(signal)
        #expect(events.map(\.kind) == [.began, .ended, .began, .ended, .began, .ended])
        #expect(String(events.map(\.key.character)) == "1199##")
        for pair in stride(from: 0, to: events.count, by: 2) {
            let (b, e) = (events[pair], events[pair + 1])
            #expect(b.startSample == e.startSample)
            #expect(b.durationMilliseconds == nil)
            #expect(abs((e.durationMilliseconds ?? 0) - 120) <= 7)
            #expect(b.confirmedAtSample > b.startSample && e.confirmedAtSample > b.confirmedAtSample)
        }
        // The first tone starts at sample 400; each press is 220 ms (1760 samples) later.
        #expect(abs(events[0].startSample - 400) <= 32)
        #expect(abs(events[2].startSample - 2160) <= 32)
    }

    @Test("currentKey is set between .began and .ended")
    func currentKey() throws {
        let detector = try DTMFDetector(sampleRate: 8000)
        let tone = DTMFSignal.pcm(DTMFSignal.key(DTMFKey("7")!, ms: 200))
        var kinds: [DTMFEvent.Kind] = []
        tone.withUnsafeBufferPointer { detector.process($0) { kinds.append($0.kind) } }
        #expect(kinds == [.began])
        #expect(detector.currentKey == DTMFKey("7"))
        let silence = [Int16](repeating: 0, count: 800)
        silence.withUnsafeBufferPointer { detector.process($0) { kinds.append($0.kind) } }
        #expect(kinds == [.began, .ended])
        #expect(detector.currentKey == nil)
    }

    @Test("events do not depend on how the audio is cut into blocks")
    func blockSizeIndependence() throws {
        let signal = DTMFSignal.pcm(DTMFSignal.sequence("5A*", toneMs: 60, gapMs: 45, leadIn: 77))
        let reference = try DTMFSignal.detect(signal, frame: 160)
        #expect(DTMFSignal.keys(reference) == "5A*")
        for frame in [1, 7, 50, 51, 52, 101, 102, 103, 320, 1000, signal.count] {
            #expect(try DTMFSignal.detect(signal, frame: frame) == reference, "frame \(frame)")
        }
    }

    @Test("a key that changes without a pause ends the first press and starts the second")
    func keyChangeWithoutPause() throws {
        let x = DTMFSignal.silence(ms: 30) + DTMFSignal.key(DTMFKey("1")!, ms: 100) + DTMFSignal.key(DTMFKey("2")!, ms: 100)
            + DTMFSignal.silence(ms: 100)
        let events = try DTMFSignal.detect(DTMFSignal.pcm(x))
        #expect(events.map(\.kind) == [.began, .ended, .began, .ended])
        #expect(String(events.map(\.key.character)) == "1122")
    }

    @Test("only 8 kHz is accepted; wideband callers downsample first")
    func sampleRates() {
        for rate in [16000, 48000, 44100, 0, -8000] {
            #expect(throws: DTMFDetectorError.unsupportedSampleRate(rate)) { try DTMFDetector(sampleRate: rate) }
        }
        #expect(throws: Never.self) { try DTMFDetector(sampleRate: 8000) }
    }

    @Test("settings spandsp would ignore or misread are refused with typed errors")
    func settingsValidation() {
        typealias S = DTMFDetector.Settings
        #expect(throws: DTMFDetectorError.twistOutOfRange(-1)) { try DTMFDetector(sampleRate: 8000, settings: S(twistDB: -1)) }
        #expect(throws: DTMFDetectorError.twistOutOfRange(21)) { try DTMFDetector(sampleRate: 8000, settings: S(reverseTwistDB: 21)) }
        #expect(throws: DTMFDetectorError.thresholdOutOfRange(-99)) { try DTMFDetector(sampleRate: 8000, settings: S(thresholdDBm0: -99)) }
        #expect(throws: DTMFDetectorError.thresholdOutOfRange(3)) { try DTMFDetector(sampleRate: 8000, settings: S(thresholdDBm0: 3)) }
        #expect(throws: DTMFDetectorError.frequencyToleranceOutOfRange(1)) {
            try DTMFDetector(sampleRate: 8000, settings: S(frequencyTolerancePercent: 1))
        }
        let nanError = #expect(throws: DTMFDetectorError.self) {
            try DTMFDetector(sampleRate: 8000, settings: S(frequencyTolerancePercent: .nan))
        }
        if case .frequencyToleranceOutOfRange? = nanError {} else { Issue.record("NaN tolerance: \(String(describing: nanError))") }
        #expect(S.telephony == S(filterDialTone: false, twistDB: 8, reverseTwistDB: 4, thresholdDBm0: -42, frequencyTolerancePercent: 2.5))
    }

    @Test("settings reach spandsp: a higher threshold and a tighter twist refuse what the defaults accept")
    func settingsApplied() throws {
        let key = DTMFKey("8")!
        let quiet = DTMFSignal.pcm(DTMFSignal.silence(ms: 20) + DTMFSignal.key(key, ms: 80, dBm0: -35) + DTMFSignal.silence(ms: 80))
        #expect(DTMFSignal.keys(try DTMFSignal.detect(quiet)) == "8")
        #expect(DTMFSignal.keys(try DTMFSignal.detect(quiet, settings: .init(thresholdDBm0: -30))).isEmpty)

        let twisted = DTMFSignal.pcm(DTMFSignal.silence(ms: 20) + DTMFSignal.pair(
            low: key.rowFrequency, high: key.columnFrequency, lowDBm0: -7, highDBm0: -12, samples: 640) + DTMFSignal.silence(ms: 80))
        #expect(DTMFSignal.keys(try DTMFSignal.detect(twisted)) == "8")
        #expect(DTMFSignal.keys(try DTMFSignal.detect(twisted, settings: .init(twistDB: 3))).isEmpty)
    }

    @Test("the dial-tone filter lets a key through North American dial tone")
    func dialToneFilter() throws {
        let n = 8000
        let dialTone = DTMFSignal.pair(low: 350, high: 440, lowDBm0: -13, highDBm0: -13, samples: n)
        let key = DTMFSignal.silence(ms: 300) + DTMFSignal.key(DTMFKey("0")!, ms: 100, dBm0: -20)
        let mixed = DTMFSignal.pcm(zip(dialTone, key + DTMFSignal.silence(samples: n - key.count)).map { $0 + $1 })
        #expect(DTMFSignal.keys(try DTMFSignal.detect(mixed, settings: .init(filterDialTone: true))) == "0")
        // Without the notches the dial tone's energy fails spandsp's energy-ratio test.
        #expect(DTMFSignal.keys(try DTMFSignal.detect(mixed)).isEmpty)
    }

    @Test("the frequency estimate behind the ±2.5 % check is accurate to a few tenths of a Hz")
    func frequencyEstimate() throws {
        for (nominal, actual) in [(697.0, 711.0), (941.0, 920.0), (1633.0, 1650.0), (1209.0, 1209.0)] {
            let detector = try DTMFDetector(sampleRate: 8000)
            let tone = DTMFSignal.pcm(DTMFSignal.pair(low: actual, high: 3000, lowDBm0: -10, highDBm0: -40, samples: 400))
            tone.withUnsafeBufferPointer { detector.process($0) { _ in } }
            let offset = try #require(detector.frequencyOffsetHz(nominal: nominal, end: 400))
            #expect(abs(offset - (actual - nominal)) < 0.5, "\(nominal) Hz: \(offset)")
        }
    }

    @Test("keys: characters, case, frequencies")
    func keys() {
        #expect(DTMFKey.all.map(\.description).joined() == Self.allKeys)
        #expect(DTMFKey("a") == DTMFKey("A"))
        #expect(DTMFKey("x") == nil && DTMFKey("é") == nil && DTMFKey(ascii: 0) == nil)
        #expect(DTMFKey("5")!.rowFrequency == 770 && DTMFKey("5")!.columnFrequency == 1336)
        #expect(DTMFKey("D")!.rowFrequency == 941 && DTMFKey("D")!.columnFrequency == 1633)
        #expect(DTMFKey("*")!.character == "*")
    }
}
