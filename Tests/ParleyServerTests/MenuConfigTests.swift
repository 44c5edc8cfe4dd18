import Foundation
import ParleyApps
import Testing
@testable import ParleyServer

@Suite("Configuration: menus, schedule, licence tiers")
struct MenuConfigTests {
    static func config(license: String = "standard", mainExtra: String = "", schedule: String = "") -> String {
        """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [acme.example]
            timezone: Europe/Brussels
            licenses: { auto_attendant: \(license) }
        \(schedule)
            numbers:
              "100": { menu: main }
              "201": { transfer: "sip:alice@pbx.acme.example" }
            menus:
              main:
                greeting: { open: acme/open, closed: acme/closed }
                options:
                  "1": { transfer: "sip:sales@pbx.acme.example" }
                  "9": hangup
                  "0": repeat
                extension_dialing: true
                timeout: 4s
                retries: 2
        \(mainExtra)
        """
    }

    func error(_ text: String) -> String { ConfigTests().error(text) }

    @Test("a menu, its options and its number parse into the attendant's snapshot")
    func valid() throws {
        let c = try ParleyConfig.parse(Self.config(schedule: "    schedule: { hours: { mon-fri: \"09:00-17:30\", sat: [\"10:00-12:00\"] }, holidays: [2026-12-25] }"),
                                       file: "p.yaml")
        let t = try #require(c.tenants.first)
        #expect(t.numbers["100"]?.target == .menu("main"))
        let main = try #require(t.attendant.menus["main"])
        #expect(main.options["1"] == .transfer("sip:sales@pbx.acme.example"))
        #expect(main.options["9"] == .hangup && main.options["0"] == .repeat)
        #expect(main.timeout == .seconds(4) && main.retries == 2 && main.extensionDialing)
        #expect(main.greeting.prompt(for: .holiday) == "acme/closed")
        #expect(t.attendant.extensions["201"] == .transfer("sip:alice@pbx.acme.example"))
        #expect(t.attendant.schedule.hours[2] == [.init(start: 540, end: 1050)])
        #expect(t.attendant.schedule.hours[7] == [.init(start: 600, end: 720)])
        #expect(t.attendant.schedule.hours[1] == nil)
        #expect(t.attendant.schedule.holidays.contains(.init(year: 2026, month: 12, day: 25)))
        #expect(t.promptFolder == "/srv/prompts/tenants/acme")
    }

    @Test("basic licence: a second menu level is refused, naming the menu and the rule")
    func basicTwoLevels() {
        let text = Self.config(license: "basic")
            .replacingOccurrences(of: "          \"0\": repeat\n", with: "          \"0\": repeat\n          \"2\": { menu: support }\n")
            + "\n      support:\n        greeting: acme/support\n        options: { \"*\": previous }\n"
        #expect(error(text) == "p.yaml:26: tenants.acme.menus.support: the basic auto-attendant licence allows one menu level, but this menu is a sub-menu of 'main' (key 2); licenses.auto_attendant: standard allows sub-menus")
        #expect(error(text.replacingOccurrences(of: "auto_attendant: basic", with: "auto_attendant: standard")) == "no error")
    }

    @Test("basic licence: no holiday greeting")
    func basicHoliday() {
        let text = Self.config(license: "basic").replacingOccurrences(of: "closed: acme/closed }", with: "closed: acme/closed, holiday: acme/xmas }")
        #expect(error(text) == "p.yaml:15: tenants.acme.menus.main.greeting.holiday: the basic auto-attendant licence has no holiday greeting (licenses.auto_attendant: standard allows it)")
    }

    @Test("mistakes name the key: unknown menu, bad key, bad URI, bad hours, bad zone, bad date")
    func errors() {
        let base = Self.config()
        #expect(error(base.replacingOccurrences(of: "{ menu: main }", with: "{ menu: mian }"))
            == "p.yaml:11: tenants.acme.numbers.100.menu: no menu 'mian' in this tenant's menus")
        #expect(error(base.replacingOccurrences(of: "\"9\": hangup", with: "\"12\": hangup"))
            == "p.yaml:18: tenants.acme.menus.main.options.12: option key '12' must be one key: 0-9, * or #")
        #expect(error(base.replacingOccurrences(of: "\"9\": hangup", with: "\"9\": hangpu"))
            == "p.yaml:18: tenants.acme.menus.main.options.9: unknown action 'hangpu' (expected one of: conference, hangup, menu, play, previous, repeat, transfer, voicemail, voicemail_main)")
        #expect(error(base.replacingOccurrences(of: "\"sip:sales@pbx.acme.example\"", with: "\"sales desk\""))
            == "p.yaml:17: tenants.acme.menus.main.options.1.transfer: 'sales desk' is not a SIP URI (e.g. sip:sales@pbx.example.com)")
        #expect(error(base.replacingOccurrences(of: "Europe/Brussels", with: "Europe/Brussel"))
            == "p.yaml:7: tenants.acme.timezone: unknown time zone 'Europe/Brussel' (an IANA name such as Europe/Brussels)")
        #expect(error(Self.config(schedule: "    schedule: { hours: { mon-fry: \"09:00-17:00\" } }")).hasSuffix("'mon-fry' is not a day or day range (mon … sun, e.g. mon-fri or sat,sun)"))
        #expect(error(Self.config(schedule: "    schedule: { hours: { mon-fri: \"17:00-09:00\" } }")).hasSuffix("'17:00-09:00' is not a time range HH:MM-HH:MM (start before end, within 00:00-24:00) or 'closed'"))
        #expect(error(Self.config(schedule: "    schedule: { holidays: [2026-02-30] }"))
            == "p.yaml:9: tenants.acme.schedule.holidays[0]: '2026-02-30' is not a date YYYY-MM-DD")
        #expect(error(base.replacingOccurrences(of: "retries: 2", with: "retires: 2")).hasPrefix("p.yaml:22: tenants.acme.menus.main.retires: unknown key"))
    }

    @Test("a tenant's prompt folder: prompts/tenants/NAME by default, or its own (relative to the file)")
    func promptFolder() throws {
        let own = Self.config().replacingOccurrences(of: "    timezone: Europe/Brussels\n", with: "    timezone: Europe/Brussels\n    prompts: recordings/acme\n")
        let c = try ParleyConfig.parse(own, file: "/etc/parley/p.yaml")
        #expect(c.tenants.first?.promptFolder == "/etc/parley/recordings/acme")
    }

    @Test("day lists: ranges, lists and wrapping ranges")
    func days() {
        #expect(ParleyConfig.parseDays("mon-fri") == [2, 3, 4, 5, 6])
        #expect(ParleyConfig.parseDays("sat,sun") == [7, 1])
        #expect(ParleyConfig.parseDays("fri-mon") == [6, 7, 1, 2])
        #expect(ParleyConfig.parseDays("weekdays") == nil)
        #expect(ParleyConfig.parseRange("09:00-24:00") == .init(start: 540, end: 1440))
        #expect(ParleyConfig.parseRange("9-17") == nil)
    }
}
