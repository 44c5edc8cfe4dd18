import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ParleyServer
import ParleyStore
import Prometheus
import ServiceLifecycle

/// A problem that keeps the admin API from starting (and the server with it).
public struct AdminStartError: Error, CustomStringConvertible {
    public var description: String
}

/// The admin HTTP API (Hummingbird 2) beside a running `ParleyServer`: JSON over HTTP/1.1,
/// every request authenticated with the bearer token from the environment variable that
/// `admin.token_env` names, `/metrics` for Prometheus under the same token.
///
/// Without a token the API is off, never open; a listen address other than loopback without
/// a token refuses to start. Handlers run on Hummingbird's own event loops and the
/// cooperative pool: they reach the SIP loop through `ParleyServer`'s async functions and
/// the store through its own connection pool, never a media thread.
public final class AdminServer: Service, Sendable {
    public let host: String
    /// The port bound (the configured one, or the one the system chose for port 0).
    public let port: Int
    private let group: ServiceGroup
    private let run: Task<Void, Never>
    private let poller: Task<Void, Never>?
    private let streams: EventStreams
    private let logger: Logger

    private init(host: String, port: Int, group: ServiceGroup, run: Task<Void, Never>, poller: Task<Void, Never>?, streams: EventStreams,
                 logger: Logger) {
        self.host = host; self.port = port; self.group = group; self.run = run; self.poller = poller; self.streams = streams
        self.logger = logger
    }

    /// Starts the API when `admin` is configured and its token is set; nil when it stays off.
    /// - Parameters:
    ///   - registry: the Prometheus registry from `MetricsExporter.bootstrap()`; nil: no `/metrics`.
    ///   - environment: where the token is looked up (the process's environment).
    public static func start(server: ParleyServer, admin: ParleyConfig.Admin, configPath: String, store: SQLiteVoicemailStore?,
                             registry: PrometheusCollectorRegistry?, logger: Logger,
                             environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> AdminServer? {
        guard let token = admin.token(environment: environment) else {
            guard admin.isLoopback else {
                throw AdminStartError(description: "admin.listen \(admin.host):\(admin.port) is not a loopback address and $\(admin.tokenEnvironmentVariable) is not set: refusing to serve the admin API without a token")
            }
            logger.warning("admin API off: $\(admin.tokenEnvironmentVariable) is not set (the API never runs without a token)")
            return nil
        }
        if token.utf8.count < 16 {
            logger.warning("the admin API token is shorter than 16 characters; use a long random one")
        }
        let exporter = registry.map { MetricsExporter(server: server, registry: $0) }
        let streams = EventStreams(events: server.events, limit: admin.maxEventStreams)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AdminErrorMiddleware())
        router.add(middleware: BearerTokenMiddleware(token: token))
        AdminRoutes(server: server, store: store, metrics: exporter, configPath: configPath, maxBody: admin.maxBodyBytes,
                    started: Date(), streams: streams).register(on: router)

        // Resolved once: with the bound port when the server runs, with the error if it cannot.
        let bound = BoundOnce()
        let app = Application(router: router, configuration: .init(address: .hostname(admin.host, port: admin.port), serverName: "parley"),
                              onServerRunning: { channel in bound.resolve(.success(channel.localAddress?.port ?? admin.port)) },
                              logger: logger)
        // Its own group, so `stop` can ask for a graceful shutdown (open requests finish).
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let run = Task {
            do {
                try await group.run()
            } catch {
                bound.resolve(.failure(error))
                if !Task.isCancelled { logger.error("admin API stopped", metadata: ["error": "\(error)"]) }
            }
            bound.resolve(.failure(AdminStartError(description: "the admin API stopped before it was listening")))
        }
        let port: Int
        do {
            port = try await bound.value()
        } catch {
            run.cancel()
            throw AdminStartError(description: "admin.listen \(admin.host):\(admin.port): cannot serve the admin API: \(error)")
        }
        let poller = exporter.map { exporter in Task { await exporter.run() } }
        logger.info("admin API listening", metadata: ["admin": "http://\(admin.host.contains(":") ? "[\(admin.host)]" : admin.host):\(port)"])
        return AdminServer(host: admin.host, port: port, group: group, run: run, poller: poller, streams: streams, logger: logger)
    }

    /// As a `Service`: already serving; stops on graceful shutdown (or cancellation).
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }

    /// Ends the event streams and stops the HTTP server.
    public func stop() async {
        streams.finishAll()
        poller?.cancel()
        await group.triggerGracefulShutdown()
        // Requests still open after 5 s are cut off.
        let run = self.run
        let deadline = Task {
            try? await Task.sleep(for: .seconds(5))
            run.cancel()
        }
        await run.value
        deadline.cancel()
    }
}

/// A value set once from any thread and awaited by one task.
final class BoundOnce: Sendable {
    private let state = NIOLockedValueBox<(result: Result<Int, any Error>?, waiter: CheckedContinuation<Int, any Error>?)>((nil, nil))

    func resolve(_ result: Result<Int, any Error>) {
        let waiter: CheckedContinuation<Int, any Error>? = state.withLockedValue { s in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Int, any Error>? = state.withLockedValue { s in
                if let r = s.result { return r }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
