import Foundation
import Testing
@testable import ParleyDSP

@Suite("G.711 packet-loss concealment")
struct ConcealmentTests {
    /// Voiced speech-like audio: a 150 Hz pulse train's first harmonics with a slow envelope.
    static let voiced: [Int16] = (0..<16_000).map { n in
        let t = Double(n) / 8000
        let h1: Double = 6000 * sin(2 * Double.pi * 150 * t)
        let h2: Double = 3000 * sin(2 * Double.pi * 300 * t + 0.5)
        let h3: Double = 1500 * sin(2 * Double.pi * 450 * t + 1)
        let envelope: Double = 0.8 + 0.2 * sin(2 * Double.pi * 2 * t)
        return Int16((h1 + h2 + h3) * envelope)
    }

    /// Decodes `voiced` in 20 ms frames, losing every `lossEvery`-th frame, and returns the output.
    func run(lossEvery: Int, conceal: Bool) throws -> [Int16] {
        let decoder = G711Decoder(law: .ulaw)
        var out = [Int16](repeating: 0, count: ConcealmentTests.voiced.count)
        var codes = [UInt8](repeating: 0, count: 160)
        for f in 0..<(ConcealmentTests.voiced.count / 160) {
            let range = (f * 160)..<(f * 160 + 160)
            try out.withUnsafeMutableBufferPointer { o in
                let frame = UnsafeMutableBufferPointer(rebasing: o[range])
                if f % lossEvery == lossEvery - 1 {
                    if conceal { _ = decoder.conceal(samples: 160, next: nil, into: frame) }
                    else { for i in frame.indices { frame[i] = 0 } }
                } else {
                    ConcealmentTests.voiced[range].withUnsafeBufferPointer { src in
                        codes.withUnsafeMutableBufferPointer { _ = G711.encode(.ulaw, src, into: $0) }
                    }
                    _ = try codes.withUnsafeBytes { try decoder.decode($0, into: frame) }
                }
            }
        }
        return out
    }

    @Test("a lost frame in voiced audio is concealed far better than by silence")
    func concealVersusSilence() throws {
        let concealed = try run(lossEvery: 10, conceal: true)
        let silenced = try run(lossEvery: 10, conceal: false)
        // Score only the lost frames.
        var snrConceal = 0.0, snrSilence = 0.0, lost = 0
        for f in stride(from: 9, to: ConcealmentTests.voiced.count / 160, by: 10) {
            let r = (f * 160)..<(f * 160 + 160)
            snrConceal += TestAudio.snr(ConcealmentTests.voiced[r], concealed[r])
            snrSilence += TestAudio.snr(ConcealmentTests.voiced[r], silenced[r])
            lost += 1
        }
        snrConceal /= Double(lost); snrSilence /= Double(lost)
        print("PLC over lost frames: \(String(format: "%.1f", snrConceal)) dB SNR concealed, \(String(format: "%.1f", snrSilence)) dB silence-filled")
        #expect(snrConceal > snrSilence + 6)
    }

    @Test("a long gap fades to silence instead of buzzing")
    func longGapFades() {
        let decoder = G711Decoder(law: .alaw)
        var frame = [Int16](repeating: 0, count: 160)
        var codes = [UInt8](repeating: 0, count: 160)
        ConcealmentTests.voiced[0..<160].withUnsafeBufferPointer { src in codes.withUnsafeMutableBufferPointer { _ = G711.encode(.alaw, src, into: $0) } }
        _ = try? codes.withUnsafeBytes { b in try frame.withUnsafeMutableBufferPointer { try decoder.decode(b, into: $0) } }
        var last: [Int16] = []
        for _ in 0..<10 {
            _ = frame.withUnsafeMutableBufferPointer { decoder.conceal(samples: 160, next: nil, into: $0) }
            last = frame
        }
        #expect(last.allSatisfy { $0 == 0 })
    }

    @Test("an empty payload or a short output buffer is an error, not a crash")
    func badInput() {
        let decoder = G711Decoder(law: .ulaw)
        var out = [Int16](repeating: 0, count: 10)
        #expect(throws: CodecError.emptyPayload) { try [UInt8]().withUnsafeBytes { b in try out.withUnsafeMutableBufferPointer { try decoder.decode(b, into: $0) } } }
        #expect(throws: CodecError.outputTooSmall(needed: 160, available: 10)) {
            try [UInt8](repeating: 0xFF, count: 160).withUnsafeBytes { b in try out.withUnsafeMutableBufferPointer { try decoder.decode(b, into: $0) } }
        }
    }
}

@Suite("Energy and voice activity")
struct VoiceActivityTests {
    @Test("levels on the dBov scale")
    func levels() {
        let fullSine = TestAudio.sine(1000, amplitude: 32767, count: 8000)
        #expect(abs(fullSine.withUnsafeBufferPointer { FrameEnergy.dBov($0) } + 3.01) < 0.05)
        let quiet = TestAudio.sine(1000, amplitude: 327.67, count: 8000)
        #expect(abs(quiet.withUnsafeBufferPointer { FrameEnergy.dBov($0) } + 43.01) < 0.05)
        #expect([Int16](repeating: 0, count: 160).withUnsafeBufferPointer { FrameEnergy.dBov($0) } == FrameEnergy.floor)
        #expect([Int16]().withUnsafeBufferPointer { FrameEnergy.dBov($0) } == FrameEnergy.floor)
    }

    @Test("a spoken prompt between silences: speech found where the words are, with hangover, none in the silence")
    func speechAndSilence() throws {
        let prompt = try TestAudio.prompt("welcome").samples
        var noise = SystemRandomNumberGenerator()
        let lead = (0..<16_000).map { _ in Int16.random(in: -30...30, using: &noise) } // about -63 dBov
        let signal = lead + prompt + lead
        var vad = VoiceActivityDetector()
        var decisions: [Bool] = []
        signal.withUnsafeBufferPointer { all in
            for f in 0..<(all.count / 160) { decisions.append(vad.process(UnsafeBufferPointer(rebasing: all[(f * 160)..<(f * 160 + 160)]))) }
        }
        let leadFrames = lead.count / 160, promptFrames = prompt.count / 160
        #expect(decisions[0..<leadFrames].allSatisfy { !$0 })
        let speechInPrompt = decisions[leadFrames..<(leadFrames + promptFrames)].filter { $0 }.count
        #expect(Double(speechInPrompt) / Double(promptFrames) > 0.7)
        // Hangover: still speech just after the prompt, silence well after it.
        let hang = vad.settings.hangoverFrames
        #expect(decisions[leadFrames + promptFrames + 2])
        #expect(decisions[(leadFrames + promptFrames + hang + 5)...].allSatisfy { !$0 })
    }

    @Test("steady background noise is not speech")
    func steadyNoise() {
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<80_000).map { _ in Int16.random(in: -2000...2000, using: &rng) } // about -30 dBov
        var vad = VoiceActivityDetector()
        var speech = 0
        noise.withUnsafeBufferPointer { all in
            for f in 0..<(all.count / 160) where vad.process(UnsafeBufferPointer(rebasing: all[(f * 160)..<(f * 160 + 160)])) { speech += 1 }
        }
        // The floor settles within the first second; nothing after that counts as speech.
        #expect(speech < 50)
    }
}

@Suite("One conceal() for every codec")
struct FrameDecoderTests {
    @Test("G.711 and Opus decoders answer decode and conceal through the same interface")
    func common() throws {
        let speech = try TestAudio.prompt("welcome").samples
        let encoder = try OpusEncoder(sampleRate: 8000, bitrate: 24_000, inbandFEC: true, expectedPacketLossPercent: 15)
        let decoders: [any FrameDecoder] = [G711Decoder(law: .ulaw), try OpusDecoder(sampleRate: 8000)]
        for decoder in decoders {
            var out = [Int16](repeating: 0, count: 960)
            var packet = [UInt8](repeating: 0, count: 400)
            var frames = 0
            for start in stride(from: 0, to: speech.count - 320, by: 160) {
                let frame = Array(speech[start..<(start + 160)])
                let n: Int
                if decoder is G711Decoder {
                    n = frame.withUnsafeBufferPointer { f in packet.withUnsafeMutableBufferPointer { G711.encode(.ulaw, f, into: $0) } }
                } else {
                    n = try frame.withUnsafeBufferPointer { f in try packet.withUnsafeMutableBufferPointer { try encoder.encode(f, into: $0) } }
                }
                if frames % 10 == 9 {
                    let got = packet.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { decoder.conceal(samples: 160, next: UnsafeRawBufferPointer(rebasing: p[0..<n]), into: $0) } }
                    #expect(got == 160)
                } else {
                    let got = try packet.withUnsafeBytes { p in try out.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeRawBufferPointer(rebasing: p[0..<n]), into: $0) } }
                    #expect(got == 160)
                }
                frames += 1
            }
            #expect(frames > 40)
            #expect(throws: CodecError.emptyPayload) { try [UInt8]().withUnsafeBytes { p in try out.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } } }
        }
    }
}
