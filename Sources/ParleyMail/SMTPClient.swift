import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// What became of one recipient in one SMTP transaction.
public enum RecipientOutcome: Sendable, Equatable {
    /// The relay took responsibility (its 250 to the end of DATA).
    case accepted
    /// Try again later (4xx, a lost connection, a timeout).
    case deferred(String)
    /// Refused for good (5xx).
    case rejected(String)
}

/// Sends one message to a relay in one SMTP transaction (RFC 5321 §3.3): EHLO, STARTTLS
/// and AUTH when configured, MAIL FROM, one RCPT TO per recipient, DATA. The answer holds
/// one outcome per recipient, in order.
public struct SMTPClient: Sendable {
    public var settings: SMTPSettings
    let group: EventLoopGroup
    let tlsContext: NIOSSLContext?
    let logger: Logger

    public init(settings: SMTPSettings, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "parley.mail")) throws {
        self.settings = settings
        self.group = group
        self.logger = logger
        if settings.startTLS == .off {
            tlsContext = nil
        } else {
            // Full certificate verification (chain and host name); a private CA may be named.
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = settings.caFile { tls.trustRoots = .file(caFile) }
            tlsContext = try NIOSSLContext(configuration: tls)
        }
    }

    /// The outcome per recipient (in order); `connected` is false when the relay could not
    /// be reached at all (the delivery pass then defers the other due messages untried).
    public func send(from sender: MailAddress, to recipients: [MailAddress], message: Data) async -> (outcomes: [RecipientOutcome], connected: Bool) {
        let connection: SMTPConnection
        do {
            connection = try await SMTPConnection.connect(settings, group: group)
        } catch {
            return (recipients.map { _ in .deferred("\(error)") }, false)
        }
        return (await send(on: connection, from: sender, to: recipients, message: message), true)
    }

    func send(on connection: SMTPConnection, from sender: MailAddress, to recipients: [MailAddress], message: Data) async -> [RecipientOutcome] {
        var outcomes: [RecipientOutcome?] = Array(repeating: nil, count: recipients.count)
        do {
            try await transaction(connection, sender: sender, recipients: recipients, message: message, outcomes: &outcomes)
            _ = try? await connection.command("QUIT")
        } catch let SMTPClientError.unexpectedReply(step, reply) where reply.isPermanent && (step == "MAIL FROM" || step == "DATA") {
            // A 5xx to MAIL FROM or DATA refuses the message for every recipient still open.
            for i in outcomes.indices where outcomes[i] == nil || outcomes[i] == .accepted { outcomes[i] = .rejected("\(step): \(reply)") }
            _ = try? await connection.command("QUIT")
        } catch {
            // Anything else (4xx, lost connection, timeout, TLS): no recipient without a final
            // answer is lost; they are tried again. An accepted RCPT is not a delivery until
            // the 250 to DATA, so those are deferred too.
            for i in outcomes.indices where outcomes[i] == nil || outcomes[i] == .accepted { outcomes[i] = .deferred("\(error)") }
        }
        await connection.close()
        return outcomes.map { $0 ?? .deferred("no answer") }
    }

    /// Runs the session; sets a recipient's outcome as soon as it is final. On return
    /// (no throw) every outcome is set.
    func transaction(_ c: SMTPConnection, sender: MailAddress, recipients: [MailAddress], message: Data,
                     outcomes: inout [RecipientOutcome?]) async throws {
        try expect(try await c.reply(to: "greeting"), "greeting")
        var ehlo = try await c.command("EHLO \(settings.heloName)")
        if ehlo.isPermanent && settings.startTLS != .required && settings.username == nil {
            ehlo = try await c.command("HELO \(settings.heloName)")
        }
        try expect(ehlo, "EHLO")
        var secured = false
        if let tls = tlsContext {
            if ehlo.offers("STARTTLS") {
                try expect(try await c.command("STARTTLS"), "STARTTLS")
                // SNI and the name check need a host name, not an address literal.
                let hostIsName = !settings.host.contains(":") && !settings.host.allSatisfy { $0.isNumber || $0 == "." }
                try await c.startTLS(context: tls, serverHostname: hostIsName ? settings.host : nil)
                ehlo = try await c.command("EHLO \(settings.heloName)")
                try expect(ehlo, "EHLO after STARTTLS")
                secured = true
            } else if settings.startTLS == .required {
                throw SMTPClientError.tlsUnavailable
            }
        }
        if let user = settings.username {
            // RFC 4954 §4 and RFC 4616 §6: PLAIN and LOGIN carry the password in clear, so
            // credentials go out only inside TLS, unless the operator wrote `starttls: off`.
            // An `opportunistic` relay without STARTTLS is a deferral, never a plain-text AUTH.
            guard secured || settings.startTLS == .off else { throw SMTPClientError.authenticationNeedsTLS }
            try await authenticate(c, ehlo: ehlo, user: user, password: settings.password ?? "")
        }
        try expect(try await c.command("MAIL FROM:<\(sender.address)>"), "MAIL FROM")
        var anyAccepted = false
        for (i, r) in recipients.enumerated() {
            let reply = try await c.command("RCPT TO:<\(r.address)>")
            if reply.isPositive {
                outcomes[i] = .accepted
                anyAccepted = true
            } else if reply.isPermanent {
                outcomes[i] = .rejected("RCPT TO: \(reply)")
            } else {
                outcomes[i] = .deferred("RCPT TO: \(reply)")
            }
        }
        guard anyAccepted else {
            _ = try? await c.command("RSET")
            return
        }
        let data = try await c.command("DATA")
        guard data.code == 354 else { throw SMTPClientError.unexpectedReply(step: "DATA", reply: data) }
        try await c.send(Self.dotStuffed(message))
        let final = try await c.reply(to: "end of DATA")
        if final.isPositive {
            logger.debug("relay accepted", metadata: ["reply": "\(final)"])
            return  // accepted RCPTs stay `.accepted`
        }
        let outcome: RecipientOutcome = final.isPermanent ? .rejected("DATA: \(final)") : .deferred("DATA: \(final)")
        for i in outcomes.indices where outcomes[i] == .accepted { outcomes[i] = outcome }
    }

    func authenticate(_ c: SMTPConnection, ehlo: SMTPReply, user: String, password: String) async throws {
        let mechanisms = ehlo.authMechanisms
        if mechanisms.contains("PLAIN") {
            let token = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            try expect(try await c.command("AUTH PLAIN \(token)", shown: "AUTH PLAIN"), "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            let first = try await c.command("AUTH LOGIN")
            guard first.code == 334 else { throw SMTPClientError.unexpectedReply(step: "AUTH LOGIN", reply: first) }
            let second = try await c.command(Data(user.utf8).base64EncodedString(), shown: "AUTH LOGIN user")
            guard second.code == 334 else { throw SMTPClientError.unexpectedReply(step: "AUTH LOGIN user", reply: second) }
            try expect(try await c.command(Data(password.utf8).base64EncodedString(), shown: "AUTH LOGIN password"), "AUTH LOGIN")
        } else {
            throw SMTPClientError.authenticationUnavailable
        }
    }

    /// Only a 5xx to MAIL FROM or DATA refuses the message (see `send`); any other refusal
    /// (a 5xx greeting, EHLO, STARTTLS or AUTH — the operator's to fix, not the recipient's)
    /// is a deferral, retried until `max_age`.
    func expect(_ reply: SMTPReply, _ step: String) throws {
        guard reply.isPositive else { throw SMTPClientError.unexpectedReply(step: step, reply: reply) }
    }

    /// RFC 5321 §4.5.2: a line starting with "." gets one more; the data ends with CRLF.CRLF.
    static func dotStuffed(_ message: Data) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 64 + 8)
        var atLineStart = true
        for b in message {
            if atLineStart && b == UInt8(ascii: ".") { out.append(b) }
            out.append(b)
            atLineStart = b == UInt8(ascii: "\n")
        }
        if !(out.count >= 2 && out[out.count - 2] == 13 && out[out.count - 1] == 10) { out += [13, 10] }
        out += Array(".\r\n".utf8)
        return out
    }
}
