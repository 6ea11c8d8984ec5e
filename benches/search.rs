//! kNN benchmark: p50/p95 latency and recall@10 of the in-memory index at 10 000 and 100 000
//! unit vectors of 512-D, against exact float search; also sqlite-vec's own kNN at 10 000.
//!
//! Run: `cargo bench --bench search`. The vectors and queries are written to
//! `target/bench-data/` so `benches/anchors/search_faiss.py` measures FAISS `IndexFlatIP` on the very
//! same data. Percentiles need per-query timings, so this bench times queries itself (no criterion).

use std::io::Write;
use std::time::Instant;

use raiox::search::index::Index;

const DIM: usize = 512;
const QUERIES: usize = 300;

/// Deterministic clustered unit vectors, like embeddings of many images of a few hundred systems.
fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..300).map(|_| (0..DIM).map(|_| next()).collect()).collect();
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = centres[(i * 7919) % 300]
                .iter()
                .map(|c| c + 0.8 * next())
                .collect();
            raiox::embed::l2_normalise(&mut v);
            v
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn write_f32(path: &std::path::Path, rows: &[Vec<f32>]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for r in rows {
        for x in r {
            f.write_all(&x.to_le_bytes()).unwrap();
        }
    }
}

fn main() {
    // `cargo test --benches` runs benches with no arguments but `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick { &[2_000] } else { &[10_000, 100_000] };
    let data_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let queries = vectors(QUERIES, 0xDEC0DE);
    write_f32(&data_dir.join("queries.f32"), &queries);
    println!(
        "{:>8} {:>10} {:>10} {:>10}",
        "vectors", "p50 ms", "p95 ms", "recall@10"
    );
    for &n in sizes {
        let data = vectors(n, 0x5EED + n as u64);
        write_f32(&data_dir.join(format!("vectors_{n}.f32")), &data);
        let index = Index::build(
            data.into_iter().enumerate().map(|(i, v)| (i as i64, v)).collect(),
            DIM,
        );
        let mut times = Vec::with_capacity(QUERIES);
        let mut hits = 0;
        for q in &queries {
            let start = Instant::now();
            let found = index.search(q, 10, &|_| true);
            times.push(start.elapsed().as_secs_f64() * 1e3);
            let exact: Vec<i64> = index.exact(q, 10).iter().map(|r| r.0).collect();
            hits += found.iter().filter(|r| exact.contains(&r.0)).count();
        }
        times.sort_by(f64::total_cmp);
        let recall = hits as f64 / (10 * QUERIES) as f64;
        println!(
            "{n:>8} {:>10.3} {:>10.3} {recall:>10.4}",
            percentile(&times, 0.5),
            percentile(&times, 0.95)
        );
    }
}
