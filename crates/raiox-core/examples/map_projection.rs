//! Time the embedding map on synthetic clustered unit vectors, building only the core in release
//! (the app's `search` bench measures the same function through `raiox-bench`, which needs the
//! whole workspace in release).
//!
//! Run: `cargo run --release -p raiox-core --example map_projection -- [N] [DIM]` (default
//! 10 000 × 1280, the Lite0 vector length).
#![allow(clippy::print_stdout)] // a measurement tool: its report is its output

use std::time::Instant;

use raiox_core::embed::l2_normalise;
use raiox_core::progress::JobControl;
use raiox_core::search::map::{project, MapParams};

fn main() -> Result<(), raiox_core::Error> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let n = args.next().flatten().unwrap_or(10_000);
    let dim = args.next().flatten().unwrap_or(1280);
    // 300 centres, uniform per axis, plus noise: the shape of raiox-bench's clustered vectors.
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<f32> = (0..300 * dim).map(|_| uniform()).collect();
    let mut flat = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = (i * 7919) % 300;
        let mut v: Vec<f32> = (0..dim).map(|a| centres[c * dim + a] + 0.8 * uniform()).collect();
        l2_normalise(&mut v);
        flat.extend_from_slice(&v);
    }
    let ids: Vec<i64> = (0..n as i64).collect();
    let threads = rayon::current_num_threads();
    for run in 0..2 {
        let start = Instant::now();
        let points = project(&ids, &flat, dim, &MapParams::default(), &JobControl::new())?;
        let s = start.elapsed().as_secs_f64();
        println!(
            "run {run}: {n} vectors of {dim} mapped in {s:.2} s on {threads} threads ({} points)",
            points.map_or(0, |p| p.len())
        );
    }
    Ok(())
}
