import ArgumentParser
import Foundation
import ParleyDSP
import ParleyStore

/// `parley messages list|export|delete|deposit`.
struct MessagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages", abstract: "List, export, delete or deposit voicemail messages.",
        discussion: "Example: parley messages list --config config/demo.yaml demo 1001",
        subcommands: [List.self, Export.self, Delete.self, Deposit.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a mailbox's messages (tab-separated; urgent first, then oldest first).",
                                                        discussion: "Example: parley messages list --config config/demo.yaml demo 1001 --folder new")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @Option(help: "Only this folder: new, old, saved or deleted.") var folder: String?

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            var only: Folder?
            if let folder {
                guard let f = Folder(rawValue: folder) else { throw ValidationError("--folder must be new, old, saved or deleted") }
                only = f
            }
            let s = try store.open()
            let messages = try await StoreExit.run { () throws(StoreError) -> [VoicemailMessage] in
                guard try await s.mailbox(key) != nil else { throw .mailboxNotFound(key) }
                if let only { return try await s.messages(in: only, of: key) }
                return try await s.allMessages(of: key)
            }
            let time = ISO8601DateFormatter()
            print(["ID", "FOLDER", "URGENT", "RECEIVED", "SECONDS", "CALLER", "CALLER_NAME", "EMAIL", "STATE"].joined(separator: "\t"))
            for m in messages {
                print([m.id, m.folder.rawValue, m.urgent ? "yes" : "no", time.string(from: m.receivedAt),
                       String(format: "%.1f", Double(m.durationMilliseconds) / 1000), m.callerNumber, m.callerName,
                       m.emailState.rawValue, m.damaged ? "damaged" : "ok"].joined(separator: "\t"))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy a message's audio (WAV) to a file.",
                                                        discussion: "Example: parley messages export --config config/demo.yaml demo 1001 1 message.wav")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @Argument(help: "Message id (from `messages list`).") var id: String
        @Argument(help: "The file to write.") var output: String
        @Flag(help: "Overwrite the output file if it exists.") var force = false

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            let s = try store.open()
            let message = try await StoreExit.run { () throws(StoreError) in try await s.message(id, of: key) }
            guard !message.damaged, let source = s.audioFile(message.audioPath) else {
                StoreExit.complain("message \(id) is flagged damaged (its audio was missing or unreadable)")
                throw ExitCode(StoreExit.refused)
            }
            if FileManager.default.fileExists(atPath: output) {
                guard force else {
                    StoreExit.complain("\(output) exists; add --force to overwrite it")
                    throw ExitCode(StoreExit.refused)
                }
                try? FileManager.default.removeItem(atPath: output)
            }
            do {
                try FileManager.default.copyItem(atPath: source, toPath: output)
            } catch {
                StoreExit.complain("cannot write \(output): \((error as NSError).localizedDescription)")
                throw ExitCode(StoreExit.unavailable)
            }
            print("message \(id) exported to \(output) (\(message.durationMilliseconds) ms)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a message (row, then audio file).",
                                                        discussion: "Example: parley messages delete --config config/demo.yaml demo 1001 1")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @Argument(help: "Message id.") var id: String
        @Flag(help: "Only move it to the deleted folder (the owner can still undelete it until purged).") var pending = false

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            let s = try store.open()
            try await StoreExit.run { () throws(StoreError) in
                if pending { try await s.markDeleted(id, of: key) } else { try await s.deleteMessage(id, of: key) }
            }
            print(pending ? "message \(id) moved to deleted" : "message \(id) deleted")
        }
    }

    struct Deposit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store an audio file as a new message (import).",
                                                        discussion: "Example: parley messages deposit --config config/demo.yaml demo 1001 hello.wav --caller-number 3225551234 --caller-name \"Ann Lee\"")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @Argument(help: "The audio file (WAV or anything libsndfile reads; stored as 16-bit WAV).") var file: String
        @Option(help: "Caller number.") var callerNumber: String = ""
        @Option(help: "Caller name.") var callerName: String = ""
        @Flag(help: "Mark the message urgent.") var urgent = false
        @Option(help: .hidden) var crashAfter: String?

        func validate() throws {
            if let step = crashAfter, DepositStep(rawValue: step) == nil {
                throw ValidationError("--crash-after: one of \(DepositStep.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            let audio: PCMAudio
            do { audio = try PCMAudio.read(path: file) } catch {
                StoreExit.complain("\(error)")
                throw ExitCode(StoreExit.refused)
            }
            // Test only: kill -9 ourselves at one stage of the deposit, so the crash tests
            // can check that every stage leaves a complete message or none.
            let crashStep = crashAfter.flatMap(DepositStep.init(rawValue:))
            let s = try store.open(create: true, stepObserver: crashStep.map { target in
                { @Sendable step in if step == target { kill(getpid(), SIGKILL) } }
            })
            let envelope = MessageEnvelope(callerNumber: callerNumber, callerName: callerName, receivedAt: Date(), urgent: urgent)
            let message = try await StoreExit.run { () throws(StoreError) in try await s.deposit(audio, into: key, envelope: envelope) }
            print(message.id)
        }
    }
}
