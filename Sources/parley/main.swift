import ArgumentParser
import Foundation
import Logging
import ParleyAdmin
import ParleyServer
import ParleyStore

@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "A SIP media server for IVR menus, voicemail and conferencing.",
        subcommands: [Serve.self, CheckConfig.self, MailboxCommand.self, MessagesCommand.self])
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
        let admin: AdminServer?
        do {
            cfg = try ParleyConfig.load(path: config)
            // Metrics first: counters made before the bootstrap would stay no-ops.
            let registry = cfg.admin != nil ? MetricsExporter.bootstrap() : nil
            server = try await ParleyServer.start(config: cfg, eventsPath: events, logger: logger)
            do {
                if let settings = cfg.admin {
                    admin = try await AdminServer.start(server: server, admin: settings, configPath: config,
                                                        store: try Self.openStore(cfg), registry: registry, logger: logger)
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
        // SIGHUP re-reads the file; a bad file keeps the old configuration (logged).
        let hangups = SignalWatcher(signals: [SIGHUP])
        let configPath = config
        let reloader = Task {
            for await _ in hangups.stream() { await server.reload(path: configPath) }
        }
        // The watcher owns the signal sources: it must live as long as the server runs.
        let watcher = SignalWatcher(signals: [SIGTERM, SIGINT])
        var iterator = watcher.stream().makeAsyncIterator()
        _ = await iterator.next()
        // First signal: take no new calls, let calls in progress finish within the grace
        // period. A second signal ends them at once.
        logger.info("draining: new calls are refused; waiting up to \(cfg.shutdownGraceMilliseconds) ms for calls to end")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await server.drain(graceMilliseconds: cfg.shutdownGraceMilliseconds) }
            group.addTask { _ = await iterator.next() }
            _ = await group.next()
            group.cancelAll()
        }
        reloader.cancel()
        logger.info("stopping")
        await admin?.stop()
        await server.shutdown()
        withExtendedLifetime((watcher, hangups)) {}
    }
}

extension Serve {
    /// The voicemail store the admin API manages.
    static func openStore(_ cfg: ParleyConfig) throws -> SQLiteVoicemailStore {
        try SQLiteVoicemailStore.open(dataDirectory: cfg.storage.dataDirectory,
                                      busyTimeout: TimeInterval(cfg.storage.busyTimeoutMilliseconds) / 1000)
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

/// Delivers the given signals as an async stream (the default action is disabled for them).
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let signals: [Int32]

    init(signals: [Int32]) { self.signals = signals }

    func stream() -> AsyncStream<Int32> {
        AsyncStream { continuation in
            for sig in signals {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { continuation.yield(sig) }
                source.resume()
                sources.append(source)
            }
        }
    }
}
