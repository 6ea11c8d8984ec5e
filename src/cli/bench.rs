//! `raiox bench`: runs [`raiox::bench::run`] and prints its report as a table or one JSON object.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::args::{BenchArgs, Cli};
use super::output::json_line;
use super::progress_bar;
use raiox::bench::measure::{CatalogueRow, KnnRow};
use raiox::bench::scale::ScaleReport;
use raiox::bench::{self, BenchOptions, BenchReport, Stats};

/// Run every measurement and print the table (or, with `--json`, one JSON object).
pub fn cmd_bench(cli: &Cli, args: &BenchArgs) -> Result<ExitCode> {
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => bench::data::default_dir().context("no cache folder: give --data DIR")?,
    };
    let opts = BenchOptions {
        scale: args.scale,
        data,
        remote: args.remote,
        remote_only: args.remote_only,
    };
    let report = progress_bar::run_with_bar("bench", |ctl, bar| {
        bench::run(&opts, ctl, &mut |line| bar.suspend(|| eprintln!("bench: {line}")))
    })?;
    if cli.json {
        json_line(&report)?;
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// "median (min–max)" with `digits` decimals.
fn spread(s: &Stats, digits: usize) -> String {
    format!("{:.digits$} ({:.digits$}–{:.digits$})", s.median, s.min, s.max)
}

fn print_table(r: &BenchReport) {
    let m = &r.machine;
    outln!(
        "raiox bench --scale {} — {} ({} cores, {}, {:.0} MHz, {:.1} GiB RAM), {}",
        serde_json::to_value(r.scale)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        m.cpu,
        m.cores,
        m.simd,
        m.mhz,
        m.ram_gib,
        r.date
    );
    outln!(
        "limits: peak ≈ {:.0} GFLOP/s (f32 FMA), copy bandwidth {} GB/s",
        m.peak_gflop_per_s,
        spread(&m.copy_gb_per_s, 1)
    );
    outln!("inputs for the anchors: {}", r.data_dir.display());
    outln!("\nmedian (min–max) over {} runs", r.plan.repeats);
    outln!("{:<52} {:>40}", "measurement", "value");
    let row = |what: String, value: String| outln!("{what:<52} {value:>40}");
    for s in &r.standardise {
        row(
            format!(
                "standardise {} px, {} thread(s), {} files",
                s.px, s.threads, s.files
            ),
            format!("{} img/s", spread(&s.images_per_s, 1)),
        );
    }
    for e in &r.embed {
        let flops = e.gflop_per_s.as_ref().map_or(String::new(), |g| {
            format!(
                " = {:.0} GFLOP/s ({:.0} % of peak)",
                g.median,
                100.0 * g.median / m.peak_gflop_per_s
            )
        });
        row(
            format!("embed {} ({} weights), batch {}", e.encoder, e.weights, e.batch),
            format!("{} img/s{flops}", spread(&e.images_per_s, 1)),
        );
    }
    for i in &r.import {
        row(
            format!(
                "import {} films → {} implants, {} ({} threads)",
                i.films, i.implants, i.encoder, i.threads
            ),
            format!(
                "{} films/s, {} implants/s",
                spread(&i.films_per_s, 1),
                spread(&i.implants_per_s, 1)
            ),
        );
    }
    let knn = |name: String, k: &KnnRow| {
        row(format!("{name}, p50"), format!("{} ms", spread(&k.p50_ms, 3)));
        row(format!("{name}, p95"), format!("{} ms", spread(&k.p95_ms, 3)));
        row(
            format!("{name}, recall@{}", k.k),
            format!("{:.4}", k.recall_at_10),
        );
    };
    for k in &r.knn_local {
        knn(format!("local kNN {} × {}", k.vectors, k.dim), k);
    }
    for m in &r.map {
        row(
            format!("embedding map {} × {}, {} threads", m.vectors, m.dim, m.threads),
            format!("{} s", spread(&m.seconds, 2)),
        );
    }
    if let Some(c) = &r.catalogue {
        catalogue_rows(&row, "catalogue", c);
    }
    let remote = &r.remote;
    match &remote.knn {
        Some(k) => knn(format!("remote kNN {} rows × {}", k.vectors, k.dim), k),
        None => row("remote kNN".into(), "—".into()),
    }
    match &remote.push {
        Some(p) => {
            row(
                format!("sync push, {} items ({} failed)", p.items, p.failed),
                format!("{:.1} items/s", p.items_per_s.median),
            );
            row(
                "sync push, rows".into(),
                format!("{:.1} rows/s", p.rows_per_s.median),
            );
            row(
                "sync push, bytes and CPU".into(),
                format!("{:.1} MB/s, {:.1} CPU s", p.mb_per_s, p.cpu_s),
            );
        }
        None => row("sync push".into(), "—".into()),
    }
    if let Some(s) = &remote.scale {
        scale_rows(&row, s);
    }
    outln!("production: {}", remote.status);
    remote.errors.iter().for_each(|e| outln!("  {e}"));
}

fn catalogue_rows(row: &dyn Fn(String, String), what: &str, c: &CatalogueRow) {
    row(
        format!("{what} open, {} items", c.items),
        format!("{} ms", spread(&c.open_ms, 1)),
    );
    row(
        format!("{what} list, {} items", c.items),
        format!("{} ms", spread(&c.list_ms, 1)),
    );
    row(
        format!("{what} filter, {} kept", c.filtered),
        format!("{} ms", spread(&c.filter_ms, 1)),
    );
}

/// The production scale study: fills, the HNSW grid, deleted rows, the pull.
fn scale_rows(row: &dyn Fn(String, String), s: &ScaleReport) {
    row(
        "scale: pgvector".into(),
        format!("{} (iterative scan: {})", s.pgvector, s.iterative_scan),
    );
    for f in &s.fill {
        row(
            format!("scale: upsert {} rows × {}, {} per tx", f.rows, f.dim, f.batch),
            format!(
                "{:.0} rows/s (first {}: {:.0})",
                f.rows_per_s, f.first_rows, f.first_rows_per_s
            ),
        );
    }
    for h in &s.hnsw {
        row(
            format!(
                "scale: HNSW {} × {} m={} efc={}",
                h.rows, h.dim, h.m, h.ef_construction
            ),
            format!("build {:.1} s, {:.0} MB", h.build_s, h.index_mb),
        );
        for e in &h.search {
            row(
                format!("  ef_search {}", e.ef_search),
                format!(
                    "p50 {:.2} p95 {:.2} ms, recall {:.3}",
                    e.p50_ms.median, e.p95_ms.median, e.recall_at_10
                ),
            );
        }
    }
    if let Some(d) = &s.deleted {
        row(
            format!("scale: kNN, {} deleted / {} live", d.deleted, d.live),
            format!(
                "{} short, recall {:.3}, p95 {:.2} ms",
                d.short_results, d.recall_at_10, d.p95_ms.median
            ),
        );
    }
    if let Some(p) = &s.pull {
        row(
            format!("scale: pull {} rows into an empty library", p.rows),
            format!(
                "{:.1} s, {:.0} rows/s, peak {:.0} MB",
                p.seconds, p.rows_per_s, p.peak_rss_mb
            ),
        );
    }
    if let Some(c) = &s.pulled_catalogue {
        catalogue_rows(row, "pulled catalogue", c);
    }
    if let Some(k) = &s.pulled_knn {
        row(
            format!("pulled local kNN {} × {}", k.vectors, k.dim),
            format!("p95 {:.2} ms, recall {:.3}", k.p95_ms.median, k.recall_at_10),
        );
    }
}
