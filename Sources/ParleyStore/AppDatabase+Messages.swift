import Foundation
import GRDB

extension AppDatabase {
    /// Inserts a message whose audio file is already in place. Refuses, in the same
    /// transaction, a mailbox that is full (new + old + saved ≥ max messages).
    func insertMessage(_ message: VoicemailMessage) async throws(StoreError) {
        try await write { db in
            let mailbox = try Self.mailboxRecord(db, message.mailbox)
            guard let id = mailbox.id else { throw StoreError.database("mailbox row without id") }
            let kept = try Int.fetchOne(db, sql: "SELECT count(*) FROM message WHERE mailbox_id = ? AND folder != 'deleted'", arguments: [id]) ?? 0
            guard kept < mailbox.maxMessages else { throw StoreError.mailboxFull(message.mailbox, maximum: mailbox.maxMessages) }
            try MessageRecord(id: message.id, mailboxId: id, folder: message.folder.rawValue, folderBeforeDelete: nil, urgent: message.urgent,
                              callerNumber: message.callerNumber, callerName: message.callerName, receivedAt: message.receivedAt,
                              durationMs: message.durationMilliseconds, audioPath: message.audioPath,
                              emailState: message.emailState.rawValue, damaged: false).insert(db)
        }
    }

    /// Whether the mailbox can take one more message now (the deposit flow asks before
    /// recording, so a caller to a full mailbox is told and nothing is recorded).
    func roomForMessage(_ key: MailboxKey) async throws(StoreError) -> MailboxRecord {
        try await read { db in
            let mailbox = try Self.mailboxRecord(db, key)
            let kept = try Int.fetchOne(db, sql: "SELECT count(*) FROM message WHERE mailbox_id = ? AND folder != 'deleted'", arguments: [mailbox.id]) ?? 0
            guard kept < mailbox.maxMessages else { throw StoreError.mailboxFull(key, maximum: mailbox.maxMessages) }
            return mailbox
        }
    }

    public func counts(_ key: MailboxKey) async throws(StoreError) -> FolderCounts {
        try await read { db in
            let id = try Self.mailboxID(db, key)
            let rows = try Row.fetchAll(db, sql: "SELECT folder, urgent, count(*) AS n FROM message WHERE mailbox_id = ? GROUP BY folder, urgent", arguments: [id])
            var c = FolderCounts()
            for row in rows {
                let n = (try? row.decode(Int.self, forColumn: "n")) ?? 0
                let urgent = (try? row.decode(Bool.self, forColumn: "urgent")) ?? false
                switch Folder(rawValue: (try? row.decode(String.self, forColumn: "folder")) ?? "") {
                case .new: c.new += n; if urgent { c.urgentNew += n }
                case .old: c.old += n; if urgent { c.urgentOld += n }
                case .saved: c.saved += n; if urgent { c.urgentSaved += n }
                case .deleted: c.deleted += n
                case nil: break
                }
            }
            return c
        }
    }

    /// The messages of one folder, urgent first, then oldest first.
    public func messages(in folder: Folder, of key: MailboxKey) async throws(StoreError) -> [VoicemailMessage] {
        try await read { db in
            let id = try Self.mailboxID(db, key)
            // A row that does not decode (edited by hand against the schema's intent) is
            // left out rather than making the whole folder unreadable for the caller.
            return try Row.fetchAll(db, sql: "SELECT * FROM message WHERE mailbox_id = ? AND folder = ? ORDER BY urgent DESC, received_at, id",
                                    arguments: [id, folder.rawValue]).compactMap { try? MessageRecord(row: $0).message(in: key) }
        }
    }

    public func message(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> VoicemailMessage {
        try MessageID.validate(messageID)
        return try await read { db in
            let id = try Self.mailboxID(db, key)
            guard let r = try MessageRecord.fetchOne(db, sql: "SELECT * FROM message WHERE id = ? AND mailbox_id = ?", arguments: [messageID, id]) else {
                throw StoreError.messageNotFound(mailbox: key, id: messageID)
            }
            return r.message(in: key)
        }
    }

    /// Moves a message to `folder`. Moving to `.deleted` remembers where it came from, for
    /// `undelete`; moving out of `.deleted` forgets it.
    func moveMessage(_ messageID: String, of key: MailboxKey, to folder: Folder) async throws(StoreError) {
        try MessageID.validate(messageID)
        try await write { db in
            let r = try Self.messageRecord(db, messageID, of: key)
            if folder == .deleted {
                guard r.folder != Folder.deleted.rawValue else { return }
                try db.execute(sql: "UPDATE message SET folder = 'deleted', folder_before_delete = ? WHERE id = ?", arguments: [r.folder, r.id])
            } else {
                try db.execute(sql: "UPDATE message SET folder = ?, folder_before_delete = NULL WHERE id = ?", arguments: [folder.rawValue, r.id])
            }
        }
    }

    /// Returns a deleted-pending message to the folder it was deleted from (old when unknown).
    func undeleteMessage(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> Folder {
        try MessageID.validate(messageID)
        return try await write { db in
            let r = try Self.messageRecord(db, messageID, of: key)
            guard r.folder == Folder.deleted.rawValue else { return Folder(rawValue: r.folder) ?? .saved }
            let target = r.folderBeforeDelete.flatMap(Folder.init(rawValue:)) ?? .old
            try db.execute(sql: "UPDATE message SET folder = ?, folder_before_delete = NULL WHERE id = ?", arguments: [target.rawValue, r.id])
            return target
        }
    }

    /// Deletes the rows of every deleted-pending message of the mailbox; returns their
    /// audio paths, for the caller to delete after this commit.
    func purgeDeleted(_ key: MailboxKey) async throws(StoreError) -> [String] {
        try await write { db in
            let id = try Self.mailboxID(db, key)
            let paths = try String.fetchAll(db, sql: "SELECT audio_path FROM message WHERE mailbox_id = ? AND folder = 'deleted'", arguments: [id])
            try db.execute(sql: "DELETE FROM message WHERE mailbox_id = ? AND folder = 'deleted'", arguments: [id])
            return paths
        }
    }

    /// Deletes one message's row at once (whatever its folder); returns its audio path.
    func deleteMessage(_ messageID: String, of key: MailboxKey) async throws(StoreError) -> String {
        try MessageID.validate(messageID)
        return try await write { db in
            let r = try Self.messageRecord(db, messageID, of: key)
            try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [r.id])
            return r.audioPath
        }
    }

    public func setEmailState(_ state: EmailState, of messageID: String, in key: MailboxKey) async throws(StoreError) {
        try MessageID.validate(messageID)
        try await write { db in
            let r = try Self.messageRecord(db, messageID, of: key)
            try db.execute(sql: "UPDATE message SET email_state = ? WHERE id = ?", arguments: [state.rawValue, r.id])
        }
    }

    static func messageRecord(_ db: Database, _ messageID: String, of key: MailboxKey) throws -> MessageRecord {
        let id = try mailboxID(db, key)
        guard let r = try MessageRecord.fetchOne(db, sql: "SELECT * FROM message WHERE id = ? AND mailbox_id = ?", arguments: [messageID, id]) else {
            throw StoreError.messageNotFound(mailbox: key, id: messageID)
        }
        return r
    }
}
