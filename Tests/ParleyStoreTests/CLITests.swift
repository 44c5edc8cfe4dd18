import Foundation
import ParleyDSP
import Testing
@testable import ParleyStore

/// The `parley mailbox` and `parley messages` commands, run as a real process.
@Suite("Store: parley mailbox / messages CLI")
struct CLITests {
    let f = StoreFixture()

    func parley(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        try runProcess(parleyBinary(), arguments, stdin: stdin)
    }

    func data(_ arguments: String...) -> [String] {
        guard let sub = arguments.first, arguments.count >= 2 else { return arguments }
        return [sub, arguments[1], "--data-dir", f.dataDirectory] + arguments.dropFirst(2)
    }

    @Test("mailbox add, list, set-pin and remove, with exit codes and clear errors")
    func mailboxLifecycle() async throws {
        defer { f.cleanUp() }
        var r = try parley(data("mailbox", "add", "acme", "1001", "--name", "Alice Martin", "--email", "alice@acme.example", "--pin-stdin"), stdin: "2580\n")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "mailbox acme/1001 created\n")
        r = try parley(data("mailbox", "add", "acme", "1001", "--pin", "3691"))
        #expect(r.status == 1 && r.stderr == "parley: mailbox acme/1001 exists already\n")
        r = try parley(data("mailbox", "add", "acme", "../1002", "--pin", "3691"))
        #expect(r.status == 1 && r.stderr.contains("invalid mailbox number '../1002'"))
        r = try parley(data("mailbox", "add", "acme", "1002", "--pin", "1234"))
        #expect(r.status == 1 && r.stderr == "parley: PIN refused: an ascending run of digits\n")
        #expect(!r.stderr.contains("1234"))
        r = try parley(data("mailbox", "add", "acme", "1002", "--pin", "1234", "--allow-weak-pin", "--max-messages", "5", "--no-attach-audio"))
        #expect(r.status == 0, "\(r.stderr)")
        r = try parley(data("mailbox", "add", "acme", "1003"))
        #expect(r.status == 64 && r.stderr.contains("--pin"))
        r = try parley(["mailbox", "list", "acme"])
        #expect(r.status == 64 && r.stderr.contains("--data-dir"))
        r = try parley(["mailbox", "list", "--data-dir", "\(f.directory)/typo"])
        #expect(r.status == 2 && r.stderr.contains("no voicemail store here"))
        #expect(!FileManager.default.fileExists(atPath: "\(f.directory)/typo"))

        r = try parley(data("mailbox", "list"))
        #expect(r.status == 0)
        #expect(r.stdout == """
            TENANT\tNUMBER\tNAME\tNEW\tURGENT\tOLD\tSAVED\tMAX\tEMAIL
            acme\t1001\tAlice Martin\t0\t0\t0\t0\t100\talice@acme.example
            acme\t1002\t\t0\t0\t0\t0\t5\t

            """)

        r = try parley(data("mailbox", "set-pin", "acme", "1001", "--pin-stdin"), stdin: "9371\n")
        #expect(r.status == 0, "\(r.stderr)")
        do {
            let store = try f.open()
            #expect(try await store.verifyPIN("9371", for: StoreFixture.acme1001, now: StoreFixture.t0) == .ok)
            #expect(try await store.mailbox(StoreFixture.acme1002)?.options == MailboxOptions(attachAudio: false, maxMessages: 5))
        }
        r = try parley(data("mailbox", "set-pin", "acme", "1999", "--pin", "9371"))
        #expect(r.status == 1 && r.stderr == "parley: mailbox acme/1999 does not exist\n")

        r = try parley(data("mailbox", "remove", "acme", "1002"))
        #expect(r.status == 0 && r.stdout == "mailbox acme/1002 removed (0 audio file(s))\n")
        r = try parley(data("mailbox", "remove", "acme", "1002"))
        #expect(r.status == 1)
    }

    @Test("messages deposit, list, export, delete; remove needs --yes when messages would go with the mailbox")
    func messages() async throws {
        defer { f.cleanUp() }
        #expect(try parley(data("mailbox", "add", "acme", "1001", "--pin", "2580")).status == 0)
        let input = "\(f.directory)/in.wav"
        let writer = try AudioFileWriter(path: input, sampleRate: 8000)
        try StoreFixture.tone(seconds: 2).samples.withUnsafeBufferPointer { try writer.write($0) }
        writer.finish()
        var r = try parley(data("messages", "deposit", "acme", "1001", input, "--caller-number", "3225551234", "--urgent"))
        #expect(r.status == 0, "\(r.stderr)")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        r = try parley(data("messages", "list", "acme", "1001"))
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(lines.count == 2)
        #expect(lines.last.map { [$0[0], $0[1], $0[2], $0[4], $0[5], $0[8]] } == [id, "new", "yes", "2.0", "3225551234", "ok"])
        r = try parley(data("messages", "list", "acme", "1001", "--folder", "saved"))
        #expect(r.stdout.split(separator: "\n").count == 1)

        let out = "\(f.directory)/out.wav"
        r = try parley(data("messages", "export", "acme", "1001", id, out))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try PCMAudio.read(path: out) == StoreFixture.tone(seconds: 2))
        r = try parley(data("messages", "export", "acme", "1001", id, out))
        #expect(r.status == 1 && r.stderr.contains("add --force"))

        r = try parley(data("messages", "delete", "acme", "1001", id, "--pending"))
        #expect(r.status == 0)
        r = try parley(data("messages", "list", "acme", "1001", "--folder", "deleted"))
        #expect(r.stdout.contains(id))
        r = try parley(data("messages", "delete", "acme", "1001", id))
        #expect(r.status == 0)
        #expect(f.files(in: StoreFixture.acme1001).isEmpty)
        r = try parley(data("messages", "delete", "acme", "1001", id))
        #expect(r.status == 1 && r.stderr.contains("has no message"))
        r = try parley(data("messages", "delete", "acme", "1001", "x' OR 1=1 --"))
        #expect(r.status == 1 && r.stderr.contains("invalid message id"))

        #expect(try parley(data("messages", "deposit", "acme", "1001", input)).status == 0)
        r = try parley(data("mailbox", "remove", "acme", "1001"))
        #expect(r.status == 1 && r.stderr.contains("--yes"))
        r = try parley(data("mailbox", "remove", "acme", "1001", "--yes"))
        #expect(r.status == 0 && r.stdout.contains("(1 audio file(s))"))
        #expect(!FileManager.default.fileExists(atPath: "\(f.dataDirectory)/voicemail/acme/1001"))
    }

    @Test("--config takes storage.data_dir, relative to the file; a bad storage key is a configuration error (exit 2)")
    func configFile() async throws {
        defer { f.cleanUp() }
        let config = "\(f.directory)/parley.yaml"
        try """
            tenants:
              acme:
                domains: [acme.example]
            storage:
              data_dir: data
              busy_timeout: 2s
            """.write(toFile: config, atomically: true, encoding: .utf8)
        var r = try parley(["mailbox", "add", "--config", config, "acme", "1001", "--pin", "2580"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try await f.open().mailbox(StoreFixture.acme1001) != nil)

        try """
            tenants:
              acme:
                domains: [acme.example]
            storage:
              data_dri: data
            """.write(toFile: config, atomically: true, encoding: .utf8)
        r = try parley(["mailbox", "list", "--config", config])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(config):5:") && r.stderr.contains("data_dri"), "\(r.stderr)")
    }
}
