//! The embedding job: bring every image's vector for one encoder up to date.
//!
//! Why a job: embedding 10 000 images takes minutes, so it runs in batches with progress and
//! cancellation, commits each batch (an interruption keeps what was done), reports per-image
//! failures without stopping, and does nothing at all when every vector is current.

use rayon::prelude::*;
use serde::Serialize;

use crate::catalogue::images;
use crate::catalogue::settings;
use crate::catalogue::vectors;
use crate::embed::Encoder;
use crate::library::Library;
use crate::progress::{JobControl, Outcome};
use crate::standardise::{develop, standardise_found, standardise_implant, Aabb, Fixture, Params};
use crate::Error;
use image::GrayImage;

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
    let stamp = encoder.stamp();
    vectors::ensure_table(lib.conn(), &stamp)?;
    settings::set(lib.conn(), settings::ACTIVE_ENCODER, &stamp.encoder_id)?;
    let mut todo = vectors::stale_ids(lib.conn(), &stamp)?;
    if let Some(only) = only {
        todo.retain(|id| only.contains(id));
    }
    let total = images::count(lib.conn())?;
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
            vectors::put(&tx, rec.id, &rec.standard_sha256, &stamp, v)?;
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

/// One implant of a film that is not in the library (a query), embedded.
#[derive(Debug, Clone)]
pub struct QueryImplant {
    /// Its fixture box on the film.
    pub fixture: Fixture,
    /// Whether the finder proposed it; `false` when it found nothing and the whole image was used.
    pub found: bool,
    /// The model input.
    pub image: GrayImage,
    /// Its vector.
    pub vector: Vec<f32>,
}

/// Find, standardise and embed every implant of a film that is not in the library, the same way
/// library implants are, so their vectors are comparable. When the finder sees no implant (a
/// picture that is already a crop of one), the whole image is used as one implant, marked so.
pub fn embed_film(encoder: &dyn Encoder, path: &std::path::Path) -> Result<Vec<QueryImplant>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let decoded =
        crate::decode::decode(&bytes, &crate::decode::DecodeLimits::default()).map_err(|reason| {
            Error::Refused {
                path: path.to_path_buf(),
                reason,
            }
        })?;
    let params = Params::default();
    let film = develop(&decoded, params.invert)?;
    let mut implants: Vec<(Fixture, bool, GrayImage)> = standardise_found(&film, &params)?
        .into_iter()
        .map(|(f, s)| (f, true, s.image))
        .collect();
    if implants.is_empty() {
        let (w, h) = film.image.dimensions();
        let whole = Fixture::from_aabb(
            Aabb {
                x: 0.0,
                y: 0.0,
                w: w as f32,
                h: h as f32,
            },
            None,
        );
        let framed = Params {
            margin: 0.0,
            ..params
        };
        implants.push((whole, false, standardise_implant(&film, &whole, &framed)?.image));
    }
    let images: Vec<GrayImage> = implants.iter().map(|(_, _, i)| i.clone()).collect();
    let vectors = encoder.embed(&images)?;
    if vectors.len() != implants.len() {
        return Err(Error::Invalid(format!(
            "{}: the encoder returned {} vectors for {} implants",
            path.display(),
            vectors.len(),
            implants.len()
        )));
    }
    Ok(implants
        .into_iter()
        .zip(vectors)
        .map(|((fixture, found, image), vector)| QueryImplant {
            fixture,
            found,
            image,
            vector,
        })
        .collect())
}
