import Foundation
import Logging
import Testing
@testable import ParleyMail

/// SMTP AUTH is never sent without TLS unless `starttls: off` is explicit (RFC 4954 §4):
/// a scripted relay on loopback offers AUTH PLAIN but no STARTTLS and records every line.
@Suite("SMTP: credentials only inside TLS")
struct SMTPAuthTLSTests {
    /// One-connection relay on 127.0.0.1: greets, offers AUTH without STARTTLS, accepts all.
    final class ScriptedRelay: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        private let lock = NSLock()
        private var lines: [String] = []
        private let done = DispatchSemaphore(value: 0)

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 1) == 0 else {
                close(fd)
                throw POSIXError(.EADDRINUSE)
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            listener = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread { [self] in serve() }.start()
        }

        var received: [String] { lock.withLock { lines } }

        func waitUntilClosed() { _ = done.wait(timeout: .now() + 10) }

        private func serve() {
            defer { close(listener); done.signal() }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) } }
            send("220 relay.test ESMTP\r\n")
            var buffer: [UInt8] = []
            var inData = false
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &chunk, chunk.count)
                guard n > 0 else { return }
                buffer += chunk[0..<n]
                while let end = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: .newlines)
                    buffer.removeSubrange(...end)
                    if inData {
                        if line == "." { inData = false; send("250 queued\r\n") }
                        continue
                    }
                    lock.withLock { lines.append(line) }
                    switch line.prefix(4).uppercased() {
                    case "EHLO": send("250-relay.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                    case "AUTH": send("235 2.7.0 accepted\r\n")
                    case "MAIL", "RCPT": send("250 ok\r\n")
                    case "DATA": inData = true; send("354 go\r\n")
                    case "QUIT": send("221 bye\r\n"); return
                    default: send("502 no\r\n")
                    }
                }
            }
        }
    }

    static func send(_ mode: SMTPSettings.StartTLS, to relay: ScriptedRelay) async throws -> RecipientOutcome? {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let settings = SMTPSettings(host: "127.0.0.1", port: relay.port, startTLS: mode, username: "parley", password: "s3cret",
                                    heloName: "test.example")
        let client = try SMTPClient(settings: settings, logger: logger)
        let (outcomes, connected) = await client.send(from: MailAddress("vm@acme.example")!, to: [MailAddress("a@x.example")!],
                                                      message: Data("Subject: t\r\n\r\nhello\r\n".utf8))
        #expect(connected)
        relay.waitUntilClosed()
        return outcomes.first
    }

    @Test("Given opportunistic STARTTLS and a relay without it, AUTH is never sent and the message is deferred with the reason")
    func opportunisticWithoutTLS() async throws {
        let relay = try ScriptedRelay()
        let outcome = try await Self.send(.opportunistic, to: relay)
        guard case let .deferred(reason)? = outcome else { Issue.record("\(String(describing: outcome))"); return }
        #expect(reason.contains("not sent in plain text"), "\(reason)")
        #expect(!relay.received.contains { $0.uppercased().hasPrefix("AUTH") }, "\(relay.received)")
        #expect(!relay.received.contains { $0.uppercased().hasPrefix("MAIL") })
    }

    @Test("Given starttls: off written explicitly, AUTH PLAIN is sent and the message accepted")
    func explicitlyOff() async throws {
        let relay = try ScriptedRelay()
        let outcome = try await Self.send(.off, to: relay)
        #expect(outcome == .accepted)
        #expect(relay.received.contains { $0.hasPrefix("AUTH PLAIN ") }, "\(relay.received)")
    }
}
