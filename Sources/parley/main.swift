import ArgumentParser
import Foundation
import Logging
import ParleyServer
import ServiceLifecycle

@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "A SIP media server for IVR menus, voicemail and conferencing.",
        subcommands: [Serve.self, CheckConfig.self, DialCommand.self, MailboxCommand.self, MessagesCommand.self, MailCommand.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Append call events as JSON lines to this file.")
    var events: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var logger = Logger(label: "parley")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let cfg: ParleyConfig
        let server: ParleyServer
        do {
            cfg = try ParleyConfig.load(path: config)
            server = try await ParleyServer.start(config: cfg, eventsPath: events, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("parley: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // The server runs as a Service: SIGTERM/SIGINT start a graceful shutdown (drain within
        // `shutdown_grace`, a second signal ends calls at once), SIGHUP reloads (ParleyService).
        var group = ServiceGroupConfiguration(
            services: [.init(service: ParleyService(server: server, configPath: config, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A safety net only: the service itself ends calls when the grace period is over.
        group.maximumGracefulShutdownDuration = .milliseconds(cfg.shutdownGraceMilliseconds + 15_000)
        try await ServiceGroup(configuration: group).run()
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file and the prompts it names.")

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
