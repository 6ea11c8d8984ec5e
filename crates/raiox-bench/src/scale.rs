//! Production at the seed's scale: `plan.remote_rows` rows (100 000 at `--scale 100k`) written
//! through raiox's own upsert, HNSW built and searched over a grid of parameters, kNN with many
//! soft-deleted rows, and a pull of every row into an empty library.
//!
//! Why a scratch schema: the rows go to `raiox_bench_scale_<dim>` of the configured database, with
//! `search_path` pointing there, so the code measured is exactly [`Remote`]'s (migrations, upsert,
//! kNN) and the pull's, while the curators' `implants` table is never touched; the schemas are
//! dropped at the end.
//!
//! Why jittered copies: embedding 100 000 films takes about half an hour with Lite0 on two cores,
//! so the rows are the pushed library's real embeddings (one per film) and copies of them moved by
//! Gaussian noise of half the median nearest-neighbour distance: the table keeps the real
//! vectors' cluster structure at the seed's size. The 512-D table (CLIP's dimension, whose weights
//! cannot be downloaded here) holds the same vectors through one fixed random projection.

use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use pgvector::Vector;
use serde::Serialize;
use uuid::Uuid;

use super::data::{Dirs, XorShift};
use super::machine::process;
use super::measure::{catalogue_ops, knn_local, latency_runs, recall, CatalogueRow, KnnRow, K};
use super::{Plan, Stats};
use raiox_core::catalogue::vectors;
use raiox_core::embed::{l2_normalise, Encoder, ModelStamp};
use raiox_core::library::Library;
use raiox_core::progress::JobControl;
use raiox_core::Error;
use raiox_sync::postgres::{describe, DbTarget};
use raiox_sync::remote::{PushRow, Remote, RemoteRow, HNSW_EF_CONSTRUCTION, HNSW_M};
use raiox_sync::{RemoteConfig, SyncOptions};

/// Rows per upsert transaction (raiox's push batch, and the psycopg2 anchor's).
const BATCH: usize = 500;
/// Index name the migrations give the live-row HNSW index.
const HNSW_INDEX: &str = "implants_embedding_live_hnsw";

/// Writing the rows through [`Remote::upsert`], before any vector index exists.
#[derive(Debug, Clone, Serialize)]
pub struct FillRow {
    /// Vector dimension of the table.
    pub dim: usize,
    /// Rows written.
    pub rows: usize,
    /// Rows per transaction.
    pub batch: usize,
    /// Rows per second over the whole fill.
    pub rows_per_s: f64,
    /// The first rows (the same count the psycopg2 anchor upserts), timed on their own.
    pub first_rows: usize,
    /// Rows per second over those.
    pub first_rows_per_s: f64,
}

/// One HNSW build and its searches.
#[derive(Debug, Clone, Serialize)]
pub struct HnswRow {
    /// Vector dimension.
    pub dim: usize,
    /// Live rows indexed.
    pub rows: usize,
    /// Graph degree.
    pub m: u32,
    /// Construction beam.
    pub ef_construction: u32,
    /// `CREATE INDEX` seconds.
    pub build_s: f64,
    /// Index size on disk, MB.
    pub index_mb: f64,
    /// One row per search beam.
    pub search: Vec<SearchRow>,
}

/// kNN through [`Remote::knn`] at one `ef_search`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRow {
    /// HNSW search beam.
    pub ef_search: u32,
    /// Median query latency, ms.
    pub p50_ms: Stats,
    /// 95th percentile latency, ms.
    pub p95_ms: Stats,
    /// Recall@10 against an exact scan of the same rows.
    pub recall_at_10: f64,
}

/// kNN once many rows are soft-deleted and not yet vacuumed (the worst case for a partial index).
#[derive(Debug, Clone, Serialize)]
pub struct DeletedRow {
    /// Rows soft-deleted (one whole system, and a random share of the others).
    pub deleted: usize,
    /// Rows still live.
    pub live: usize,
    /// Queries run.
    pub queries: usize,
    /// Queries that got fewer than k rows (must be 0).
    pub short_results: usize,
    /// Recall@10 against an exact scan of the live rows.
    pub recall_at_10: f64,
    /// Median latency, ms.
    pub p50_ms: Stats,
    /// 95th percentile latency, ms.
    pub p95_ms: Stats,
}

/// Pulling every row into an empty library.
#[derive(Debug, Clone, Serialize)]
pub struct PullRow {
    /// Rows applied.
    pub rows: usize,
    /// Seconds for the whole pull (rows, vectors, image downloads).
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_s: f64,
    /// Resident memory of this process before the pull, MB.
    pub rss_before_mb: f64,
    /// Peak resident memory during the pull, MB (Linux; 0 elsewhere).
    pub peak_rss_mb: f64,
    /// Size of the library's catalogue afterwards, MB.
    pub catalogue_mb: f64,
}

/// Everything the scale study measured.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    /// The server's pgvector version.
    pub pgvector: String,
    /// Whether the server continues HNSW scans past the beam (pgvector ≥ 0.8).
    pub iterative_scan: bool,
    /// `halfvec`: measured, or why not.
    pub halfvec: String,
    /// Real embeddings the rows were made from.
    pub base_vectors: usize,
    /// Fills, one per dimension.
    pub fill: Vec<FillRow>,
    /// HNSW grid, every dimension.
    pub hnsw: Vec<HnswRow>,
    /// kNN with soft-deleted rows.
    pub deleted: Option<DeletedRow>,
    /// Pull into an empty library.
    pub pull: Option<PullRow>,
    /// Catalogue operations on the pulled library.
    pub pulled_catalogue: Option<CatalogueRow>,
    /// Local kNN over the pulled library's vectors.
    pub pulled_knn: Option<KnnRow>,
}

/// A current-thread runtime and the production settings, shared by the steps.
struct Ctx<'a> {
    rt: Runtime,
    cfg: &'a RemoteConfig,
    plan: &'a Plan,
}

fn pg(e: tokio_postgres::Error) -> Error {
    Error::Remote(format!("PostgreSQL: {}", describe(&e)))
}

fn schema(dim: usize) -> String {
    format!("raiox_bench_scale_{dim}")
}

/// The configuration with its database URL pointed at `schema` (for the pull, which connects
/// itself).
fn in_schema(cfg: &RemoteConfig, schema: &str) -> RemoteConfig {
    let mut cfg = cfg.clone();
    let url = cfg.database.url.expose();
    let sep = if url.contains('?') { '&' } else { '?' };
    cfg.database.url =
        raiox_sync::config::Secret::new(format!("{url}{sep}options=-csearch_path%3D{schema}%2Cpublic"));
    cfg
}

/// What the study is built from.
pub struct Inputs<'a> {
    /// The pushed rows, with their vectors: every row of the study is one of these or a copy.
    pub base: &'a [RemoteRow],
    /// Embeddings of films that are not among the rows.
    pub queries: &'a [Vec<f32>],
}

/// Run the study over `inputs`. The scratch schemas are dropped whatever happened.
pub fn measure(
    cfg: &RemoteConfig,
    encoder: &dyn Encoder,
    inputs: &Inputs,
    dirs: &Dirs,
    plan: &Plan,
    ctl: &JobControl,
    log: &mut dyn FnMut(&str),
) -> Result<ScaleReport, Error> {
    let ctx = Ctx {
        rt: super::remote::runtime()?,
        cfg,
        plan,
    };
    let stamp = encoder.stamp();
    let result = study(&ctx, encoder, inputs.base, inputs.queries, dirs, ctl, log);
    let dims = [stamp.dim, PROJECTED_DIM];
    let dropped = ctx.rt.block_on(async {
        let client = DbTarget::parse(&cfg.database.url, Duration::from_secs(30))?
            .connect()
            .await?;
        for dim in dims {
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema(dim)))
                .await
                .map_err(pg)?;
        }
        Ok::<_, Error>(())
    });
    let report = result?;
    dropped?;
    Ok(report)
}

/// CLIP ViT-B/32's dimension, for the projected table.
const PROJECTED_DIM: usize = 512;

fn study(
    ctx: &Ctx,
    encoder: &dyn Encoder,
    base: &[RemoteRow],
    queries: &[Vec<f32>],
    dirs: &Dirs,
    ctl: &JobControl,
    log: &mut dyn FnMut(&str),
) -> Result<ScaleReport, Error> {
    let stamp = &encoder.stamp();
    let vectors = jittered(base, ctx.plan.remote_rows);
    let projection = Projection::new(stamp.dim, PROJECTED_DIM, 0x5CA1E);
    let projected_stamp = ModelStamp {
        encoder_id: format!("bench-projection-{PROJECTED_DIM}"),
        weights_sha256: "0".repeat(64),
        preprocess_version: 0,
        dim: PROJECTED_DIM,
    };
    let mut report = ScaleReport {
        pgvector: String::new(),
        iterative_scan: false,
        halfvec: String::new(),
        base_vectors: base.len(),
        fill: Vec::new(),
        hnsw: Vec::new(),
        deleted: None,
        pull: None,
        pulled_catalogue: None,
        pulled_knn: None,
    };
    for (table_stamp, project) in [(stamp, false), (&projected_stamp, true)] {
        let dim = table_stamp.dim;
        let map = |v: &[f32]| if project { projection.apply(v) } else { v.to_vec() };
        let rows: Vec<Vec<f32>> = vectors.iter().map(|v| map(v)).collect();
        let qs: Vec<Vec<f32>> = queries.iter().map(|q| map(q)).collect();
        log(&format!(
            "production at scale: {} rows × {dim} through the upsert",
            rows.len()
        ));
        let mut remote = open(ctx, &schema(dim), table_stamp)?;
        if report.pgvector.is_empty() {
            report.pgvector = remote.pgvector_version().to_string();
            report.iterative_scan = remote.iterative_scan();
            report.halfvec = if remote.pgvector_at_least((0, 7)) {
                "available (pgvector ≥ 0.7), not measured".into()
            } else {
                format!("not available: pgvector {} (halfvec needs 0.7)", report.pgvector)
            };
        }
        let ids = fill(ctx, &mut remote, base, &rows, table_stamp, &mut report.fill)?;
        if ctl.is_cancelled() {
            return Ok(report);
        }
        log(&format!(
            "production at scale: exact kNN of {} queries × {dim}",
            qs.len()
        ));
        let exact = exact_knn(&ctx.rt, &remote, &qs)?;
        for &(m, ef_construction) in &ctx.plan.hnsw_grid {
            log(&format!(
                "production at scale: HNSW m={m} ef_construction={ef_construction}, {dim}-D"
            ));
            report.hnsw.push(hnsw(
                ctx,
                &mut remote,
                &qs,
                &exact,
                dim,
                ids.len(),
                (m, ef_construction),
            )?);
            if ctl.is_cancelled() {
                return Ok(report);
            }
        }
        if project {
            continue;
        }
        build_index(ctx, &remote, &schema(dim), HNSW_M, HNSW_EF_CONSTRUCTION)?;
        log("production at scale: pull of every row into an empty library");
        let pulled = dirs.root.join("pull-run");
        if pulled.exists() {
            std::fs::remove_dir_all(&pulled).map_err(|e| Error::io(&pulled, e))?;
        }
        report.pull = Some(pull(ctx, encoder, &pulled, &schema(dim), ctl)?);
        report.pulled_catalogue = Some(catalogue_ops(&pulled, ctx.plan.repeats)?);
        let lib = Library::open(&pulled)?;
        let local: Vec<Vec<f32>> = vectors::load_all(lib.conn(), table_stamp)?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        drop(lib);
        report.pulled_knn = Some(knn_local(local, &qs, ctx.plan.repeats));
        log("production at scale: kNN with soft-deleted rows");
        report.deleted = Some(deleted(ctx, &mut remote, base, &ids, &qs)?);
    }
    Ok(report)
}

/// Connect, create the scratch schema and migrate it as production would be.
fn open(ctx: &Ctx, schema: &str, stamp: &ModelStamp) -> Result<Remote, Error> {
    ctx.rt.block_on(async {
        let client = DbTarget::parse(&ctx.cfg.database.url, Duration::from_secs(30))?
            .connect()
            .await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
                 SET search_path TO {schema}, public"
            ))
            .await
            .map_err(pg)?;
        let remote = Remote::open(client, stamp).await?;
        // Every unqualified statement of `Remote` must reach the scratch table, never production's.
        let scratch: bool = remote
            .client()
            .query_one(
                &format!("SELECT to_regclass('implants') = to_regclass('{schema}.implants')"),
                &[],
            )
            .await
            .map_err(pg)?
            .get(0);
        if !scratch {
            return Err(Error::Remote(format!(
                "the scale study's table does not resolve to {schema}.implants; nothing was written"
            )));
        }
        // Bulk loading: rows first, then the index (as a restore would); no autovacuum, so the
        // deleted-rows measurement sees every dead row.
        remote
            .client()
            .batch_execute(&format!(
                "DROP INDEX IF EXISTS {schema}.{HNSW_INDEX};
                 ALTER TABLE {schema}.implants SET (autovacuum_enabled = false)"
            ))
            .await
            .map_err(pg)?;
        Ok(remote)
    })
}

/// `n` unit vectors: the base vectors first, then copies of them (round-robin) moved by Gaussian
/// noise of half the median nearest-neighbour distance among the bases.
fn jittered(base: &[RemoteRow], n: usize) -> Vec<Vec<f32>> {
    let real: Vec<&Vec<f32>> = base.iter().filter_map(|r| r.embedding.as_ref()).collect();
    if real.is_empty() {
        return Vec::new();
    }
    let dim = real[0].len();
    let sample = real.len().min(200);
    let mut nn: Vec<f32> = (0..sample)
        .map(|i| {
            real.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, v)| distance(real[i], v))
                .fold(f32::INFINITY, f32::min)
        })
        .filter(|d| d.is_finite())
        .collect();
    nn.sort_by(f32::total_cmp);
    let spacing = nn.get(nn.len() / 2).copied().unwrap_or(0.1);
    let sigma = 0.5 * spacing / (dim as f32).sqrt();
    let mut rng = XorShift(0x0005_CA1E_5EED);
    (0..n)
        .map(|i| {
            let b = real[i % real.len()];
            if i < real.len() {
                return b.clone();
            }
            let mut v: Vec<f32> = b.iter().map(|x| x + sigma * rng.gaussian()).collect();
            l2_normalise(&mut v);
            v
        })
        .collect()
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// A fixed random Gaussian projection (Johnson–Lindenstrauss), rows normalised afterwards.
struct Projection {
    matrix: Vec<Vec<f32>>,
}

impl Projection {
    fn new(from: usize, to: usize, seed: u64) -> Projection {
        let mut rng = XorShift(seed);
        Projection {
            matrix: (0..to)
                .map(|_| (0..from).map(|_| rng.gaussian()).collect())
                .collect(),
        }
    }

    fn apply(&self, v: &[f32]) -> Vec<f32> {
        let mut out: Vec<f32> = self
            .matrix
            .iter()
            .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
            .collect();
        l2_normalise(&mut out);
        out
    }
}

/// Write every row through [`Remote::upsert`], `BATCH` per transaction; returns the ids in order.
fn fill(
    ctx: &Ctx,
    remote: &mut Remote,
    base: &[RemoteRow],
    rows: &[Vec<f32>],
    stamp: &ModelStamp,
    out: &mut Vec<FillRow>,
) -> Result<Vec<Uuid>, Error> {
    let mut ids = Vec::with_capacity(rows.len());
    // The first whole batches covering the base rows: as many rows as the psycopg2 anchor writes.
    let first_batches = base.len().div_ceil(BATCH).max(1);
    let mut first_s = 0.0;
    let start = Instant::now();
    for (chunk_no, chunk) in rows.chunks(BATCH).enumerate() {
        let batch: Vec<PushRow> = chunk
            .iter()
            .enumerate()
            .map(|(n, v)| {
                let b = &base[(chunk_no * BATCH + n) % base.len()];
                let parts = raiox_core::catalogue::naming::parse_standard_name(&b.standard_name);
                let (name_key, name_stem) = parts.map_or_else(
                    || (b.standard_name.clone(), b.standard_name.clone()),
                    |p| (p.key, p.stem),
                );
                PushRow {
                    row: RemoteRow {
                        id: Uuid::new_v4(),
                        encoder_id: stamp.encoder_id.clone(),
                        embedding: Some(v.clone()),
                        ..b.clone()
                    },
                    expected: None,
                    name_key,
                    name_stem,
                }
            })
            .collect();
        let written = ctx.rt.block_on(remote.upsert(&batch))?;
        if written.len() != batch.len() {
            return Err(Error::Remote(format!(
                "the scale fill wrote {} of {} rows",
                written.len(),
                batch.len()
            )));
        }
        ids.extend(batch.iter().map(|r| r.row.id));
        if chunk_no + 1 == first_batches {
            first_s = start.elapsed().as_secs_f64();
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    ctx.rt
        .block_on(
            remote
                .client()
                .batch_execute(&format!("ANALYZE {}.implants", schema(stamp.dim))),
        )
        .map_err(pg)?;
    let first_rows = (first_batches * BATCH).min(rows.len());
    out.push(FillRow {
        dim: stamp.dim,
        rows: rows.len(),
        batch: BATCH,
        rows_per_s: rows.len() as f64 / seconds,
        first_rows,
        first_rows_per_s: first_rows as f64 / first_s.max(1e-9),
    });
    Ok(ids)
}

/// Ids of the `K` nearest live rows of every query by an exact (sequential) scan.
pub(crate) fn exact_knn(
    rt: &Runtime,
    remote: &Remote,
    queries: &[Vec<f32>],
) -> Result<Vec<Vec<Uuid>>, Error> {
    rt.block_on(async {
        let c = remote.client();
        c.batch_execute("BEGIN; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
            .await
            .map_err(pg)?;
        let mut exact = Vec::new();
        for q in queries {
            let rows = c
                .query(
                    "SELECT id FROM implants WHERE NOT deleted ORDER BY embedding <=> $1 LIMIT $2",
                    &[&Vector::from(q.clone()), &(K as i64)],
                )
                .await
                .map_err(pg)?;
            exact.push(rows.iter().map(|r| r.get::<_, Uuid>(0)).collect());
        }
        c.batch_execute("COMMIT").await.map_err(pg)?;
        Ok(exact)
    })
}

/// `CREATE INDEX` as the migrations write it, with these parameters; returns seconds.
/// Always schema-qualified: an unqualified name would fall through the search path to
/// production's own index once the scratch one is gone.
fn build_index(ctx: &Ctx, remote: &Remote, schema: &str, m: u32, ef_construction: u32) -> Result<f64, Error> {
    let start = Instant::now();
    ctx.rt
        .block_on(remote.client().batch_execute(&format!(
            "SET maintenance_work_mem = '2GB';
             DROP INDEX IF EXISTS {schema}.{HNSW_INDEX};
             CREATE INDEX {HNSW_INDEX} ON {schema}.implants USING hnsw (embedding vector_cosine_ops)
                 WITH (m = {m}, ef_construction = {ef_construction}) WHERE NOT deleted;
             RESET maintenance_work_mem"
        )))
        .map_err(pg)?;
    Ok(start.elapsed().as_secs_f64())
}

/// Build one grid point, then time [`Remote::knn`] at every `ef_search` of the plan.
fn hnsw(
    ctx: &Ctx,
    remote: &mut Remote,
    queries: &[Vec<f32>],
    exact: &[Vec<Uuid>],
    dim: usize,
    rows: usize,
    (m, ef_construction): (u32, u32),
) -> Result<HnswRow, Error> {
    let schema = schema(dim);
    let build_s = build_index(ctx, remote, &schema, m, ef_construction)?;
    let bytes: i64 = ctx
        .rt
        .block_on(
            remote
                .client()
                .query_one(&format!("SELECT pg_relation_size('{schema}.{HNSW_INDEX}')"), &[]),
        )
        .map_err(pg)?
        .get(0);
    let mut search = Vec::new();
    for &ef in &ctx.plan.ef_search {
        remote.set_ef_search(ef);
        let (found, p50_ms, p95_ms) = timed_knn(&ctx.rt, remote, queries, ctx.plan.repeats)?;
        search.push(SearchRow {
            ef_search: ef,
            p50_ms,
            p95_ms,
            recall_at_10: recall(&found, exact),
        });
    }
    remote.set_ef_search(raiox_sync::remote::HNSW_EF_SEARCH);
    Ok(HnswRow {
        dim,
        rows,
        m,
        ef_construction,
        build_s,
        index_mb: bytes as f64 / 1e6,
        search,
    })
}

/// Every query once through [`Remote::knn`] for its ids, then `repeats` timed runs: (ids, p50, p95).
pub(crate) fn timed_knn(
    rt: &Runtime,
    remote: &Remote,
    queries: &[Vec<f32>],
    repeats: usize,
) -> Result<(Vec<Vec<Uuid>>, Stats, Stats), Error> {
    let mut found = Vec::new();
    for q in queries {
        let hits = rt.block_on(remote.knn(q, K))?;
        found.push(hits.into_iter().map(|(r, _)| r.id).collect());
    }
    let mut failed = None;
    let (p50, p95) = latency_runs(queries, repeats, |q| {
        if let Err(e) = rt.block_on(remote.knn(q, K)) {
            failed = Some(e);
        }
    });
    failed.map_or(Ok((found, p50, p95)), Err)
}

/// Pull the schema's rows into a new library at `root`, measuring time and peak memory.
fn pull(
    ctx: &Ctx,
    encoder: &dyn Encoder,
    root: &std::path::Path,
    schema: &str,
    ctl: &JobControl,
) -> Result<PullRow, Error> {
    let cfg = in_schema(ctx.cfg, schema);
    let mut lib = Library::open(root)?;
    let rss_before_mb = process::reset_peak_rss();
    let opts = SyncOptions {
        push: false,
        ..SyncOptions::default()
    };
    let start = Instant::now();
    let report = raiox_sync::sync(&mut lib, &cfg, encoder, &opts, ctl)?;
    let seconds = start.elapsed().as_secs_f64();
    let peak_rss_mb = process::peak_rss_mb();
    if !report.failed.is_empty() || !report.quarantined.is_empty() {
        return Err(Error::Remote(format!(
            "the scale pull did not take every row: {}",
            report.summary()
        )));
    }
    drop(lib);
    let db = root.join("library.db");
    let catalogue_mb = std::fs::metadata(&db).map_err(|e| Error::io(&db, e))?.len() as f64 / 1e6;
    Ok(PullRow {
        rows: report.pulled,
        seconds,
        rows_per_s: report.pulled as f64 / seconds,
        rss_before_mb,
        peak_rss_mb,
        catalogue_mb,
    })
}

/// Soft-delete one whole system's rows and a fifth of the others through [`Remote::soft_delete`]
/// (no VACUUM), then check every query still gets `K` live rows, and how fast.
fn deleted(
    ctx: &Ctx,
    remote: &mut Remote,
    base: &[RemoteRow],
    ids: &[Uuid],
    queries: &[Vec<f32>],
) -> Result<DeletedRow, Error> {
    let first_system = &base[0].system;
    let mut rng = XorShift(0xDE1E7E);
    let doomed: Vec<Uuid> = ids
        .iter()
        .enumerate()
        .filter(|&(i, _)| &base[i % base.len()].system == first_system || rng.uniform() < -0.3)
        .map(|(_, id)| *id)
        .collect();
    for chunk in doomed.chunks(5_000) {
        let current = ctx.rt.block_on(remote.current(chunk))?;
        let items: Vec<(Uuid, i64)> = chunk
            .iter()
            .filter_map(|id| current.get(id).map(|r| (*id, r.revision)))
            .collect();
        ctx.rt.block_on(remote.soft_delete(&items))?;
    }
    let exact = exact_knn(&ctx.rt, remote, queries)?;
    let (found, p50_ms, p95_ms) = timed_knn(&ctx.rt, remote, queries, ctx.plan.repeats)?;
    Ok(DeletedRow {
        deleted: doomed.len(),
        live: ids.len() - doomed.len(),
        queries: queries.len(),
        short_results: found.iter().filter(|f| f.len() < K).count(),
        recall_at_10: recall(&found, &exact),
        p50_ms,
        p95_ms,
    })
}
