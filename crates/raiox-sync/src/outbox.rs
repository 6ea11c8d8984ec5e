//! The library's side of sync: the outbox of local changes, what production holds per item, pending
//! deletes, objects to remove, conflicts and the pull watermark — all in the catalogue's SQLite.
//!
//! Why in the catalogue: every step of a sync commits here in the same transaction as its effect on
//! the library, so a crash at any moment leaves a queue that the next run simply continues.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use raiox_core::catalogue::images::{Attributes, Status};
use raiox_core::catalogue::settings;
use raiox_core::Error;

/// What production holds for one item, as of this library's last push or pull.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncItem {
    /// Production row id.
    pub remote_id: Uuid,
    /// Production revision last written or read (None: never written).
    pub revision: Option<i64>,
    /// Object key production's row points to.
    pub object_key: Option<String>,
    /// Standard image SHA-256 under that key.
    pub content_sha256: Option<String>,
}

/// Attributes plus curation status, the JSON stored in production's `attributes` column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowAttributes {
    /// Optional attributes.
    #[serde(flatten)]
    pub attributes: Attributes,
    /// Curation status ("labelled" or "confirmed").
    pub status: Status,
}

const WATERMARK: &str = "sync_pulled_revision";
/// Settings key of the last production history entry pulled (by the history part of a sync).
const HISTORY_WATERMARK: &str = "sync_pulled_history";

/// Queued items: (image id, seq), oldest change first.
pub fn pending(conn: &Connection) -> Result<Vec<(i64, i64)>, Error> {
    let mut stmt = conn.prepare("SELECT image_id, seq FROM sync_outbox ORDER BY seq")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether an item has a local change not yet pushed.
pub fn is_pending(conn: &Connection, image_id: i64) -> Result<bool, Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sync_outbox WHERE image_id = ?1",
            [image_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn item_of(r: &rusqlite::Row) -> rusqlite::Result<SyncItem> {
    let id: String = r.get(0)?;
    Ok(SyncItem {
        remote_id: Uuid::parse_str(&id).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })?,
        revision: r.get(1)?,
        object_key: r.get(2)?,
        content_sha256: r.get(3)?,
    })
}

/// The sync state of an image, if it was ever given a production id.
pub fn item(conn: &Connection, image_id: i64) -> Result<Option<SyncItem>, Error> {
    Ok(conn
        .query_row(
            "SELECT remote_id, revision, object_key, content_sha256 FROM sync_items WHERE image_id = ?1",
            [image_id],
            item_of,
        )
        .optional()?)
}

/// The local image that mirrors a production row, with its sync state.
pub fn by_remote_id(conn: &Connection, remote_id: Uuid) -> Result<Option<(i64, SyncItem)>, Error> {
    Ok(conn
        .query_row(
            "SELECT remote_id, revision, object_key, content_sha256, image_id FROM sync_items WHERE remote_id = ?1",
            [remote_id.to_string()],
            |r| Ok((r.get(4)?, item_of(r)?)),
        )
        .optional()?)
}

/// The production id of an image, minted (random) the first time it is pushed and kept for ever.
pub fn ensure_remote_id(conn: &Connection, image_id: i64) -> Result<SyncItem, Error> {
    if let Some(it) = item(conn, image_id)? {
        return Ok(it);
    }
    let id = Uuid::new_v4();
    conn.execute(
        "INSERT INTO sync_items (image_id, remote_id) VALUES (?1, ?2)",
        params![image_id, id.to_string()],
    )?;
    Ok(SyncItem {
        remote_id: id,
        revision: None,
        object_key: None,
        content_sha256: None,
    })
}

/// Record that production now holds `item` for the image; dequeue the change if nothing changed
/// since it was read (`seq`), and queue the object the row no longer points to for removal.
pub fn mark_synced(tx: &Connection, image_id: i64, seq: Option<i64>, item: &SyncItem) -> Result<(), Error> {
    let old: Option<Option<String>> = tx
        .query_row(
            "SELECT object_key FROM sync_items WHERE image_id = ?1",
            [image_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(Some(old_key)) = old {
        if item.object_key.as_deref() != Some(old_key.as_str()) {
            tx.execute(
                "INSERT OR IGNORE INTO sync_garbage (object_key) VALUES (?1)",
                [&old_key],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO sync_items (image_id, remote_id, revision, object_key, content_sha256)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (image_id) DO UPDATE SET remote_id = excluded.remote_id, revision = excluded.revision,
             object_key = excluded.object_key, content_sha256 = excluded.content_sha256",
        params![
            image_id,
            item.remote_id.to_string(),
            item.revision,
            item.object_key,
            item.content_sha256
        ],
    )?;
    match seq {
        Some(seq) => tx.execute(
            "DELETE FROM sync_outbox WHERE image_id = ?1 AND seq = ?2",
            params![image_id, seq],
        )?,
        None => tx.execute("DELETE FROM sync_outbox WHERE image_id = ?1", [image_id])?,
    };
    if let Some(key) = &item.object_key {
        tx.execute("DELETE FROM sync_garbage WHERE object_key = ?1", [key])?;
    }
    Ok(())
}

/// An object production no longer points to (another library's key replaced by this write).
pub fn queue_garbage(tx: &Connection, object_key: &str) -> Result<(), Error> {
    tx.execute(
        "INSERT OR IGNORE INTO sync_garbage (object_key) VALUES (?1)",
        [object_key],
    )?;
    Ok(())
}

/// Deleted items still live in production: (production id, revision last seen, object key).
pub fn deletes(conn: &Connection) -> Result<Vec<(Uuid, i64, Option<String>)>, Error> {
    let mut stmt =
        conn.prepare("SELECT remote_id, revision, object_key FROM sync_deletes ORDER BY remote_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, rev, key) = row?;
        if let Ok(id) = Uuid::parse_str(&id) {
            out.push((id, rev, key));
        }
    }
    Ok(out)
}

/// A production row is soft-deleted: forget the pending delete and queue its object for removal.
pub fn mark_deleted(tx: &Connection, remote_id: Uuid, object_key: Option<&str>) -> Result<(), Error> {
    tx.execute(
        "DELETE FROM sync_deletes WHERE remote_id = ?1",
        [remote_id.to_string()],
    )?;
    if let Some(key) = object_key {
        tx.execute(
            "INSERT OR IGNORE INTO sync_garbage (object_key) VALUES (?1)",
            [key],
        )?;
    }
    Ok(())
}

/// Objects to remove; a key some item points to again (relabelled back) is dropped from the list.
pub fn garbage(conn: &Connection) -> Result<Vec<String>, Error> {
    conn.execute(
        "DELETE FROM sync_garbage WHERE object_key IN (SELECT object_key FROM sync_items WHERE object_key IS NOT NULL)",
        [],
    )?;
    garbage_queued(conn)
}

/// Objects queued for removal, as they stand (read only: what a dry run plans from).
pub fn garbage_queued(conn: &Connection) -> Result<Vec<String>, Error> {
    let mut stmt = conn.prepare("SELECT object_key FROM sync_garbage ORDER BY object_key")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The items whose production row points to an object, as this library last saw it.
pub fn items_pointing_to(conn: &Connection, object_key: &str) -> Result<Vec<i64>, Error> {
    let mut stmt = conn.prepare("SELECT image_id FROM sync_items WHERE object_key = ?1 ORDER BY image_id")?;
    let rows = stmt.query_map([object_key], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An object was removed.
pub fn forget_garbage(conn: &Connection, key: &str) -> Result<(), Error> {
    conn.execute("DELETE FROM sync_garbage WHERE object_key = ?1", [key])?;
    Ok(())
}

/// An item changed both here and in production: keep both, list it for the curator.
pub fn record_conflict(
    tx: &Connection,
    image_id: i64,
    remote_revision: i64,
    remote: &str,
) -> Result<(), Error> {
    tx.execute(
        "INSERT OR REPLACE INTO sync_conflicts (image_id, remote_revision, remote) VALUES (?1, ?2, ?3)",
        params![image_id, remote_revision, remote],
    )?;
    Ok(())
}

/// Items in conflict: (image id, production revision, production's row as JSON).
pub fn conflicts(conn: &Connection) -> Result<Vec<(i64, i64, String)>, Error> {
    let mut stmt =
        conn.prepare("SELECT image_id, remote_revision, remote FROM sync_conflicts ORDER BY image_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Resolve a conflict: keep this library's version (queued, so the next push overwrites
/// production) or take production's (the next pull overwrites the library). Returns whether
/// production's version is a deletion.
pub fn resolve(conn: &mut Connection, image_id: i64, keep_local: bool) -> Result<bool, Error> {
    let tx = conn.transaction()?;
    let found: Option<(i64, String)> = tx
        .query_row(
            "SELECT remote_revision, remote FROM sync_conflicts WHERE image_id = ?1",
            [image_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((rev, remote)) = found else {
        return Err(Error::Invalid(format!("image {image_id} has no sync conflict")));
    };
    let deleted = serde_json::from_str::<serde_json::Value>(&remote)
        .ok()
        .and_then(|v| v.get("deleted").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    if keep_local {
        tx.execute(
            "UPDATE sync_items SET revision = ?2 WHERE image_id = ?1",
            params![image_id, rev],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO sync_outbox (image_id, seq)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sync_outbox))",
            [image_id],
        )?;
    } else {
        tx.execute("DELETE FROM sync_outbox WHERE image_id = ?1", [image_id])?;
        if !deleted {
            // Pull again from just before the conflicting revision.
            let wm = watermark(&tx)?;
            settings::set(&tx, WATERMARK, &wm.min(rev - 1).to_string())?;
            tx.execute(
                "UPDATE sync_items SET revision = NULL WHERE image_id = ?1",
                [image_id],
            )?;
        } else {
            // Production already deleted it: nothing to push when it is deleted here.
            tx.execute("DELETE FROM sync_items WHERE image_id = ?1", [image_id])?;
        }
    }
    tx.execute("DELETE FROM sync_conflicts WHERE image_id = ?1", [image_id])?;
    tx.commit()?;
    Ok(deleted)
}

/// Whether an item is listed as a conflict.
pub fn in_conflict(conn: &Connection, image_id: i64) -> Result<bool, Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sync_conflicts WHERE image_id = ?1",
            [image_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The last production revision pulled.
pub fn watermark(conn: &Connection) -> Result<i64, Error> {
    Ok(settings::get(conn, WATERMARK)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Advance the pull watermark.
pub fn set_watermark(conn: &Connection, revision: i64) -> Result<(), Error> {
    settings::set(conn, WATERMARK, &revision.to_string())
}

/// The last production history entry (`seq`) pulled.
pub fn history_watermark(conn: &Connection) -> Result<i64, Error> {
    Ok(settings::get(conn, HISTORY_WATERMARK)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Advance the history watermark.
pub fn set_history_watermark(conn: &Connection, seq: i64) -> Result<(), Error> {
    settings::set(conn, HISTORY_WATERMARK, &seq.to_string())
}

/// The object key of a standard image: `implants/<sha[..2]>/<sha>.png`.
///
/// Why content-addressed: several curators write to one bucket; a key that names its content can
/// never be overwritten with other bytes, so every row's object always holds that row's image.
pub fn object_key(standard_sha256: &str) -> String {
    format!(
        "implants/{}/{standard_sha256}.png",
        &standard_sha256[..2.min(standard_sha256.len())]
    )
}

/// The position of an item's queued change, if it has one.
pub fn queued_seq(conn: &Connection, image_id: i64) -> Result<Option<i64>, Error> {
    Ok(conn
        .query_row(
            "SELECT seq FROM sync_outbox WHERE image_id = ?1",
            [image_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// A production row that cannot be used: kept out of the library with its reason.
pub fn quarantine(tx: &Connection, remote_id: &str, revision: i64, reason: &str) -> Result<(), Error> {
    tx.execute(
        "INSERT OR REPLACE INTO sync_quarantine (remote_id, revision, reason) VALUES (?1, ?2, ?3)",
        params![remote_id, revision, reason],
    )?;
    Ok(())
}

/// Forget an implant's sync state (production deleted it and so does this library).
pub fn forget(tx: &Connection, image_id: i64) -> Result<(), Error> {
    tx.execute("DELETE FROM sync_items WHERE image_id = ?1", [image_id])?;
    Ok(())
}

/// A quarantined row is now fine (or gone).
pub fn release(tx: &Connection, remote_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "DELETE FROM sync_quarantine WHERE remote_id = ?1",
        [remote_id.to_string()],
    )?;
    Ok(())
}

/// Quarantined production rows: (production id, revision, reason).
pub fn quarantined(conn: &Connection) -> Result<Vec<(String, i64, String)>, Error> {
    let mut stmt =
        conn.prepare("SELECT remote_id, revision, reason FROM sync_quarantine ORDER BY remote_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
