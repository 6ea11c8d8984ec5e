//! GUI benchmark: frame time while scrolling the thumbnail grid of a 100 000-image library, and the
//! process's memory at that size. Goal (issue #5): ≤ 16 ms per frame, ≤ 1 GB RSS.
//!
//! Run: `cargo bench --bench gui`. The library is real: 8 labelled synthetic films are imported,
//! then 99 992 more (unlabelled) records are inserted that share their files (distinct SHA-256s), so
//! the worker lists 100 000 rows from SQLite and every thumbnail is decoded from a PNG. The window is driven by
//! egui_kittest (no GPU): a frame is the egui pass (our panels, the virtualised grid, texture
//! uploads) plus tessellation of its shapes, i.e. all CPU work of a frame except the GPU draw.
//! Percentiles need per-frame timings, so this bench times frames itself (no criterion).
//!
//! `cargo bench --bench gui -- map` instead times the embedding map widget drawing 100 000 dots
//! (goal: ≥ 30 fps, i.e. ≤ 33 ms per frame): a still view (the cached mesh), and a view panned
//! or zoomed every frame (the mesh rebuilt).

use std::path::Path;
use std::time::{Duration, Instant};

use egui::{Event, Modifiers, MouseWheelSource, MouseWheelUnit, TouchPhase};
use egui_kittest::Harness;
use raiox::bench::machine::process;
use raiox::bench::percentile;
use raiox::catalogue::films::{self, NewFilm};
use raiox::catalogue::images::{self, NewImage};
use raiox::gui::settings::Persisted;
use raiox::gui::RaioxApp;
use raiox::ingest::import::{import, ImportOptions};
use raiox::library::Library;
use raiox::progress::JobControl;
use raiox::synth::{generate, SynthOptions};

/// Fill `root` with `n` image records (8 real films, the rest sharing their files).
fn library(dir: &Path, n: usize) -> std::path::PathBuf {
    let synth = dir.join("synth");
    let opts = SynthOptions {
        per_class: 1,
        seed: 3,
        size: 320,
    };
    generate(&synth, &opts, &JobControl::new()).expect("synth");
    let root = dir.join("lib");
    let mut lib = Library::open(&root).expect("library");
    let labels = raiox::ingest::labels::LabelSource::Csv(synth.join("labels.csv"));
    let import_opts = ImportOptions {
        labels,
        ..ImportOptions::default()
    };
    import(&mut lib, &[synth], &import_opts, &JobControl::new(), &mut |_| {}).expect("import");
    let real = images::list(lib.conn(), None).expect("list");
    let tx = lib.conn_mut().transaction().expect("transaction");
    for i in real.len()..n {
        let r = &real[i % real.len()];
        let film_id = films::insert(
            &tx,
            &NewFilm {
                sha256: format!("{:064x}", i as u128 * 0x9E37_79B9_7F4A_7C15),
                format: r.original_ext.clone().unwrap_or_default(),
                source_name: format!("bench/{i}.png"),
                width: r.width.unwrap_or_default(),
                height: r.height.unwrap_or_default(),
                technical: r.technical.clone(),
                inverted: r.inverted,
            },
        )
        .expect("film");
        let copy = NewImage {
            film_id,
            fixture: r.fixture.expect("a box"),
            box_source: r.box_source,
            params: r.params.clone(),
            standard_sha256: r.standard_sha256.clone(),
            modality: None,
        };
        images::insert(&tx, &copy).expect("insert");
    }
    tx.commit().expect("commit");
    root
}

/// One frame, timed: the egui pass and the tessellation of what it drew.
fn frame<T>(h: &mut Harness<'_, T>) -> f64 {
    let start = Instant::now();
    h.step();
    let shapes = h.output().shapes.clone();
    let ppp = h.output().pixels_per_point;
    std::hint::black_box(h.ctx.tessellate(shapes, ppp));
    start.elapsed().as_secs_f64() * 1000.0
}

fn scroll(h: &Harness<'static, RaioxApp>, points: f32) {
    h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta: egui::vec2(0.0, -points),
        phase: TouchPhase::Move,
        source: MouseWheelSource::Wheel,
        modifiers: Modifiers::NONE,
    });
}

/// The map widget over `n` dots in 40 clusters, timed per frame while still, panned and zoomed.
fn map_frames(n: usize, frames: usize) {
    use raiox::catalogue::images::Status;
    use raiox::gui::map::{ColourBy, MapPoint, MapView};
    let systems: Vec<std::sync::Arc<str>> = (0..40)
        .map(|c| format!("Maker {} / System {c}", c % 7).into())
        .collect();
    let points: Vec<MapPoint> = (0..n)
        .map(|i| {
            let c = i % 40;
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (a, r) = (
                (h >> 40) as f32 / 16_777_216.0 * std::f32::consts::TAU,
                ((h >> 16) & 0xFFFF) as f32 / 65_536.0 * 0.06,
            );
            MapPoint {
                id: i as i64,
                x: (0.1 + 0.8 * ((c * 7) % 40) as f32 / 40.0 + r * a.cos()).clamp(0.0, 1.0),
                y: (0.1 + 0.8 * ((c * 13) % 40) as f32 / 40.0 + r * a.sin()).clamp(0.0, 1.0),
                system: (c % 10 != 0).then(|| std::sync::Arc::clone(&systems[c])),
                status: [Status::Unlabelled, Status::Labelled, Status::Confirmed][i % 3],
            }
        })
        .collect();
    let state = (MapView::default(), points);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(
            |ui, (view, points): &mut (MapView, Vec<MapPoint>)| {
                std::hint::black_box(view.show(ui, points, ColourBy::System, Some([0.5, 0.5])));
            },
            state,
        );
    h.hover_at(egui::pos2(800.0, 500.0));
    h.run_steps(3);
    let timed = |h: &mut Harness<'_, (MapView, Vec<MapPoint>)>| frame(h);
    for name in [
        "still view (cached mesh)",
        "panned every frame",
        "zoomed every frame",
    ] {
        let mut times = Vec::with_capacity(frames);
        for f in 0..frames {
            match name {
                "panned every frame" => {
                    let x = 800.0 + if f % 2 == 0 { 4.0 } else { -4.0 };
                    if f == 0 {
                        h.event(Event::PointerButton {
                            pos: egui::pos2(800.0, 500.0),
                            button: egui::PointerButton::Primary,
                            pressed: true,
                            modifiers: Modifiers::NONE,
                        });
                    }
                    h.hover_at(egui::pos2(x, 500.0 + (f % 7) as f32));
                }
                "zoomed every frame" => {
                    if f == 0 {
                        h.event(Event::PointerButton {
                            pos: egui::pos2(800.0, 500.0),
                            button: egui::PointerButton::Primary,
                            pressed: false,
                            modifiers: Modifiers::NONE,
                        });
                    }
                    h.event(Event::MouseWheel {
                        unit: MouseWheelUnit::Point,
                        delta: egui::vec2(0.0, if f % 2 == 0 { 60.0 } else { -50.0 }),
                        phase: TouchPhase::Move,
                        source: MouseWheelSource::Wheel,
                        modifiers: Modifiers::NONE,
                    })
                }
                _ => {}
            }
            times.push(timed(&mut h));
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "map of {n} dots, {name:<26} frames {frames}: mean {mean:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1]
        );
    }
}

fn main() {
    // `cargo test --benches` runs benches without `--bench`: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    if std::env::args().any(|a| a == "map") {
        let (n, frames) = if quick { (5_000, 20) } else { (100_000, 200) };
        map_frames(n, frames);
        return;
    }
    let (n, frames) = if quick { (2_000, 60) } else { (100_000, 600) };
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    // RAIOX_BENCH_GUI_LIBRARY: scroll an existing library instead, e.g. the one `raiox bench
    // --remote-only --scale 100k` pulled from production (DATA/pull-run).
    let (root, n) = match std::env::var_os("RAIOX_BENCH_GUI_LIBRARY") {
        Some(root) => {
            let root = std::path::PathBuf::from(root);
            let lib = Library::open(&root).expect("library");
            let n = images::count(lib.conn()).expect("count");
            println!("existing library {} of {n} images", root.display());
            (root, n)
        }
        None => {
            let root = library(dir.path(), n);
            println!(
                "library of {n} images built in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            (root, n)
        }
    };
    let rss_before = process::rss_mb();

    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_eframe(move |cc| RaioxApp::with_library(&cc.egui_ctx, root, Persisted::default()));
    let t = Instant::now();
    while !(h.state().rows_loaded() && h.state().is_idle()) {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
        assert!(t.elapsed() < Duration::from_secs(300), "the library never loaded");
    }
    assert_eq!(h.state().browser.rows().len(), n);
    println!(
        "listed {n} rows in {:.2} s (worker thread)",
        t.elapsed().as_secs_f64()
    );
    h.hover_at(egui::pos2(800.0, 500.0));
    h.step();

    for (name, step) in [
        ("smooth scroll (300 pt/frame)", 300.0),
        ("fast scroll (6 000 pt/frame)", 6_000.0),
    ] {
        let mut times = Vec::with_capacity(frames);
        let mut waited = 0;
        for _ in 0..frames {
            scroll(&h, step);
            times.push(frame(&mut h));
            if h.state().thumbs.busy() {
                waited += 1;
            }
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{name:<30} frames {frames}: mean {mean:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; \
             thumbnails pending in {waited} frames; {} textures cached",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1],
            h.state().thumbs.len()
        );
    }
    let (rss, peak) = (process::rss_mb(), process::peak_rss_mb());
    println!("RSS {rss:.0} MiB (before the window: {rss_before:.0} MiB), peak {peak:.0} MiB");
}
