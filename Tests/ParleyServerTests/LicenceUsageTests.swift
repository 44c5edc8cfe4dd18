import Foundation
import Logging
import NIOCore
import NIOPosix
@testable import ParleyServer
import Testing

/// Licence usage ("in use / limit") read from a running server while a real call (the test
/// caller, over UDP on loopback) is up.
@Suite("Licences: usage per tenant", .serialized)
struct LicenceUsageTests {
    static let prompts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("prompts").path

    /// A UDP port free right now (the kernel's choice, released again).
    static func freePort() async throws -> Int {
        let probe = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress?.port ?? 0
        try await probe.close()
        return port
    }

    static func yaml(sipPort: Int, rtpBase: Int) -> String {
        """
        sip:
          listen: ["udp:127.0.0.1:\(sipPort)"]
        rtp: { bind: 127.0.0.1, ports: \(rtpBase)-\(rtpBase + 19) }
        prompts: \(prompts)
        tenants:
          acme:
            domains: [127.0.0.1]
            licenses: { concurrent_calls: 2, auto_attendant: basic, voicemail: false }
            numbers: { "100": { play: welcome }, "300": { conference: "300" } }
            conferences: { "300": { announce_count: false } }
          globex:
            domains: [globex.example]
            licenses: { conference: premium }
            numbers: { "100": { play: welcome }, "300": { conference: "300" } }
            conferences: { "300": { max_participants: 5 }, "310": {} }
        """
    }

    @Test("limits and tiers come from the file; calls in use follow the calls up")
    func usage() async throws {
        let config = try ParleyConfig.parse(Self.yaml(sipPort: try await Self.freePort(), rtpBase: 36000 + Int.random(in: 0..<200) * 20), file: "/tmp/licences.yaml")
        let server = try await ParleyServer.start(config: config, eventsPath: nil, logger: Logger(label: "test"), threads: 1)
        let before = await server.licenceUsage()
        #expect(before == [
            LicenceUsage(tenant: "acme", concurrentCalls: .init(inUse: 0, limit: 2), autoAttendant: "basic", voicemail: false,
                         conference: .init(tier: "basic", seatsPerRoom: 3, rooms: [.init(room: "300", inUse: 0, limit: 3)])),
            LicenceUsage(tenant: "globex", concurrentCalls: .init(inUse: 0, limit: nil), autoAttendant: "standard", voicemail: true,
                         conference: .init(tier: "premium", seatsPerRoom: 15,
                                           rooms: [.init(room: "300", inUse: 0, limit: 5), .init(room: "310", inUse: 0, limit: 15)])),
        ])
        let port = try #require(server.sipAddress?.port)
        var options = TestCaller.Options(target: "sip:100@127.0.0.1:\(port)")
        options.durationMilliseconds = 1500
        options.localHost = "127.0.0.1"
        let call = Task { try await TestCaller(options: options, logger: Logger(label: "caller")).run() }
        var during: [LicenceUsage] = []
        for _ in 0..<50 {
            during = await server.licenceUsage()
            if during.first?.concurrentCalls.inUse == 1 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(during.first?.concurrentCalls == .init(inUse: 1, limit: 2))
        #expect(during.last?.concurrentCalls == .init(inUse: 0, limit: nil))
        let summary = try await call.value
        #expect(summary.status == 200)
        #expect(summary.packetsReceived > 20)
        var after: [LicenceUsage] = []
        for _ in 0..<50 {
            after = await server.licenceUsage()
            if after.first?.concurrentCalls.inUse == 0 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(after.first?.concurrentCalls.inUse == 0)
        // JSON as the admin API will serve it.
        let json = String(decoding: try JSONEncoder().encode(after[0]), as: UTF8.self)
        #expect(json.contains("\"in_use\":0") && json.contains("\"limit\":2") && json.contains("\"voicemail\":false"))
        await server.shutdown()
    }

    @Test("a caller in a room takes a seat of that tenant's room only")
    func conferenceSeats() async throws {
        let config = try ParleyConfig.parse(Self.yaml(sipPort: try await Self.freePort(), rtpBase: 36000 + Int.random(in: 0..<200) * 20), file: "/tmp/licences.yaml")
        let server = try await ParleyServer.start(config: config, eventsPath: nil, logger: Logger(label: "test"), threads: 1)
        let port = try #require(server.sipAddress?.port)
        var options = TestCaller.Options(target: "sip:300@127.0.0.1:\(port)")
        options.durationMilliseconds = 2500
        options.localHost = "127.0.0.1"
        let call = Task { try await TestCaller(options: options, logger: Logger(label: "caller")).run() }
        var during: [LicenceUsage] = []
        for _ in 0..<100 {
            during = await server.licenceUsage()
            if during.first?.conference.rooms.first?.inUse == 1 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(during.first?.conference == .init(tier: "basic", seatsPerRoom: 3, rooms: [.init(room: "300", inUse: 1, limit: 3)]))
        // globex's room of the same name is another room: still empty.
        #expect(during.last?.conference.rooms.map(\.inUse) == [0, 0])
        #expect(server.conferences.occupancy() == [.init(tenant: "acme", room: "300"): 1])
        let summary = try await call.value
        #expect(summary.status == 200)
        var after: [LicenceUsage] = []
        for _ in 0..<100 {
            after = await server.licenceUsage()
            if after.first?.conference.rooms.first?.inUse == 0 { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(after.first?.conference.rooms.first?.inUse == 0)
        let json = String(decoding: try JSONEncoder().encode(during[0].conference), as: UTF8.self)
        #expect(json.contains("\"seats_per_room\":3") && json.contains("\"in_use\":1") && json.contains("\"tier\":\"basic\""))
        await server.shutdown()
    }
}
