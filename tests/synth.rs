//! Integration tests for the synthetic radiograph generator (`raiox::synth`).

mod common;

use raiox::progress::{JobControl, Outcome};
use raiox::synth::{generate, render, render_film, systems, FilmKind, SynthOptions};
use std::collections::BTreeMap;
use std::path::Path;

fn opts(per_class: usize, seed: u64, size: u32) -> SynthOptions {
    SynthOptions {
        per_class,
        seed,
        size,
    }
}

fn read_labels(dir: &Path) -> Vec<Vec<String>> {
    let mut rdr = csv::Reader::from_path(dir.join("labels.csv")).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["path", "manufacturer", "system", "x", "y", "w", "h", "angle"]
    );
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn catalogue_has_eight_systems_from_four_manufacturers() {
    let names: Vec<(&str, &str)> = systems().iter().map(|s| (s.manufacturer, s.system)).collect();
    assert_eq!(
        names,
        [
            ("Nobel Biocare", "NobelActive"),
            ("Nobel Biocare", "NobelReplace"),
            ("Straumann", "Bone Level Tapered"),
            ("Straumann", "Tissue Level"),
            ("Neodent", "Helix GM"),
            ("Neodent", "Titamax CM"),
            ("Zimmer Biomet", "Tapered Screw-Vent"),
            ("Zimmer Biomet", "T3"),
        ]
    );
}

#[test]
fn render_is_deterministic_and_sample_dependent() {
    for s in systems() {
        let a = render(s, 3, 42, 128);
        assert_eq!(a, render(s, 3, 42, 128), "{}", s.system);
        assert_eq!(a.dimensions(), (128, 128));
        assert_ne!(a, render(s, 4, 42, 128), "{}", s.system);
        assert_ne!(a, render(s, 3, 43, 128), "{}", s.system);
    }
}

#[test]
fn tiny_and_odd_sizes_render() {
    for size in [0, 1, 2, 3, 17, 64] {
        let img = render(&systems()[7], 0, 1, size);
        assert_eq!(img.dimensions(), (size, size));
    }
}

fn mean_abs_diff(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn distinct_classes_differ() {
    let films: Vec<_> = systems().iter().map(|s| render(s, 0, 5, 160)).collect();
    for i in 0..films.len() {
        for j in i + 1..films.len() {
            let d = mean_abs_diff(&films[i], &films[j]);
            assert!(d > 10.0, "classes {i} and {j} differ by only {d:.1}");
        }
    }
}

/// Spread of the pixels selected: standard deviations along the major and minor principal axes,
/// as fractions of the side. Uniformly scattered pixels give about (0.29, 0.29).
fn spread(img: &image::GrayImage, pick: impl Fn(u8) -> bool) -> (f64, f64) {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y, p) in img.enumerate_pixels() {
        if pick(p.0[0]) {
            let (x, y) = (f64::from(x), f64::from(y));
            n += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
        }
    }
    let (mx, my) = (sx / n, sy / n);
    let (a, c, b) = (sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my);
    let root = (((a - c) / 2.0).powi(2) + b * b).sqrt();
    let side = f64::from(img.width());
    let major = ((a + c) / 2.0 + root).max(0.0).sqrt() / side;
    let minor = ((a + c) / 2.0 - root).max(0.0).sqrt() / side;
    (major, minor)
}

/// An implant-like blob: at most as long as a long implant on a tight film, and narrow.
fn compact((major, minor): (f64, f64)) -> bool {
    major < 0.27 && minor < 0.1
}

/// Value at quantile `q` of the film's pixels.
fn quantile(img: &image::GrayImage, q: f64) -> u8 {
    let mut v = img.as_raw().clone();
    v.sort_unstable();
    v[((v.len() - 1) as f64 * q) as usize]
}

#[test]
fn implant_is_the_compact_brightest_region_of_normal_films() {
    let (mut normal, mut total) = (0, 0);
    for s in systems() {
        for sample in 0..10 {
            let img = render(s, sample, 9, 200);
            let hi = quantile(&img, 0.99);
            let lo = quantile(&img, 0.01);
            let bright = spread(&img, |p| p >= hi);
            let dark = spread(&img, |p| p <= lo);
            total += 1;
            if compact(bright) {
                normal += 1;
            } else {
                let why = format!("{bright:.2?} {dark:.2?}");
                assert!(compact(dark), "{} #{sample}: no compact implant: {why}", s.system);
            }
        }
    }
    // About 10 % of films are inverted (implant darkest); the rest must be normal.
    assert!(normal * 100 >= total * 75, "only {normal}/{total} normal films");
    assert!(normal < total, "no inverted film among {total}");
}

#[test]
fn generate_is_deterministic_complete_and_gray() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let o = opts(3, 7, 96);
    let ra = generate(a.path(), &o, &JobControl::new()).unwrap();
    // The second run on one thread: output must not depend on scheduling.
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let rb = single
        .install(|| generate(b.path(), &o, &JobControl::new()))
        .unwrap();
    assert_eq!((ra.written, ra.classes, ra.outcome), (24, 8, Outcome::Finished));
    assert_eq!(rb.written, 24);
    assert_eq!(ra.labels_csv, a.path().join("labels.csv"));

    let labels = std::fs::read(a.path().join("labels.csv")).unwrap();
    assert_eq!(labels, std::fs::read(b.path().join("labels.csv")).unwrap());
    let rows = read_labels(a.path());
    assert_eq!(rows.len(), 24);
    assert_eq!(rows[0][0], "Nobel Biocare/NobelActive/0000.png");
    let mut per_class: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &rows {
        *per_class.entry((row[1].clone(), row[2].clone())).or_default() += 1;
        assert_eq!(
            row[0],
            format!("{}/{}/{}", row[1], row[2], &row[0][row[0].len() - 8..])
        );
        let img = image::open(a.path().join(&row[0])).unwrap();
        assert_eq!(img.color(), image::ColorType::L8, "{}", row[0]);
        assert_eq!((img.width(), img.height()), (96, 96));
        // The implant's box lies on the film, upright-ish (the generator tilts up to 20°).
        let b: Vec<f32> = row[3..8].iter().map(|v| v.parse().unwrap()).collect();
        assert!(
            b[2] > 5.0 && b[3] > b[2] && b[0] + b[2] / 2.0 > 0.0 && b[0] + b[2] / 2.0 < 96.0,
            "{row:?}"
        );
        assert!(b[4].abs() <= 20.5, "{row:?}");
    }
    // boxes.csv holds the same boxes in the annotation format `raiox eval-finder` reads.
    let boxes = std::fs::read_to_string(a.path().join("boxes.csv")).unwrap();
    assert!(boxes.starts_with("film,class,x,y,w,h\n"));
    assert_eq!(boxes.lines().filter(|l| l.contains(",implant,")).count(), 24);
    for s in systems() {
        let key = (s.manufacturer.to_owned(), s.system.to_owned());
        assert_eq!(per_class.get(&key), Some(&3), "{key:?}");
    }
    for row in rows.iter().step_by(3) {
        let (fa, fb) = (a.path().join(&row[0]), b.path().join(&row[0]));
        assert_eq!(
            std::fs::read(fa).unwrap(),
            std::fs::read(fb).unwrap(),
            "{}",
            row[0]
        );
    }
    // The written file is the rendered film.
    let first = image::open(a.path().join(&rows[0][0])).unwrap().into_luma8();
    assert_eq!(first, render(&systems()[0], 0, 7, 96));
    let leftovers = walk(a.path()).into_iter().filter(|p| p.ends_with(".tmp")).count();
    assert_eq!(leftovers, 0);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn cancel_before_start_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = JobControl::new();
    ctl.cancel();
    let report = generate(dir.path(), &opts(5, 1, 64), &ctl).unwrap();
    assert_eq!(report.outcome, Outcome::Cancelled);
    assert_eq!(report.written, 0);
    assert!(read_labels(dir.path()).is_empty());
    assert!(walk(dir.path())
        .iter()
        .all(|p| p.ends_with("labels.csv") || p.ends_with("boxes.csv")));
}

#[test]
fn progress_is_reported_per_film() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let report = generate(dir.path(), &opts(2, 1, 48), &JobControl::with_progress(tx)).unwrap();
    assert_eq!(report.written, 16);
    let reports: Vec<_> = rx.try_iter().collect();
    assert_eq!(reports.len(), 16);
    assert!(reports.iter().all(|p| p.stage == "synth" && p.total == 16));
    assert_eq!(reports.iter().map(|p| p.done).max(), Some(16));
}

#[test]
fn errors_name_the_failing_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let err = generate(&blocker, &opts(1, 1, 48), &JobControl::new()).unwrap_err();
    assert!(format!("{err:#}").contains("not-a-dir"), "{err:#}");
}

#[test]
fn the_truth_box_covers_the_brightest_metal_of_the_film() {
    // The fixture is the most radiopaque thing on a bare synthetic film: the mean grey inside its
    // box is far above the film's, whichever way the generator developed the film.
    for (i, s) in systems().iter().enumerate() {
        let synth = render_film(s, i, 11, 256, FilmKind::Bare);
        let (film, (bx, by, bw, bh)) = (synth.image, synth.implants[0].fixture);
        let (mut inside, mut n_in, mut all) = (0.0f64, 0usize, 0.0f64);
        for (x, y, p) in film.enumerate_pixels() {
            let v = f64::from(p.0[0]);
            all += v;
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            if fx >= bx && fx < bx + bw && fy >= by && fy < by + bh {
                inside += v;
                n_in += 1;
            }
        }
        let (inside, all) = (inside / n_in.max(1) as f64, all / (256.0 * 256.0));
        assert!(n_in > 200, "{}: box {:?}", s.system, (bx, by, bw, bh));
        assert!(
            (inside - all).abs() > 25.0,
            "{}: inside {inside:.0} vs film {all:.0}",
            s.system
        );
    }
}

/// `raiox eval-finder` on the generator's films: every figure from the true boxes, and boxes on
/// implants the annotations lack (`--unannotated`) counted apart, neither hit nor false box.
#[test]
fn eval_finder_scores_the_finder_and_counts_unannotated_implants_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, films) = (dir.path().join("lib"), dir.path().join("films"));
    let out = common::raiox(
        &lib,
        &[
            "synth",
            films.to_str().unwrap(),
            "--kind",
            "restored",
            "--per-class",
            "2",
            "--seed",
            "3",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval-finder", films.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        let out = common::raiox(&lib, &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report = common::json_lines(&out).remove(0);
        let all = report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == "all")
            .unwrap()
            .clone();
        all
    };
    let full = eval(&[]);
    assert!(full["recall"].as_f64().unwrap() >= 0.8, "{full}");
    assert!(full["precision"].as_f64().unwrap() >= 0.8, "{full}");
    assert!(full.get("unannotated").is_none());

    // Take one implant off every film that has several: the annotators "forgot" it.
    let boxes = std::fs::read_to_string(films.join("boxes.csv")).unwrap();
    let (mut kept, mut forgotten) = (vec![], vec![]);
    let mut seen = std::collections::HashSet::new();
    let multi: std::collections::HashSet<&str> = {
        let mut count = BTreeMap::new();
        for l in boxes.lines().skip(1).filter(|l| l.contains(",implant,")) {
            *count.entry(l.split(',').next().unwrap()).or_insert(0) += 1;
        }
        count
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(f, _)| f)
            .collect()
    };
    for l in boxes.lines().skip(1) {
        let film = l.split(',').next().unwrap();
        if l.contains(",implant,") && multi.contains(film) && seen.insert(film) {
            forgotten.push(l);
        } else {
            kept.push(l);
        }
    }
    assert!(!forgotten.is_empty(), "some films hold several implants");
    let write = |name: &str, rows: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("film,class,x,y,w,h\n{}\n", rows.join("\n"))).unwrap();
        path
    };
    let (annotations, further) = (write("kept.csv", &kept), write("forgotten.csv", &forgotten));
    let part = eval(&[
        "--boxes",
        annotations.to_str().unwrap(),
        "--unannotated",
        further.to_str().unwrap(),
    ]);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n(&part, "fixtures"),
        n(&full, "fixtures") - forgotten.len() as u64
    );
    assert_eq!(n(&part, "predictions"), n(&full, "predictions"));
    assert!(n(&part, "unannotated") >= 1, "{part}");
    assert_eq!(
        n(&part, "matched") + n(&part, "unannotated"),
        n(&full, "matched"),
        "a box on a forgotten implant is counted apart, not lost"
    );
    assert!(part["precision"].as_f64() < full["precision"].as_f64());
    let all = part["precision_all_implants"].as_f64().unwrap();
    assert!((all - full["precision"].as_f64().unwrap()).abs() < 1e-9, "{part}");
}
