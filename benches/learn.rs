//! Training time of the learned head (`raiox learn`) at library scale on this machine's cores.
//!
//! Run: `cargo bench --bench learn`. The data are unit vectors of the Lite0 width (1280) in
//! 100 systems whose identity lies in a few directions under larger shared variation, as the
//! head's own test uses; what is timed is `raiox::embed::head::train` with the defaults
//! `raiox learn` uses (the held-out comparison around it is a few k-NN votes per held-out implant).

use std::time::Instant;

use raiox::embed::head::{train, TrainOptions};
use raiox::progress::JobControl;
use raiox::synth::rng::mix;

/// A seeded standard normal value.
fn normal(key: u64) -> f32 {
    let u = |k: u64| ((mix(key ^ mix(k)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    ((-2.0 * u(1).ln()).sqrt() * (std::f64::consts::TAU * u(2)).cos()) as f32
}

fn data(n: usize, systems: usize, dim: usize) -> (Vec<f32>, Vec<u32>) {
    let (mut x, mut y) = (Vec::with_capacity(n * dim), Vec::with_capacity(n));
    for i in 0..n {
        let c = i % systems;
        let mut v: Vec<f32> = (0..dim).map(|d| 0.1 * normal(mix(i as u64) ^ d as u64)).collect();
        v[c] += 1.0;
        for (d, value) in v.iter_mut().enumerate().skip(systems).take(16) {
            *value += 2.0 * normal(mix(i as u64 + 7) ^ d as u64);
        }
        let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        x.extend(v.iter().map(|a| a / norm));
        y.push(c as u32);
    }
    (x, y)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick { &[200] } else { &[1_000, 10_000] };
    let dim = 1280;
    let threads = rayon::current_num_threads();
    for &n in sizes {
        let (x, y) = data(n, 100.min(n / 10).max(2), dim);
        let started = Instant::now();
        let weights = train(&x, &y, dim, &TrainOptions::default(), &JobControl::new()).expect("train");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(weights.len(), dim * TrainOptions::default().out_dim);
        println!("learn head  {n:>6} implants × {dim}: {seconds:.1} s ({threads} threads)");
    }
}
