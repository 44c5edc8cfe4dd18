import Foundation
import GRDB

/// A row that points at an audio file, for the start-up reconciliation.
struct AudioReference: Sendable, Equatable {
    enum Table: String, Sendable { case message, greeting }
    var table: Table
    /// message id, or "<mailbox id>/<kind>" for a greeting.
    var rowKey: String
    var audioPath: String
    var damaged: Bool
}

extension AppDatabase {
    /// Every audio path the rows know.
    func audioReferences() async throws(StoreError) -> [AudioReference] {
        try await read { db in
            var refs = try Row.fetchAll(db, sql: "SELECT id, audio_path, damaged FROM message").map {
                AudioReference(table: .message, rowKey: try $0.decode(atIndex: 0), audioPath: try $0.decode(atIndex: 1),
                               damaged: (try? $0.decode(Bool.self, atIndex: 2)) ?? true)
            }
            refs += try Row.fetchAll(db, sql: "SELECT mailbox_id, kind, audio_path, damaged FROM greeting").map {
                AudioReference(table: .greeting, rowKey: "\(try $0.decode(Int64.self, atIndex: 0))/\(try $0.decode(String.self, atIndex: 1))",
                               audioPath: try $0.decode(atIndex: 2), damaged: (try? $0.decode(Bool.self, atIndex: 3)) ?? true)
            }
            return refs
        }
    }

    /// Sets or clears the damaged flag of the referenced rows, in one transaction.
    func setDamaged(_ changes: [(AudioReference, Bool)]) async throws(StoreError) {
        let list = changes.map { ($0.0.table, $0.0.rowKey, $0.1) }
        try await write { db in
            for (table, rowKey, damaged) in list {
                switch table {
                case .message:
                    try db.execute(sql: "UPDATE message SET damaged = ? WHERE id = ?", arguments: [damaged, rowKey])
                case .greeting:
                    let parts = rowKey.split(separator: "/")
                    guard parts.count == 2, let id = Int64(parts[0]) else { continue }
                    try db.execute(sql: "UPDATE greeting SET damaged = ? WHERE mailbox_id = ? AND kind = ?", arguments: [damaged, id, String(parts[1])])
                }
            }
        }
    }
}
