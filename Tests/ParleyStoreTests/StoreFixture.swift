import Foundation
import Logging
import ParleyDSP
@testable import ParleyStore

/// A data directory in a fresh temporary folder, removed by `cleanUp()`.
struct StoreFixture {
    let directory: String
    static let acme1001 = try! MailboxKey(tenant: "acme", number: "1001")
    static let acme1002 = try! MailboxKey(tenant: "acme", number: "1002")
    static let globex1001 = try! MailboxKey(tenant: "globex", number: "1001")
    /// A fixed clock: tests pass time, they never sleep for it.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() {
        directory = NSTemporaryDirectory() + "parley-store-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var dataDirectory: String { "\(directory)/data" }

    /// Opens the store on the fixture's data directory (cheap scrypt cost unless given).
    func open(busyTimeout: TimeInterval = 5, pinCostLog2: Int = 10, lockout: LockoutPolicy = LockoutPolicy()) throws -> SQLiteVoicemailStore {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try SQLiteVoicemailStore.open(dataDirectory: dataDirectory, busyTimeout: busyTimeout, lockout: lockout,
                                             pinCostLog2: pinCostLog2, logger: logger)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    /// Files under `voicemail/<tenant>/<number>/`, sorted.
    func files(in key: MailboxKey) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(dataDirectory)/voicemail/\(key.tenant)/\(key.number)"))?.sorted() ?? []
    }

    func quarantined() -> [String] {
        let root = "\(dataDirectory)/voicemail/quarantine"
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { !$0.hasSuffix("/") && !FileManager.default.isDirectory(atPath: "\(root)/\($0)") }.sorted()
    }

    /// A tone of `seconds` at 8 kHz.
    static func tone(seconds: Double, frequency: Double = 440, sampleRate: Int = 8000) -> PCMAudio {
        let n = Int(seconds * Double(sampleRate))
        return PCMAudio(sampleRate: sampleRate, samples: (0..<n).map { i in
            Int16(8000 * sin(2 * Double.pi * frequency * Double(i) / Double(sampleRate)))
        })
    }

    static func envelope(_ caller: String = "3225551234", at time: Date = t0, urgent: Bool = false) -> MessageEnvelope {
        MessageEnvelope(callerNumber: caller, callerName: "Bob", receivedAt: time, urgent: urgent)
    }

    /// A store with two mailboxes of tenant acme and one of globex, all with PIN 2580.
    func openWithMailboxes(maxMessages: Int = 100, maxMessageSeconds: Int = 180) async throws -> SQLiteVoicemailStore {
        let store = try open()
        let options = MailboxOptions(maxMessages: maxMessages, maxMessageSeconds: maxMessageSeconds)
        for key in [Self.acme1001, Self.acme1002, Self.globex1001] {
            try await store.createMailbox(Mailbox(key: key, name: "Owner \(key.number)", emails: ["owner@example.com"], options: options),
                                          pin: "2580", now: Self.t0)
        }
        return store
    }
}

extension FileManager {
    func isDirectory(atPath path: String) -> Bool {
        var isDir: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}

/// Runs a program to completion; returns its exit status (or -signal) and output.
struct ProcessResult {
    var status: Int32
    var signaled: Bool
    var stdout: String
    var stderr: String
}

func runProcess(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
                         stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// The `parley` binary: $PARLEY_BIN, else `.build/debug/parley` of this package.
func parleyBinary() -> String {
    if let path = ProcessInfo.processInfo.environment["PARLEY_BIN"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/parley").path
}
