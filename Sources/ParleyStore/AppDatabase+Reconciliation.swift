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

extension AppDatabase {
    /// One page of the messages whose email is `pending` and that were received before
    /// `cutoff`, in insertion order after the row `afterRow` (0: from the start). Returns
    /// them with the row to pass for the next page; an empty page ends the listing. Pages
    /// keep the memory of a start-up pass bounded however many emails wait.
    func pendingEmails(receivedBefore cutoff: Date, afterRow: Int64, limit: Int) async throws(StoreError) -> (messages: [VoicemailMessage], lastRow: Int64) {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT message.*, mailbox.tenant, mailbox.number, message.rowid FROM message
                JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE message.email_state = 'pending' AND message.received_at < ? AND message.rowid > ?
                ORDER BY message.rowid LIMIT ?
                """, arguments: [cutoff, afterRow, limit])
            var last = afterRow
            var out: [VoicemailMessage] = []
            for row in rows {
                // Columns 0–11 are the message's (MessageRecord(row:)), then tenant, number, rowid.
                last = max(last, (try? row.decode(Int64.self, atIndex: 14)) ?? last)
                guard let record = try? MessageRecord(row: row),
                      let tenant = try? row.decode(String.self, atIndex: 12), let number = try? row.decode(String.self, atIndex: 13),
                      let key = try? MailboxKey(tenant: tenant, number: number) else { continue }
                out.append(record.message(in: key))
            }
            return (out, last)
        }
    }
}
