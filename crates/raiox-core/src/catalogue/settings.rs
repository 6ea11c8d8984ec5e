//! Library settings: small named values kept in the catalogue (active encoder, cached calibration,
//! the sync watermark).
//!
//! Why a table and not a file: settings change together with the rows they describe (the active
//! encoder with its vectors, the watermark with the pulled rows), so they commit in one transaction.

use rusqlite::{Connection, OptionalExtension};

use crate::Error;

/// The encoder whose vectors the library searches (queries must use the same one).
pub const ACTIVE_ENCODER: &str = "encoder";

/// A library setting.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>, Error> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Store a library setting.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<(), Error> {
    conn.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
        [key, value],
    )?;
    Ok(())
}
