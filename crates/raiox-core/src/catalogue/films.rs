//! Film records: the imported originals, each holding 0…N implants (the items of `images`).
//!
//! Why a table of its own: one radiograph often shows two or three implants of different systems,
//! each labelled, embedded and synced on its own, while the original file, its provenance and its
//! technical facts belong to the film once. A film whose finder found nothing stays listed so
//! the curator can draw its implants.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::Serialize;

use crate::decode::Technical;
use crate::Error;

/// One imported original.
#[derive(Debug, Clone, Serialize)]
pub struct FilmRecord {
    /// Database id.
    pub id: i64,
    /// SHA-256 of the original bytes.
    pub sha256: String,
    /// Extension of the stored original.
    pub original_ext: String,
    /// Where the file came from: local provenance only, never exported or uploaded.
    #[serde(skip)]
    pub source_name: String,
    /// Detected format of the original.
    pub source_format: String,
    /// Width after EXIF orientation.
    pub width: u32,
    /// Height after EXIF orientation.
    pub height: u32,
    /// Non-identifying technical metadata.
    pub technical: Technical,
    /// Whether the film was treated as inverted.
    pub inverted: bool,
    /// Its implants' ids, in box order.
    pub implants: Vec<i64>,
    /// When it was imported (UTC, ISO 8601).
    pub created_at: String,
}

/// Everything needed to insert a freshly imported film.
#[derive(Debug, Clone)]
pub struct NewFilm {
    /// SHA-256 of the original bytes.
    pub sha256: String,
    /// Extension of the stored original (also its detected format).
    pub format: String,
    /// Local provenance (the path or URL it was imported from).
    pub source_name: String,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Technical metadata.
    pub technical: Technical,
    /// Treated as inverted.
    pub inverted: bool,
}

const SELECT: &str =
    "SELECT f.id, f.sha256, f.original_ext, f.source_name, f.source_format, f.width, f.height,
    f.technical, f.inverted, f.created_at,
    (SELECT group_concat(i.id) FROM (SELECT id FROM images WHERE film_id = f.id ORDER BY id) i)
    FROM films f";

fn from_row(r: &Row) -> rusqlite::Result<FilmRecord> {
    let technical: String = r.get(7)?;
    let implants: Option<String> = r.get(10)?;
    Ok(FilmRecord {
        id: r.get(0)?,
        sha256: r.get(1)?,
        original_ext: r.get(2)?,
        source_name: r.get(3)?,
        source_format: r.get(4)?,
        width: r.get(5)?,
        height: r.get(6)?,
        technical: serde_json::from_str(&technical).unwrap_or_default(),
        inverted: r.get(8)?,
        created_at: r.get(9)?,
        implants: implants
            .unwrap_or_default()
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect(),
    })
}

/// Insert a new film and return its id.
pub fn insert(tx: &Transaction, film: &NewFilm) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO films (sha256, original_ext, source_name, source_format, width, height, technical, inverted)
         VALUES (?1, ?2, ?3, ?2, ?4, ?5, ?6, ?7)",
        params![
            film.sha256,
            film.format,
            film.source_name,
            film.width,
            film.height,
            serde_json::to_string(&film.technical)?,
            film.inverted,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The film whose original has this SHA-256, if any.
pub fn id_by_sha(conn: &Connection, sha256: &str) -> Result<Option<i64>, Error> {
    Ok(conn
        .query_row("SELECT id FROM films WHERE sha256 = ?1", [sha256], |r| r.get(0))
        .optional()?)
}

/// One film by id.
pub fn get(conn: &Connection, id: i64) -> Result<FilmRecord, Error> {
    conn.query_row(&format!("{SELECT} WHERE f.id = ?1"), [id], from_row)
        .optional()?
        .ok_or(Error::NoFilm(id))
}

/// Every film, in id order (`empty_only`: only those with no implant, which need one drawn).
pub fn list(conn: &Connection, empty_only: bool) -> Result<Vec<FilmRecord>, Error> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE NOT ?1 OR NOT EXISTS (SELECT 1 FROM images WHERE film_id = f.id) ORDER BY f.id"
    ))?;
    let rows = stmt.query_map([empty_only], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Source names of films imported from the web (local provenance), for resuming an interrupted
/// URL import: source → film id.
pub fn imported_urls(conn: &Connection) -> Result<std::collections::HashMap<String, i64>, Error> {
    let mut stmt = conn.prepare("SELECT source_name, id FROM films WHERE source_name LIKE 'http%'")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Record the polarity a film was last developed with.
pub fn set_inverted(tx: &Transaction, id: i64, inverted: bool) -> Result<(), Error> {
    tx.execute(
        "UPDATE films SET inverted = ?2 WHERE id = ?1",
        params![id, inverted],
    )?;
    Ok(())
}

/// Delete a film row that no implant uses any more; returns whether it was deleted.
pub fn delete_if_empty(tx: &Transaction, id: i64) -> Result<bool, Error> {
    Ok(tx.execute(
        "DELETE FROM films WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM images WHERE film_id = ?1)",
        [id],
    )? > 0)
}

/// Every original this library holds: (sha256, extension), for integrity checks and sweeps.
pub fn originals(conn: &Connection) -> Result<Vec<(i64, String, String)>, Error> {
    let mut stmt = conn.prepare("SELECT id, sha256, original_ext FROM films ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
