//! Throughput of the per-film standardisation path: PNG bytes → `decode` → find the implants →
//! one standard PNG per implant, single thread, reported by criterion as images per second (`Throughput::Elements`).
//!
//! Groups:
//! - `standardise/<px>`: the full path on synthetic films of 400, 1000, 2000 and 3000 px, encoded
//!   to PNG in memory once, outside the timed loop (zlib level 6 with adaptive filters, as most
//!   encoders write; `raiox synth` files use fdeflate's fast mode and decode faster).
//! - `stages/<px>/<stage>`: the same path cut into its stages (decode, stretch + polarity, finding
//!   the implants, the apex-down cut + resize + PNG encode of one implant) to show which dominates.
//! - `files/1-thread`, `files/all-cores`: only when `RAIOX_BENCH_DIR` names a folder; every image
//!   file under it is read into memory first, then one iteration standardises the whole set, on one
//!   thread or spread over all cores with rayon. `benches/anchors/run_standardise.sh` uses this to
//!   time the very files the Pillow + OpenCV anchor reads.
//!
//! The global rayon pool is pinned to one thread, so a dependency that quietly parallelises (say
//! `fast_image_resize` with its `rayon` feature) cannot inflate a single-thread figure; only
//! `files/all-cores` runs in a pool of all cores.
//! Run with `cargo bench --bench standardise` (about 1.5 minutes once built); `cargo test --bench
//! standardise` runs each benchmark once as a smoke test (`cargo test --benches` adds the lib's unit
//! tests, since a lib target is a bench target by default).

use std::cell::OnceCell;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

use raiox::bench::data::read_images;
use raiox::bench::measure::{cores, pool, standardise_all, standardise_file};
use raiox::decode::{decode, DecodeLimits};
use raiox::standardise::{develop, encode_png, find, standardise_implant, Developed, Fixture, Params};
use raiox::synth::{render, systems};

/// Film sides of the synthetic inputs, from a small phone photo to a large sensor.
const SIZES: [u32; 4] = [400, 1000, 2000, 3000];
/// Sizes that also get the per-stage breakdown (small and large are enough to see the trend).
const STAGE_SIZES: [u32; 2] = [400, 2000];
/// Films per size; cycling over a few systems averages over implant shapes and film processing.
const FILMS: usize = 4;
/// Seed of the synthetic films, fixed so runs compare.
const SEED: u64 = 7;

/// Synthetic films of `size` px, PNG-encoded once so the timed loop starts from file bytes; the
/// library's own encoder settings stand in for a typical third-party PNG.
fn synthetic_pngs(size: u32) -> Vec<Vec<u8>> {
    let all = systems();
    (0..FILMS)
        .map(|i| {
            let film = render(&all[i * 2 % all.len()], i, SEED, size);
            encode_png(&film).expect("encode synthetic film")
        })
        .collect()
}

/// The timed unit: one film's bytes to its implants' standard PNGs (the one `raiox bench` times).
fn process(bytes: &[u8]) -> usize {
    standardise_file(bytes).expect("standardise")
}

/// Full path per image, one image per iteration, cycling over the films of each size.
fn bench_full_path(c: &mut Criterion) {
    for size in SIZES {
        let inputs = OnceCell::new();
        let mut group = c.benchmark_group(format!("standardise/{size}"));
        group.throughput(Throughput::Elements(1));
        group.sampling_mode(SamplingMode::Flat);
        let mut next = 0;
        group.bench_function("decode+standardise", |b| {
            let pngs = inputs.get_or_init(|| synthetic_pngs(size));
            b.iter(|| {
                next = (next + 1) % pngs.len();
                process(black_box(&pngs[next]))
            })
        });
        group.finish();
    }
}

/// Intermediate results of one film, so each stage can be timed on its own real input.
struct Stages {
    bytes: Vec<u8>,
    decoded: raiox::decode::Decoded,
    film: Developed,
    fixtures: Vec<Fixture>,
}

/// Run the pipeline step by step as import does, keeping every intermediate.
fn stages(bytes: Vec<u8>) -> Stages {
    let decoded = decode(&bytes, &DecodeLimits::default()).expect("decode");
    let film = develop(&decoded, None).expect("develop");
    let mut fixtures = find(&film);
    if fixtures.is_empty() {
        // Time the cut on the middle of the film when the finder saw nothing.
        let (w, h) = film.image.dimensions();
        fixtures.push(Fixture {
            cx: w as f32 / 2.0,
            cy: h as f32 / 2.0,
            width: w as f32 * 0.1,
            length: h as f32 * 0.35,
            angle_deg: 0.0,
        });
    }
    Stages {
        bytes,
        decoded,
        film,
        fixtures,
    }
}

/// Each stage of the path timed alone, to find the one that dominates.
fn bench_stages(c: &mut Criterion) {
    for size in STAGE_SIZES {
        let cell = OnceCell::new();
        let film = || cell.get_or_init(|| stages(synthetic_pngs(size).swap_remove(0)));
        let mut group = c.benchmark_group(format!("stages/{size}"));
        group.throughput(Throughput::Elements(1));
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("1-decode", |b| {
            let s = film();
            b.iter(|| decode(black_box(&s.bytes), &DecodeLimits::default()).expect("decode"))
        });
        group.bench_function("2-stretch+polarity", |b| {
            let s = film();
            b.iter(|| develop(black_box(&s.decoded), None).expect("develop"))
        });
        group.bench_function("3-find-implants", |b| {
            let s = film();
            b.iter(|| find(black_box(&s.film)))
        });
        group.bench_function("4-apex-down-crop+resize+png (per implant)", |b| {
            let s = film();
            let params = Params::default();
            b.iter(|| standardise_implant(black_box(&s.film), &s.fixtures[0], &params).expect("cut"))
        });
        group.finish();
    }
}

/// The set under `RAIOX_BENCH_DIR`, one iteration = the whole set, sequential and with rayon.
fn bench_files(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("RAIOX_BENCH_DIR") else {
        return;
    };
    let files = read_images(Path::new(&dir)).expect("read the files");
    assert!(
        !files.is_empty(),
        "no image files under {}",
        Path::new(&dir).display()
    );
    let mut group = c.benchmark_group("files");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    // One untimed pass warms caches and sizes the run: ten whole-set samples must fit.
    let start = Instant::now();
    files.iter().for_each(|f| {
        black_box(process(f));
    });
    let pass = start.elapsed();
    group.sample_size(10);
    group.warm_up_time(pass.max(Duration::from_millis(500)));
    group.measurement_time((pass * 12).max(Duration::from_secs(4)));
    // On a pool worker like `all-cores`, so both see the same allocator arena behaviour.
    let one = pool(1).expect("pool");
    group.bench_function("1-thread", |b| {
        b.iter(|| standardise_all(&files, &one).expect("standardise"))
    });
    let all = pool(cores()).expect("pool");
    group.bench_function("all-cores", |b| {
        b.iter(|| standardise_all(&files, &all).expect("standardise"))
    });
    group.finish();
}

/// Short runs: these are throughput figures for a table, not regression detection at 1 %.
/// Also pins the global rayon pool to one thread (see the module note).
fn config() -> Criterion {
    // Fails only if the global pool already exists, which nothing here does before this point.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_full_path, bench_stages, bench_files
}
criterion_main!(benches);
