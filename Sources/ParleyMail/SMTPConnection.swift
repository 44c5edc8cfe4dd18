import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One SMTP connection: send a command line, await its reply; STARTTLS puts swift-nio-ssl
/// in front of the reply decoder. Call from async code, one command at a time.
final class SMTPConnection {
    let channel: Channel
    let handler: SMTPReplyHandler
    let replyTimeout: TimeAmount

    private init(channel: Channel, handler: SMTPReplyHandler, replyTimeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.replyTimeout = replyTimeout
    }

    static func connect(_ settings: SMTPSettings, group: EventLoopGroup) async throws -> SMTPConnection {
        let handler = SMTPReplyHandler()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(settings.connectTimeoutSeconds))
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(SMTPReplyDecoder()), handler])
                }
            }
        do {
            let channel = try await bootstrap.connect(host: settings.host, port: settings.port).get()
            return SMTPConnection(channel: channel, handler: handler, replyTimeout: .seconds(settings.replyTimeoutSeconds))
        } catch {
            throw SMTPClientError.connectFailed("\(settings.host):\(settings.port): \(error)")
        }
    }

    /// The next reply, or `.timeout` (the connection is then closed).
    func reply(to step: String) async throws -> SMTPReply {
        let loop = channel.eventLoop
        let handler = self.handler
        let channel = self.channel
        let timeout = replyTimeout
        let future: EventLoopFuture<SMTPReply> = loop.flatSubmit {
            let promise = loop.makePromise(of: SMTPReply.self)
            let timer = loop.scheduleTask(in: timeout) {
                promise.fail(SMTPClientError.timeout(step))
                channel.close(promise: nil)
            }
            handler.nextReply(on: loop).whenComplete { result in
                timer.cancel()
                promise.completeWith(result)
            }
            return promise.futureResult
        }
        return try await future.get()
    }

    /// Sends one command line (CRLF added) and returns its reply. `shown` replaces the line
    /// in errors (AUTH must not log credentials).
    func command(_ line: String, shown: String? = nil) async throws -> SMTPReply {
        try await send(Array((line + "\r\n").utf8))
        return try await reply(to: shown ?? line)
    }

    func send(_ bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        do { try await channel.writeAndFlush(buffer).get() } catch { throw SMTPClientError.connectionClosed }
    }

    /// After the relay's 220 to STARTTLS: TLS in front of the decoder. A reply already
    /// buffered would be plain text the relay sent before TLS (a STARTTLS injection): refused.
    func startTLS(context: NIOSSLContext, serverHostname: String?) async throws {
        let handler = self.handler
        let channel = self.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            guard handler.bufferedReplies == 0 else {
                return channel.eventLoop.makeFailedFuture(SMTPClientError.protocolViolation("data after the STARTTLS reply"))
            }
            do {
                let tls = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
                try channel.pipeline.syncOperations.addHandler(tls, position: .first)
                return channel.eventLoop.makeSucceededVoidFuture()
            } catch {
                return channel.eventLoop.makeFailedFuture(SMTPClientError.tlsFailed("\(error)"))
            }
        }.get()
    }

    func close() async {
        try? await channel.close().get()
    }
}
