import Foundation
import Testing
@testable import ParleyServer

@Suite("Admin API configuration")
struct AdminConfigTests {
    static func file(_ admin: String) -> String {
        """
        sip:
          listen: ["udp:127.0.0.1:5070"]
        \(admin)
        tenants:
          acme:
            domains: [acme.example]
            numbers:
              "100": { play: welcome }
        """
    }

    func error(_ admin: String) -> String {
        do {
            _ = try ParleyConfig.parse(AdminConfigTests.file(admin), file: "p.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("no admin section: no admin API")
    func absent() throws {
        #expect(try ParleyConfig.parse(AdminConfigTests.file(""), file: "p.yaml").admin == nil)
    }

    @Test("the stated listener, token variable and body limit; loopback by default")
    func valid() throws {
        let c = try ParleyConfig.parse(AdminConfigTests.file("admin: { listen: \"[::1]:9001\", token_env: ACME_TOKEN, max_body: 2MB, max_event_streams: 4 }"), file: "p.yaml")
        let admin = try #require(c.admin)
        #expect(admin.maxEventStreams == 4)
        #expect(admin.host == "::1" && admin.port == 9001 && admin.isLoopback)
        #expect(admin.tokenEnvironmentVariable == "ACME_TOKEN")
        #expect(admin.maxBodyBytes == 2 * 1024 * 1024)
        let defaults = try #require(try ParleyConfig.parse(AdminConfigTests.file("admin: {}"), file: "p.yaml").admin)
        #expect(defaults.host == "127.0.0.1" && defaults.port == 8089 && defaults.isLoopback)
        #expect(defaults.tokenEnvironmentVariable == "PARLEY_ADMIN_TOKEN" && defaults.maxBodyBytes == 10 << 20)
        #expect(defaults.maxEventStreams == 32)
        var open = defaults
        open.host = "0.0.0.0"
        #expect(!open.isLoopback)
    }

    @Test("the token comes from the named variable; unset or blank means none")
    func token() {
        let admin = ParleyConfig.Admin()
        #expect(admin.token(environment: ["PARLEY_ADMIN_TOKEN": " s3cret \n"]) == "s3cret")
        #expect(admin.token(environment: ["PARLEY_ADMIN_TOKEN": "  "]) == nil)
        #expect(admin.token(environment: [:]) == nil)
    }

    @Test("mistakes name the line and the key")
    func errors() {
        #expect(error("admin: { listen: 127.0.0.1, token_env: X }") == "p.yaml:3: admin.listen: expected host:port, e.g. 127.0.0.1:8089")
        #expect(error("admin: { listen: \"127.0.0.1:70000\" }") == "p.yaml:3: admin.listen: expected host:port, e.g. 127.0.0.1:8089")
        #expect(error("admin: { max_event_streams: 0 }").hasPrefix("p.yaml:3: admin.max_event_streams:"))
        #expect(error("admin: { token: abc }").hasPrefix("p.yaml:3: admin.token: unknown key (expected one of: listen, max_body, max_event_streams, token_env)"))
        #expect(error("admin: { token_env: \"1BAD-NAME\" }").hasPrefix("p.yaml:3: admin.token_env: expected an environment variable name"))
        #expect(error("admin: { max_body: lots }") == "p.yaml:3: admin.max_body: expected a size such as 512KB or 10MB")
        #expect(error("admin: { max_body: 10 }") == "p.yaml:3: admin.max_body: must be between 1KB and 1GB")
        #expect(error("admin: [1]") == "p.yaml:3: admin: expected a mapping (key: value)")
    }
}
