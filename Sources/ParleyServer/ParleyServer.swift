import Logging
import NIOCore
import NIOPosix
import ParleyMedia

/// The running server: SIP listener, media engine, event log. Built by `start`, stopped
/// by `shutdown`. The composition root used by the CLI and by tests alike.
public final class ParleyServer: @unchecked Sendable {
    public let config: ParleyConfig
    public let events: EventLog
    public let media: MediaEngine
    let group: MultiThreadedEventLoopGroup
    let sipChannel: Channel
    let controller: CallController
    let logger: Logger

    /// The SIP address actually bound (useful when the configuration asks for port 0).
    public var sipAddress: SocketAddress? { sipChannel.localAddress }

    private init(config: ParleyConfig, events: EventLog, media: MediaEngine, group: MultiThreadedEventLoopGroup,
                 sipChannel: Channel, controller: CallController, logger: Logger) {
        self.config = config; self.events = events; self.media = media; self.group = group
        self.sipChannel = sipChannel; self.controller = controller; self.logger = logger
    }

    /// Loads every prompt the configuration names (so no caller discovers a missing one),
    /// binds the SIP socket and starts the media clock.
    public static func start(config: ParleyConfig, eventsPath: String?, logger: Logger,
                             threads: Int = System.coreCount) async throws -> ParleyServer {
        let prompts = PromptCache(directory: config.prompts)
        // Every rate a leg may ask for is decoded now, so no call waits on file I/O.
        let rates = config.rtp.codecs.contains(.opus) ? PromptCache.rates : [8000]
        for (name, usedBy) in config.referencedPrompts {
            do { for rate in rates { _ = try prompts.prompt(name, rate: rate) } } catch {
                throw ConfigError(file: config.file, line: nil, key: usedBy, problem: "\(error)")
            }
        }
        let events = try EventLog(path: eventsPath, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let media = MediaEngine(group: group, bindHost: config.rtp.bind, ports: PortAllocator(range: config.rtp.ports), logger: logger)
        guard let listen = config.sip.listen.first else {
            throw ConfigError(file: config.file, line: nil, key: "sip.listen", problem: "no listen address")
        }
        let sipLoop = group.next()
        let localHost = listen.host == "0.0.0.0" || listen.host == "::" ? config.rtp.advertise : listen.host
        let controller = CallController(loop: sipLoop, config: config, media: media, prompts: prompts, events: events,
                                        logger: logger, localHost: localHost, localPort: listen.port)
        let channel: Channel
        do {
            channel = try await DatagramBootstrap(group: sipLoop)
                .channelInitializer { ch in ch.pipeline.addHandler(SIPUDPHandler(controller: controller)) }
                .bind(host: listen.host, port: listen.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw ConfigError(file: config.file, line: nil, key: "sip.listen", problem: "cannot bind \(listen): \(error)")
        }
        media.start()
        logger.info("listening", metadata: ["sip": "\(listen)", "rtp": "\(config.rtp.bind):\(config.rtp.ports.lowerBound)-\(config.rtp.ports.upperBound)"])
        return ParleyServer(config: config, events: events, media: media, group: group, sipChannel: channel,
                            controller: controller, logger: logger)
    }

    /// Waits until the SIP socket closes.
    public func waitUntilClosed() async throws {
        try await sipChannel.closeFuture.get()
    }

    /// Refuses new calls (503 + Retry-After) and waits until no call is left or the grace
    /// period has passed, whichever comes first. Cancellation ends the wait early.
    public func drain(graceMilliseconds: Int64) async {
        let controller = self.controller
        try? await sipChannel.eventLoop.submit { controller.draining = true }.get()
        let deadline = NIODeadline.now() + .milliseconds(graceMilliseconds)
        while NIODeadline.now() < deadline, !Task.isCancelled {
            let active = (try? await sipChannel.eventLoop.submit { controller.activeCallCount }.get()) ?? 0
            if active == 0 { return }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// Ends calls (BYE to established ones), closes sockets and stops the loops.
    public func shutdown() async {
        let controller = self.controller
        try? await sipChannel.eventLoop.submit { controller.endAll() }.get()
        // Let the BYEs leave before the socket closes.
        try? await Task.sleep(nanoseconds: 50_000_000)
        try? await sipChannel.close()
        media.stop()
        events.close()
        try? await group.shutdownGracefully()
    }
}
