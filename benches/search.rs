//! kNN benchmark: p50/p95 latency and recall@10 of the in-memory index at 10 000 and 100 000
//! unit vectors of 512-D, against exact float search; and the embedding map's projection of
//! 10 000 vectors of 1 280-D (Lite0's length). Goal: ≤ 10 s on two cores.
//!
//! Run: `cargo bench --bench search`. The vectors and queries are written to
//! `target/bench-data/` so `benches/anchors/search_faiss.py` measures FAISS `IndexFlatIP` on the very
//! same data. The measurement itself is `raiox::bench::measure::knn_local`, the one `raiox bench`
//! runs; percentiles need per-query timings, so it times queries itself (no criterion).

use raiox::bench::data::{clustered_vectors, vector_seed, write_f32, QUERY_SEED};
use raiox::bench::measure::{knn_local, map_projection};

const QUERIES: usize = 300;
const REPEATS: usize = 5;

fn main() {
    // `cargo test --benches` runs benches with no arguments but `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick { &[2_000] } else { &[10_000, 100_000] };
    let data_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let queries = clustered_vectors(QUERIES, QUERY_SEED);
    write_f32(&data_dir.join("queries.f32"), &queries).expect("write queries");
    println!(
        "{:>8} {:>22} {:>22} {:>10}",
        "vectors", "p50 ms (min-max)", "p95 ms (min-max)", "recall@10"
    );
    for &n in sizes {
        let data = clustered_vectors(n, vector_seed(n));
        write_f32(&data_dir.join(format!("vectors_{n}.f32")), &data).expect("write vectors");
        let row = knn_local(data, &queries, if quick { 1 } else { REPEATS });
        let cell = |s: raiox::bench::Stats| format!("{:.3} ({:.3}-{:.3})", s.median, s.min, s.max);
        println!(
            "{n:>8} {:>22} {:>22} {:>10.4}",
            cell(row.p50_ms),
            cell(row.p95_ms),
            row.recall_at_10
        );
    }
    let (n, repeats) = if quick { (1_000, 1) } else { (10_000, 3) };
    let row = map_projection(n, 1280, repeats).expect("map projection");
    println!(
        "embedding map of {n} × 1280 on {} threads: {:.2} s ({:.2}-{:.2})",
        row.threads, row.seconds.median, row.seconds.min, row.seconds.max
    );
}
