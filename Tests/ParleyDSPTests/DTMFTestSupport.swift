import Foundation
import Testing
@testable import ParleyDSP

/// Test signals built here from sines (never spandsp's own generator, which shares the
/// receiver's assumptions), and a small driver for the detector.
enum DTMFSignal {
    static let sampleRate = 8000.0
    /// Amplitude of a 0 dBm0 sine on the 16-bit G.711 scale: µ-law's largest code is
    /// 8159 (14-bit), i.e. 32 636 here, and 0 dBm0 lies 3.17 dB below it (G.711 §5).
    static let zeroDBm0Amplitude = 22706.0

    static func amplitude(dBm0: Double) -> Double { zeroDBm0Amplitude * pow(10, dBm0 / 20) }

    /// Samples for `milliseconds` at 8 kHz.
    static func samples(ms milliseconds: Double) -> Int { Int((milliseconds * 8).rounded()) }

    /// Two sines (as a telephone sends them), each at its own level in dBm0.
    static func pair(low: Double, high: Double, lowDBm0: Double, highDBm0: Double, samples count: Int,
                     lowPhase: Double = 0, highPhase: Double = 0.7) -> [Double] {
        let al = amplitude(dBm0: lowDBm0), ah = amplitude(dBm0: highDBm0)
        let wl = 2 * Double.pi * low / sampleRate, wh = 2 * Double.pi * high / sampleRate
        return (0..<count).map { n in
            al * sin(wl * Double(n) + lowPhase) + ah * sin(wh * Double(n) + highPhase)
        }
    }

    /// A key at its nominal frequencies, both tones at `dBm0`.
    static func key(_ key: DTMFKey, ms: Double, dBm0: Double = -10) -> [Double] {
        pair(low: key.rowFrequency, high: key.columnFrequency, lowDBm0: dBm0, highDBm0: dBm0, samples: samples(ms: ms))
    }

    static func silence(ms: Double) -> [Double] { [Double](repeating: 0, count: samples(ms: ms)) }
    static func silence(samples count: Int) -> [Double] { [Double](repeating: 0, count: count) }

    /// Keys separated by pauses: `toneMs` on, `gapMs` off each, then 100 ms of silence.
    static func sequence(_ keys: String, toneMs: Double, gapMs: Double, dBm0: Double = -10, leadIn: Int = 0) -> [Double] {
        var out = silence(samples: leadIn)
        for c in keys {
            guard let k = DTMFKey(c) else { continue }
            out += key(k, ms: toneMs, dBm0: dBm0)
            out += silence(ms: gapMs)
        }
        return out + silence(ms: 100)
    }

    /// Rounds to 16-bit samples, clipping (as a real A/D converter would).
    static func pcm(_ x: [Double]) -> [Int16] {
        x.map { Int16(max(-32768, min(32767, $0.rounded()))) }
    }

    /// Through a G.711 encoder and decoder (the path of a PCMU/PCMA call).
    static func g711RoundTrip(_ x: [Int16], _ law: G711.Law) -> [Int16] {
        var codes = [UInt8](repeating: 0, count: x.count)
        var out = [Int16](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { src in codes.withUnsafeMutableBufferPointer { _ = G711.encode(law, src, into: $0) } }
        codes.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { _ = G711.decode(law, src, into: $0) } }
        return out
    }

    /// Runs a fresh detector over `pcm` in `frame`-sample pieces (160 = one 20 ms RTP frame).
    static func detect(_ pcm: [Int16], settings: DTMFDetector.Settings = .telephony, frame: Int = 160) throws -> [DTMFEvent] {
        let detector = try DTMFDetector(sampleRate: 8000, settings: settings)
        var events: [DTMFEvent] = []
        pcm.withUnsafeBufferPointer { all in
            var i = 0
            while i < all.count {
                let end = min(i + frame, all.count)
                detector.process(UnsafeBufferPointer(rebasing: all[i..<end])) { events.append($0) }
                i = end
            }
        }
        return events
    }

    /// The keys reported at their start, in order.
    static func keys(_ events: [DTMFEvent]) -> String {
        String(events.filter { $0.kind == .began }.map(\.key.character))
    }
}


/// A results table printed by each conformance test: parameter, value, expected, detected.
struct ConformanceTable {
    struct Row {
        var parameter: String
        var value: String
        var expected: String
        var detected: String
        var pass: Bool
    }

    var title: String
    var rows: [Row] = []

    init(_ title: String) { self.title = title }

    /// A checked row: `pass` false fails the test.
    mutating func check(_ parameter: String, _ value: String, expected: String, detected: String, pass: Bool) {
        rows.append(Row(parameter: parameter, value: value, expected: expected, detected: detected, pass: pass))
    }

    /// A measurement shown for information (Q.24 leaves the range open).
    mutating func note(_ parameter: String, _ value: String, detected: String, expected: String = "(not specified)") {
        rows.append(Row(parameter: parameter, value: value, expected: expected, detected: detected, pass: true))
    }

    var text: String {
        let header = Row(parameter: "parameter", value: "value", expected: "expected", detected: "detected", pass: true)
        let all = [header] + rows
        let w0 = all.map(\.parameter.count).max() ?? 0
        let w1 = all.map(\.value.count).max() ?? 0
        let w2 = all.map(\.expected.count).max() ?? 0
        let w3 = all.map(\.detected.count).max() ?? 0
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var out = "\n== DTMF conformance: \(title) ==\n"
        for (i, r) in all.enumerated() {
            let mark = i == 0 ? "" : (r.pass ? "ok" : "FAIL")
            out += "| \(pad(r.parameter, w0)) | \(pad(r.value, w1)) | \(pad(r.expected, w2)) | \(pad(r.detected, w3)) | \(mark)\n"
            if i == 0 {
                out += "|" + [w0, w1, w2, w3].map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|\n"
            }
        }
        return out
    }

    /// Prints the table (in one piece, so parallel tests do not interleave) and records
    /// an issue for every failed row.
    func report(sourceLocation: SourceLocation = #_sourceLocation) {
        print(text)
        for r in rows where !r.pass {
            Issue.record("\(title): \(r.parameter) = \(r.value): expected \(r.expected), detected \(r.detected)",
                         sourceLocation: sourceLocation)
        }
    }
}

extension Double {
    /// Fixed-point text without Foundation's locale-dependent formatting.
    func fixed(_ digits: Int) -> String {
        let scale = pow(10, Double(digits))
        let v = (self * scale).rounded() / scale
        var s = "\(v)"
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if digits == 0 { s = String(s[..<dot]) } else if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        } else if digits > 0 {
            s += "." + String(repeating: "0", count: digits)
        }
        return s
    }

    /// "+1.5" / "-3.5" style.
    func signed(_ digits: Int) -> String { (self >= 0 ? "+" : "") + fixed(digits) }
}
