//! Vectors on disk: one sqlite-vec `vec0` table per encoder, plus provenance rows in `embeddings`.
//!
//! Why sqlite-vec: the library must work fully offline and this same store becomes the offline cache
//! of production later, so vectors live in the library's SQLite file, queryable with plain SQL
//! (`embedding MATCH ? AND k = ?`). Fast repeated search uses [`crate::index::Index`] loaded from here.

use rusqlite::{params, Connection, OptionalExtension};

use crate::embed::ModelStamp;
use crate::Error;

/// The vec0 table holding one encoder's vectors (ids are slugged into a safe SQL identifier).
pub fn table_name(encoder_id: &str) -> String {
    let slug: String = encoder_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("vec_{slug}")
}

/// Create the vec0 table for an encoder if needed; a table of another dimension is an error.
pub fn ensure_table(conn: &Connection, stamp: &ModelStamp) -> Result<(), Error> {
    let table = table_name(&stamp.encoder_id);
    let existing: Option<String> = conn
        .query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [&table], |r| {
            r.get(0)
        })
        .optional()?;
    match existing {
        Some(sql) if sql.contains(&format!("float[{}]", stamp.dim)) => Ok(()),
        Some(sql) => Err(Error::Invalid(format!(
            "stored vectors of encoder {} have another dimension ({sql}); this encoder gives {}",
            stamp.encoder_id, stamp.dim
        ))),
        None => {
            conn.execute_batch(&format!(
                "CREATE VIRTUAL TABLE {table} USING vec0(embedding float[{}] distance_metric=cosine)",
                stamp.dim
            ))?;
            Ok(())
        }
    }
}

/// Little-endian f32 bytes, the layout sqlite-vec stores.
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Inverse of [`to_blob`].
pub fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Store (or replace) one image's vector and its provenance.
pub fn put(
    tx: &Connection,
    image_id: i64,
    standard_sha256: &str,
    stamp: &ModelStamp,
    vector: &[f32],
) -> Result<(), Error> {
    let table = table_name(&stamp.encoder_id);
    tx.execute(&format!("DELETE FROM {table} WHERE rowid = ?1"), [image_id])?;
    tx.execute(
        &format!("INSERT INTO {table} (rowid, embedding) VALUES (?1, ?2)"),
        params![image_id, to_blob(vector)],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO embeddings (image_id, encoder_id, weights_sha256, preprocess_version, standard_sha256, dim)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![image_id, stamp.encoder_id, stamp.weights_sha256, stamp.preprocess_version, standard_sha256, stamp.dim],
    )?;
    Ok(())
}

/// Ids of images whose vector for this model is missing or stale (other weights, preprocessing or
/// standard image), in id order.
pub fn stale_ids(conn: &Connection, stamp: &ModelStamp) -> Result<Vec<i64>, Error> {
    let mut stmt = conn.prepare(
        "SELECT i.id FROM images i LEFT JOIN embeddings e ON e.image_id = i.id AND e.encoder_id = ?1
         WHERE e.image_id IS NULL OR e.weights_sha256 <> ?2 OR e.preprocess_version <> ?3
            OR e.standard_sha256 <> i.standard_sha256
         ORDER BY i.id",
    )?;
    let rows = stmt.query_map(
        params![stamp.encoder_id, stamp.weights_sha256, stamp.preprocess_version],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// All current vectors of this model: (image id, vector), in id order. Stale vectors are left out,
/// so a query never mixes models.
pub fn load_all(conn: &Connection, stamp: &ModelStamp) -> Result<Vec<(i64, Vec<f32>)>, Error> {
    if !table_exists(conn, &stamp.encoder_id)? {
        return Ok(Vec::new());
    }
    let table = table_name(&stamp.encoder_id);
    let mut stmt = conn.prepare(&format!(
        "SELECT v.rowid, v.embedding FROM {table} v
         JOIN embeddings e ON e.image_id = v.rowid AND e.encoder_id = ?1
         JOIN images i ON i.id = e.image_id
         WHERE e.weights_sha256 = ?2 AND e.preprocess_version = ?3 AND e.standard_sha256 = i.standard_sha256
         ORDER BY v.rowid"
    ))?;
    let rows = stmt.query_map(
        params![stamp.encoder_id, stamp.weights_sha256, stamp.preprocess_version],
        |r| Ok((r.get::<_, i64>(0)?, from_blob(&r.get::<_, Vec<u8>>(1)?))),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One image's current vector of this model (None when missing or stale).
pub fn get(conn: &Connection, stamp: &ModelStamp, image_id: i64) -> Result<Option<Vec<f32>>, Error> {
    if !table_exists(conn, &stamp.encoder_id)? {
        return Ok(None);
    }
    let table = table_name(&stamp.encoder_id);
    Ok(conn
        .query_row(
            &format!(
                "SELECT v.embedding FROM {table} v
                 JOIN embeddings e ON e.image_id = v.rowid AND e.encoder_id = ?1
                 JOIN images i ON i.id = e.image_id
                 WHERE v.rowid = ?4 AND e.weights_sha256 = ?2 AND e.preprocess_version = ?3
                   AND e.standard_sha256 = i.standard_sha256"
            ),
            params![
                stamp.encoder_id,
                stamp.weights_sha256,
                stamp.preprocess_version,
                image_id
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
        .map(|b| from_blob(&b)))
}

/// Remove an image's vectors of every model (vec0 tables have no foreign keys to cascade).
pub fn remove(tx: &Connection, image_id: i64) -> Result<(), Error> {
    let tables: Vec<String> = {
        let mut stmt = tx.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'vec\\_%' ESCAPE '\\' AND sql LIKE 'CREATE VIRTUAL TABLE%'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for t in tables {
        tx.execute(&format!("DELETE FROM {t} WHERE rowid = ?1"), [image_id])?;
    }
    tx.execute("DELETE FROM embeddings WHERE image_id = ?1", [image_id])?;
    Ok(())
}

/// Exact kNN by cosine through sqlite-vec itself: (image id, cosine similarity), best first.
/// Used as the reference the in-memory index is checked against.
pub fn knn_sql(
    conn: &Connection,
    stamp: &ModelStamp,
    query: &[f32],
    k: usize,
) -> Result<Vec<(i64, f32)>, Error> {
    if !table_exists(conn, &stamp.encoder_id)? {
        return Ok(Vec::new());
    }
    let table = table_name(&stamp.encoder_id);
    let mut stmt = conn.prepare(&format!(
        "SELECT rowid, distance FROM {table} WHERE embedding MATCH ?1 AND k = ?2 ORDER BY distance"
    ))?;
    let rows = stmt.query_map(params![to_blob(query), k as i64], |r| {
        Ok((r.get::<_, i64>(0)?, 1.0 - r.get::<_, f64>(1)? as f32))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn table_exists(conn: &Connection, encoder_id: &str) -> Result<bool, Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE name = ?1",
            [table_name(encoder_id)],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}
