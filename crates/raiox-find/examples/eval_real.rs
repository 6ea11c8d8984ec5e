//! Measure the implant finder on annotated real films.
//!
//! `cargo run --release --example eval_real -- [DIR] [--json] [--overlays OUT_DIR]
//! [--transform none|vflip|hflip|scale:F|gamma:G]`
//!
//! `--transform` changes every film (and its boxes) first: `vflip` makes the lower-jaw films
//! upper-jaw ones (apex up), `scale:F` checks the scale normalisation, `gamma:G` the exposure.
//!
//! DIR defaults to `<repo>/../shared/data/real-films` (a folder with `boxes.csv`). Overlays
//! (PNG; annotated fixtures green, crowns red, predictions yellow with the apex end magenta) are
//! for looking at: write them outside the repository, e.g. to /tmp.

use image::{GrayImage, Rgb, RgbImage};
use raiox_find::eval::{default_films_dir, evaluate_dir_with, summarise, FilmResult, Summary, Transform};
use raiox_find::FinderParams;
use std::path::PathBuf;

fn main() {
    let mut dir: Option<PathBuf> = None;
    let mut json = false;
    let mut overlays: Option<PathBuf> = None;
    let mut transform = Transform::None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--overlays" => overlays = args.next().map(PathBuf::from),
            "--transform" => {
                let t = args.next().unwrap_or_default();
                match Transform::parse(&t) {
                    Some(t) => transform = t,
                    None => {
                        eprintln!("eval_real: unknown transform {t:?}");
                        std::process::exit(2);
                    }
                }
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.unwrap_or_else(default_films_dir);
    if !dir.join("boxes.csv").is_file() {
        println!(
            "eval_real: no annotated films at {} (boxes.csv missing); nothing to measure.",
            dir.display()
        );
        return;
    }
    let results = match evaluate_dir_with(&dir, &FinderParams::default(), 3, transform) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eval_real: {e}");
            std::process::exit(1);
        }
    };
    let groups: Vec<(&str, Vec<&FilmResult>)> = ["periapical", "panoramic"]
        .iter()
        .map(|g| {
            let v = results.iter().filter(|r| group_of(r) == *g).collect::<Vec<_>>();
            (*g, v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();

    if json {
        let parts: Vec<String> = groups
            .iter()
            .map(|(g, v)| format!("\"{g}\": {}", summary_json(&summarise(v))))
            .collect();
        println!("{{{}}}", parts.join(", "));
    } else {
        for r in &results {
            let missed: Vec<usize> = (0..r.truth.implants.len())
                .filter(|i| !r.matches.iter().any(|m| m.0 == *i))
                .collect();
            let fps: Vec<usize> = (0..r.predicted.len())
                .filter(|j| !r.matches.iter().any(|m| m.1 == *j))
                .collect();
            let wrong_apex = r.apex.iter().filter(|a| **a == Some(false)).count();
            if missed.is_empty() && fps.is_empty() && wrong_apex == 0 {
                continue;
            }
            let mut line = format!("{}:", r.truth.film);
            for i in missed {
                let b = r.truth.implants[i];
                let best = r
                    .predicted
                    .iter()
                    .map(|p| raiox_find::aabb_iou(&b, &p.aabb()))
                    .fold(0f32, f32::max);
                line += &format!(
                    " MISS({:.0},{:.0},{:.0},{:.0} best IoU {best:.2})",
                    b.0, b.1, b.2, b.3
                );
            }
            for j in fps {
                let (x, y, w, h) = r.predicted[j].aabb();
                line += &format!(" FP({x:.0},{y:.0},{w:.0},{h:.0} s{:.2})", r.predicted[j].score);
            }
            if wrong_apex > 0 {
                line += &format!(" WRONG-APEX x{wrong_apex}");
            }
            println!("{line}");
        }
        for (g, v) in &groups {
            let s = summarise(v);
            println!(
                "{g}: films {} fixtures {} predictions {} matched {} | recall {:.3} precision {:.3} mean IoU {:.3} | located (prediction >= 80 % inside the box) {}/{} | apex right {}/{} ({:.3}) | median {:.2} ms/film",
                s.films, s.truths, s.predictions, s.matched, s.recall, s.precision, s.mean_iou,
                s.located, s.truths,
                s.apex_right, s.apex_known,
                if s.apex_known == 0 { 0.0 } else { s.apex_right as f64 / s.apex_known as f64 },
                s.median_ms
            );
        }
    }

    if let Some(out) = overlays {
        if let Err(e) = std::fs::create_dir_all(&out) {
            eprintln!("eval_real: {}: {e}", out.display());
            std::process::exit(1);
        }
        for r in &results {
            let film = match image::open(dir.join(&r.truth.film)) {
                Ok(f) => transform.apply(f.to_luma8(), &mut r.truth.clone()),
                Err(e) => {
                    eprintln!("eval_real: {e}");
                    continue;
                }
            };
            let name = r.truth.film.replace(['/', '\\'], "_");
            let png = out.join(format!("{name}.png"));
            if let Err(e) = overlay(&film, r).save(&png) {
                eprintln!("eval_real: {}: {e}", png.display());
            }
        }
        println!("overlays written to {}", out.display());
    }
}

fn group_of(r: &FilmResult) -> &'static str {
    if r.truth.film.starts_with("panoramic") {
        "panoramic"
    } else {
        "periapical"
    }
}

fn summary_json(s: &Summary) -> String {
    format!(
        "{{\"films\": {}, \"fixtures\": {}, \"predictions\": {}, \"matched\": {}, \"located\": {}, \"recall\": {:.4}, \"precision\": {:.4}, \"mean_iou\": {:.4}, \"apex_known\": {}, \"apex_right\": {}, \"median_ms\": {:.3}}}",
        s.films, s.truths, s.predictions, s.matched, s.located, s.recall, s.precision, s.mean_iou,
        s.apex_known, s.apex_right, s.median_ms
    )
}

fn line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), c: Rgb<u8>, thick: i32) {
    let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for k in 0..=n {
        let t = k as f32 / n as f32;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for dy in 0..thick {
            for dx in 0..thick {
                let (xi, yi) = (x as i64 + i64::from(dx), y as i64 + i64::from(dy));
                if xi >= 0 && yi >= 0 && (xi as u32) < img.width() && (yi as u32) < img.height() {
                    img.put_pixel(xi as u32, yi as u32, c);
                }
            }
        }
    }
}

fn rect(img: &mut RgbImage, b: (f32, f32, f32, f32), c: Rgb<u8>, thick: i32) {
    let p = [
        (b.0, b.1),
        (b.0 + b.2, b.1),
        (b.0 + b.2, b.1 + b.3),
        (b.0, b.1 + b.3),
    ];
    for k in 0..4 {
        line(img, p[k], p[(k + 1) % 4], c, thick);
    }
}

fn overlay(film: &GrayImage, r: &FilmResult) -> RgbImage {
    let mut img = RgbImage::from_fn(film.width(), film.height(), |x, y| {
        let v = film.get_pixel(x, y)[0];
        Rgb([v, v, v])
    });
    let thick = ((film.width().max(film.height()) / 600) as i32).max(1);
    for b in &r.truth.crowns {
        rect(&mut img, *b, Rgb([255, 0, 0]), thick);
    }
    for b in &r.truth.implants {
        rect(&mut img, *b, Rgb([0, 255, 0]), thick);
    }
    for p in &r.predicted {
        let c = p.corners();
        for k in 0..4 {
            line(&mut img, c[k], c[(k + 1) % 4], Rgb([255, 255, 0]), thick);
        }
        line(&mut img, c[2], c[3], Rgb([255, 0, 255]), thick * 3);
    }
    img
}
