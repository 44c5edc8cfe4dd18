import ArgumentParser
import Foundation
import ParleyStore

/// `parley mailbox add|list|set-pin|remove`.
struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Manage voicemail mailboxes.",
        discussion: "Example: parley mailbox list --config config/demo.yaml",
        subcommands: [Add.self, List.self, SetPIN.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a mailbox.",
                                                        discussion: "Example: parley mailbox add --config config/demo.yaml demo 1002 --name \"Ann Lee\" --pin 4711")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant (letters and digits).") var tenant: String
        @Argument(help: "Mailbox number (letters and digits).") var number: String
        @Option(help: "The owner's name.") var name: String = ""
        @Option(help: "Email address for notifications (repeatable).") var email: [String] = []
        @OptionGroup var pin: PINOptions
        @Flag(inversion: .prefixedNo, help: "Attach the audio to notification emails.") var attachAudio = true
        @Flag(help: "Delete a message once its email was accepted.") var deleteAfterEmail = false
        @Option(help: "Messages kept before the mailbox is full.") var maxMessages: Int = 100
        @Option(help: "Longest message, in seconds.") var maxMessageSeconds: Int = 180

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            let pinText = try pin.read()
            let s = try store.open(create: true)
            let mailbox = Mailbox(key: key, name: name, emails: email,
                                  options: MailboxOptions(attachAudio: attachAudio, deleteAfterEmail: deleteAfterEmail,
                                                          maxMessages: maxMessages, maxMessageSeconds: maxMessageSeconds))
            try await StoreExit.run { () throws(StoreError) in
                try await s.createMailbox(mailbox, pin: pinText, allowWeakPIN: pin.allowWeakPin, now: Date())
            }
            print("mailbox \(key) created")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List mailboxes with their message counts (tab-separated).",
                                                        discussion: "Example: parley mailbox list --data-dir var demo")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Only this tenant's mailboxes.") var tenant: String?

        func run() async throws {
            let s = try store.open()
            let rows = try await StoreExit.run { () throws(StoreError) -> [(Mailbox, FolderCounts)] in
                var out: [(Mailbox, FolderCounts)] = []
                for m in try await s.mailboxes(tenant: tenant) { out.append((m, try await s.counts(m.key))) }
                return out
            }
            print(["TENANT", "NUMBER", "NAME", "NEW", "URGENT", "OLD", "SAVED", "MAX", "EMAIL"].joined(separator: "\t"))
            for (m, c) in rows {
                print([m.key.tenant, m.key.number, m.name, "\(c.new)", "\(c.urgentNew)", "\(c.old)", "\(c.saved)",
                       "\(m.options.maxMessages)", m.emails.joined(separator: ",")].joined(separator: "\t"))
            }
        }
    }

    struct SetPIN: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-pin", abstract: "Set a mailbox's PIN (also clears a lockout).",
                                                        discussion: "Example: parley mailbox set-pin --config config/demo.yaml demo 1001 --pin 2580")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @OptionGroup var pin: PINOptions

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            let pinText = try pin.read()
            let s = try store.open()
            try await StoreExit.run { () throws(StoreError) in try await s.setPIN(pinText, for: key, allowWeakPIN: pin.allowWeakPin) }
            print("PIN of mailbox \(key) set")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a mailbox with its messages and greetings.",
                                                        discussion: "Example: parley mailbox remove --config config/demo.yaml demo 1002 --yes")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Tenant.") var tenant: String
        @Argument(help: "Mailbox number.") var number: String
        @Flag(help: "Remove it even though it holds messages.") var yes = false

        func run() async throws {
            let key = try StoreExit.key(tenant, number)
            let s = try store.open()
            let removed = try await StoreExit.run { () throws(StoreError) -> Int? in
                let counts = try await s.counts(key)
                let total = counts.kept + counts.deleted
                if total > 0 && !yes { return nil }
                return try await s.removeMailbox(key)
            }
            guard let removed else {
                StoreExit.complain("mailbox \(key) holds messages; add --yes to remove them with it")
                throw ExitCode(StoreExit.refused)
            }
            print("mailbox \(key) removed (\(removed) audio file(s))")
        }
    }
}
