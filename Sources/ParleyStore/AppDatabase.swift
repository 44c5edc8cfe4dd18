import Foundation
import GRDB

/// Owns the voicemail database: one `DatabasePool` (WAL) per process, migrated on open.
/// Every change goes through a named write method below, each one transaction that keeps
/// the schema's invariants (a full mailbox takes no message, a message belongs to its
/// mailbox, ...); reads go through the pool's readers. It knows nothing of audio files:
/// `SQLiteVoicemailStore` orders file and row changes.
///
/// Never call it from a media tick or an event-loop thread: every method may wait for the
/// disk or for another writer (up to the busy timeout).
public final class AppDatabase: Sendable {
    let writer: any DatabaseWriter
    /// For messages only.
    public let path: String
    let busyTimeoutMilliseconds: Int

    /// Opens (creating when absent) the database at `path` in WAL mode and migrates it.
    /// `busyTimeout` (seconds) is how long a write waits for another process's lock
    /// before failing with `.databaseBusy`.
    public static func open(path: String, busyTimeout: TimeInterval = 5) throws(StoreError) -> AppDatabase {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "parley-voicemail"
        config.prepareDatabase { db in
            // A committed message must survive a power cut, not only a crash: WAL's default
            // NORMAL may lose the last transactions on power loss.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let waited = Int(busyTimeout * 1000)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw map(error, path: path, waited: waited)
        }
        let db = AppDatabase(writer: pool, path: path, busyTimeoutMilliseconds: waited)
        try db.migrate()
        return db
    }

    /// A database in memory, through the same code path (tests only need files for what
    /// files change: WAL, locks, crashes).
    public static func inMemory() throws(StoreError) -> AppDatabase {
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue() } catch { throw map(error, path: ":memory:", waited: 0) }
        let db = AppDatabase(writer: queue, path: ":memory:", busyTimeoutMilliseconds: 0)
        try db.migrate()
        return db
    }

    init(writer: any DatabaseWriter, path: String, busyTimeoutMilliseconds: Int) {
        self.writer = writer
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }

    func migrate() throws(StoreError) {
        do { try Self.migrator.migrate(writer) } catch { throw map(error) }
    }

    /// Names of the migrations applied, oldest first.
    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }

    // MARK: - Transactions with errors converted

    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await writer.write(updates) } catch { throw map(error) }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await writer.read(value) } catch { throw map(error) }
    }

    func map(_ error: any Error) -> StoreError {
        Self.map(error, path: path, waited: busyTimeoutMilliseconds)
    }

    static func map(_ error: any Error, path: String, waited: Int) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? DatabaseError {
            switch e.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED: return .databaseBusy(path: path, waitedMilliseconds: waited)
            case .SQLITE_FULL: return .diskFull(path: path)
            default: return .database("\(path): \(e.resultCode): \(e.message ?? "no message")")
            }
        }
        return .database("\(path): \(error)")
    }

    static func mailboxID(_ db: Database, _ key: MailboxKey) throws -> Int64 {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM mailbox WHERE tenant = ? AND number = ?",
                                          arguments: [key.tenant, key.number]) else {
            throw StoreError.mailboxNotFound(key)
        }
        return id
    }

    static func mailboxRecord(_ db: Database, _ key: MailboxKey) throws -> MailboxRecord {
        guard let r = try MailboxRecord.fetchOne(db, sql: "SELECT * FROM mailbox WHERE tenant = ? AND number = ?",
                                                 arguments: [key.tenant, key.number]) else {
            throw StoreError.mailboxNotFound(key)
        }
        return r
    }
}
