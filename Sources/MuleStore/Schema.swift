import GRDB

/// The store's schema as GRDB migrations. Migrations only ever append.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE bundle (
                        id BLOB NOT NULL UNIQUE,        -- BLAKE2b-256 of the bundle's bytes
                        tag BLOB NOT NULL,              -- recipient tag (16 bytes)
                        kind INTEGER NOT NULL,          -- 0 message, 1 receipt
                        dropHash BLOB,                  -- message bundles only
                        expiresAt INTEGER NOT NULL,     -- Unix ms
                        receivedAt INTEGER NOT NULL,    -- Unix ms
                        size INTEGER NOT NULL,
                        own INTEGER NOT NULL,           -- 1: made by this node, never evicted
                        data BLOB NOT NULL
                    );
                    CREATE INDEX bundle_dropHash ON bundle(dropHash) WHERE dropHash IS NOT NULL;
                    CREATE INDEX bundle_eviction ON bundle(own, expiresAt, receivedAt);
                    CREATE TABLE seen (
                        id BLOB PRIMARY KEY,            -- accepted bundles not kept in `bundle`, until they expire
                        expiresAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE delivered (
                        dropHash BLOB PRIMARY KEY,      -- drop hashes whose ack secret a receipt revealed
                        expiresAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE contact (
                        id INTEGER PRIMARY KEY,
                        signingKey BLOB NOT NULL UNIQUE,
                        agreementKey BLOB NOT NULL,
                        name TEXT NOT NULL,
                        state TEXT NOT NULL,            -- contact | request | blocked
                        heardFrom INTEGER NOT NULL DEFAULT 0,
                        addedAt INTEGER NOT NULL
                    );
                    CREATE TABLE message (
                        id TEXT PRIMARY KEY,            -- hex of the first 16 bytes of the drop hash
                        contactId INTEGER NOT NULL REFERENCES contact(id),
                        direction TEXT NOT NULL,        -- in | out
                        body TEXT,
                        fileName TEXT,
                        filePath TEXT,
                        fileSize INTEGER,
                        status TEXT NOT NULL,           -- queued | sent | delivered | received
                        sentAt INTEGER NOT NULL,
                        receivedAt INTEGER,
                        deliveredAt INTEGER,
                        dropHash BLOB NOT NULL UNIQUE
                    );
                    CREATE INDEX message_contact ON message(contactId, sentAt);
                    CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    """)
        }
        // Row numbers of `bundle` must never be reused: running nodes find new bundles (also those
        // that another process stored) by the row number, and SQLite reuses the largest rowid after a
        // delete unless the key is AUTOINCREMENT.
        m.registerMigration("v2-bundle-seq") { db in
            try db.execute(
                sql: """
                    CREATE TABLE bundle2 (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id BLOB NOT NULL UNIQUE,
                        tag BLOB NOT NULL,
                        kind INTEGER NOT NULL,
                        dropHash BLOB,
                        expiresAt INTEGER NOT NULL,
                        receivedAt INTEGER NOT NULL,
                        size INTEGER NOT NULL,
                        own INTEGER NOT NULL,
                        data BLOB NOT NULL
                    );
                    INSERT INTO bundle2(id, tag, kind, dropHash, expiresAt, receivedAt, size, own, data)
                        SELECT id, tag, kind, dropHash, expiresAt, receivedAt, size, own, data FROM bundle ORDER BY rowid;
                    DROP TABLE bundle;
                    ALTER TABLE bundle2 RENAME TO bundle;
                    CREATE INDEX bundle_dropHash ON bundle(dropHash) WHERE dropHash IS NOT NULL;
                    CREATE INDEX bundle_eviction ON bundle(own, expiresAt, receivedAt);
                    """)
        }
        // Issue 4: how each message travelled, the relays contacts fetch from, and which own
        // bundles a relay holds already (so a restart does not deposit them again).
        m.registerMigration("v3-relays") { db in
            try db.execute(
                sql: """
                    ALTER TABLE message ADD COLUMN path TEXT;     -- lan | direct | relay | file
                    ALTER TABLE contact ADD COLUMN relays TEXT NOT NULL DEFAULT '';  -- HOST:PORT per line
                    CREATE TABLE deposit (
                        relay TEXT NOT NULL,            -- HOST:PORT
                        id BLOB NOT NULL,               -- an own bundle the relay confirmed it stored
                        at INTEGER NOT NULL,
                        PRIMARY KEY (relay, id)
                    ) WITHOUT ROWID;
                    """)
        }
        // Every import and every batch from a link sums the carried bytes for the quota: with the
        // size in the eviction index that is a scan of the index, not of the bundles themselves.
        m.registerMigration("v4-eviction-size") { db in
            try db.execute(
                sql: """
                    DROP INDEX bundle_eviction;
                    CREATE INDEX bundle_eviction ON bundle(own, expiresAt, receivedAt, size);
                    """)
        }
        // What a person has read, and whose fingerprint they compared (issue 14: unread counts and
        // verified marks). Messages that arrived before count as read.
        m.registerMigration("v5-read-verified") { db in
            try db.execute(
                sql: """
                    ALTER TABLE message ADD COLUMN readAt INTEGER;      -- incoming: when shown; NULL: unread
                    UPDATE message SET readAt = IFNULL(receivedAt, sentAt) WHERE direction = 'in';
                    CREATE INDEX message_unread ON message(contactId) WHERE direction = 'in' AND readAt IS NULL;
                    ALTER TABLE contact ADD COLUMN verifiedAt INTEGER;  -- when the fingerprint was compared
                    """)
        }
        // Issue 12: full-text search over message texts (`mule messages --search`). The index
        // refers to message rows by rowid (external content); nothing here runs VACUUM, and one
        // that did would follow it with `INSERT INTO message_fts(message_fts) VALUES('rebuild')`.
        m.registerMigration("v6-message-search") { db in
            try db.execute(
                sql: """
                    CREATE VIRTUAL TABLE message_fts USING fts5(
                        body, content = 'message', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');
                    INSERT INTO message_fts(message_fts) VALUES ('rebuild');
                    CREATE TRIGGER message_fts_insert AFTER INSERT ON message WHEN new.body IS NOT NULL BEGIN
                        INSERT INTO message_fts(rowid, body) VALUES (new.rowid, new.body);
                    END;
                    CREATE TRIGGER message_fts_delete AFTER DELETE ON message WHEN old.body IS NOT NULL BEGIN
                        INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
                    END;
                    CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN
                        INSERT INTO message_fts(message_fts, rowid, body)
                            SELECT 'delete', old.rowid, old.body WHERE old.body IS NOT NULL;
                        INSERT INTO message_fts(rowid, body) SELECT new.rowid, new.body WHERE new.body IS NOT NULL;
                    END;
                    CREATE INDEX message_sent ON message(sentAt);
                    """)
        }
        // Issue 13: disappearing messages. A message's erase time, and a contact's default for new
        // messages (nil: they stay).
        m.registerMigration("v7-disappearing") { db in
            try db.execute(
                sql: """
                    ALTER TABLE message ADD COLUMN disappearAt INTEGER;
                    CREATE INDEX message_disappear ON message(disappearAt) WHERE disappearAt IS NOT NULL;
                    ALTER TABLE contact ADD COLUMN disappearAfterMs INTEGER;
                    """)
        }
        // Envelope version 2 (Docs/PROTOCOL.md §13): ratchet sessions, this node's prekeys, a
        // contact's signed prekey and when it was first heard in version 2.
        m.registerMigration("v8-envelope-v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE ratchet_session (
                        id BLOB PRIMARY KEY,            -- session id (16 bytes)
                        contactId INTEGER NOT NULL,
                        state BLOB NOT NULL,            -- RatchetSession's stored form (secret)
                        current INTEGER NOT NULL,       -- 1: the session this node seals with
                        usedAt INTEGER NOT NULL,        -- Unix ms
                        nextDeadline INTEGER            -- earliest skipped-key deadline, Unix ms
                    ) WITHOUT ROWID;
                    CREATE INDEX ratchet_session_contact ON ratchet_session(contactId);
                    CREATE INDEX ratchet_session_deadline ON ratchet_session(nextDeadline) WHERE nextDeadline IS NOT NULL;
                    CREATE TABLE prekey_ring (one INTEGER PRIMARY KEY CHECK (one = 1), ring BLOB NOT NULL);
                    ALTER TABLE contact ADD COLUMN prekey BLOB;
                    ALTER TABLE contact ADD COLUMN v2Since INTEGER;
                    ALTER TABLE message ADD COLUMN ackSecret BLOB;  -- incoming v2: the proof of arrival, for relays
                    """)
        }
        return m
    }
}
