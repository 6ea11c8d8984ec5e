//! One function per measurement, shared by `raiox bench` and the criterion benches.
//!
//! Why here: a figure must mean the same in docs/BENCHMARKS.md whichever front took it, so the
//! timed unit (what one "image" or one "query" is) is defined once. Each function runs one
//! untimed warm-up pass, then `repeats` timed passes summarised as [`Stats`].

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{Init, VarBuilder};
use image::GrayImage;
use rayon::prelude::*;
use rayon::ThreadPool;
use serde::Serialize;

use super::{percentile, time_runs, Stats};
use raiox_core::catalogue::images::{self, Status};
use raiox_core::decode::{decode, DecodeLimits};
use raiox_core::embed::Encoder;
use raiox_core::index::Index;
use raiox_core::ingest::import::{import, ImportOptions};
use raiox_core::library::Library;
use raiox_core::progress::JobControl;
use raiox_core::standardise::{standardise_film, Params};
use raiox_core::Error;
use raiox_embed::clip::{self, ClipImageEncoder, ClipVisionConfig};
use raiox_embed::lite0::Lite0Encoder;

/// FLOP of one CLIP ViT-B/32 image-tower forward pass, in G: two per multiply-add (the "4.4
/// GFLOP" often quoted for ViT-B/32 counts its 4.41 G multiply-adds).
pub fn clip_gflop_per_image() -> f64 {
    2.0 * ClipVisionConfig::vit_b32().multiply_adds_per_image() as f64 * 1e-9
}
/// Neighbours asked for in every kNN measurement (recall@10).
pub const K: usize = 10;

/// A rayon pool of `threads` workers, so a figure says how many cores it used.
pub fn pool(threads: usize) -> Result<ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Invalid(format!("thread pool: {e}")))
}

/// The cores rayon would use by default.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The timed unit of standardisation: one film's bytes to its implants' standard PNGs (finding
/// the implants included); returns their total size in bytes.
pub fn standardise_file(bytes: &[u8]) -> Result<usize, Error> {
    let decoded = decode(bytes, &DecodeLimits::default()).map_err(|e| Error::Invalid(e.to_string()))?;
    let film = standardise_film(&decoded, &Params::default())?;
    Ok(film.implants.iter().map(|(_, s)| s.png.len()).sum())
}

/// Standardise every file on `pool`'s workers; returns the total output bytes (so nothing is
/// optimised away).
pub fn standardise_all(files: &[Vec<u8>], pool: &ThreadPool) -> Result<usize, Error> {
    pool.install(|| {
        files
            .par_iter()
            .map(|f| standardise_file(f))
            .collect::<Result<Vec<_>, _>>()
    })
    .map(|sizes| sizes.iter().sum())
}

/// Standardisation throughput on one set of files.
#[derive(Debug, Clone, Serialize)]
pub struct StandardiseRow {
    /// Worker threads.
    pub threads: usize,
    /// Files per pass.
    pub files: usize,
    /// Side of the films in pixels.
    pub px: u32,
    /// Images per second.
    pub images_per_s: Stats,
}

/// Images/s on one thread and on all cores, each pass standardising the whole set from memory.
pub fn standardise_rows(files: &[Vec<u8>], px: u32, repeats: usize) -> Result<Vec<StandardiseRow>, Error> {
    let mut threads = vec![1];
    if cores() > 1 {
        threads.push(cores());
    }
    threads
        .into_iter()
        .map(|n| {
            let pool = pool(n)?;
            let mut failed = None;
            let runs = time_runs(repeats, || {
                if let Err(e) = standardise_all(files, &pool) {
                    failed = Some(e);
                }
            });
            failed.map_or(Ok(()), Err)?;
            Ok(StandardiseRow {
                threads: n,
                files: files.len(),
                px,
                images_per_s: Stats::rate(&runs, files.len() as f64),
            })
        })
        .collect()
}

/// Embedding throughput of one encoder.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedRow {
    /// Encoder id.
    pub encoder: String,
    /// Where the weights came from ("bundled", a folder, or "random" for a speed-only tower).
    pub weights: String,
    /// Vector length.
    pub dim: usize,
    /// Images per call.
    pub batch: usize,
    /// Images per second.
    pub images_per_s: Stats,
    /// Achieved GFLOP/s, for encoders whose cost per image is known (CLIP).
    pub gflop_per_s: Option<Stats>,
}

/// Images/s of `encoder` embedding `images` as one batch per call.
pub fn embed_rate(encoder: &dyn Encoder, images: &[GrayImage], repeats: usize) -> Result<Stats, Error> {
    let mut failed = None;
    let runs = time_runs(repeats, || {
        if let Err(e) = encoder.embed(images) {
            failed = Some(e);
        }
    });
    failed.map_or(Ok(()), Err)?;
    Ok(Stats::rate(&runs, images.len() as f64))
}

/// A CLIP ViT-B/32 image tower with random weights: the real architecture, so the real speed,
/// on machines without the checkpoint. Every tensor is drawn N(0, 0.02²) (the initialisation
/// scale of CLIP's training), so no value is a zero or a denormal that would be faster.
pub fn random_clip() -> Result<ClipImageEncoder, Error> {
    let config = ClipVisionConfig::vit_b32();
    let init = Init::Randn {
        mean: 0.0,
        stdev: 0.02,
    };
    let varmap = config
        .random_weights(|_| init)
        .map_err(|e| Error::Invalid(format!("random CLIP tower: {e}")))?;
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    ClipImageEncoder::from_var_builder(vb, &config, "random".into())
}

/// An encoder and where its weights came from ("bundled", a folder, or "random").
pub type Measured = (Arc<dyn Encoder>, String);

/// The encoders measured, with where their weights came from: the bundled Lite0, and CLIP from its
/// weights when they are present, else from random weights (speed only, which does not depend on
/// the values).
pub fn encoders() -> Result<Vec<Measured>, Error> {
    let mut encoders: Vec<Measured> = vec![(Arc::new(Lite0Encoder::bundled()?), "bundled".into())];
    match raiox_embed::select::clip_dir() {
        Some(dir) => encoders.push((Arc::new(clip::load_dir(&dir)?), dir.display().to_string())),
        None => encoders.push((Arc::new(random_clip()?), "random".into())),
    }
    Ok(encoders)
}

/// One row per encoder of [`encoders`].
pub fn embed_rows(
    images: &[GrayImage],
    repeats: usize,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<EmbedRow>, Error> {
    encoders()?
        .into_iter()
        .map(|(encoder, weights)| {
            log(&format!("  {} ({weights} weights)", encoder.id()));
            let images_per_s = embed_rate(encoder.as_ref(), images, repeats)?;
            let is_clip = encoder.id().starts_with("clip");
            let scale = |s: f64| s * clip_gflop_per_image();
            Ok(EmbedRow {
                encoder: encoder.id().to_string(),
                weights,
                dim: encoder.dim(),
                batch: images.len(),
                gflop_per_s: is_clip.then(|| Stats {
                    median: scale(images_per_s.median),
                    min: scale(images_per_s.min),
                    max: scale(images_per_s.max),
                    runs: images_per_s.runs,
                }),
                images_per_s,
            })
        })
        .collect()
}

/// Throughput of the whole import job with one encoder.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRow {
    /// Encoder id.
    pub encoder: String,
    /// Where its weights came from.
    pub weights: String,
    /// Films per run.
    pub films: usize,
    /// Implants found in them (each standardised and embedded).
    pub implants: usize,
    /// Threads (rayon's pool: all cores).
    pub threads: usize,
    /// Films per second.
    pub films_per_s: Stats,
    /// Implants per second.
    pub implants_per_s: Stats,
}

/// The import job end to end — hashing, decode guards, de-identification, finding and
/// standardising every implant, embedding, catalogue and vector writes — of the films in `films`
/// into a new library under `scratch` per run, once per encoder of [`encoders`].
///
/// Why beside the embedding rows: a curator waits for the whole pipeline, and embedding is only
/// its largest step.
pub fn import_rows(
    films: &Path,
    scratch: &Path,
    repeats: usize,
    ctl: &JobControl,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<ImportRow>, Error> {
    let clear = |dir: &Path| match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
        _ => Ok(()),
    };
    // Libraries left by an interrupted run would make every film a duplicate.
    clear(scratch)?;
    let mut rows = Vec::new();
    for (encoder, weights) in encoders()? {
        log(&format!("  import with {}", encoder.id()));
        let mut failed = None;
        let mut counts = (0, 0);
        let mut run = 0;
        let runs = time_runs(repeats, || {
            run += 1;
            let root = scratch.join(format!("import-{run}"));
            let outcome = Library::open(&root).and_then(|mut lib| {
                let opts = ImportOptions {
                    encoder: Some(encoder.clone()),
                    ..ImportOptions::default()
                };
                import(&mut lib, &[films.to_path_buf()], &opts, ctl, &mut |_| {})
            });
            match outcome {
                Ok(_) if ctl.is_cancelled() => failed = Some(Error::Invalid("cancelled".into())),
                Ok(summary) if summary.refused == 0 && summary.duplicates == 0 => {
                    counts = (summary.imported, summary.implants)
                }
                Ok(summary) => {
                    failed = Some(Error::Invalid(format!(
                        "import bench: {} films refused, {} duplicates",
                        summary.refused, summary.duplicates
                    )))
                }
                Err(e) => failed = Some(e),
            }
        });
        let cleaned = clear(scratch);
        failed.map_or(Ok(()), Err)?;
        cleaned?;
        rows.push(ImportRow {
            encoder: encoder.id().to_string(),
            weights,
            films: counts.0,
            implants: counts.1,
            threads: rayon::current_num_threads(),
            films_per_s: Stats::rate(&runs, counts.0 as f64),
            implants_per_s: Stats::rate(&runs, counts.1 as f64),
        });
    }
    Ok(rows)
}

/// kNN latency percentiles and recall over one vector set.
#[derive(Debug, Clone, Serialize)]
pub struct KnnRow {
    /// Vectors searched.
    pub vectors: usize,
    /// Their dimension.
    pub dim: usize,
    /// Queries per run.
    pub queries: usize,
    /// Neighbours asked for.
    pub k: usize,
    /// Median query latency per run, ms.
    pub p50_ms: Stats,
    /// 95th-percentile query latency per run, ms.
    pub p95_ms: Stats,
    /// Share of the exact top-k found (1 = every true neighbour).
    pub recall_at_10: f64,
}

/// Per-run p50 and p95 latency (ms) of `search` over every query, after one warm-up pass.
pub fn latency_runs(queries: &[Vec<f32>], repeats: usize, mut search: impl FnMut(&[f32])) -> (Stats, Stats) {
    queries.iter().for_each(|q| search(q));
    let (mut p50, mut p95) = (Vec::new(), Vec::new());
    for _ in 0..repeats.max(1) {
        let mut times: Vec<f64> = queries
            .iter()
            .map(|q| {
                let start = Instant::now();
                search(q);
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        p50.push(percentile(&times, 0.5));
        p95.push(percentile(&times, 0.95));
    }
    (Stats::of(&p50), Stats::of(&p95))
}

/// Share of `exact` ids that `found` holds, over all queries.
pub fn recall<T: PartialEq>(found: &[Vec<T>], exact: &[Vec<T>]) -> f64 {
    let hits: usize = found
        .iter()
        .zip(exact)
        .map(|(f, e)| f.iter().filter(|id| e.contains(id)).count())
        .sum();
    let total: usize = exact.iter().map(Vec::len).sum();
    if total == 0 {
        0.0
    } else {
        hits as f64 / total as f64
    }
}

/// The in-memory index (int8 scan on all cores + exact re-rank) over `vectors`, ids 0..n: latency
/// percentiles and recall@10 against exact f32 search.
pub fn knn_local(vectors: Vec<Vec<f32>>, queries: &[Vec<f32>], repeats: usize) -> KnnRow {
    let n = vectors.len();
    let dim = vectors.first().map_or(0, Vec::len);
    let index = Index::build(
        vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as i64, v))
            .collect(),
        dim,
    );
    let ids = |r: Vec<(i64, f32)>| r.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    let found: Vec<_> = queries
        .iter()
        .map(|q| ids(index.search(q, K, &|_| true)))
        .collect();
    let exact: Vec<_> = queries.iter().map(|q| ids(index.exact(q, K))).collect();
    let (p50_ms, p95_ms) = latency_runs(queries, repeats, |q| {
        std::hint::black_box(index.search(q, K, &|_| true));
    });
    KnnRow {
        vectors: n,
        dim,
        queries: queries.len(),
        k: K,
        p50_ms,
        p95_ms,
        recall_at_10: recall(&found, &exact),
    }
}

/// The embedding map of a set of vectors: how long the whole projection takes.
#[derive(Debug, Clone, Serialize)]
pub struct MapRow {
    /// Vectors mapped.
    pub vectors: usize,
    /// Their dimension.
    pub dim: usize,
    /// Threads the projection ran on.
    pub threads: usize,
    /// Seconds per projection (PCA, neighbour graph, layout).
    pub seconds: Stats,
}

/// Time [`raiox_core::search::map::project`] over `n` clustered unit vectors of `dim` floats
/// (default parameters, ids 0..n), `repeats` times after one warm-up run.
pub fn map_projection(n: usize, dim: usize, repeats: usize) -> Result<MapRow, Error> {
    use raiox_core::search::map::{project, MapParams};
    let flat: Vec<f32> = crate::data::clustered_vectors_dim(n, dim, crate::data::vector_seed(n)).concat();
    let ids: Vec<i64> = (0..n as i64).collect();
    let mut failed = None;
    let runs = crate::time_runs(repeats, || {
        if let Err(e) = project(&ids, &flat, dim, &MapParams::default(), &JobControl::new()) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(MapRow {
        vectors: n,
        dim,
        threads: rayon::current_num_threads(),
        seconds: Stats::of(&runs),
    })
}

/// Catalogue operations on a library of `items` records, without a GUI.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueRow {
    /// Records in the library.
    pub items: usize,
    /// Open the library (folders, database, migrations check) and count its records, ms.
    pub open_ms: Stats,
    /// Load every record, as the browser's first view does, ms.
    pub list_ms: Stats,
    /// Records with status "labelled" of one manufacturer, as a browser filter does, ms.
    pub filter_ms: Stats,
    /// Records the filter kept.
    pub filtered: usize,
}

/// Open / list / filter timings on the library at `root`.
pub fn catalogue_ops(root: &std::path::Path, repeats: usize) -> Result<CatalogueRow, Error> {
    let mut failed: Option<Error> = None;
    let mut items = 0usize;
    let open_runs = time_runs(repeats, || {
        match Library::open(root).and_then(|lib| images::count(lib.conn())) {
            Ok(n) => items = n,
            Err(e) => failed = Some(e),
        }
    });
    failed.map_or(Ok(()), Err)?;
    let lib = Library::open(root)?;
    let mut failed: Option<Error> = None;
    let list_runs = time_runs(repeats, || {
        if let Err(e) = images::list(lib.conn(), None) {
            failed = Some(e);
        }
    });
    let manufacturer = raiox_core::synth::systems()[0].manufacturer;
    let mut filtered = 0;
    let filter_runs = time_runs(repeats, || {
        match images::list(lib.conn(), Some(Status::Labelled)) {
            Ok(mut records) => {
                records.retain(|r| r.manufacturer.as_deref() == Some(manufacturer));
                filtered = records.len();
            }
            Err(e) => failed = Some(e),
        }
    });
    failed.map_or(Ok(()), Err)?;
    let ms = |runs: &[f64]| Stats::of(&runs.iter().map(|s| s * 1e3).collect::<Vec<_>>());
    Ok(CatalogueRow {
        items,
        open_ms: ms(&open_runs),
        list_ms: ms(&list_runs),
        filter_ms: ms(&filter_runs),
        filtered,
    })
}
