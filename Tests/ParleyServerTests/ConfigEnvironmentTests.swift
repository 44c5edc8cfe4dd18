import Testing
@testable import ParleyServer

/// `${NAME}` in string values: secrets come from the environment, read at load.
@Suite("Configuration: environment references")
struct ConfigEnvironmentTests {
    static let withSecrets = """
        sip:
          listen: ["udp:127.0.0.1:5070"]
          auth:
            realm: sip.example.com
            users:
              alice: { password: "${ALICE_PW}", tenants: [acme] }
        tenants:
          acme:
            domains: ["${ACME_DOMAIN}", acme.example]
            numbers:
              "100": { play: "wel${PROMPT_SUFFIX}" }
        """

    func parse(_ env: [String: String]) throws -> ParleyConfig {
        try ParleyConfig.parse(Self.withSecrets, file: "p.yaml", environment: env)
    }

    @Test("references are replaced in every section: auth passwords, domains, prompt names")
    func replaced() throws {
        let c = try parse(["ALICE_PW": "s3cret", "ACME_DOMAIN": "pbx.acme.example", "PROMPT_SUFFIX": "come"])
        #expect(c.sip.auth?.users["alice"]?.password == "s3cret")
        #expect(c.tenant(forHost: "pbx.acme.example")?.name == "acme")
        #expect(c.tenants.first?.numbers["100"]?.target == .play(prompt: "welcome"))
    }

    @Test("an unset variable is an error naming the file, the line, the key and the variable")
    func unset() {
        #expect(throws: ConfigError(file: "p.yaml", line: 6, key: "sip.auth.users.alice.password",
                                    problem: "environment variable ALICE_PW is not set")) {
            try parse(["ACME_DOMAIN": "x", "PROMPT_SUFFIX": "come"])
        }
        #expect(throws: ConfigError(file: "p.yaml", line: 9, key: "tenants.acme.domains[0]",
                                    problem: "environment variable ACME_DOMAIN is not set")) {
            try parse(["ALICE_PW": "x", "PROMPT_SUFFIX": "come"])
        }
    }

    @Test("a malformed reference is an error; $${ is a literal ${")
    func malformed() throws {
        let env = ["ALICE_PW": "x", "ACME_DOMAIN": "x", "PROMPT_SUFFIX": "come"]
        let unclosed = Self.withSecrets.replacingOccurrences(of: "${ALICE_PW}", with: "${ALICE_PW")
        #expect(throws: ConfigError(file: "p.yaml", line: 6, key: "sip.auth.users.alice.password",
                                    problem: "'${' without a closing '}' (write $${ for a literal ${)")) {
            try ParleyConfig.parse(unclosed, file: "p.yaml", environment: env)
        }
        let badName = Self.withSecrets.replacingOccurrences(of: "${ALICE_PW}", with: "${1X}")
        #expect(throws: ConfigError(file: "p.yaml", line: 6, key: "sip.auth.users.alice.password",
                                    problem: "'${1X}' is not an environment variable name (letters, digits and _)")) {
            try ParleyConfig.parse(badName, file: "p.yaml", environment: env)
        }
        // The literal survives expansion (and then fails prompt-name validation, as any odd name would).
        let literal = Self.withSecrets + "\n      \"101\": { play: \"costs-$${x}\" }\n"
        #expect(throws: ConfigError(file: "p.yaml", line: 12, key: "tenants.acme.numbers.101.play",
                                    problem: "'costs-${x}' is not a valid prompt name")) {
            try ParleyConfig.parse(literal, file: "p.yaml", environment: env)
        }
    }
}
