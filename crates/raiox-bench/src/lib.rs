//! `raiox bench`: every performance goal measured end to end on this machine, in one run.
//!
//! Why a crate of its own: the criterion benches (`benches/*.rs`), the `raiox bench` command and its
//! test all call the same measuring functions, so a figure in docs/BENCHMARKS.md means the same
//! thing wherever it was taken. This crate owns the synthetic inputs (a cached library of N films,
//! the standardisation set, kNN vectors — [`data`]), timing statistics ([`Stats`]), one function
//! per measurement ([`measure`]), the machine's physical limits ([`machine`]) and the optional
//! measurements against production ([`remote`]). It never prints: the CLI shows the report.
//!
//! Inputs are written under a data folder ([`BenchOptions::data`]) so the Python anchors in
//! `benches/anchors/` time the very same files and vectors.

pub mod data;
pub mod machine;
pub mod measure;
pub mod remote;
pub mod scale;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use raiox_core::progress::JobControl;
use raiox_core::Error;

/// How big a run is: the library size and the kNN sizes follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Scale {
    /// A few dozen items: for the test suite, seconds.
    #[value(hide = true)]
    #[serde(rename = "tiny")]
    Tiny,
    /// 10 000 items (and kNN at 10 000 and 100 000 vectors): minutes on two cores.
    #[value(name = "10k")]
    #[serde(rename = "10k")]
    S10k,
    /// 100 000 items: the seed's target size; the first run builds a library of several GB.
    #[value(name = "100k")]
    #[serde(rename = "100k")]
    S100k,
}

/// Sizes and repeat counts of a run, derived from its [`Scale`].
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Films in the cached catalogue library.
    pub items: usize,
    /// Side of each library film in pixels (small: the library is about the catalogue, not pixels).
    pub library_px: u32,
    /// Films per system in the standardisation set (8 systems).
    pub standardise_per_class: usize,
    /// Side of each standardisation film.
    pub standardise_px: u32,
    /// Images per embedding batch.
    pub embed_batch: usize,
    /// Vector counts for the local kNN measurement.
    pub knn_sizes: Vec<usize>,
    /// Queries per kNN run.
    pub knn_queries: usize,
    /// Vector counts (Lite0's 1 280 dimensions) for the embedding map's projection.
    pub map_sizes: Vec<usize>,
    /// Timed repeats of every measurement (the statistics are over these).
    pub repeats: usize,
    /// Bytes of each buffer in the memory-bandwidth copy loop.
    pub bandwidth_bytes: usize,
    /// Items pushed by the production measurement (their embeddings seed the scale study).
    pub sync_items: usize,
    /// Rows of the production scale study (`scale`).
    pub remote_rows: usize,
    /// HNSW (m, ef_construction) pairs the scale study builds.
    pub hnsw_grid: Vec<(u32, u32)>,
    /// `hnsw.ef_search` values it searches with.
    pub ef_search: Vec<u32>,
}

impl Scale {
    /// The sizes of a run at this scale.
    pub fn plan(self) -> Plan {
        let (items, knn_sizes) = match self {
            Scale::Tiny => (48, vec![2_000]),
            Scale::S10k => (10_000, vec![10_000, 100_000]),
            Scale::S100k => (100_000, vec![100_000]),
        };
        let tiny = self == Scale::Tiny;
        Plan {
            items,
            library_px: if tiny { 96 } else { 256 },
            standardise_per_class: if tiny { 2 } else { 25 },
            standardise_px: if tiny { 256 } else { 400 },
            embed_batch: if tiny { 2 } else { 16 },
            knn_sizes,
            knn_queries: if tiny { 40 } else { 300 },
            map_sizes: if tiny { vec![300] } else { vec![10_000] },
            repeats: if tiny { 3 } else { 5 },
            bandwidth_bytes: if tiny { 8 << 20 } else { 256 << 20 },
            sync_items: match self {
                Scale::Tiny => 16,
                Scale::S10k => 1_000,
                Scale::S100k => 10_000,
            },
            remote_rows: match self {
                Scale::Tiny => 300,
                Scale::S10k => 10_000,
                Scale::S100k => 100_000,
            },
            hnsw_grid: match self {
                Scale::Tiny => vec![(16, 64)],
                Scale::S10k => vec![(16, 64), (16, 128)],
                Scale::S100k => vec![(16, 64), (16, 128), (32, 128)],
            },
            ef_search: if tiny {
                vec![10, 40]
            } else {
                vec![20, 40, 100, 200]
            },
        }
    }
}

/// What to run and where its inputs live.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Run size.
    pub scale: Scale,
    /// Folder for the cached library, the anchors' inputs and `results.json`.
    pub data: PathBuf,
    /// Also measure against production when it is configured (it writes synthetic items there).
    pub remote: bool,
    /// Skip the local measurements (production only; implies `remote`).
    pub remote_only: bool,
}

/// A timing summary over repeated runs: the median and the spread.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// Median of the runs.
    pub median: f64,
    /// Smallest run.
    pub min: f64,
    /// Largest run.
    pub max: f64,
    /// Number of runs.
    pub runs: usize,
}

impl Stats {
    /// Summarise samples (at least one).
    pub fn of(samples: &[f64]) -> Stats {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Stats {
            median: percentile(&sorted, 0.5),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            runs: sorted.len(),
        }
    }

    /// The same runs expressed as a rate: `per_run / seconds` for samples given in seconds.
    pub fn rate(seconds: &[f64], per_run: f64) -> Stats {
        Stats::of(&seconds.iter().map(|s| per_run / s).collect::<Vec<_>>())
    }
}

/// The `p` quantile (0..=1) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Seconds taken by each of `repeats` calls of `f`, after one untimed warm-up call.
pub fn time_runs(repeats: usize, mut f: impl FnMut()) -> Vec<f64> {
    f();
    (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect()
}

/// Everything one `raiox bench` run measured, as printed by `--json` and saved as `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Run size.
    pub scale: Scale,
    /// The sizes used.
    pub plan: Plan,
    /// UTC time of the run (RFC 3339).
    pub date: String,
    /// Where the inputs are (for the anchors).
    pub data_dir: PathBuf,
    /// CPU, memory and physical limits.
    pub machine: machine::Machine,
    /// Standardisation throughput, one row per thread count.
    pub standardise: Vec<measure::StandardiseRow>,
    /// Embedding throughput, one row per available encoder.
    pub embed: Vec<measure::EmbedRow>,
    /// The import job end to end (files to embedded implants), one row per encoder.
    pub import: Vec<measure::ImportRow>,
    /// Local kNN latency and recall, one row per size.
    pub knn_local: Vec<measure::KnnRow>,
    /// The embedding map's projection, one row per size.
    pub map: Vec<measure::MapRow>,
    /// Catalogue operations on the cached library (none when only production was measured).
    pub catalogue: Option<measure::CatalogueRow>,
    /// Production measurements, or why there are none.
    pub remote: remote::RemoteReport,
}

/// Run every measurement of `opts.scale`; `log` receives one line per stage for the user.
pub fn run(opts: &BenchOptions, ctl: &JobControl, log: &mut dyn FnMut(&str)) -> Result<BenchReport, Error> {
    let plan = opts.scale.plan();
    let dirs = data::Dirs::new(&opts.data);
    log(&format!("inputs and cache: {}", dirs.root.display()));
    log("machine: CPU, memory, copy bandwidth");
    let machine = machine::Machine::probe(plan.bandwidth_bytes, plan.repeats);

    let local = if opts.remote_only {
        Local::default()
    } else {
        local(&dirs, &plan, ctl, &mut *log)?
    };
    let remote = remote::measure(opts, &dirs, &plan, ctl, &mut *log);

    let report = BenchReport {
        scale: opts.scale,
        plan,
        date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        data_dir: dirs.root.clone(),
        machine,
        standardise: local.standardise,
        embed: local.embed,
        import: local.import,
        knn_local: local.knn_local,
        map: local.map,
        catalogue: local.catalogue,
        remote,
    };
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| Error::Invalid(format!("bench report: {e}")))?;
    let path = dirs.root.join("results.json");
    std::fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
    Ok(report)
}

/// The measurements that need no server.
#[derive(Default)]
struct Local {
    standardise: Vec<measure::StandardiseRow>,
    embed: Vec<measure::EmbedRow>,
    import: Vec<measure::ImportRow>,
    knn_local: Vec<measure::KnnRow>,
    map: Vec<measure::MapRow>,
    catalogue: Option<measure::CatalogueRow>,
}

fn local(
    dirs: &data::Dirs,
    plan: &Plan,
    ctl: &JobControl,
    log: &mut dyn FnMut(&str),
) -> Result<Local, Error> {
    log(&format!(
        "library of {} items (cached after the first run)",
        plan.items
    ));
    let library = data::cached_library(dirs, plan.items, plan.library_px, ctl)?;

    log("standardisation");
    let files = data::standardise_set(dirs, plan.standardise_per_class, plan.standardise_px, ctl)?;
    let standardise = measure::standardise_rows(&files, plan.standardise_px, plan.repeats)?;

    log("embedding");
    let images = data::embed_inputs(dirs, &library, plan.embed_batch)?;
    let embed = measure::embed_rows(&images, plan.repeats, &mut *log)?;

    log("import pipeline");
    let import_repeats = plan.repeats.min(3);
    let scratch = dirs.root.join("import-runs");
    let import = measure::import_rows(&dirs.standardise, &scratch, import_repeats, ctl, &mut *log)?;

    let queries = data::clustered_vectors(plan.knn_queries, data::QUERY_SEED);
    data::write_f32(&dirs.knn.join("queries.f32"), &queries)?;
    let mut knn_local = Vec::new();
    for &n in &plan.knn_sizes {
        log(&format!("local kNN over {n} vectors"));
        let vectors = data::clustered_vectors(n, data::vector_seed(n));
        data::write_f32(&dirs.knn.join(format!("vectors_{n}.f32")), &vectors)?;
        knn_local.push(measure::knn_local(vectors, &queries, plan.repeats));
    }

    let mut map = Vec::new();
    for &n in &plan.map_sizes {
        log(&format!("embedding map of {n} vectors"));
        map.push(measure::map_projection(n, 1280, plan.repeats.min(3))?);
    }

    log("catalogue operations");
    drop(library);
    let catalogue = Some(measure::catalogue_ops(&dirs.library(plan.items), plan.repeats)?);
    Ok(Local {
        standardise,
        embed,
        import,
        knn_local,
        map,
        catalogue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_take_median_and_spread() {
        let s = Stats::of(&[3.0, 1.0, 2.0, 10.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.runs), (3.0, 1.0, 10.0, 5));
        let r = Stats::rate(&[0.5, 0.25], 10.0);
        assert_eq!((r.min, r.max), (20.0, 40.0));
    }
}
