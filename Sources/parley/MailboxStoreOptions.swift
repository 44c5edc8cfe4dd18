import ArgumentParser
import Foundation
import Logging
import ParleyServer
import ParleyStore

/// Where the voicemail store lives, shared by `parley mailbox` and `parley messages`:
/// `--data-dir`, or the configuration's `storage.data_dir`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (holds parley.sqlite and voicemail/).")
    var dataDir: String?

    @Option(name: .long, help: "A configuration file whose storage.data_dir to use.")
    var config: String?

    @Option(name: .long, help: "Seconds to wait for a database locked by another process.")
    var busyTimeout: Double?

    func validate() throws {
        if dataDir == nil && config == nil { throw ValidationError("give --data-dir DIR or --config FILE") }
        if dataDir != nil && config != nil { throw ValidationError("give either --data-dir or --config, not both") }
        if let t = busyTimeout, !(0...600).contains(t) { throw ValidationError("--busy-timeout must be 0 to 600 seconds") }
    }

    /// Opens the store (never reconciling: a server may be running on the same data).
    /// Only commands that add something (`create`) may create a new store; the others
    /// refuse a folder without one, so a mistyped path is not taken for an empty store.
    /// Exits 2 on a configuration problem or a missing store, 3 when it cannot be opened.
    func open(create: Bool = false, stepObserver: (@Sendable (DepositStep) -> Void)? = nil) throws -> SQLiteVoicemailStore {
        var directory = dataDir ?? ""
        var timeout = busyTimeout ?? 5
        if let config {
            do {
                let cfg = try ParleyConfig.load(path: config)
                directory = cfg.storage.dataDirectory
                if busyTimeout == nil { timeout = Double(cfg.storage.busyTimeoutMilliseconds) / 1000 }
            } catch {
                StoreExit.complain("\(error)")
                throw ExitCode(StoreExit.usage)
            }
        }
        if !create && !FileManager.default.fileExists(atPath: "\(directory)/\(SQLiteVoicemailStore.databaseFileName)") {
            StoreExit.complain("\(directory): no voicemail store here (\(SQLiteVoicemailStore.databaseFileName) is missing)")
            throw ExitCode(StoreExit.usage)
        }
        var logger = Logger(label: "parley.store")
        logger.logLevel = .warning
        do {
            return try SQLiteVoicemailStore.open(dataDirectory: directory, busyTimeout: timeout, logger: logger, stepObserver: stepObserver)
        } catch {
            throw StoreExit.failure(error)
        }
    }
}

/// Exit codes of the store commands: 0 done; 1 refused (not found, exists, full, PIN
/// policy, bad identifier); 2 configuration problem or no store in the data directory;
/// 3 storage unavailable (database locked, disk full, I/O error); 64 bad command line.
enum StoreExit {
    static let refused: Int32 = 1
    static let usage: Int32 = 2
    static let unavailable: Int32 = 3

    static func complain(_ text: String) {
        FileHandle.standardError.write(Data("parley: \(text)\n".utf8))
    }

    /// Prints the error and returns the exit to throw.
    static func failure(_ error: StoreError) -> ExitCode {
        complain(error.description)
        switch error {
        case .databaseBusy, .diskFull, .io, .database, .audioWriteFailed: return ExitCode(unavailable)
        default: return ExitCode(refused)
        }
    }

    /// Runs a store operation, turning its error into a message and an exit code.
    static func run<T>(_ body: () async throws(StoreError) -> T) async throws -> T {
        do { return try await body() } catch { throw failure(error) }
    }

    static func key(_ tenant: String, _ number: String) throws -> MailboxKey {
        do { return try MailboxKey(tenant: tenant, number: number) } catch { throw failure(error) }
    }
}

/// A PIN from `--pin` or from the first line of standard input (`--pin-stdin`, which keeps
/// it out of the process list and the shell history).
struct PINOptions: ParsableArguments {
    @Option(name: .long, help: "The PIN (4-10 digits). Visible in the process list: prefer --pin-stdin.")
    var pin: String?

    @Flag(name: .long, help: "Read the PIN from the first line of standard input.")
    var pinStdin = false

    @Flag(name: .long, help: "Accept a PIN that breaks the policy (repeated digits, runs); still 4-10 digits.")
    var allowWeakPin = false

    func validate() throws {
        if (pin == nil) == !pinStdin { throw ValidationError("give exactly one of --pin or --pin-stdin") }
    }

    func read() throws -> String {
        if let pin { return pin }
        guard let line = Swift.readLine(strippingNewline: true) else {
            StoreExit.complain("no PIN on standard input")
            throw ExitCode(StoreExit.usage)
        }
        return line.trimmingCharacters(in: .whitespaces)
    }
}
