//! The embedding job: bring every image's vector for one encoder up to date.
//!
//! Why a job: embedding 10 000 images takes minutes, so it runs in batches with progress and
//! cancellation, commits each batch (an interruption keeps what was done), reports per-image
//! failures without stopping, and does nothing at all when every vector is current.

use rayon::prelude::*;
use serde::Serialize;

use crate::catalogue::images;
use crate::embed::Encoder;
use crate::library::Library;
use crate::progress::{JobControl, Outcome};
use crate::search::identify::stamp_of;
use crate::search::store;
use crate::Error;

/// Images embedded per batch (and per transaction).
const BATCH: usize = 32;

/// One image that could not be embedded.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedFailure {
    /// Image id.
    pub id: i64,
    /// Why.
    pub error: String,
}

/// What an embedding run did.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedSummary {
    /// Encoder used.
    pub encoder: String,
    /// Vectors written.
    pub embedded: usize,
    /// Images whose vector was already current.
    pub up_to_date: usize,
    /// Images that failed.
    pub failures: Vec<EmbedFailure>,
    /// Whether the run finished.
    pub outcome: Outcome,
}

/// Embed the images whose vector for `encoder` is missing or stale, and make it the active encoder.
pub fn embed_library(
    lib: &mut Library,
    encoder: &dyn Encoder,
    ctl: &JobControl,
) -> Result<EmbedSummary, Error> {
    embed_ids(lib, encoder, None, ctl)
}

/// Like [`embed_library`], limited to the given images when `only` is set.
pub fn embed_ids(
    lib: &mut Library,
    encoder: &dyn Encoder,
    only: Option<&[i64]>,
    ctl: &JobControl,
) -> Result<EmbedSummary, Error> {
    let stamp = stamp_of(encoder);
    store::ensure_table(lib.conn(), &stamp)?;
    store::set_setting(lib.conn(), "encoder", &stamp.encoder_id)?;
    let mut todo = store::stale_ids(lib.conn(), &stamp)?;
    if let Some(only) = only {
        todo.retain(|id| only.contains(id));
    }
    let total: usize = lib
        .conn()
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))?;
    let mut summary = EmbedSummary {
        encoder: stamp.encoder_id.clone(),
        embedded: 0,
        up_to_date: only.map_or(total, |o| o.len()).saturating_sub(todo.len()),
        failures: Vec::new(),
        outcome: Outcome::Finished,
    };
    for (n, batch) in todo.chunks(BATCH).enumerate() {
        if ctl.is_cancelled() {
            summary.outcome = Outcome::Cancelled;
            break;
        }
        let records = batch
            .iter()
            .map(|&id| images::get(lib.conn(), id))
            .collect::<Result<Vec<_>, _>>()?;
        let layout = lib.layout();
        let loaded: Vec<_> = records
            .par_iter()
            .map(|r| {
                let path = layout.standard_path(&r.standard_sha256);
                image::open(&path)
                    .map(|i| i.to_luma8())
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .collect();
        let mut ok_records = Vec::new();
        let mut pixels = Vec::new();
        for (rec, img) in records.iter().zip(loaded) {
            match img {
                Ok(img) => {
                    ok_records.push(rec);
                    pixels.push(img);
                }
                Err(error) => summary.failures.push(EmbedFailure { id: rec.id, error }),
            }
        }
        let vectors = match encoder.embed(&pixels) {
            Ok(v) => v,
            Err(e) => {
                summary.failures.extend(ok_records.iter().map(|r| EmbedFailure {
                    id: r.id,
                    error: e.to_string(),
                }));
                continue;
            }
        };
        let tx = lib.conn_mut().transaction()?;
        for (rec, v) in ok_records.iter().zip(&vectors) {
            store::put(&tx, rec.id, &rec.standard_sha256, &stamp, v)?;
        }
        tx.commit()?;
        summary.embedded += vectors.len();
        ctl.report(
            "embed",
            ((n + 1) * BATCH).min(todo.len()) as u64,
            todo.len() as u64,
        );
    }
    Ok(summary)
}

/// Standardise and embed an image file that is not in the library (a query), the same way library
/// images are, so its vector is comparable with theirs.
pub fn embed_file(encoder: &dyn Encoder, path: &std::path::Path) -> Result<Vec<f32>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let decoded = crate::ingest::decode::decode(&bytes, &crate::ingest::decode::DecodeLimits::default())
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let std = crate::standardise::standardise(&decoded, &crate::standardise::Params::default())?;
    let mut vectors = encoder.embed(&[std.image])?;
    vectors
        .pop()
        .ok_or_else(|| Error::Invalid(format!("{}: the encoder returned no vector", path.display())))
}
