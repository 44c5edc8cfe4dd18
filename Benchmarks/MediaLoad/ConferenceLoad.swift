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
/// `opus`: the legs run Opus at 16 kHz (the room mixes at 16 kHz, every leg encodes Opus).
/// The generator only sends G.711, so an Opus leg's jitter buffer gets nothing to decode:
/// the figure covers Opus encoding and the 16 kHz mix, not Opus decoding (about a tenth of
/// the encoder's cost).
enum ConferenceLoad {
    static func run(rooms: Int, participants: Int, seconds: Double, opus: Bool, mediaCPU: Int, generatorCPU: Int) throws -> Row {
        var logger = Logger(label: "conference-load")
        logger.logLevel = .warning
        let legs = rooms * participants
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let engine = MediaEngine(group: group, bindHost: "127.0.0.1", ports: PortAllocator(range: 12000...64000),
                                 logger: logger, threads: 1, cpus: [mediaCPU], realtimePriority: realtime)
        engine.start()
        defer { engine.stop() }
        let generator = try TrafficGenerator(legs: legs, cpu: generatorCPU)
        defer { for fd in generator.sockets { close(fd) } }
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
