//! Evaluation against axis-aligned annotations (`film,class,x,y,w,h` CSV), shared by the
//! `eval_real` example and the real-film test so both measure the same thing.

use crate::find::aabb_iou;
use crate::types::{FinderParams, FoundImplant};
use image::GrayImage;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Axis-aligned box `(x, y, w, h)`.
pub type Aabb = (f32, f32, f32, f32);

/// Where the development films live relative to this crate (`<repo>/../shared/data/real-films`),
/// so that examples and tests find them without configuration.
pub fn default_films_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-films")
}

/// Annotations of one film.
#[derive(Debug, Clone, Default)]
pub struct FilmTruth {
    /// Path of the film relative to the data folder, as written in the CSV.
    pub film: String,
    /// Fixture boxes.
    pub implants: Vec<Aabb>,
    /// Crown boxes; they tell which end of a fixture is the platform.
    pub crowns: Vec<Aabb>,
}

/// Read `boxes.csv`; films appear in file order. Errors are strings meant for people.
pub fn read_boxes(csv: &Path) -> Result<Vec<FilmTruth>, String> {
    let text = std::fs::read_to_string(csv).map_err(|e| format!("{}: {e}", csv.display()))?;
    let mut films: Vec<FilmTruth> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.trim().split(',').collect();
        if n == 0 && f.first() == Some(&"film") || line.trim().is_empty() {
            continue;
        }
        if f.len() != 6 {
            return Err(format!("{}:{}: expected 6 fields", csv.display(), n + 1));
        }
        let num = |s: &str| {
            s.trim()
                .parse::<f32>()
                .map_err(|e| format!("{}:{}: {e}", csv.display(), n + 1))
        };
        let b = (num(f[2])?, num(f[3])?, num(f[4])?, num(f[5])?);
        let idx = match films.iter().position(|t| t.film == f[0]) {
            Some(i) => i,
            None => {
                films.push(FilmTruth {
                    film: f[0].to_string(),
                    ..Default::default()
                });
                films.len() - 1
            }
        };
        match f[1] {
            "implant" => films[idx].implants.push(b),
            "crown" => films[idx].crowns.push(b),
            _ => {}
        }
    }
    Ok(films)
}

/// Greedy one-to-one matching by decreasing IoU, keeping pairs with IoU >= `thr`. Returns
/// `(truth index, prediction index, IoU)`.
pub fn match_greedy(truth: &[Aabb], pred: &[Aabb], thr: f32) -> Vec<(usize, usize, f32)> {
    let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, p) in pred.iter().enumerate() {
            let iou = aabb_iou(t, p);
            if iou >= thr {
                pairs.push((i, j, iou));
            }
        }
    }
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let (mut ut, mut up) = (vec![false; truth.len()], vec![false; pred.len()]);
    let mut out = Vec::new();
    for (i, j, iou) in pairs {
        if !ut[i] && !up[j] {
            ut[i] = true;
            up[j] = true;
            out.push((i, j, iou));
        }
    }
    out.sort_by_key(|m| m.0);
    out
}

/// Looser matching for annotations whose boxes also take in the crown (the panoramic films):
/// a prediction locates a truth box when at least `min_inside` of the prediction's box lies
/// inside it and it covers at least 15 % of the truth box's area. One-to-one, greedy by
/// the inside share. Returns `(truth index, prediction index, inside share)`.
pub fn match_inside(truth: &[Aabb], pred: &[Aabb], min_inside: f32) -> Vec<(usize, usize, f32)> {
    let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, p) in pred.iter().enumerate() {
            let ix = (t.0 + t.2).min(p.0 + p.2) - t.0.max(p.0);
            let iy = (t.1 + t.3).min(p.1 + p.3) - t.1.max(p.1);
            let (pa, ta) = (p.2 * p.3, t.2 * t.3);
            if ix <= 0.0 || iy <= 0.0 || pa <= 0.0 || pa < 0.15 * ta {
                continue;
            }
            let inside = ix * iy / pa;
            if inside >= min_inside {
                pairs.push((i, j, inside));
            }
        }
    }
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let (mut ut, mut up) = (vec![false; truth.len()], vec![false; pred.len()]);
    let mut out = Vec::new();
    for (i, j, v) in pairs {
        if !ut[i] && !up[j] {
            ut[i] = true;
            up[j] = true;
            out.push((i, j, v));
        }
    }
    out.sort_by_key(|m| m.0);
    out
}

/// Whether the predicted apex end is right, judged from the annotation: the apex is the end of
/// the fixture box (along its longer side) farther from the nearest crown. `None` when no crown
/// lies within one fixture length, so the truth is unknown.
pub fn apex_correct(implant: &Aabb, crowns: &[Aabb], pred: &FoundImplant) -> Option<bool> {
    let (x, y, w, h) = *implant;
    let (icx, icy) = (x + w / 2.0, y + h / 2.0);
    let reach = 1.6 * w.max(h);
    let crown = crowns
        .iter()
        .map(|c| (c, (c.0 + c.2 / 2.0 - icx).hypot(c.1 + c.3 / 2.0 - icy)))
        .filter(|(_, d)| *d <= reach)
        .min_by(|a, b| a.1.total_cmp(&b.1))?
        .0;
    let (ccx, ccy) = (crown.0 + crown.2 / 2.0, crown.1 + crown.3 / 2.0);
    let (e1, e2) = if h >= w {
        ((icx, y), (icx, y + h))
    } else {
        ((x, icy), (x + w, icy))
    };
    let d = |p: (f32, f32), q: (f32, f32)| (p.0 - q.0).hypot(p.1 - q.1);
    let apex = if d(e1, (ccx, ccy)) > d(e2, (ccx, ccy)) {
        e1
    } else {
        e2
    };
    let platform = if apex == e1 { e2 } else { e1 };
    let pa = pred.apex_point();
    Some(d(pa, apex) < d(pa, platform))
}

/// Result on one film.
#[derive(Debug, Clone)]
pub struct FilmResult {
    /// The annotations.
    pub truth: FilmTruth,
    /// Film size.
    pub size: (u32, u32),
    /// What the finder proposed.
    pub predicted: Vec<FoundImplant>,
    /// `(truth index, prediction index, IoU)` at IoU >= 0.5.
    pub matches: Vec<(usize, usize, f32)>,
    /// Truth boxes located by [`match_inside`] at 0.8: fixture boxes lying inside an
    /// annotation that also takes in the crown.
    pub located: usize,
    /// Per match: apex end right (`Some(true)`), wrong, or unknown.
    pub apex: Vec<Option<bool>>,
    /// Time of [`crate::find_implants_with`] alone (decoding excluded), best of the runs,
    /// milliseconds.
    pub ms: f64,
}

/// Figures over a group of films.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Films in the group.
    pub films: usize,
    /// Annotated fixtures.
    pub truths: usize,
    /// Predictions.
    pub predictions: usize,
    /// Matched pairs at IoU >= 0.5.
    pub matched: usize,
    /// matched / truths.
    pub recall: f64,
    /// matched / predictions.
    pub precision: f64,
    /// Mean IoU of the matched pairs.
    pub mean_iou: f64,
    /// Truth boxes located by [`match_inside`] (see [`FilmResult::located`]).
    pub located: usize,
    /// Matched fixtures whose apex end is known from a crown box.
    pub apex_known: usize,
    /// Of those, how many the finder got right.
    pub apex_right: usize,
    /// Median run time per film, milliseconds.
    pub median_ms: f64,
}

/// Summarise film results.
pub fn summarise(results: &[&FilmResult]) -> Summary {
    let mut s = Summary {
        films: results.len(),
        ..Default::default()
    };
    let mut iou_sum = 0f64;
    let mut times: Vec<f64> = Vec::new();
    for r in results {
        s.truths += r.truth.implants.len();
        s.predictions += r.predicted.len();
        s.matched += r.matches.len();
        s.located += r.located;
        iou_sum += r.matches.iter().map(|m| f64::from(m.2)).sum::<f64>();
        for a in r.apex.iter().flatten() {
            s.apex_known += 1;
            s.apex_right += usize::from(*a);
        }
        times.push(r.ms);
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    s.recall = ratio(s.matched, s.truths);
    s.precision = ratio(s.matched, s.predictions);
    s.mean_iou = if s.matched == 0 {
        0.0
    } else {
        iou_sum / s.matched as f64
    };
    times.sort_by(|a, b| a.total_cmp(b));
    s.median_ms = times.get(times.len() / 2).copied().unwrap_or(0.0);
    s
}

/// A change applied to each film (and its boxes) before the finder runs: a robustness check on
/// real images. Flipping top-bottom turns lower-jaw films into upper-jaw ones (apex up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// The film as it is.
    None,
    /// Mirror top-bottom.
    FlipV,
    /// Mirror left-right.
    FlipH,
    /// Resize by this factor (bilinear).
    Scale(f32),
    /// Grey-level gamma: `out = 255 * (in / 255) ^ g`.
    Gamma(f32),
}

impl Transform {
    /// Parse `none`, `vflip`, `hflip`, `scale:F`, `gamma:G`.
    pub fn parse(s: &str) -> Option<Transform> {
        let (k, v) = s.split_once(':').unwrap_or((s, ""));
        let f = v.parse::<f32>().ok().filter(|f| f.is_finite() && *f > 0.0);
        match k {
            "none" => Some(Transform::None),
            "vflip" => Some(Transform::FlipV),
            "hflip" => Some(Transform::FlipH),
            "scale" => f.map(Transform::Scale),
            "gamma" => f.map(Transform::Gamma),
            _ => None,
        }
    }

    /// Apply to a film and its annotation boxes.
    pub fn apply(&self, film: GrayImage, truth: &mut FilmTruth) -> GrayImage {
        let (w, h) = (film.width() as f32, film.height() as f32);
        let boxes = truth.implants.iter_mut().chain(truth.crowns.iter_mut());
        match *self {
            Transform::None => film,
            Transform::FlipV => {
                boxes.for_each(|b| b.1 = h - b.1 - b.3);
                image::imageops::flip_vertical(&film)
            }
            Transform::FlipH => {
                boxes.for_each(|b| b.0 = w - b.0 - b.2);
                image::imageops::flip_horizontal(&film)
            }
            Transform::Scale(f) => {
                let nw = ((w * f).round() as u32).max(1);
                let nh = ((h * f).round() as u32).max(1);
                let (fx, fy) = (nw as f32 / w, nh as f32 / h);
                boxes.for_each(|b| *b = (b.0 * fx, b.1 * fy, b.2 * fx, b.3 * fy));
                image::imageops::resize(&film, nw, nh, image::imageops::FilterType::Triangle)
            }
            Transform::Gamma(g) => {
                let lut: Vec<u8> = (0..256)
                    .map(|v| (255.0 * (v as f32 / 255.0).powf(g)).round().clamp(0.0, 255.0) as u8)
                    .collect();
                let mut out = film;
                out.pixels_mut().for_each(|p| p.0[0] = lut[p.0[0] as usize]);
                out
            }
        }
    }
}

/// Score one film's predictions against its annotations (matching at IoU >= 0.5, apex end,
/// located boxes), so every evaluation front reports the same figures.
pub fn score_film(truth: FilmTruth, size: (u32, u32), predicted: Vec<FoundImplant>, ms: f64) -> FilmResult {
    let boxes: Vec<Aabb> = predicted.iter().map(|p| p.aabb()).collect();
    let matches = match_greedy(&truth.implants, &boxes, 0.5);
    let apex = matches
        .iter()
        .map(|&(i, j, _)| apex_correct(&truth.implants[i], &truth.crowns, &predicted[j]))
        .collect();
    let located = match_inside(&truth.implants, &boxes, 0.8).len();
    FilmResult {
        located,
        size,
        truth,
        predicted,
        matches,
        apex,
        ms,
    }
}

/// Run the finder on every film listed in `<dir>/boxes.csv` and match against the annotations.
/// Each film is run `runs` times (at least once) and the fastest time is kept: the finder is
/// deterministic, and on a shared machine the minimum is the honest figure.
pub fn evaluate_dir(dir: &Path, params: &FinderParams, runs: usize) -> Result<Vec<FilmResult>, String> {
    evaluate_dir_with(dir, params, runs, Transform::None)
}

/// [`evaluate_dir`] on films changed by `transform` first.
pub fn evaluate_dir_with(
    dir: &Path,
    params: &FinderParams,
    runs: usize,
    transform: Transform,
) -> Result<Vec<FilmResult>, String> {
    let truths = read_boxes(&dir.join("boxes.csv"))?;
    let mut out = Vec::new();
    for mut t in truths {
        let path = dir.join(&t.film);
        let film = image::open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .to_luma8();
        let film = transform.apply(film, &mut t);
        let mut ms = f64::MAX;
        let mut predicted = Vec::new();
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            predicted = crate::find_implants_with(&film, params);
            ms = ms.min(start.elapsed().as_secs_f64() * 1000.0);
        }
        out.push(score_film(t, film.dimensions(), predicted, ms));
    }
    Ok(out)
}
