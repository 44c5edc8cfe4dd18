import Foundation
import ParleyApps
import Testing
@testable import ParleyServer

@Suite("Configuration: conference rooms and the conference licence")
struct ConferenceConfigTests {
    static func config(license: String? = "premium", rooms: String, numberRoom: String = "300") -> String {
        """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [acme.example]
        \(license.map { "    licenses: { conference: \($0) }" } ?? "")
            numbers:
              "300": { conference: "\(numberRoom)" }
              "100": { menu: main }
            menus:
              main:
                greeting: { open: welcome }
                options:
                  "3": { conference: "300" }
            conferences:
        \(rooms)
        """
    }

    func error(_ text: String) -> String { ConfigTests().error(text) }

    @Test("rooms parse with their options; numbers and menu keys lead to them; the licence caps the room's size")
    func valid() throws {
        let c = try ParleyConfig.parse(Self.config(rooms: """
                  "300": { pin: "1234", moderator_pin: "9999", max_participants: 40, end_when_moderator_leaves: true, record: true, announce_count: false, loudest: 4 }
                  "301": { max_participants: 5 }
            """), file: "p.yaml")
        let t = try #require(c.tenants.first)
        let room = try #require(t.conferences["300"])
        #expect(room.pin == "1234" && room.moderatorPIN == "9999" && room.maxParticipants == 40)
        #expect(room.endWhenModeratorLeaves && room.record && !room.announceCount && room.loudest == 4)
        #expect(t.conferenceLicense == .premium)
        #expect(t.conferenceLimit("300") == 15) // the licence's 15 seats win over 40
        #expect(t.conferenceLimit("301") == 5)
        #expect(t.numbers["300"]?.target == .conference("300"))
        #expect(t.attendant.menus["main"]?.options["3"] == .conference("300"))
        #expect(t.attendant.extensions["300"] == .conference("300"))
    }

    @Test("without a licence line a tenant has basic seats: 3 per room")
    func basicDefault() throws {
        let c = try ParleyConfig.parse(Self.config(license: nil, rooms: "      \"300\": { }"), file: "p.yaml")
        #expect(c.tenants.first?.conferenceLimit("300") == 3)
    }

    @Test("mistakes are named with the line and key")
    func errors() {
        #expect(error(Self.config(rooms: "      \"300\": { pin: 12a }")).contains("pin: expected 1 to 16 digits"))
        #expect(error(Self.config(rooms: "      \"300\": { pins: \"1\" }")).contains("unknown key"))
        #expect(error(Self.config(license: "gold", rooms: "      \"300\": { }")).contains("expected basic or premium"))
        #expect(error(Self.config(rooms: "      \"301\": { }")).contains("no room '300'"))
        #expect(error(Self.config(rooms: "      \"300\": { pin: \"1\", moderator_pin: \"1\" }")).contains("must differ"))
    }
}
