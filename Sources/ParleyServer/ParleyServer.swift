import Foundation
import Logging
import NIOCore
import NIOPosix
import ParleyMedia
import ParleyStore

/// The running server: SIP listener, media engine, event log. Built by `start`, stopped
/// by `shutdown`. The composition root used by the CLI and by tests alike.
public final class ParleyServer: @unchecked Sendable {
    public let config: ParleyConfig
    public let events: EventLog
    public let media: MediaEngine
    let group: MultiThreadedEventLoopGroup
    let sipChannel: Channel
    let otherChannels: [Channel]
    let controller: CallController
    let logger: Logger
    /// Voicemail storage, provisioning and message waiting (VoicemailService.swift).
    public let voicemail: VoicemailService
    /// Voicemail to email, when `mail:` is configured (ServerMail.swift).
    public internal(set) var mail: ServerMail?

    /// The SIP address actually bound (useful when the configuration asks for port 0).
    public var sipAddress: SocketAddress? { sipChannel.localAddress }

    private init(config: ParleyConfig, events: EventLog, media: MediaEngine, group: MultiThreadedEventLoopGroup,
                 sipChannel: Channel, otherChannels: [Channel], controller: CallController, logger: Logger, voicemail: VoicemailService) {
        self.config = config; self.events = events; self.media = media; self.group = group
        self.sipChannel = sipChannel; self.otherChannels = otherChannels; self.controller = controller; self.logger = logger
        self.voicemail = voicemail
    }

    /// Tells `observer` of every voicemail message deposited, after its row is committed
    /// (e.g. to spool the notification email). See `VoicemailService.onMessageDeposited`.
    public func onMessageDeposited(_ observer: @escaping @Sendable (VoicemailMessage, Mailbox) async -> Void) {
        voicemail.onMessageDeposited(observer)
    }

    /// Loads every prompt the configuration names (so no caller discovers a missing one),
    /// binds the SIP socket and starts the media clock.
    /// The one line an operator reads when a listen address cannot be bound: what and what to do.
    static func bindProblem(_ address: String, _ error: Error) -> String {
        switch (error as? IOError)?.errnoCode {
        case EADDRINUSE?:
            return "\(address) is already in use (another parley or SIP server?): stop it, or choose another address in sip.listen"
        case EACCES?:
            return "\(address): permission denied (ports below 1024 need privileges): choose a port of 1024 or more in sip.listen"
        case EADDRNOTAVAIL?:
            return "\(address): no interface of this machine has that address: choose one of its addresses (or 0.0.0.0) in sip.listen"
        default:
            return "cannot bind \(address) (\(error)): check sip.listen"
        }
    }

    public static func start(config: ParleyConfig, eventsPath: String?, logger: Logger,
                             threads: Int = System.coreCount) async throws -> ParleyServer {
        let prompts = PromptCache(directory: config.prompts)
        // Every rate a leg may ask for is decoded now, so no call waits on file I/O.
        let rates = config.rtp.codecs.contains(.opus) ? PromptCache.rates : [8000]
        if ProcessInfo.processInfo.environment["PARLEY_TEST_NOW"] != nil {
            _ = CallController.wallClock()
            logger.warning("PARLEY_TEST_NOW is set: schedules run on a test clock, not the real time")
        }
        let library = PromptLibrary(config: config, system: prompts)
        try library.preload(config, rates: rates)
        // Before any call: the store is opened, reconciled and the mailboxes provisioned.
        let voicemail = try await VoicemailService.start(config: config, logger: logger)
        let events = try EventLog(path: eventsPath, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let media = MediaEngine(group: group, bindHost: config.rtp.bind, ports: PortAllocator(range: config.rtp.ports), logger: logger)
        guard let first = config.sip.listen.first else {
            throw ConfigError(file: config.file, line: nil, key: "sip.listen", problem: "no listen address")
        }
        let sipLoop = group.next()
        ParleyServer.raiseDescriptorLimit(logger: logger)
        let localHost = first.host == "0.0.0.0" || first.host == "::" ? config.rtp.advertise : first.host
        let controller = CallController(loop: sipLoop, config: config, media: media, prompts: prompts, events: events,
                                        logger: logger, localHost: localHost, localPort: first.port)
        controller.library = library
        _ = controller.conferences // created before any other thread can ask for it
        controller.voicemail = voicemail
        controller.messageSummaries = voicemail.summaries
        voicemail.setPublisher { [weak controller] tenant, mailbox, summary in
            controller?.publishMessageSummary(tenant: tenant, mailbox: mailbox, summary: summary)
        }
        var udpChannel: Channel?
        var channels: [Channel] = []
        var binding = config.sip.listen.first?.description ?? ""
        do {
            for listen in config.sip.listen {
                binding = listen.description
                switch listen.transport {
                case .udp:
                    let ch = try await DatagramBootstrap(group: sipLoop)
                        // NIO reads 2048 bytes per datagram by default; SIP over UDP may use up to 64 KiB.
                        .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                        .channelInitializer { ch in ch.pipeline.addHandler(SIPUDPHandler(controller: controller)) }
                        .bind(host: listen.host, port: listen.port).get()
                    _ = await SIPReceiveBuffer.configure(ch, bytes: config.sip.receiveBufferBytes, logger: logger)
                    SIPReceiveBuffer.watchDrops(ch, logger: logger)
                    if udpChannel == nil { udpChannel = ch }
                    channels.append(ch)
                case .tcp:
                    // Child channels on the SIP loop too: the controller is confined to it. The
                    // gate refuses connections over sip.tcp's caps at accept.
                    let gate = SIPConnectionGate(controller: controller, settings: config.sip.tcp)
                    let ch = try await ServerBootstrap(group: sipLoop)
                        .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                        .serverChannelOption(ChannelOptions.backlog, value: 1024)
                        .childChannelInitializer { ch in gate.initialize(ch) }
                        .bind(host: listen.host, port: listen.port).get()
                    channels.append(ch)
                }
            }
        } catch {
            for ch in channels { try? await ch.close() }
            try? await group.shutdownGracefully()
            throw ConfigError(file: config.file, line: nil, key: "sip.listen", problem: ParleyServer.bindProblem(binding, error))
        }
        let udp = udpChannel
        controller.attach(send: { message, peer in
            if let status = message.status { ParleyMetrics.sipResponseSent(status) }
            let bytes = message.serialized()
            if let connection = peer.connection {
                var buffer = connection.allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                connection.writeAndFlush(buffer, promise: nil)
            } else if let udp {
                var buffer = udp.allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                udp.writeAndFlush(AddressedEnvelope(remoteAddress: peer.address, data: buffer), promise: nil)
            }
        })
        let channel = channels[0]
        try? await sipLoop.submit { controller.announceMessageWaiting() }.get()
        media.start()
        logger.info("listening", metadata: ["sip": "\(config.sip.listen.map(\.description).joined(separator: ","))", "rtp": "\(config.rtp.bind):\(config.rtp.ports.lowerBound)-\(config.rtp.ports.upperBound)"])
        let server = ParleyServer(config: config, events: events, media: media, group: group, sipChannel: channel,
                                  otherChannels: Array(channels.dropFirst()), controller: controller, logger: logger, voicemail: voicemail)
        server.mail = try server.startMail()
        return server
    }

    /// Raises the soft limit on open files to the hard limit, so `sip.tcp.max_connections`
    /// (10,000 by default) plus media sockets fit; the usual soft limit is 1,024. Logs the
    /// limit in force.
    static func raiseDescriptorLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        logger.info("open file limit", metadata: ["soft": "\(limit.rlim_cur)", "hard": "\(limit.rlim_max)"])
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

    /// Ends calls (BYE to established ones), lets their flows finish and their recordings
    /// close (up to `settleMilliseconds`), closes sockets and stops the loops.
    public func shutdown(settleMilliseconds: Int64 = 5_000) async {
        let controller = self.controller
        let flows = (try? await sipChannel.eventLoop.submit { () -> [LegCallChannel] in
            let flows = controller.calls.values.compactMap(\.flow)
            controller.endAll()
            controller.terminateSubscriptions()
            return flows
        }.get()) ?? []
        await ParleyServer.settle(flows, withinMilliseconds: settleMilliseconds, logger: logger)
        // Let the BYEs leave before the socket closes.
        try? await Task.sleep(nanoseconds: 50_000_000)
        for ch in otherChannels { try? await ch.close() }
        try? await sipChannel.close()
        await mail?.stop()
        media.stop()
        events.close()
        try? await group.shutdownGracefully()
    }
}
