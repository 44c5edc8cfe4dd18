import GRDB

extension AppDatabase {
    /// The schema's history. A migration, once shipped, is never edited: changes are new
    /// migrations appended here. Constraints live in the schema so that no code path (nor a
    /// later PostgreSQL back end sharing the design) can store what the app would refuse.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: mailboxes, messages, greetings, login failures") { db in
            try db.execute(sql: """
                CREATE TABLE mailbox (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  tenant TEXT NOT NULL CHECK (length(tenant) BETWEEN 1 AND 32 AND tenant NOT GLOB '*[^0-9A-Za-z]*'),
                  number TEXT NOT NULL CHECK (length(number) BETWEEN 1 AND 32 AND number NOT GLOB '*[^0-9A-Za-z]*'),
                  name TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 100),
                  pin_hash TEXT NOT NULL CHECK (pin_hash LIKE 'scrypt$%'),
                  attach_audio BOOLEAN NOT NULL DEFAULT 1,
                  delete_after_email BOOLEAN NOT NULL DEFAULT 0,
                  max_messages INTEGER NOT NULL DEFAULT 100 CHECK (max_messages BETWEEN 1 AND 10000),
                  max_message_seconds INTEGER NOT NULL DEFAULT 180 CHECK (max_message_seconds BETWEEN 1 AND 3600),
                  created_at DATETIME NOT NULL,
                  UNIQUE (tenant, number)
                );
                CREATE TABLE mailbox_email (
                  mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  address TEXT NOT NULL CHECK (address LIKE '%_@_%'),
                  PRIMARY KEY (mailbox_id, position),
                  UNIQUE (mailbox_id, address)
                );
                CREATE TABLE message (
                  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
                  mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                  folder TEXT NOT NULL CHECK (folder IN ('new', 'old', 'saved', 'deleted')),
                  folder_before_delete TEXT CHECK (folder_before_delete IN ('new', 'old', 'saved')),
                  urgent BOOLEAN NOT NULL DEFAULT 0,
                  caller_number TEXT NOT NULL DEFAULT '',
                  caller_name TEXT NOT NULL DEFAULT '',
                  received_at DATETIME NOT NULL,
                  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
                  audio_path TEXT NOT NULL UNIQUE,
                  email_state TEXT NOT NULL DEFAULT 'none' CHECK (email_state IN ('none', 'pending', 'sent', 'failed')),
                  damaged BOOLEAN NOT NULL DEFAULT 0
                );
                CREATE INDEX message_listing ON message (mailbox_id, folder, urgent DESC, received_at);
                CREATE TABLE greeting (
                  mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                  kind TEXT NOT NULL CHECK (kind IN ('unavailable', 'busy', 'temporary', 'name')),
                  audio_path TEXT NOT NULL UNIQUE,
                  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
                  recorded_at DATETIME NOT NULL,
                  damaged BOOLEAN NOT NULL DEFAULT 0,
                  PRIMARY KEY (mailbox_id, kind)
                );
                CREATE TABLE login_failure (
                  mailbox_id INTEGER PRIMARY KEY NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                  failures INTEGER NOT NULL CHECK (failures > 0),
                  locked_until DATETIME,
                  last_failure_at DATETIME NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: PINs provisioned from the configuration", migrate: provisionedPINMigration)
        return migrator
    }
}
