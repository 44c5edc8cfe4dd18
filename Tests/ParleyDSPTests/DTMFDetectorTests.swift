import Foundation
import Testing
@testable import ParleyDSP

@Suite("In-band DTMF detection")
struct DTMFDetectorTests {
    static let rows: [Double] = [697, 770, 852, 941]
    static let cols: [Double] = [1209, 1336, 1477, 1633]
    static let keys: [[Character]] = [["1", "2", "3", "A"], ["4", "5", "6", "B"], ["7", "8", "9", "C"], ["*", "0", "#", "D"]]

    /// A key as two sines (each about -10 dBm0), generated here, not by spandsp.
    static func tone(_ key: Character, milliseconds: Int, amplitude: Double = 7000) -> [Int16] {
        let r = keys.firstIndex { $0.contains(key) }!
        let c = keys[r].firstIndex(of: key)!
        return (0..<(milliseconds * 8)).map { n in
            let t = Double(n) / 8000
            return Int16(amplitude * (sin(2 * .pi * rows[r] * t) + sin(2 * .pi * cols[c] * t)) / 2)
        }
    }

    @Test("every key of a sequence is reported once, in order")
    func allKeys() {
        var signal: [Int16] = []
        let sequence: [Character] = ["1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "*", "0", "#", "D"]
        for k in sequence {
            signal += DTMFDetectorTests.tone(k, milliseconds: 80)
            signal += [Int16](repeating: 0, count: 8 * 80)
        }
        let detector = DTMFDetector()
        var found = ""
        var i = 0
        while i < signal.count {
            let end = min(i + 160, signal.count)
            found += signal[i..<end].withUnsafeBufferPointer { detector.process($0) }
            i = end
        }
        #expect(found == String(sequence))
    }

    @Test("silence and a steady 1 kHz tone report nothing")
    func noFalseDigits() {
        let detector = DTMFDetector()
        let tone = (0..<8000).map { Int16(8000 * sin(2 * .pi * 1000 * Double($0) / 8000)) }
        let found = tone.withUnsafeBufferPointer { detector.process($0) }
        #expect(found.isEmpty)
    }
}
