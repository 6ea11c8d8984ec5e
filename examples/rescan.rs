//! Does a re-scan of a real film find its own implants? For every real periapical film in
//! `../shared/data/real-films` (or the folder given as the first argument) a deterministic
//! "re-scan" is made (rotation ±3°, shift ±3 %, gain, offset, gamma, noise σ 4, JPEG q 85). Films
//! and re-scans go through import's path (decode, polarity, find every implant, cut each apex-down,
//! embed with the bundled Lite0), and for each implant found on an original film the question is
//! whether the nearest neighbour (cosine, itself excluded, among all implants of originals and
//! re-scans) of its re-scanned copy is that very implant — what `raiox similar` answers after
//! importing the re-scans beside the originals. A copy the finder misses on the re-scan counts as
//! a failure. Printed for a few margins, with and without CLAHE, by cosine alone and as `similar`
//! shows them (copies of the query's film first, `neardup::copies_first`).
//!
//! Then the import's copy warning is calibrated at the shipped standardisation: for each implant,
//! the cosine of its re-scan (a known copy) and the highest cosine to any implant of another film
//! (a different film: on a synthetic set, many of one system), each the better of the image and
//! its mirror image as the import compares them; the share of each above a range of thresholds.
//! The films are test data: nothing is written anywhere.
//!
//! `cargo run --release --example rescan [-- DIR]` (DIR: the real films' folder, or any folder of
//! films, e.g. one `raiox synth` wrote)

use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, Luma};
use raiox::decode::{decode, DecodeLimits};
use raiox::embed::lite0::Lite0Encoder;
use raiox::embed::Encoder;
use raiox::search::identify::Neighbour;
use raiox::search::neardup::{self, copies_first};
use raiox::standardise::{develop, find, standardise_implant, Developed, Fixture, Params};

/// SplitMix64: a fixed, dependency-free random source so every run makes the same re-scans.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// How a re-scan moved the film: rotation (radians) about the centre, then a shift.
struct Motion {
    angle: f64,
    dx: f64,
    dy: f64,
    cx: f64,
    cy: f64,
}

impl Motion {
    /// Where a point of the re-scan was on the original film.
    fn back(&self, p: (f32, f32)) -> (f32, f32) {
        let (s, c) = self.angle.sin_cos();
        let (u, v) = (
            f64::from(p.0) - self.cx - self.dx,
            f64::from(p.1) - self.cy - self.dy,
        );
        (
            (c * u + s * v + self.cx) as f32,
            (-s * u + c * v + self.cy) as f32,
        )
    }
}

/// A re-scan of `film` (returned as JPEG bytes) and how it moved.
fn rescan(film: &GrayImage, rng: &mut Rng) -> (Vec<u8>, Motion) {
    let (w, h) = film.dimensions();
    let m = Motion {
        angle: rng.range(-3.0, 3.0).to_radians(),
        dx: rng.range(-0.03, 0.03) * f64::from(w),
        dy: rng.range(-0.03, 0.03) * f64::from(h),
        cx: f64::from(w) / 2.0,
        cy: f64::from(h) / 2.0,
    };
    let (gain, offset, gamma) = (rng.range(0.85, 1.15), rng.range(-12.0, 12.0), rng.range(0.9, 1.1));
    let at = |x: i64, y: i64| {
        f64::from(
            film.get_pixel(x.clamp(0, w as i64 - 1) as u32, y.clamp(0, h as i64 - 1) as u32)
                .0[0],
        )
    };
    let mut out = GrayImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = m.back((x as f32 + 0.5, y as f32 + 0.5));
            let (sx, sy) = (f64::from(sx) - 0.5, f64::from(sy) - 0.5);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (xi, yi) = (x0 as i64, y0 as i64);
            let val = at(xi, yi) * (1.0 - fx) * (1.0 - fy)
                + at(xi + 1, yi) * fx * (1.0 - fy)
                + at(xi, yi + 1) * (1.0 - fx) * fy
                + at(xi + 1, yi + 1) * fx * fy;
            let val = 255.0 * (val / 255.0).powf(gamma) * gain + offset + 4.0 * rng.gauss();
            out.put_pixel(x, y, Luma([val.round().clamp(0.0, 255.0) as u8]));
        }
    }
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 85)
        .encode_image(&out)
        .expect("JPEG encoding of an in-memory image");
    (bytes, m)
}

/// A film and its re-scan, developed, with their implants, and how the re-scan moved.
type FilmPair = (Developed, Vec<Fixture>, Developed, Vec<Fixture>, Motion);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real-films"));
    let periapical = dir.join("periapical");
    let folder = if periapical.is_dir() { periapical } else { dir };
    if !folder.is_dir() {
        println!(
            "real films not found at {}: nothing to measure (they are not part of the repository)",
            folder.display()
        );
        return Ok(());
    }
    let mut files = Vec::new();
    films_under(&folder, &mut files)?;
    files.sort();
    let limits = DecodeLimits::default();
    let mut rng = Rng(20261201);
    // Per film: the original and its re-scan developed, their implants, and the motion.
    let mut films: Vec<FilmPair> = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path)?;
        let film = image::load_from_memory(&bytes)?.to_luma8();
        let (again, motion) = rescan(&film, &mut rng);
        let original = develop(
            &decode(&bytes, &limits).map_err(|e| format!("{}: {e}", path.display()))?,
            None,
        )?;
        let copy = develop(
            &decode(&again, &limits).map_err(|e| format!("{}: {e}", path.display()))?,
            None,
        )?;
        let (fo, fc) = (find(&original), find(&copy));
        films.push((original, fo, copy, fc, motion));
    }
    let encoder = Lite0Encoder::bundled()?;
    let originals: usize = films.iter().map(|f| f.1.len()).sum();
    println!(
        "{} periapical films, {originals} implants found on the originals; re-scans; encoder {}",
        films.len(),
        encoder.id()
    );
    println!(
        "{:<28} {:>10} {:>10} {:>12} {:>16}",
        "standardisation", "top-1", "top-3", "copy found", "copies first"
    );
    for margin in [0.15f32, 0.25, 0.4] {
        for clahe_clip in [0.0f32, 2.0] {
            let params = Params {
                margin,
                clahe_clip,
                ..Params::default()
            };
            // Every implant of every original and re-scan: (film, is copy, index).
            let mut keys = Vec::new();
            let mut images = Vec::new();
            for (i, (original, fo, copy, fc, _)) in films.iter().enumerate() {
                for (k, f) in fo.iter().enumerate() {
                    keys.push((i, false, k));
                    images.push(standardise_implant(original, f, &params)?.image);
                }
                for (k, f) in fc.iter().enumerate() {
                    keys.push((i, true, k));
                    images.push(standardise_implant(copy, f, &params)?.image);
                }
            }
            let vectors = embed(&encoder, &images)?;
            let (mut top1, mut top3, mut found, mut top1_copies) = (0, 0, 0, 0);
            for (i, (_, fo, _, fc, motion)) in films.iter().enumerate() {
                for (k, f) in fo.iter().enumerate() {
                    let Some(j) = copy_of(f, fc, motion) else { continue };
                    found += 1;
                    let q = keys
                        .iter()
                        .position(|&key| key == (i, true, j))
                        .expect("embedded");
                    let want = keys
                        .iter()
                        .position(|&key| key == (i, false, k))
                        .expect("embedded");
                    let mut ranked: Vec<(usize, f32)> = (0..keys.len())
                        .filter(|&r| r != q)
                        .map(|r| (r, vectors[q].iter().zip(&vectors[r]).map(|(a, b)| a * b).sum()))
                        .collect();
                    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    let rank = ranked.iter().position(|&(r, _)| r == want).unwrap_or(usize::MAX);
                    top1 += usize::from(rank == 0);
                    top3 += usize::from(rank < 3);
                    // What `raiox similar` shows: copies of the query's film first.
                    let mut shown: Vec<Neighbour> = ranked
                        .iter()
                        .take(10)
                        .map(|&(r, similarity)| Neighbour {
                            id: r as i64,
                            name: None,
                            manufacturer: None,
                            system: None,
                            similarity,
                            copy: false,
                        })
                        .collect();
                    copies_first(&images[q], &mut shown, |id| images.get(id as usize).cloned());
                    top1_copies += usize::from(shown.first().is_some_and(|n| n.id == want as i64));
                }
            }
            let pct = |n: usize| format!("{:.1} %", 100.0 * n as f64 / originals.max(1) as f64);
            println!(
                "{:<28} {:>10} {:>10} {:>12} {:>16}",
                format!(
                    "margin {margin:.2}, {}",
                    if clahe_clip > 0.0 { "CLAHE" } else { "no CLAHE" }
                ),
                pct(top1),
                pct(top3),
                format!("{found}/{originals}"),
                pct(top1_copies)
            );
        }
    }
    copy_threshold_table(&encoder, &films)?;
    Ok(())
}

/// The re-scan's implant that lies where `f` was moved to (within half its length), if any.
fn copy_of(f: &Fixture, rescanned: &[Fixture], motion: &Motion) -> Option<usize> {
    rescanned
        .iter()
        .enumerate()
        .map(|(j, g)| {
            let (x, y) = motion.back((g.cx, g.cy));
            (j, (x - f.cx).hypot(y - f.cy))
        })
        .filter(|(_, d)| *d < 0.5 * f.length)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(j, _)| j)
}

/// Every film file (png, jpg) under `dir`, recursively.
fn films_under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            films_under(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "jpg" || e == "png") {
            out.push(path);
        }
    }
    Ok(())
}

/// Unit vectors of `images`, in order.
fn embed(encoder: &Lite0Encoder, images: &[GrayImage]) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
    let mut vectors = Vec::with_capacity(images.len());
    for chunk in images.chunks(16) {
        vectors.extend(encoder.embed(chunk)?);
    }
    vectors.iter_mut().for_each(|v| raiox::embed::l2_normalise(v));
    Ok(vectors)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Known copies (re-scans) against different films, at the shipped standardisation: the cosine
/// alone at a range of thresholds, then the import's rule (cosine at the encoder's threshold, or a
/// near one whose standard image agrees pixel for pixel).
fn copy_threshold_table(
    encoder: &Lite0Encoder,
    films: &[FilmPair],
) -> Result<(), Box<dyn std::error::Error>> {
    let params = Params::default();
    // Originals and re-scans: (film, standard image).
    let mut originals = Vec::new();
    let mut copies = Vec::new();
    for (i, (original, fo, copy, fc, _)) in films.iter().enumerate() {
        for f in fo {
            originals.push((i, standardise_implant(original, f, &params)?.image));
        }
        for f in fc {
            copies.push((i, standardise_implant(copy, f, &params)?.image));
        }
    }
    let mirror = |set: &[(usize, GrayImage)]| -> Vec<GrayImage> {
        set.iter()
            .map(|(_, img)| image::imageops::flip_horizontal(img))
            .collect()
    };
    let plain =
        |set: &[(usize, GrayImage)]| -> Vec<GrayImage> { set.iter().map(|(_, img)| img.clone()).collect() };
    let (mo, mc) = (mirror(&originals), mirror(&copies));
    let (vo, vmo) = (embed(encoder, &plain(&originals))?, embed(encoder, &mo)?);
    let (vc, vmc) = (embed(encoder, &plain(&copies))?, embed(encoder, &mc)?);
    let limit = neardup::threshold(encoder.id());
    // A new implant (vector, mirror's vector, image, mirror image) against a library one, as the
    // import compares them: (cosine, flagged by the import's rule).
    let judge = |v: &[f32], vm: &[f32], img: &GrayImage, im: &GrayImage, w: &[f32], other: &GrayImage| {
        let best = cosine(v, w).max(cosine(vm, w));
        let agree = |query: &GrayImage| neardup::pixel_agreement(query, other) >= neardup::PIXEL_AGREEMENT;
        let flagged = best >= limit || (best >= 0.75 && (agree(img) || agree(im)));
        (best, flagged)
    };
    let (mut copy_sims, mut other_sims) = (Vec::new(), Vec::new());
    let (mut copy_flags, mut other_flags) = (0usize, 0usize);
    let mut offset = (0, 0);
    for (i, (_, fo, _, fc, motion)) in films.iter().enumerate() {
        for (k, f) in fo.iter().enumerate() {
            let o = offset.0 + k;
            if let Some(j) = copy_of(f, fc, motion) {
                let c = offset.1 + j;
                let (sim, flagged) = judge(&vc[c], &vmc[c], &copies[c].1, &mc[c], &vo[o], &originals[o].1);
                copy_sims.push(sim);
                copy_flags += usize::from(flagged);
            }
            let (mut top, mut flagged) = (f32::MIN, false);
            for (r, (film, other)) in originals.iter().enumerate() {
                if *film != i {
                    let (sim, flag) = judge(&vo[o], &vmo[o], &originals[o].1, &mo[o], &vo[r], other);
                    top = top.max(sim);
                    flagged |= flag;
                }
            }
            if top > f32::MIN {
                other_sims.push(top);
                other_flags += usize::from(flagged);
            }
        }
        offset = (offset.0 + fo.len(), offset.1 + fc.len());
    }
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    println!(
        "\ncopy warning at the shipped standardisation: {} known copies (re-scans), {} implants against every other film",
        copy_sims.len(),
        other_sims.len()
    );
    println!(
        "{:>24} {:>16} {:>24}",
        "rule", "copies flagged", "different films flagged"
    );
    for step in 0..=9 {
        let t = 0.80 + 0.02 * step as f32;
        let share = |sims: &[f32]| pct(sims.iter().filter(|&&s| s >= t).count(), sims.len());
        println!(
            "{:>24} {:>15.1}% {:>23.1}%",
            format!("cosine >= {t:.2}"),
            share(&copy_sims),
            share(&other_sims)
        );
    }
    println!(
        "{:>24} {:>15.1}% {:>23.1}%",
        format!("import (cos {limit:.2} | px)"),
        pct(copy_flags, copy_sims.len()),
        pct(other_flags, other_sims.len())
    );
    Ok(())
}
