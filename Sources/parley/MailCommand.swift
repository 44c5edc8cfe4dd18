import ArgumentParser
import Foundation
import Logging
import ParleyMail
import ParleyServer
import ParleyStore
import ServiceLifecycle

/// `parley mail status|deliver|send`: the voicemail email spool.
struct MailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "Voicemail email: queue status, delivery service, resending a message.",
        discussion: "Example: parley mail status --config config/demo.yaml",
        subcommands: [Status.self, Deliver.self, Send.self])

    /// The configuration (mail: and storage:), loaded or exit 2.
    static func load(_ path: String) throws -> (ParleyConfig, ParleyConfig.Mail?) {
        do {
            let cfg = try ParleyConfig.load(path: path)
            return (cfg, cfg.mail)
        } catch {
            StoreExit.complain("\(error)")
            throw ExitCode(StoreExit.usage)
        }
    }

    static func requireMail(_ mail: ParleyConfig.Mail?, _ path: String) throws -> ParleyConfig.Mail {
        guard let mail else {
            StoreExit.complain("\(path): no mail: section (relay, from) is configured")
            throw ExitCode(StoreExit.usage)
        }
        return mail
    }

    /// The store for updating voicemails after delivery; nil when none exists yet.
    static func openStore(_ cfg: ParleyConfig, logger: Logger) throws -> SQLiteVoicemailStore? {
        guard FileManager.default.fileExists(atPath: "\(cfg.storage.dataDirectory)/\(SQLiteVoicemailStore.databaseFileName)") else { return nil }
        do {
            return try SQLiteVoicemailStore.open(dataDirectory: cfg.storage.dataDirectory,
                                                 busyTimeout: Double(cfg.storage.busyTimeoutMilliseconds) / 1000, logger: logger)
        } catch {
            throw StoreExit.failure(error)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the mail queue: depth, oldest age, delivered, deferred, failed.",
                                                        discussion: "Example: parley mail status --config config/demo.yaml --failed")
        @Option(name: .long, help: "The configuration file (its storage.data_dir holds spool/mail/).")
        var config: String
        @Flag(help: "Print one JSON object instead of text.") var json = false
        @Flag(help: "Also list the messages in failed/ with their reasons.") var failed = false

        func run() async throws {
            let (cfg, _) = try MailCommand.load(config)
            let spool: MailSpool
            do { spool = try MailSpool(dataDirectory: cfg.storage.dataDirectory) } catch {
                StoreExit.complain("\(error)")
                throw ExitCode(StoreExit.unavailable)
            }
            let s = spool.status(now: Date())
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(s), as: UTF8.self))
            } else {
                print("queued\t\(s.queued)")
                print("deferred\t\(s.deferred)")
                print("oldest_age_seconds\t\(s.oldestAgeSeconds)")
                print("failed\t\(s.failed)")
                print("delivered_total\t\(s.deliveredTotal)")
                print("deferred_total\t\(s.deferredTotal)")
                print("failed_total\t\(s.failedTotal)")
                if let r = s.lastReply { print("last_reply\t\(r)") }
            }
            if failed {
                for entry in spool.failedEntries() { print("failed:\t\(entry.name)\t\(entry.reason.replacingOccurrences(of: "\n", with: " | "))") }
            }
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the mail delivery service alone (until SIGTERM or SIGINT), e.g. in a separate process from the server.",
            discussion: """
                Only one process delivers from a spool at a time: while another holds it, this one waits.
                Example: parley mail deliver --config config/demo.yaml --once
                """)
        @Option(name: .long, help: "The configuration file (mail: and storage:).") var config: String
        @Flag(help: "Make one delivery pass over every due message, then exit.") var once = false
        @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

        func run() async throws {
            var logger = Logger(label: "parley.mail")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let (cfg, m) = try MailCommand.load(config)
            let mail = try MailCommand.requireMail(m, config)
            let store = try MailCommand.openStore(cfg, logger: logger)
            let service: MailDeliveryService
            do { service = try ServerMail.makeParts(config: cfg, mail: mail, store: store, logger: logger).service } catch {
                StoreExit.complain("\(error)")
                throw ExitCode(StoreExit.unavailable)
            }
            if once {
                guard await service.deliverOnce() else {
                    StoreExit.complain("another process delivers from \(service.spool.directory)")
                    throw ExitCode(StoreExit.refused)
                }
                let s = await service.status()
                print("queued \(s.queued), failed \(s.failed), delivered in all \(s.deliveredTotal)")
                return
            }
            // SIGTERM/SIGINT end the service after the message in hand (a session cut short
            // leaves its file in new/, sent again later).
            let group = ServiceGroupConfiguration(services: [.init(service: DeliveryRunner(service: service))],
                                                  gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await ServiceGroup(configuration: group).run()
        }
    }

    /// The delivery service alone, as a `Service` of the group `parley mail deliver` runs.
    struct DeliveryRunner: Service {
        let service: MailDeliveryService

        func run() async throws {
            await cancelWhenGracefulShutdown { await service.run() }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a stored message's email (again) to its mailbox's addresses; prints the spool file's name.",
            discussion: "Example: parley mail send --config config/demo.yaml demo 1001 1")
        @Option(name: .long, help: "The configuration file (mail:, storage: and the tenant's mail:).") var config: String
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @Argument(help: "Message id (from `messages list`).") var id: String

        func run() async throws {
            let (cfg, m) = try MailCommand.load(config)
            let mail = try MailCommand.requireMail(m, config)
            var logger = Logger(label: "parley.mail")
            logger.logLevel = .warning
            let key = try StoreExit.key(tenant, number)
            guard let store = try MailCommand.openStore(cfg, logger: logger), let settings = cfg.mailSettings(tenant: tenant) else {
                StoreExit.complain("no voicemail store in \(cfg.storage.dataDirectory), or no tenant \(tenant)")
                throw ExitCode(StoreExit.usage)
            }
            let (mailbox, message) = try await StoreExit.run { () throws(StoreError) -> (Mailbox, VoicemailMessage) in
                guard let mailbox = try await store.mailbox(key) else { throw .mailboxNotFound(key) }
                return (mailbox, try await store.message(id, of: key))
            }
            guard !message.damaged else {
                StoreExit.complain("message \(id) is flagged damaged (its audio was missing or unreadable)")
                throw ExitCode(StoreExit.refused)
            }
            let mailer: VoicemailMailer
            do { mailer = try ServerMail.makeParts(config: cfg, mail: mail, store: nil, logger: logger).mailer } catch {
                StoreExit.complain("\(error)")
                throw ExitCode(StoreExit.unavailable)
            }
            guard !mailbox.emails.isEmpty else {
                StoreExit.complain("mailbox \(key) has no email address")
                throw ExitCode(StoreExit.refused)
            }
            // Pending first: a running delivery service may send it as soon as it is spooled.
            try? await store.database.setEmailState(.pending, of: message.id, in: key)
            do {
                guard let name = try mailer.spool(message, mailbox: mailbox, settings: settings, audioFile: store.audioFile(message.audioPath)) else {
                    throw ExitCode(StoreExit.refused)
                }
                print(name)
            } catch let error as VoicemailMailError {
                try? await store.database.setEmailState(.failed, of: message.id, in: key)
                StoreExit.complain("\(error)")
                throw ExitCode(StoreExit.unavailable)
            }
        }
    }
}
