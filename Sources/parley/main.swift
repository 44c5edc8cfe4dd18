import ArgumentParser
import Foundation
import Logging
import ParleyAdmin
import ParleyServer
import ServiceLifecycle

@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "A SIP media server for IVR menus, voicemail and conferencing.",
        discussion: """
            Start with the demo configuration, then call it:
              parley serve --config config/demo.yaml --events var/events.jsonl
              parley dial sip:200@127.0.0.1:5060 --digits ",,,2" --duration 8
            Each subcommand has its own --help with an example.
            """,
        subcommands: [Serve.self, CheckConfig.self, DialCommand.self, MailboxCommand.self, MessagesCommand.self, MailCommand.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: SIP on the configuration's listen addresses, until SIGTERM or SIGINT.",
        discussion: """
            Example: parley serve --config config/demo.yaml --events var/events.jsonl
            config/demo.yaml is a complete demo (menus, voicemail, a conference room) on udp:127.0.0.1:5060.
            """)

    @Option(name: .long, help: "The configuration file (YAML); try config/demo.yaml.")
    var config: String?

    @Option(name: .long, help: "Append call events as JSON lines to this file.")
    var events: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let config else {
            FileHandle.standardError.write(Data("""
                parley serve: which configuration? Give --config FILE; to try the demo (SIP on udp:127.0.0.1:5060):
                  parley serve --config config/demo.yaml --events var/events.jsonl

                """.utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "parley")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let cfg: ParleyConfig
        let server: ParleyServer
        let admin: AdminServer?
        do {
            cfg = try ParleyConfig.load(path: config)
            // Metrics first: counters made before the bootstrap would stay no-ops.
            let registry = cfg.admin != nil ? MetricsExporter.bootstrap() : nil
            server = try await ParleyServer.start(config: cfg, eventsPath: events, logger: logger)
            do {
                if let settings = cfg.admin {
                    admin = try await AdminServer.start(server: server, admin: settings, configPath: config,
                                                        store: server.voicemail.sqlite, registry: registry, logger: logger)
                } else {
                    admin = nil
                }
            } catch {
                await server.shutdown()
                throw error
            }
        } catch {
            FileHandle.standardError.write(Data("parley: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // The server runs as a Service: SIGTERM/SIGINT start a graceful shutdown (drain within
        // `shutdown_grace`, a second signal ends calls at once), SIGHUP reloads (ParleyService).
        var group = ServiceGroupConfiguration(
            // The admin API first: the group stops services in reverse order, so it still
            // answers (readiness: draining) while the calls drain.
            services: (admin.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
                + [.init(service: ParleyService(server: server, configPath: config, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A safety net only: the service itself ends calls when the grace period is over.
        group.maximumGracefulShutdownDuration = .milliseconds(cfg.shutdownGraceMilliseconds + 15_000)
        try await ServiceGroup(configuration: group).run()
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file and the prompts it names.",
                                                    discussion: "Example: parley check-config config/demo.yaml")

    @Argument(help: "The configuration file (YAML).")
    var file: String

    func run() throws {
        do {
            let cfg = try ParleyConfig.load(path: file)
            let problems = cfg.missingPrompts()
            for p in problems { print(p) }
            if !problems.isEmpty { throw ExitCode(1) }
            print("\(file): OK (\(cfg.tenants.count) tenant(s), \(cfg.tenants.reduce(0) { $0 + $1.numbers.count }) number(s))")
        } catch let e as ConfigError {
            FileHandle.standardError.write(Data("\(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}
