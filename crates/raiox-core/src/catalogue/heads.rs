//! Learned heads: small projections trained on the library's own labels over one encoder's
//! frozen vectors, kept versioned with what they achieved.
//!
//! Why versioned rows and not a file: a head belongs to the library's labels at the time it was
//! trained; keeping every version with its held-out figures says which one is in use and why, and
//! switching one on commits together with switching the previous one off.

use rusqlite::{params, Connection, OptionalExtension};

use super::vectors::{from_blob, to_blob};
use crate::util::sha256_hex;
use crate::Error;

/// A head as stored.
#[derive(Debug, Clone)]
pub struct StoredHead {
    /// Version (row id).
    pub id: i64,
    /// Weights SHA-256 of the encoder whose vectors it projects.
    pub encoder_sha256: String,
    /// Input dimension (the encoder's).
    pub in_dim: usize,
    /// Output dimension.
    pub out_dim: usize,
    /// `in_dim × out_dim` weights, row-major.
    pub weights: Vec<f32>,
    /// SHA-256 of the weights' bytes.
    pub weights_sha256: String,
    /// When it was trained (UTC, ISO 8601).
    pub trained_at: String,
    /// What training reported (JSON), for `raiox learn` and the window.
    pub report: String,
    /// Whether searches use it.
    pub active: bool,
}

/// Store a trained head; with `active`, it replaces the encoder's active head in one transaction.
pub fn insert(
    conn: &mut Connection,
    encoder_sha256: &str,
    in_dim: usize,
    out_dim: usize,
    weights: &[f32],
    report: &str,
    active: bool,
) -> Result<i64, Error> {
    if weights.len() != in_dim * out_dim || weights.iter().any(|w| !w.is_finite()) {
        return Err(Error::Invalid(format!(
            "a head of {in_dim}×{out_dim} needs as many finite weights, got {}",
            weights.len()
        )));
    }
    let blob = to_blob(weights);
    let tx = conn.transaction()?;
    if active {
        tx.execute(
            "UPDATE heads SET active = 0 WHERE encoder_sha256 = ?1",
            [encoder_sha256],
        )?;
    }
    tx.execute(
        "INSERT INTO heads (encoder_sha256, in_dim, out_dim, weights, weights_sha256, report, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            encoder_sha256,
            in_dim as i64,
            out_dim as i64,
            blob,
            sha256_hex(&blob),
            report,
            active
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

/// The head searches with `encoder_sha256`'s vectors use, if any (a damaged row is an error).
pub fn active(conn: &Connection, encoder_sha256: &str) -> Result<Option<StoredHead>, Error> {
    let row = conn
        .query_row(
            "SELECT id, encoder_sha256, in_dim, out_dim, weights, weights_sha256, trained_at, report, active
             FROM heads WHERE encoder_sha256 = ?1 AND active = 1 ORDER BY id DESC LIMIT 1",
            [encoder_sha256],
            |r| {
                Ok(StoredHead {
                    id: r.get(0)?,
                    encoder_sha256: r.get(1)?,
                    in_dim: r.get::<_, i64>(2)? as usize,
                    out_dim: r.get::<_, i64>(3)? as usize,
                    weights: from_blob(&r.get::<_, Vec<u8>>(4)?),
                    weights_sha256: r.get(5)?,
                    trained_at: r.get(6)?,
                    report: r.get(7)?,
                    active: r.get(8)?,
                })
            },
        )
        .optional()?;
    match row {
        Some(h) if h.weights.len() != h.in_dim * h.out_dim => Err(Error::Invalid(format!(
            "learned head {} is damaged ({} weights for {}×{}): run `raiox learn` again",
            h.id,
            h.weights.len(),
            h.in_dim,
            h.out_dim
        ))),
        other => Ok(other),
    }
}

/// The report of the newest head of an encoder, in use or not: what it was trained on tells
/// whether the labels changed since.
pub fn latest_report(conn: &Connection, encoder_sha256: &str) -> Result<Option<String>, Error> {
    Ok(conn
        .query_row(
            "SELECT report FROM heads WHERE encoder_sha256 = ?1 ORDER BY id DESC LIMIT 1",
            [encoder_sha256],
            |r| r.get(0),
        )
        .optional()?)
}

/// Switch off every head of an encoder (searches go back to the frozen vectors).
pub fn deactivate(conn: &Connection, encoder_sha256: &str) -> Result<usize, Error> {
    Ok(conn.execute(
        "UPDATE heads SET active = 0 WHERE encoder_sha256 = ?1",
        [encoder_sha256],
    )?)
}
