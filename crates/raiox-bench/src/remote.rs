//! Measurements against production (object store + PostgreSQL/pgvector), only when it is configured
//! and the run asked for them (`raiox bench --remote`).
//!
//! Why opt-in on top of the configuration: the push measurement writes a fresh batch of synthetic
//! items into the configured bucket and table, which belongs on a staging server, never silently on
//! production. The kNN measurement only reads: HNSW latency and its recall@10 against the same
//! query run as an exact sequential scan in the same database.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::data::Dirs;
use super::machine::process;
use super::measure::{recall, KnnRow, K};
use super::{Plan, Stats};
use raiox_core::catalogue::images;
use raiox_core::embed::Encoder;
use raiox_core::ingest::import::{import, ImportOptions};
use raiox_core::ingest::labels::LabelSource;
use raiox_core::library::Library;
use raiox_core::progress::JobControl;
use raiox_core::synth::{self, SynthOptions};
use raiox_core::Error;
use raiox_sync::postgres::DbTarget;
use raiox_sync::remote::Remote;
use raiox_sync::{RemoteConfig, SyncOptions};

/// Upload and row-upsert throughput of one push.
#[derive(Debug, Clone, Serialize)]
pub struct PushRow {
    /// Items queued in the fresh library.
    pub items: usize,
    /// Objects uploaded.
    pub uploaded: usize,
    /// Rows inserted or updated.
    pub rows_written: usize,
    /// Items that failed after retries.
    pub failed: usize,
    /// Objects per second over the whole push.
    pub items_per_s: Stats,
    /// Rows per second over the whole push.
    pub rows_per_s: Stats,
    /// Megabytes of standard images uploaded per second.
    pub mb_per_s: f64,
    /// CPU seconds this process spent on the push (all threads).
    pub cpu_s: f64,
}

/// Production figures, or why there are none.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteReport {
    /// "not configured: ...", "configured, not measured: ...", "measured", or what failed.
    pub status: String,
    /// pgvector HNSW kNN over production's rows.
    pub knn: Option<KnnRow>,
    /// A push of a fresh synthetic library.
    pub push: Option<PushRow>,
    /// Production at the seed's scale, in scratch schemas.
    pub scale: Option<super::scale::ScaleReport>,
    /// Errors of the parts that failed (secret-free).
    pub errors: Vec<String>,
}

impl RemoteReport {
    fn status(status: String) -> RemoteReport {
        RemoteReport {
            status,
            knn: None,
            push: None,
            scale: None,
            errors: Vec::new(),
        }
    }
}

/// Run the production measurements when configured and asked for; never fails the whole run.
pub fn measure(
    opts: &super::BenchOptions,
    dirs: &Dirs,
    plan: &Plan,
    ctl: &JobControl,
    log: &mut dyn FnMut(&str),
) -> RemoteReport {
    let cfg = match RemoteConfig::load() {
        Ok(cfg) => cfg,
        Err(e) => return RemoteReport::status(format!("not configured: {e}")),
    };
    let missing = cfg.missing();
    if !missing.is_empty() {
        return RemoteReport::status(format!("not configured: {} unset", missing.join(", ")));
    }
    if !(opts.remote || opts.remote_only) {
        return RemoteReport::status(
            "configured, not measured: pass --remote (it pushes synthetic items to the configured bucket and table)"
                .into(),
        );
    }
    let encoder = match raiox_embed::lite0::Lite0Encoder::bundled() {
        Ok(e) => e,
        Err(e) => return RemoteReport::status(format!("no encoder: {e}")),
    };
    let mut report = RemoteReport::status("measured".into());
    log("production: push of a fresh synthetic library");
    match push(&cfg, &encoder, dirs, plan, ctl) {
        Ok(row) => report.push = Some(row),
        Err(e) => report
            .errors
            .push(format!("push: {}", cfg.redact(&e.to_string()))),
    }
    log("production: embedding the query films (never pushed)");
    let queries = match query_vectors(&encoder, dirs, plan, ctl) {
        Ok(q) => q,
        Err(e) => {
            report.errors.push(format!("queries: {e}"));
            Vec::new()
        }
    };
    log("production: HNSW kNN");
    match knn(&cfg, &encoder, plan, &queries) {
        Ok(row) => report.knn = Some(row),
        Err(e) => report.errors.push(format!("kNN: {}", cfg.redact(&e.to_string()))),
    }
    if report.push.is_some() && !queries.is_empty() {
        match scale_study(&cfg, &encoder, dirs, plan, &queries, ctl, log) {
            Ok(row) => report.scale = Some(row),
            Err(e) => report
                .errors
                .push(format!("scale: {}", cfg.redact(&e.to_string()))),
        }
    }
    log("production: removing the synthetic items again");
    if let Err(e) = clean_up(&cfg, &encoder, dirs, ctl) {
        report
            .errors
            .push(format!("clean-up: {}", cfg.redact(&e.to_string())));
    }
    if !report.errors.is_empty() {
        report.status = "failed in part (see errors)".into();
    }
    report
}

/// A current-thread runtime for the database calls.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Remote(format!("network runtime: {e}")))
}

/// HNSW latency over production's rows, recall against an exact scan of the same table.
fn knn(
    cfg: &RemoteConfig,
    encoder: &dyn Encoder,
    plan: &Plan,
    queries: &[Vec<f32>],
) -> Result<KnnRow, Error> {
    let rt = runtime()?;
    let db = DbTarget::parse(&cfg.database.url, Duration::from_secs(30))?;
    let remote = rt.block_on(async {
        let client = db.connect().await?;
        Remote::open(client, &encoder.stamp()).await
    })?;
    let pg = |e: tokio_postgres::Error| Error::Remote(raiox_sync::postgres::describe(&e));
    let rows: i64 = rt
        .block_on(
            remote
                .client()
                .query_one("SELECT COUNT(*) FROM implants WHERE NOT deleted", &[]),
        )
        .map_err(pg)?
        .get(0);
    if rows < K as i64 {
        return Err(Error::Invalid(format!(
            "production holds {rows} rows; kNN needs at least {K}"
        )));
    }
    let exact = super::scale::exact_knn(&rt, &remote, queries)?;
    let (found, p50_ms, p95_ms) = super::scale::timed_knn(&rt, &remote, queries, plan.repeats)?;
    Ok(KnnRow {
        vectors: rows as usize,
        dim: encoder.dim(),
        queries: queries.len(),
        k: K,
        p50_ms,
        p95_ms,
        recall_at_10: recall(&found, &exact),
    })
}

/// Build a fresh embedded library of new films (a seed from the clock, so production has never
/// seen them), write its standard PNGs and rows for the rclone/psycopg anchors, and time one push.
fn push(
    cfg: &RemoteConfig,
    encoder: &dyn Encoder,
    dirs: &Dirs,
    plan: &Plan,
    ctl: &JobControl,
) -> Result<PushRow, Error> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let root = dirs.root.join("sync-run");
    let mut lib = embedded_library(&root, plan.sync_items, seed, plan.library_px, encoder, ctl)?;
    write_anchor_inputs(&lib, encoder, &dirs.sync)?;
    let sync_opts = SyncOptions {
        pull: false,
        ..SyncOptions::default()
    };
    let bytes: u64 = images::list(lib.conn(), None)?
        .iter()
        .filter_map(|r| std::fs::metadata(lib.standard_path(&r.standard_sha256)).ok())
        .map(|m| m.len())
        .sum();
    let cpu_before = process::cpu_s();
    let start = Instant::now();
    let report = raiox_sync::sync(&mut lib, cfg, encoder, &sync_opts, ctl)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_s = process::cpu_s() - cpu_before;
    let once = |n: usize| Stats::of(&[n as f64 / seconds]);
    let items = images::list(lib.conn(), None)?;
    Ok(PushRow {
        mb_per_s: bytes as f64 / 1e6 / seconds,
        cpu_s,
        items: items.len(),
        uploaded: report.uploaded,
        rows_written: report.rows_written,
        failed: report.failed.len(),
        items_per_s: once(report.uploaded),
        rows_per_s: once(report.rows_written),
    })
}

/// A fresh library of `n` synthetic films (8 systems), imported with their labels and embedded,
/// at `root` (replaced if there).
fn embedded_library(
    root: &std::path::Path,
    n: usize,
    seed: u64,
    px: u32,
    encoder: &dyn Encoder,
    ctl: &JobControl,
) -> Result<Library, Error> {
    let films = root.with_extension("synth");
    for dir in [root, films.as_path()] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
    }
    let opts = SynthOptions {
        per_class: n.div_ceil(8),
        seed,
        size: px,
    };
    synth::generate(&films, &opts, ctl).map_err(|e| Error::Invalid(format!("synthesising: {e:#}")))?;
    let mut lib = Library::open(root)?;
    let import_opts = ImportOptions {
        labels: LabelSource::Csv(films.join("labels.csv")),
        ..ImportOptions::default()
    };
    import(
        &mut lib,
        std::slice::from_ref(&films),
        &import_opts,
        ctl,
        &mut |_| {},
    )?;
    raiox_core::embedding::embed_library(&mut lib, encoder, ctl)?;
    Ok(lib)
}

/// The scale study over the pushed rows (read back from production, with their vectors) and
/// queries embedded from films production has never seen.
fn scale_study(
    cfg: &RemoteConfig,
    encoder: &dyn Encoder,
    dirs: &Dirs,
    plan: &Plan,
    queries: &[Vec<f32>],
    ctl: &JobControl,
    log: &mut dyn FnMut(&str),
) -> Result<super::scale::ScaleReport, Error> {
    let pushed = Library::open(dirs.root.join("sync-run"))?;
    let mut ids = Vec::new();
    for rec in images::list(pushed.conn(), None)? {
        if let Some(item) = raiox_sync::outbox::item(pushed.conn(), rec.id)? {
            ids.push(item.remote_id);
        }
    }
    drop(pushed);
    let rt = runtime()?;
    let db = DbTarget::parse(&cfg.database.url, Duration::from_secs(30))?;
    let base = rt.block_on(async {
        let remote = Remote::open(db.connect().await?, &encoder.stamp()).await?;
        let mut rows = Vec::new();
        for chunk in ids.chunks(1_000) {
            rows.extend(remote.rows_by_id(chunk).await?);
        }
        Ok::<_, Error>(rows)
    })?;
    if base.is_empty() {
        return Err(Error::Invalid(
            "no pushed rows to build the scale study from".into(),
        ));
    }
    let inputs = super::scale::Inputs { base: &base, queries };
    super::scale::measure(cfg, encoder, &inputs, dirs, plan, ctl, log)
}

/// Embeddings of `plan.knn_queries` films production has never seen: the queries of every remote
/// kNN measurement (real embeddings, so recall is measured where curators search).
fn query_vectors(
    encoder: &dyn Encoder,
    dirs: &Dirs,
    plan: &Plan,
    ctl: &JobControl,
) -> Result<Vec<Vec<f32>>, Error> {
    let lib = embedded_library(
        &dirs.root.join("remote-queries"),
        plan.knn_queries,
        QUERY_FILMS_SEED,
        plan.library_px,
        encoder,
        ctl,
    )?;
    Ok(
        raiox_core::catalogue::vectors::load_all(lib.conn(), &encoder.stamp())?
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
    )
}

/// Seed of the query films (never pushed).
const QUERY_FILMS_SEED: u64 = 0x9E7_F11;

/// Leave production as it was: the pushed synthetic items are deleted again (soft-deleted rows,
/// their objects removed), so no curator's library ever pulls them.
fn clean_up(cfg: &RemoteConfig, encoder: &dyn Encoder, dirs: &Dirs, ctl: &JobControl) -> Result<(), Error> {
    let root = dirs.root.join("sync-run");
    if !root.join("library.db").is_file() {
        return Ok(());
    }
    let mut lib = Library::open(&root)?;
    let ids: Vec<i64> = images::list(lib.conn(), None)?.iter().map(|r| r.id).collect();
    raiox_core::curate::delete(&mut lib, &ids)?;
    let opts = SyncOptions {
        pull: false,
        ..SyncOptions::default()
    };
    let report = raiox_sync::sync(&mut lib, cfg, encoder, &opts, ctl)?;
    if !report.failed.is_empty() {
        return Err(Error::Remote(format!(
            "the synthetic rows could not all be removed from production: {}",
            report.summary()
        )));
    }
    Ok(())
}

/// The pushed library's standard PNGs (under their standard names) and one JSON row per item
/// (`rows.jsonl`: name, manufacturer, system, content hash, vector) for the anchors.
fn write_anchor_inputs(lib: &Library, encoder: &dyn Encoder, dir: &std::path::Path) -> Result<(), Error> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let png_dir = dir.join("png");
    std::fs::create_dir_all(&png_dir).map_err(|e| Error::io(&png_dir, e))?;
    let stamp = encoder.stamp();
    let mut rows = String::new();
    for rec in images::list(lib.conn(), None)? {
        let Some(name) = rec.name.as_deref() else { continue };
        let src = lib.standard_path(&rec.standard_sha256);
        let dst = png_dir.join(name);
        std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
        let vector = raiox_core::catalogue::vectors::get(lib.conn(), &stamp, rec.id)?;
        let row = serde_json::json!({
            "standard_name": name,
            "manufacturer": rec.manufacturer,
            "system": rec.system,
            "content_sha256": rec.standard_sha256,
            "embedding": vector,
        });
        rows.push_str(&row.to_string());
        rows.push('\n');
    }
    let path = dir.join("rows.jsonl");
    std::fs::write(&path, rows).map_err(|e| Error::io(&path, e))
}
