//! The library database: opening, pragmas and versioned migrations.
//!
//! Why: the catalogue must survive a kill -9 at any moment, so SQLite runs in WAL mode with foreign
//! keys on, and the schema only changes through numbered migrations recorded in `user_version`.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

use crate::catalogue::builtin::builtin;
use crate::catalogue::naming::{key, slug};
use crate::catalogue::{history, settings};
use crate::Error;

/// Schema migrations, applied in order; index + 1 is the resulting `user_version`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE manufacturers (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    slug    TEXT NOT NULL UNIQUE,
    builtin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE systems (
    id              INTEGER PRIMARY KEY,
    manufacturer_id INTEGER NOT NULL REFERENCES manufacturers(id),
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    builtin         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (manufacturer_id, slug)
);
-- Alternative names; exactly one of manufacturer_id / system_id is set.
CREATE TABLE aliases (
    id              INTEGER PRIMARY KEY,
    manufacturer_id INTEGER REFERENCES manufacturers(id),
    system_id       INTEGER REFERENCES systems(id),
    alias           TEXT NOT NULL,
    key             TEXT NOT NULL,
    CHECK ((manufacturer_id IS NULL) <> (system_id IS NULL)),
    UNIQUE (manufacturer_id, system_id, key)
);
CREATE TABLE images (
    id              INTEGER PRIMARY KEY,
    sha256          TEXT NOT NULL UNIQUE,          -- of the original bytes
    original_ext    TEXT NOT NULL,
    source_name     TEXT NOT NULL,                 -- local provenance only, never shared
    source_format   TEXT NOT NULL,
    width           INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    technical       TEXT NOT NULL DEFAULT '{}',    -- non-identifying JSON
    params          TEXT NOT NULL,                 -- standardisation parameters (JSON)
    params_version  INTEGER NOT NULL,
    auto_crop       TEXT NOT NULL,                 -- JSON [x, y, w, h]
    inverted        INTEGER NOT NULL,
    standard_sha256 TEXT NOT NULL,
    manufacturer_id INTEGER REFERENCES manufacturers(id),
    system_id       INTEGER REFERENCES systems(id),
    modality        TEXT CHECK (modality IN ('periapical', 'panoramic', 'photo')),
    diameter_mm     REAL,
    length_mm       REAL,
    connection      TEXT,
    notes           TEXT,
    status          TEXT NOT NULL DEFAULT 'unlabelled'
                    CHECK (status IN ('unlabelled', 'labelled', 'confirmed')),
    standard_name   TEXT UNIQUE,
    name_seq        INTEGER,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK ((system_id IS NULL) = (status = 'unlabelled'))
);
CREATE INDEX images_system ON images (system_id);
CREATE INDEX images_status ON images (status);
CREATE INDEX images_standard_sha ON images (standard_sha256);
"#,
    r#"
-- Which model made each stored vector; the vectors themselves live in one sqlite-vec `vec0` table
-- per encoder (see catalogue::vectors), keyed by image id.
CREATE TABLE embeddings (
    image_id           INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    encoder_id         TEXT NOT NULL,
    weights_sha256     TEXT NOT NULL,
    preprocess_version INTEGER NOT NULL,
    standard_sha256    TEXT NOT NULL,      -- the standard image that was embedded
    dim                INTEGER NOT NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (image_id, encoder_id)
);
-- Small library-wide settings (e.g. the active encoder).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
-- Sync with production (see sync::outbox). Items pulled from production have no original here.
ALTER TABLE images ADD COLUMN origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'remote'));
-- What production holds for an item, as of this library's last successful push or pull.
CREATE TABLE sync_items (
    image_id       INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    remote_id      TEXT NOT NULL UNIQUE,     -- uuid of the production row
    revision       INTEGER,                  -- production revision last written or read (NULL: not yet)
    object_key     TEXT,                     -- object production's row points to
    content_sha256 TEXT                      -- standard image stored under object_key
);
-- The outbox: items changed locally since their last push. Triggers fill it, so no code path that
-- changes an image can forget to queue it; `seq` tells a change made during a push from the pushed one.
CREATE TABLE sync_outbox (
    image_id INTEGER PRIMARY KEY,
    seq      INTEGER NOT NULL
);
-- Deleted items whose production row still has to be soft-deleted.
CREATE TABLE sync_deletes (
    remote_id  TEXT PRIMARY KEY,
    revision   INTEGER NOT NULL,
    object_key TEXT
);
-- Objects no production row points to any more (old keys after a relabel, deleted items).
CREATE TABLE sync_garbage (
    object_key TEXT PRIMARY KEY
);
-- Items changed both here and in production: listed for the curator, never overwritten.
CREATE TABLE sync_conflicts (
    image_id        INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    remote_revision INTEGER NOT NULL,
    remote          TEXT NOT NULL,           -- production's row (JSON, no vector)
    seen_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TRIGGER sync_queue_insert AFTER INSERT ON images BEGIN
    INSERT OR REPLACE INTO sync_outbox (image_id, seq)
    VALUES (NEW.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox));
END;
CREATE TRIGGER sync_queue_update AFTER UPDATE OF manufacturer_id, system_id, modality, diameter_mm, length_mm,
    connection, notes, status, standard_name, standard_sha256 ON images BEGIN
    INSERT OR REPLACE INTO sync_outbox (image_id, seq)
    VALUES (NEW.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox));
END;
CREATE TRIGGER sync_queue_embedding AFTER INSERT ON embeddings BEGIN
    INSERT OR REPLACE INTO sync_outbox (image_id, seq)
    VALUES (NEW.image_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox));
END;
CREATE TRIGGER sync_queue_delete BEFORE DELETE ON images BEGIN
    INSERT OR REPLACE INTO sync_deletes (remote_id, revision, object_key)
        SELECT remote_id, revision, object_key FROM sync_items WHERE image_id = OLD.id AND revision IS NOT NULL;
    DELETE FROM sync_outbox WHERE image_id = OLD.id;
END;
"#,
    r#"
-- Standard names are unique across production, so production gives them: a name made here is
-- provisional (name_given = 0) until a push or a pull brings the name production allocated.
ALTER TABLE images ADD COLUMN name_given INTEGER NOT NULL DEFAULT 0;
-- Production rows that failed validation or whose object is missing or wrong: listed with the
-- reason, never applied; retried on every pull until production fixes them.
CREATE TABLE sync_quarantine (
    remote_id TEXT PRIMARY KEY,
    revision  INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    seen_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"#,
    r#"
-- Films and implants: a film is the imported original (one row per original file); the implant is
-- the item (its box, standard image, vector, label, name and production row). `images` keeps its
-- name and its ids, so vectors, sync state and names stay attached; each existing image becomes a
-- film (same id) with one implant whose box is the crop it had.
CREATE TABLE films (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,          -- of the original bytes
    original_ext  TEXT NOT NULL,
    source_name   TEXT NOT NULL,                 -- local provenance only, never shared
    source_format TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    technical     TEXT NOT NULL DEFAULT '{}',    -- non-identifying JSON
    inverted      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO films (id, sha256, original_ext, source_name, source_format, width, height, technical, inverted, created_at)
    SELECT id, sha256, original_ext, source_name, source_format, width, height, technical, inverted, created_at
    FROM images WHERE origin = 'local';
CREATE TABLE implants_new (
    id              INTEGER PRIMARY KEY,
    film_id         INTEGER REFERENCES films(id),  -- NULL: pulled from production, no original here
    fixture         TEXT,                          -- JSON oriented box {cx, cy, width, length, angle_deg}
    box_source      TEXT NOT NULL DEFAULT 'finder' CHECK (box_source IN ('finder', 'manual', 'migrated', 'production')),
    params          TEXT NOT NULL,                 -- standardisation parameters (JSON)
    params_version  INTEGER NOT NULL,
    standard_sha256 TEXT NOT NULL,
    manufacturer_id INTEGER REFERENCES manufacturers(id),
    system_id       INTEGER REFERENCES systems(id),
    modality        TEXT CHECK (modality IN ('periapical', 'panoramic', 'photo')),
    diameter_mm     REAL,
    length_mm       REAL,
    connection      TEXT,
    notes           TEXT,
    status          TEXT NOT NULL DEFAULT 'unlabelled'
                    CHECK (status IN ('unlabelled', 'labelled', 'confirmed')),
    standard_name   TEXT UNIQUE,
    name_seq        INTEGER,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    origin          TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'remote')),
    name_given      INTEGER NOT NULL DEFAULT 0,
    CHECK ((system_id IS NULL) = (status = 'unlabelled')),
    CHECK ((film_id IS NULL) = (origin = 'remote'))
);
INSERT INTO implants_new (id, film_id, fixture, box_source, params, params_version, standard_sha256,
        manufacturer_id, system_id, modality, diameter_mm, length_mm, connection, notes, status,
        standard_name, name_seq, created_at, updated_at, origin, name_given)
    SELECT i.id,
        CASE WHEN i.origin = 'local' THEN i.id END,
        CASE WHEN i.origin = 'local' THEN json_object(
            'cx', json_extract(c.r, '$.x') + json_extract(c.r, '$.w') / 2.0,
            'cy', json_extract(c.r, '$.y') + json_extract(c.r, '$.h') / 2.0,
            'width', json_extract(c.r, '$.w') * 1.0,
            'length', json_extract(c.r, '$.h') * 1.0,
            'angle_deg', 0.0) END,
        CASE WHEN i.origin = 'remote' THEN 'production'
             WHEN json_type(i.params, '$.crop') = 'object' THEN 'manual'
             ELSE 'migrated' END,
        json_remove(i.params, '$.crop'), i.params_version, i.standard_sha256,
        i.manufacturer_id, i.system_id, i.modality, i.diameter_mm, i.length_mm, i.connection, i.notes, i.status,
        i.standard_name, i.name_seq, i.created_at, i.updated_at, i.origin, i.name_given
    FROM images i,
        (SELECT id AS cid, CASE WHEN json_type(params, '$.crop') = 'object'
                                THEN json_extract(params, '$.crop') ELSE auto_crop END AS r
         FROM images) c
    WHERE c.cid = i.id;
DROP TABLE images;
ALTER TABLE implants_new RENAME TO images;
CREATE INDEX images_system ON images (system_id);
CREATE INDEX images_status ON images (status);
CREATE INDEX images_standard_sha ON images (standard_sha256);
CREATE INDEX images_film ON images (film_id);
CREATE TRIGGER sync_queue_insert AFTER INSERT ON images BEGIN
    INSERT OR REPLACE INTO sync_outbox (image_id, seq)
    VALUES (NEW.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox));
END;
CREATE TRIGGER sync_queue_update AFTER UPDATE OF manufacturer_id, system_id, modality, diameter_mm, length_mm,
    connection, notes, status, standard_name, standard_sha256 ON images BEGIN
    INSERT OR REPLACE INTO sync_outbox (image_id, seq)
    VALUES (NEW.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox));
END;
CREATE TRIGGER sync_queue_delete BEFORE DELETE ON images BEGIN
    INSERT OR REPLACE INTO sync_deletes (remote_id, revision, object_key)
        SELECT remote_id, revision, object_key FROM sync_items WHERE image_id = OLD.id AND revision IS NOT NULL;
    DELETE FROM sync_outbox WHERE image_id = OLD.id;
END;
"#,
    // Aliases: the UNIQUE (manufacturer_id, system_id, key) never held, since one of the two ids is
    // always NULL and SQLite's NULLs are distinct; each open re-added the built-in aliases.
    r#"
DELETE FROM aliases WHERE id NOT IN (SELECT MIN(id) FROM aliases GROUP BY manufacturer_id, system_id, key);
CREATE UNIQUE INDEX aliases_once ON aliases (COALESCE(manufacturer_id, 0), COALESCE(system_id, 0), key);
"#,
    // Review entries a curator checked (catalogue::checks); they go with their implant.
    r#"
CREATE TABLE review_checks (
    image_id    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('mislabel', 'duplicate', 'outlier')),
    seen        TEXT NOT NULL,
    checked_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (image_id, kind)
);
CREATE TRIGGER review_checks_gone AFTER DELETE ON images BEGIN
    DELETE FROM review_checks WHERE image_id = OLD.id;
END;
"#,
    // Learned heads (catalogue::heads): projections of one encoder's vectors, versioned.
    r#"
CREATE TABLE heads (
    id              INTEGER PRIMARY KEY,
    encoder_sha256  TEXT NOT NULL,
    in_dim          INTEGER NOT NULL CHECK (in_dim > 0),
    out_dim         INTEGER NOT NULL CHECK (out_dim > 0),
    weights         BLOB NOT NULL,
    weights_sha256  TEXT NOT NULL,
    trained_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    report          TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
);
CREATE INDEX heads_active ON heads (encoder_sha256, active);
"#,
    // The label history: its table and the triggers that fill it (see catalogue::history).
    history::MIGRATION,
    // Only the vectors production receives (the context view) queue an implant for the next push;
    // the fixture view is made here from the standard image (see embed::View). A learned head is
    // keyed by its view's stamp (heads.encoder_sha256 holds `ModelStamp::head_key`).
    r#"
DROP TRIGGER sync_queue_embedding;
CREATE TRIGGER sync_queue_embedding AFTER INSERT ON embeddings
WHEN substr(NEW.encoder_id, -8) <> '-fixture' BEGIN
    INSERT OR REPLACE INTO sync_outbox (image_id, seq)
    VALUES (NEW.image_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox));
END;
"#,
];

/// Open (creating if needed) the library database at `path` and bring its schema up to date; the
/// OS user becomes the curator when the library has none yet (see `settings::curator`).
pub fn open(path: &Path) -> Result<Connection, Error> {
    let mut conn = connect(path)?;
    migrate(&mut conn, MIGRATIONS.len())?;
    seed_builtin(&mut conn)?;
    settings::ensure_curator(&conn)?;
    Ok(conn)
}

/// Create a database at `path` with the schema as it was at `version` (no later migrations):
/// what an older raiox wrote, so tests can check that such a library migrates with nothing lost.
pub fn create_at_version(path: &Path, version: usize) -> Result<Connection, Error> {
    let mut conn = connect(path)?;
    migrate(&mut conn, version.min(MIGRATIONS.len()))?;
    seed_builtin(&mut conn)?;
    Ok(conn)
}

fn connect(path: &Path) -> Result<Connection, Error> {
    register_sqlite_vec();
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A deferred transaction that reads and then writes fails at once with "database is locked"
    // when another process wrote in between (the busy timeout does not apply to the upgrade), so
    // every transaction takes the write lock when it begins.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Make the sqlite-vec extension (`vec0` tables, `vec_*` functions) available to every connection
/// this process opens; it is compiled into the binary, so nothing is loaded from disk.
fn register_sqlite_vec() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        type Init = unsafe extern "C" fn(
            *mut rusqlite::ffi::sqlite3,
            *mut *mut std::os::raw::c_char,
            *const rusqlite::ffi::sqlite3_api_routines,
        ) -> std::os::raw::c_int;
        // SAFETY: sqlite3_vec_init has exactly the extension entry-point signature SQLite expects;
        // sqlite-vec declares it without parameters, so it is cast to that signature here.
        unsafe {
            let init: Init = std::mem::transmute(sqlite_vec::sqlite3_vec_init as *const ());
            rusqlite::ffi::sqlite3_auto_extension(Some(init));
        }
    });
}

/// Apply the migrations up to schema `to`.
fn migrate(conn: &mut Connection, to: usize) -> Result<(), Error> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(Error::Invalid(format!(
            "this library was written by a newer raiox (schema {version}, this build knows {})",
            MIGRATIONS.len()
        )));
    }
    if version >= to {
        return Ok(());
    }
    // A migration may rebuild a table (SQLite cannot drop a constraint in place): with foreign keys
    // on, dropping the old table would cascade into the rows that point at it. They are switched
    // off around the migrations (the pragma is a no-op inside a transaction) and every reference
    // is checked before the last migration commits.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            let broken: i64 =
                tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
            if broken > 0 {
                return Err(Error::Invalid(format!(
                    "migrating the catalogue to schema {} would leave {broken} broken references; nothing was changed",
                    i + 1
                )));
            }
            tx.commit()?;
        }
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

/// Insert the built-in manufacturers, systems and aliases that are not there yet (idempotent, so a
/// newer build adds its new entries to an old library).
fn seed_builtin(conn: &mut Connection) -> Result<(), Error> {
    let all = builtin()?;
    let tx = conn.transaction()?;
    for m in &all {
        tx.execute(
            "INSERT OR IGNORE INTO manufacturers (name, slug, builtin) VALUES (?1, ?2, 1)",
            (&m.name, slug(&m.name)),
        )?;
        let mid: i64 = tx.query_row(
            "SELECT id FROM manufacturers WHERE slug = ?1",
            [slug(&m.name)],
            |r| r.get(0),
        )?;
        for alias in &m.aliases {
            tx.execute(
                "INSERT OR IGNORE INTO aliases (manufacturer_id, alias, key) VALUES (?1, ?2, ?3)",
                (mid, alias, key(alias)),
            )?;
        }
        for system in &m.systems {
            tx.execute(
                "INSERT OR IGNORE INTO systems (manufacturer_id, name, slug, builtin) VALUES (?1, ?2, ?3, 1)",
                (mid, &system.name, slug(&system.name)),
            )?;
            let sid: i64 = tx.query_row(
                "SELECT id FROM systems WHERE manufacturer_id = ?1 AND slug = ?2",
                (mid, slug(&system.name)),
                |r| r.get(0),
            )?;
            for alias in &system.aliases {
                tx.execute(
                    "INSERT OR IGNORE INTO aliases (system_id, alias, key) VALUES (?1, ?2, ?3)",
                    (sid, alias, key(alias)),
                )?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM aliases", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn opening_again_adds_no_alias_and_duplicates_of_old_libraries_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalogue.db");
        let first = aliases(&open(&path).unwrap());
        assert!(first > 50, "{first} aliases");
        assert_eq!(aliases(&open(&path).unwrap()), first);

        // A library from before the fix (schema 5): the built-in aliases seeded three times.
        let old = dir.path().join("old.db");
        let mut conn = create_at_version(&old, 5).unwrap();
        seed_builtin(&mut conn).unwrap();
        seed_builtin(&mut conn).unwrap();
        assert!(aliases(&conn) > first, "the old schema let duplicates in");
        drop(conn);
        assert_eq!(aliases(&open(&old).unwrap()), first);
    }
}
