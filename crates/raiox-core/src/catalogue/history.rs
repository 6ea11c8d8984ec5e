//! Label history: every label, box and crop change of an implant, when, by whom, from and to.
//!
//! Why triggers: the entries are written by SQLite triggers on `images`, in the transaction of the
//! change itself, so no code path (curate, import, a second raiox process on the same library,
//! a future one) can change an implant without it being recorded, and nothing is recorded for a
//! change that rolls back.
//!
//! Why the curator comes from the `settings` table and not from an application-defined SQL
//! function: a trigger that calls a function some connection did not register fails the whole
//! `UPDATE`, so a library touched by any other SQLite client (a repair in the `sqlite3` shell, an
//! older raiox) could no longer be edited. A setting is plain data every connection sees, and
//! [`crate::catalogue::db::open`] stores the OS user name there when none is set, so an entry is
//! never anonymous.
//!
//! Changes pulled from production are not recorded by the triggers (a pull pauses them inside its
//! transaction, see [`pause`]): production's own history entries, written by the curator who made
//! the change, are brought in instead ([`insert_pulled`]), so each change is attributed to its
//! author. Every entry has a UUID (`entry_id`), which keys it in production: a re-push or a
//! re-pull never duplicates it and two curators never overwrite each other's.
//!
//! Entries outlive their implant (a removal is an entry too); before an id SQLite may reuse gets a
//! new implant, the old entries are detached from it (their `image_id` is cleared).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::Error;

/// The schema migration that adds the history table and its triggers (listed last in
/// [`crate::catalogue::db`]'s migrations; self-contained, so it can be renumbered).
pub const MIGRATION: &str = r#"
CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    entry_id   TEXT NOT NULL UNIQUE DEFAULT (lower(
                   hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                   || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
                   || '-' || hex(randomblob(6)))),
    image_id   INTEGER,                 -- NULL once the implant is gone and its id may be reused
    remote_id  TEXT,                    -- production id, kept when the implant is removed
    at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    curator    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('added', 'label', 'box', 'crop', 'removed')),
    from_value TEXT,
    to_value   TEXT,
    pushed     INTEGER NOT NULL DEFAULT 0  -- 1: production holds it (pushed, or pulled from there)
);
CREATE INDEX history_image ON history (image_id, at);
CREATE INDEX history_unpushed ON history (id) WHERE pushed = 0;
CREATE TRIGGER history_added AFTER INSERT ON images
WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'history.paused') BEGIN
    UPDATE history SET image_id = NULL WHERE image_id = NEW.id;
    INSERT INTO history (image_id, curator, kind, from_value, to_value)
    VALUES (NEW.id, COALESCE((SELECT value FROM settings WHERE key = 'curator'), 'unknown'), 'added', NULL,
        json_object('fixture', json(NEW.fixture), 'box_source', NEW.box_source,
                    'standard_sha256', NEW.standard_sha256));
END;
CREATE TRIGGER history_pulled_in AFTER INSERT ON images
WHEN EXISTS (SELECT 1 FROM settings WHERE key = 'history.paused') BEGIN
    UPDATE history SET image_id = NULL WHERE image_id = NEW.id;
END;
CREATE TRIGGER history_label AFTER UPDATE OF manufacturer_id, system_id, status ON images
WHEN (OLD.manufacturer_id IS NOT NEW.manufacturer_id OR OLD.system_id IS NOT NEW.system_id
      OR OLD.status IS NOT NEW.status)
    AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'history.paused') BEGIN
    INSERT INTO history (image_id, curator, kind, from_value, to_value)
    VALUES (NEW.id, COALESCE((SELECT value FROM settings WHERE key = 'curator'), 'unknown'), 'label',
        json_object('manufacturer', (SELECT name FROM manufacturers WHERE id = OLD.manufacturer_id),
                    'system', (SELECT name FROM systems WHERE id = OLD.system_id), 'status', OLD.status),
        json_object('manufacturer', (SELECT name FROM manufacturers WHERE id = NEW.manufacturer_id),
                    'system', (SELECT name FROM systems WHERE id = NEW.system_id), 'status', NEW.status));
END;
CREATE TRIGGER history_box AFTER UPDATE OF fixture ON images
WHEN OLD.fixture IS NOT NEW.fixture
    AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'history.paused') BEGIN
    INSERT INTO history (image_id, curator, kind, from_value, to_value)
    VALUES (NEW.id, COALESCE((SELECT value FROM settings WHERE key = 'curator'), 'unknown'), 'box',
        OLD.fixture, NEW.fixture);
END;
-- A new box re-crops too: that is one change (the box entry); a crop entry is a re-derivation
-- with the same box (polarity, a newer pipeline).
CREATE TRIGGER history_crop AFTER UPDATE OF standard_sha256, params ON images
WHEN (OLD.standard_sha256 IS NOT NEW.standard_sha256 OR OLD.params IS NOT NEW.params)
    AND OLD.fixture IS NEW.fixture
    AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'history.paused') BEGIN
    INSERT INTO history (image_id, curator, kind, from_value, to_value)
    VALUES (NEW.id, COALESCE((SELECT value FROM settings WHERE key = 'curator'), 'unknown'), 'crop',
        json_object('standard_sha256', OLD.standard_sha256, 'params', json(OLD.params)),
        json_object('standard_sha256', NEW.standard_sha256, 'params', json(NEW.params)));
END;
CREATE TRIGGER history_removed BEFORE DELETE ON images BEGIN
    UPDATE history SET remote_id = (SELECT remote_id FROM sync_items WHERE image_id = OLD.id)
        WHERE image_id = OLD.id AND remote_id IS NULL;
    INSERT INTO history (image_id, remote_id, curator, kind, from_value, to_value)
    SELECT OLD.id, (SELECT remote_id FROM sync_items WHERE image_id = OLD.id),
        COALESCE((SELECT value FROM settings WHERE key = 'curator'), 'unknown'), 'removed',
        json_object('manufacturer', (SELECT name FROM manufacturers WHERE id = OLD.manufacturer_id),
                    'system', (SELECT name FROM systems WHERE id = OLD.system_id), 'status', OLD.status),
        NULL
    WHERE NOT EXISTS (SELECT 1 FROM settings WHERE key = 'history.paused');
END;
"#;

/// The settings key whose presence pauses the triggers (set and cleared inside one transaction).
const PAUSED: &str = "history.paused";

/// What kind of change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The implant was found on an imported film or drawn by a curator.
    Added,
    /// Manufacturer, system or status changed (from/to: `{manufacturer, system, status}`).
    Label,
    /// The fixture box moved (from/to: the box JSON); the implant was re-cropped with it.
    Box,
    /// The standard image was re-derived with the same box (from/to: `{standard_sha256, params}`).
    Crop,
    /// The implant was removed (from: its last label).
    Removed,
}

impl Kind {
    /// Every kind (what production may send, what a front may filter on).
    pub const ALL: [Kind; 5] = [Kind::Added, Kind::Label, Kind::Box, Kind::Crop, Kind::Removed];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Label => "label",
            Kind::Box => "box",
            Kind::Crop => "crop",
            Kind::Removed => "removed",
        }
    }

    /// The kind with this spelling; `None` for anything else (an unknown kind is refused).
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One recorded change, as the inspector and `raiox history` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Unique id of the entry (the same in every library and in production).
    pub entry_id: String,
    /// The implant (`None` once it was removed and its id went to another implant).
    pub implant_id: Option<i64>,
    /// When (UTC, ISO 8601 with milliseconds).
    pub at: String,
    /// Who: the curator name of the library where the change was made.
    pub curator: String,
    /// What changed.
    pub kind: Kind,
    /// The value before (JSON text), when there was one.
    pub from: Option<String>,
    /// The value after (JSON text), when there is one.
    pub to: Option<String>,
    /// Whether production holds the entry (pushed from here or pulled from there).
    pub in_production: bool,
}

impl Change {
    /// One line in words, the same in every front: "label: Straumann BLT (labelled) → …".
    pub fn summary(&self) -> String {
        let side = |v: &Option<String>| match v {
            None => "—".to_string(),
            Some(text) => describe(self.kind, text),
        };
        format!(
            "{} {} by {}: {} → {}",
            self.at,
            self.kind.as_str(),
            self.curator,
            side(&self.from),
            side(&self.to)
        )
    }
}

/// A value of an entry in words where its shape is known, else the JSON text as it is.
fn describe(kind: Kind, text: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_string();
    };
    match kind {
        Kind::Label | Kind::Removed => match (v["manufacturer"].as_str(), v["system"].as_str()) {
            (Some(m), Some(s)) => format!("{m} {s} ({})", v["status"].as_str().unwrap_or("?")),
            _ => "unlabelled".into(),
        },
        Kind::Box => match (v["cx"].as_f64(), v["cy"].as_f64(), v["angle_deg"].as_f64()) {
            (Some(x), Some(y), Some(a)) => format!("box at ({x:.0}, {y:.0}) {a:.0}°"),
            _ => text.to_string(),
        },
        Kind::Crop => v["standard_sha256"].as_str().map_or(text.to_string(), |s| {
            format!("image {}", s.chars().take(12).collect::<String>())
        }),
        Kind::Added => "added".into(),
    }
}

const COLUMNS: &str = "entry_id, image_id, at, curator, kind, from_value, to_value, pushed";

fn change_of(r: &rusqlite::Row) -> rusqlite::Result<Change> {
    let kind: String = r.get(4)?;
    Ok(Change {
        entry_id: r.get(0)?,
        implant_id: r.get(1)?,
        at: r.get(2)?,
        curator: r.get(3)?,
        // The CHECK constraint admits only known kinds.
        kind: Kind::parse(&kind).unwrap_or(Kind::Label),
        from: r.get(5)?,
        to: r.get(6)?,
        in_production: r.get(7)?,
    })
}

/// The history of one implant, newest first (a removed implant's too, until its id is reused).
/// An id with neither an implant nor a history is an error, so a typo is not mistaken for an
/// implant nobody changed.
pub fn for_implant(conn: &Connection, id: i64) -> Result<Vec<Change>, Error> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM history WHERE image_id = ?1 ORDER BY at DESC, id DESC"
    ))?;
    let changes: Vec<Change> = stmt.query_map([id], change_of)?.collect::<Result<_, _>>()?;
    if changes.is_empty() {
        let exists = conn
            .query_row("SELECT 1 FROM images WHERE id = ?1", [id], |_| Ok(()))
            .optional()?;
        if exists.is_none() {
            return Err(Error::NotFound(id));
        }
    }
    Ok(changes)
}

/// An entry to push: the change and the production id of its implant.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The change.
    pub change: Change,
    /// The implant's production id (its `sync_items` row, or kept from before it was removed).
    pub remote_id: String,
}

/// Up to `limit` entries production does not hold yet whose implant has a production id (the
/// others wait until their implant is first pushed), oldest first.
pub fn unpushed(conn: &Connection, limit: usize) -> Result<Vec<Pending>, Error> {
    let mut stmt = conn.prepare(
        "SELECT h.entry_id, h.image_id, h.at, h.curator, h.kind, h.from_value, h.to_value, h.pushed,
                COALESCE(h.remote_id, s.remote_id)
         FROM history h LEFT JOIN sync_items s ON s.image_id = h.image_id
         WHERE h.pushed = 0 AND COALESCE(h.remote_id, s.remote_id) IS NOT NULL
         ORDER BY h.id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Pending {
            change: change_of(r)?,
            remote_id: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Note that production holds these entries.
pub fn mark_pushed(conn: &Connection, entry_ids: &[String]) -> Result<(), Error> {
    let mut stmt = conn.prepare("UPDATE history SET pushed = 1 WHERE entry_id = ?1")?;
    for id in entry_ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// Stop the triggers from recording, for the rest of the transaction `conn` is in (a pull applies
/// other curators' changes, which come with their own entries). Always paired with [`resume`]
/// before the commit; a rollback undoes it by itself, and no other connection ever sees it.
pub fn pause(conn: &Connection) -> Result<(), Error> {
    crate::catalogue::settings::set(conn, PAUSED, "1")
}

/// Record again (see [`pause`]).
pub fn resume(conn: &Connection) -> Result<(), Error> {
    conn.execute("DELETE FROM settings WHERE key = ?1", [PAUSED])?;
    Ok(())
}

/// An entry read from production, already validated (the caller checks curator, kind, time and
/// sizes before building one).
#[derive(Debug, Clone)]
pub struct PulledEntry {
    /// The entry's UUID, lower-case hyphenated.
    pub entry_id: String,
    /// When (UTC, ISO 8601 with milliseconds, as the triggers write it).
    pub at: String,
    /// Who.
    pub curator: String,
    /// What.
    pub kind: Kind,
    /// Before.
    pub from: Option<String>,
    /// After.
    pub to: Option<String>,
}

/// Add a production entry to the history of the implant with production id `remote_id` (`image_id`
/// when this library holds it, else it waits for [`attach`]); an entry already here is left as it
/// is. Returns whether it was new.
pub fn insert_pulled(
    conn: &Connection,
    image_id: Option<i64>,
    remote_id: &str,
    e: &PulledEntry,
) -> Result<bool, Error> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO history (entry_id, image_id, remote_id, at, curator, kind, from_value, to_value, pushed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)",
        params![
            e.entry_id,
            image_id,
            remote_id,
            e.at,
            e.curator,
            e.kind.as_str(),
            e.from,
            e.to
        ],
    )?;
    Ok(n > 0)
}

/// Give a newly pulled implant the production entries that arrived before it did.
pub fn attach(conn: &Connection, image_id: i64, remote_id: &str) -> Result<(), Error> {
    conn.execute(
        "UPDATE history SET image_id = ?1 WHERE remote_id = ?2 AND image_id IS NULL AND pushed = 1",
        params![image_id, remote_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_refused() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("Label"), None);
        assert_eq!(Kind::parse("drop table"), None);
    }

    #[test]
    fn a_label_change_reads_as_words() {
        let c = Change {
            entry_id: "e".into(),
            implant_id: Some(1),
            at: "2026-01-01T00:00:00.000Z".into(),
            curator: "ana".into(),
            kind: Kind::Label,
            from: Some(r#"{"manufacturer":null,"system":null,"status":"unlabelled"}"#.into()),
            to: Some(r#"{"manufacturer":"Straumann","system":"BLT","status":"labelled"}"#.into()),
            in_production: false,
        };
        assert_eq!(
            c.summary(),
            "2026-01-01T00:00:00.000Z label by ana: unlabelled → Straumann BLT (labelled)"
        );
    }
}
