import Logging
import ServiceLifecycle
import UnixSignals

/// The running server as a `Service` (swift-service-lifecycle), for a `ServiceGroup` whose
/// graceful-shutdown signals are SIGTERM and SIGINT.
///
/// Graceful shutdown: new INVITEs get 503 + Retry-After, calls in progress go on until they
/// end or `config.shutdownGraceMilliseconds` passes, then the rest get BYE, their flows finish
/// and recordings close, and `run` returns (the process exits 0). A second SIGTERM or SIGINT
/// during that wait ends the calls at once, by the same path, so recordings are still closed
/// and committed. SIGHUP re-reads the configuration file (a bad file keeps the old one).
public struct ParleyService: Service, CustomStringConvertible {
    let server: ParleyServer
    let configPath: String?
    let logger: Logger

    public init(server: ParleyServer, configPath: String?, logger: Logger) {
        self.server = server; self.configPath = configPath; self.logger = logger
    }

    /// How the service group's log lines name it.
    public var description: String { "ParleyService(\(configPath ?? "no file"))" }

    public func run() async throws {
        let server = self.server
        let configPath = self.configPath
        // Registered now, beside the group's own: the group reacts to the first signal only.
        let stops = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let (secondStop, secondStopContinuation) = AsyncStream<Void>.makeStream()
        await withTaskGroup(of: Void.self) { background in
            background.addTask {
                var count = 0
                for await _ in stops {
                    count += 1
                    if count >= 2 { secondStopContinuation.yield() }
                }
            }
            if let configPath {
                background.addTask {
                    for await _ in hangups { await server.reload(path: configPath) }
                }
            }
            // Serve until the group asks for graceful shutdown (or cancels us).
            try? await gracefulShutdown()
            let grace = server.config.shutdownGraceMilliseconds
            logger.info("draining: new calls are refused; waiting for calls to end", metadata: ["grace_ms": "\(grace)"])
            await withTaskGroup(of: Bool.self) { wait in
                wait.addTask { await server.drain(graceMilliseconds: grace); return false }
                wait.addTask {
                    var it = secondStop.makeAsyncIterator()
                    return await it.next() != nil
                }
                if await wait.next() == true { logger.notice("second stop signal: ending calls now") }
                wait.cancelAll()
            }
            logger.info("stopping")
            await server.shutdown()
            secondStopContinuation.finish()
            background.cancelAll()
        }
    }
}
