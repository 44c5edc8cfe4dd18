import Foundation
import NIOConcurrencyHelpers
import ParleyDSP
@testable import ParleyMedia
import Testing

/// The room ticked by hand: legs are played by their ports (what a leg's tick pushes and pops).
@Suite("Conference room: commands at the start of a tick, N−1 through ports, rates, absent legs")
struct ConferenceRoomTests {
    static func tone(_ freq: Double, rate: Int, frame n: Int, amplitude: Double = 4000) -> [Int16] {
        let count = rate / 50
        return (0..<count).map { s in Int16(amplitude * sin(2 * Double.pi * freq * Double(n * count + s) / Double(rate))) }
    }

    /// Power of `freq` in `x` (Goertzel, normalized).
    static func power(_ x: [Int16], _ freq: Double, rate: Int) -> Double {
        let w = 2 * cos(2 * Double.pi * freq / Double(rate))
        var s1 = 0.0, s2 = 0.0
        for v in x { let s = Double(v) + w * s1 - s2; s2 = s1; s1 = s }
        return (s1 * s1 + s2 * s2 - w * s1 * s2) / Double(x.count * x.count)
    }

    static func push(_ port: ConferencePort, _ samples: [Int16], rate: Int) {
        samples.withUnsafeBufferPointer { port.legReceived($0, rate: rate) }
    }

    static func pop(_ port: ConferencePort, rate: Int) -> [Int16] {
        var out = [Int16](repeating: 0, count: rate / 50)
        let n = out.withUnsafeMutableBufferPointer { port.legNextFrame(into: $0, sendRate: rate) }
        return Array(out[0..<n])
    }

    @Test("Given three narrowband legs sending tones, each hears the other two tones and not its own; a join applies at the next tick")
    func nMinusOne() {
        let room = ConferenceRoom(name: "t", capacity: 3, loudest: nil, holdMusic: nil)
        let ports = (0..<3).map { _ in ConferencePort(sendRate: 8000) }
        for (i, p) in ports.enumerated() { room.enqueue(.join(id: i, port: p, rate: 8000)) }
        #expect(room.states.isEmpty)
        let freqs = [400.0, 900.0, 1500.0]
        var heard: [[Int16]] = [[], [], []]
        for n in 0..<20 {
            for i in 0..<3 { Self.push(ports[i], Self.tone(freqs[i], rate: 8000, frame: n), rate: 8000) }
            room.tick(nowMilliseconds: Int64(n * 20))
            for i in 0..<3 { heard[i] += Self.pop(ports[i], rate: 8000) }
        }
        #expect(room.mixingRate == 8000)
        for i in 0..<3 {
            let tail = Array(heard[i].suffix(1600))
            let own = Self.power(tail, freqs[i], rate: 8000)
            for j in 0..<3 where j != i {
                let other = Self.power(tail, freqs[j], rate: 8000)
                #expect(other > 1e5, "leg \(i) misses \(freqs[j]) Hz")
                #expect(own < other / 300, "leg \(i) hears itself")
            }
        }
        #expect(room.states.map(\.talking) == [true, true, true])
    }

    @Test("Given an Opus leg at 16 kHz, the room mixes at 16 kHz and the 8 kHz legs still hear it")
    func widebandRoom() {
        let room = ConferenceRoom(name: "t", capacity: 3, loudest: nil, holdMusic: nil)
        let narrow = ConferencePort(sendRate: 8000), wide = ConferencePort(sendRate: 16000)
        room.enqueue(.join(id: 1, port: narrow, rate: 8000))
        room.enqueue(.join(id: 2, port: wide, rate: 16000))
        var narrowHeard: [Int16] = [], wideHeard: [Int16] = []
        for n in 0..<25 {
            Self.push(narrow, Self.tone(700, rate: 8000, frame: n), rate: 8000)
            Self.push(wide, Self.tone(1100, rate: 16000, frame: n), rate: 16000)
            room.tick(nowMilliseconds: Int64(n * 20))
            narrowHeard += Self.pop(narrow, rate: 8000)
            wideHeard += Self.pop(wide, rate: 16000)
        }
        #expect(room.mixingRate == 16000)
        #expect(Self.power(Array(narrowHeard.suffix(1600)), 1100, rate: 8000) > 1e5)
        #expect(Self.power(Array(wideHeard.suffix(3200)), 700, rate: 16000) > 1e5)
        #expect(Self.power(Array(wideHeard.suffix(3200)), 1100, rate: 16000) < 1e4)
    }

    @Test("Given a leg that sends nothing and one that floods, the others still get a frame every tick; a muted leg is not heard")
    func absentAndFlooding() {
        let room = ConferenceRoom(name: "t", capacity: 4, loudest: nil, holdMusic: nil)
        let ports = (0..<3).map { _ in ConferencePort(sendRate: 8000) }
        for (i, p) in ports.enumerated() { room.enqueue(.join(id: i, port: p, rate: 8000)) }
        var got = 0
        var heard1: [Int16] = []
        for n in 0..<30 {
            if n == 10 { room.enqueue(.mute(id: 0, true)) }
            Self.push(ports[0], Self.tone(500, rate: 8000, frame: n), rate: 8000)
            for _ in 0..<10 { Self.push(ports[2], Self.tone(1300, rate: 8000, frame: n), rate: 8000) } // floods
            // ports[1] sends nothing
            room.tick(nowMilliseconds: Int64(n * 20))
            let f = Self.pop(ports[1], rate: 8000)
            if f.count == 160 { got += 1 }
            heard1 += f
            _ = Self.pop(ports[0], rate: 8000); _ = Self.pop(ports[2], rate: 8000)
        }
        #expect(got == 29) // every tick once the port holds its one frame of slack
        let tail = Array(heard1.suffix(1600))
        #expect(Self.power(tail, 1300, rate: 8000) > 1e5)
        #expect(Self.power(tail, 500, rate: 8000) < 1e4, "the muted leg is still heard")
        #expect(ports[2].currentCounters.inboundDropped > 0)
        #expect(ports[1].currentCounters.inboundMissing == 30)
        room.enqueue(.leave(id: 2))
        room.enqueue(.close)
        room.tick(nowMilliseconds: 700)
        #expect(room.isClosed)
    }

    @Test("Given a participant that talks for a while and then goes quiet, the room reports exactly one start and one stop, and nothing for a silent one")
    func talkerEvents() {
        let seen = NIOLockedValueBox<[(Int, Bool)]>([])
        let room = ConferenceRoom(name: "t", capacity: 3, loudest: nil, holdMusic: nil,
                                  onTalking: { id, talking in seen.withLockedValue { $0.append((id, talking)) } })
        let talker = ConferencePort(sendRate: 8000), quiet = ConferencePort(sendRate: 8000)
        room.enqueue(.join(id: 7, port: talker, rate: 8000))
        room.enqueue(.join(id: 8, port: quiet, rate: 8000))
        for n in 0..<80 {
            // Talks for 400 ms (with a 60 ms pause, shorter than the hangover), then silence.
            let speaking = n < 20 && !(8..<11).contains(n)
            Self.push(talker, speaking ? Self.tone(440, rate: 8000, frame: n) : [Int16](repeating: 0, count: 160), rate: 8000)
            Self.push(quiet, [Int16](repeating: 0, count: 160), rate: 8000)
            room.tick(nowMilliseconds: Int64(n * 20))
            _ = Self.pop(talker, rate: 8000); _ = Self.pop(quiet, rate: 8000)
            if n == 15 { #expect(seen.withLockedValue { $0.map(\.1) } == [true]) }
        }
        let events = seen.withLockedValue { $0 }
        #expect(events.map(\.0) == [7, 7])
        #expect(events.map(\.1) == [true, false])
    }

    @Test("Given five silent listeners and a talker on PCMU, the shared mix is encoded once per tick, every listener sends the same bytes and the talker its own")
    func sharedEncode() throws {
        let room = ConferenceRoom(name: "t", capacity: 6, loudest: nil, holdMusic: nil)
        let codec = LegCodecChoice.g711(.ulaw)
        let talker = ConferencePort(sendRate: 8000)
        let listeners = (0..<5).map { _ in ConferencePort(sendRate: 8000) }
        room.enqueue(.join(id: 0, port: talker, rate: 8000))
        for (i, p) in listeners.enumerated() { room.enqueue(.join(id: i + 1, port: p, rate: 8000)) }
        let ownEncoder = try LegEncoder(codec)
        var checked = 0
        for n in 0..<20 {
            Self.push(talker, Self.tone(600, rate: 8000, frame: n), rate: 8000)
            for p in listeners { Self.push(p, [Int16](repeating: 0, count: 160), rate: 8000) }
            let before = room.sharedEncodes
            room.tick(nowMilliseconds: Int64(n * 20))
            let encodes = room.sharedEncodes - before
            // What each leg's tick does: pop the frame, then take the room's payload or encode.
            var sent: [[UInt8]?] = []
            var pcm: [[Int16]] = []
            for p in [talker] + listeners {
                var frame = [Int16](repeating: 0, count: 160)
                let got = frame.withUnsafeMutableBufferPointer { p.legNextFrame(into: $0, sendRate: 8000, codec: codec) }
                var payload = [UInt8](repeating: 0, count: 200)
                let length = payload.withUnsafeMutableBufferPointer { p.takeSharedPayload(into: $0) }
                sent.append(length.map { Array(payload[0..<$0]) })
                pcm.append(Array(frame[0..<got]))
            }
            // The legs' codecs are known from their first pop; the ports give frames from the second tick.
            guard n >= 3 else { continue }
            #expect(encodes == 1, "tick \(n): \(encodes) encodes")
            #expect(sent[0] == nil, "the talker hears its own N−1 mix and encodes it itself")
            let first = sent[1]
            #expect(first?.count == 160)
            for k in 1...5 { #expect(sent[k] == first, "listener \(k) sent other bytes") }
            var talkerPayload = [UInt8](repeating: 0, count: 160)
            let tl = pcm[0].withUnsafeBufferPointer { src in talkerPayload.withUnsafeMutableBufferPointer { ownEncoder.encode(src, into: $0) } }
            #expect(tl == 160)
            #expect(talkerPayload != first, "the talker's encode equals the shared one")
            // The listeners' payload is the encoding of what they hear (the talker's tone).
            var expected = [UInt8](repeating: 0, count: 160)
            _ = pcm[1].withUnsafeBufferPointer { src in expected.withUnsafeMutableBufferPointer { ownEncoder.encode(src, into: $0) } }
            #expect(first == expected)
            checked += 1
        }
        #expect(checked == 17)
    }
}
