import COpus
import CParleyMediaIO
import Foundation
import Logging
import NIOCore
import NIOPosix
import ParleyDSP
import ParleyMedia

/// Conference capacity: R rooms of P real legs each on one media thread pinned to one CPU,
/// every leg joined to its room (`ConferenceRoom` + `ConferencePort`), driven by the traffic
/// generator from another CPU with one speech-like G.711 packet per leg each 20 ms. Each
/// tick: every leg's jitter buffer → decode → port; every room mixes (all legs talking, so
/// every leg gets its own N−1 mix) → port → encode → send.
///
/// `opus`: the legs run Opus at 16 kHz (the room mixes at 16 kHz; every leg decodes and
/// encodes Opus): the generator sends speech-like Opus packets (24 kbit/s, padded to the
/// generator's fixed 160 bytes with `opus_packet_pad`).
enum ConferenceLoad {
    /// One second of speech-like audio at 16 kHz as 50 Opus packets of exactly 160 bytes.
    static func opusFrames() throws -> [[UInt8]] {
        let encoder = try ParleyDSP.OpusEncoder(sampleRate: 16000, bitrate: 24000)
        var frames: [[UInt8]] = []
        var packet = [UInt8](repeating: 0, count: 400)
        for f in 0..<50 {
            let pcm: [Int16] = (0..<320).map { k in
                let t = Double(f * 320 + k) / 16000
                let envelope = 0.2 + 0.8 * abs(sin(2 * Double.pi * 3 * t))
                return Int16(envelope * (6000 * sin(2 * Double.pi * 440 * t) + 4000 * sin(2 * Double.pi * 1270 * t)))
            }
            let n = try pcm.withUnsafeBufferPointer { src in try packet.withUnsafeMutableBufferPointer { try encoder.encode(src, into: $0) } }
            guard n > 0, n <= 160, packet.withUnsafeMutableBufferPointer({ opus_packet_pad($0.baseAddress, Int32(n), 160) }) == 0 else {
                throw UsageError("cannot make a 160-byte Opus packet (encoded \(n) bytes)")
            }
            frames.append(Array(packet[0..<160]))
        }
        return frames
    }

    static func run(rooms: Int, participants: Int, seconds: Double, opus: Bool, mediaCPU: Int, generatorCPU: Int) throws -> Row {
        let legs = rooms * participants
        return try withLoadRig(label: "conference-load", legs: legs, mediaCPU: mediaCPU, generatorCPU: generatorCPU,
                               frames: opus ? try opusFrames() : nil, payloadType: opus ? 111 : 0, timestampStep: opus ? 960 : 160) { group, engine, generator in
            var opened: [MediaLeg] = []
            var mediaRooms: [ConferenceRoom] = []
            for r in 0..<rooms {
                let room = ConferenceRoom(name: "load-\(r)", capacity: participants, loudest: nil, holdMusic: nil)
                mediaRooms.append(room)
                for p in 0..<participants {
                    let i = r * participants + p
                    let remote = try SocketAddress(ipAddress: "127.0.0.1", port: generator.peerPort(leg: i))
                    let codec: LegCodecChoice = opus
                        ? .opus(encodeRate: 16000, decodeRate: 16000, bitrate: 24000, inbandFEC: false, expectedLossPercent: 0, dtx: false)
                        : .g711(.ulaw)
                    var parameters = LegParameters(codec: codec, payloadType: opus ? 111 : 0, telephoneEventPayloadType: 101,
                                                   remote: remote, mediaTimeoutMilliseconds: nil, inbandDTMF: false)
                    parameters.rtcpMux = true
                    let leg = try engine.openLeg(parameters: parameters, onEvent: { _ in }).wait()
                    if p == 0 { _ = room.start(on: leg) }
                    let port = ConferencePort(sendRate: leg.sendRate)
                    room.enqueue(.join(id: p, port: port, rate: leg.sendRate))
                    leg.attachConference(port)
                    opened.append(leg)
                }
            }
            generator.targets = opened.map(\.localPort)
            generator.start()
            defer { generator.stop() }
            let thread = engine.threads[0]
            var row = measure("\(rooms) rooms × \(participants) \(opus ? "Opus 16 kHz" : "G.711") legs", legs: legs, seconds: seconds,
                              generator: generator, cpu: { thread.currentStatistics.cpuNanoseconds },
                              lateness: { thread.currentStatistics.lateness })
            generator.stop()
            let talking = mediaRooms.reduce(0) { $0 + $1.states.filter(\.talking).count }
            row.label += " (talking \(talking)/\(legs))"
            for room in mediaRooms { room.enqueue(.close) }
            for leg in opened { leg.close() }
            return row
        }
    }
}
