//! The embedding job: bring every image's vector for one encoder up to date.
//!
//! Why a job: embedding 10 000 images takes minutes, so it runs in batches with progress and
//! cancellation, commits each batch (an interruption keeps what was done), reports per-image
//! failures without stopping, and does nothing at all when every vector is current.

use std::collections::HashSet;

use rayon::prelude::*;
use serde::Serialize;

use crate::catalogue::images;
use crate::catalogue::settings;
use crate::catalogue::vectors;
use crate::embed::{Encoder, View};
use crate::library::Library;
use crate::progress::{JobControl, Outcome};
use crate::standardise::view::fixture_view;
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

/// Embed the images whose vectors for `encoder` (both views) are missing or stale, and make it the
/// active encoder.
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
    let stamps = View::ALL.map(|v| v.stamp(encoder));
    // Per view, the implants whose vector is missing or stale: only those are written (a current
    // context vector, say one pulled from production, is left as it is).
    let mut stale: [HashSet<i64>; 2] = Default::default();
    for (stamp, ids) in stamps.iter().zip(&mut stale) {
        vectors::ensure_table(lib.conn(), stamp)?;
        ids.extend(vectors::stale_ids(lib.conn(), stamp)?);
    }
    let mut todo: Vec<i64> = stale.iter().flatten().copied().collect();
    todo.sort_unstable();
    todo.dedup();
    settings::set(lib.conn(), settings::ACTIVE_ENCODER, encoder.id())?;
    if let Some(only) = only {
        todo.retain(|id| only.contains(id));
    }
    let total = images::count(lib.conn())?;
    let mut summary = EmbedSummary {
        encoder: encoder.id().to_string(),
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
                let standard = image::open(&path)
                    .map(|i| i.to_luma8())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let fixture = fixture_view(&standard, r.fixture.as_ref(), r.params.margin)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok::<_, String>([standard, fixture])
            })
            .collect();
        let mut ok_records = Vec::new();
        let mut pixels = Vec::new();
        for (rec, img) in records.iter().zip(loaded) {
            match img {
                Ok(views) => {
                    ok_records.push(rec);
                    pixels.extend(views);
                }
                Err(error) => summary.failures.push(EmbedFailure { id: rec.id, error }),
            }
        }
        let vectors = match encoder.embed(&pixels) {
            Ok(v) if v.len() == pixels.len() => v,
            result => {
                let error = match result {
                    Err(e) => e.to_string(),
                    Ok(v) => format!("the encoder gave {} vectors for {} images", v.len(), pixels.len()),
                };
                summary.failures.extend(ok_records.iter().map(|r| EmbedFailure {
                    id: r.id,
                    error: error.clone(),
                }));
                continue;
            }
        };
        let tx = lib.conn_mut().transaction()?;
        for (rec, pair) in ok_records.iter().zip(vectors.chunks_exact(2)) {
            for ((stamp, ids), v) in stamps.iter().zip(&stale).zip(pair) {
                if ids.contains(&rec.id) {
                    vectors::put(&tx, rec.id, &rec.standard_sha256, stamp, v)?;
                }
            }
        }
        tx.commit()?;
        summary.embedded += ok_records.len();
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
    /// Its vector (context view: for "the same implant" questions).
    pub vector: Vec<f32>,
    /// Its fixture view's vector (for "which system" questions).
    pub fixture_vector: Vec<f32>,
}

impl QueryImplant {
    /// Its vector of `view`.
    pub fn vector_of(&self, view: View) -> &[f32] {
        match view {
            View::Context => &self.vector,
            View::Fixture => &self.fixture_vector,
        }
    }
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
    let mut images = Vec::with_capacity(2 * implants.len());
    for (fixture, found, image) in &implants {
        images.push(image.clone());
        let framed = found.then_some(fixture);
        images.push(fixture_view(image, framed, params.margin)?);
    }
    let vectors = encoder.embed(&images)?;
    if vectors.len() != images.len() {
        return Err(Error::Invalid(format!(
            "{}: the encoder returned {} vectors for {} images",
            path.display(),
            vectors.len(),
            images.len()
        )));
    }
    Ok(implants
        .into_iter()
        .zip(vectors.chunks_exact(2))
        .map(|((fixture, found, image), pair)| QueryImplant {
            fixture,
            found,
            image,
            vector: pair[0].clone(),
            fixture_vector: pair[1].clone(),
        })
        .collect())
}
