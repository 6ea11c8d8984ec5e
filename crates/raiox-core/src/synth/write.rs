//! Writing a synthetic set to disk: one PNG per film (atomically), `labels.csv` and `boxes.csv`.

use super::render::render_film;
use super::systems::all as systems;
use super::types::{FilmKind, ImplantTruth, SynthOptions, SynthReport, SynthSystem};
use crate::progress::{JobControl, Outcome};
use crate::util::replace_atomic;
use crate::Error;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

type Result<T> = std::result::Result<T, Error>;

/// [`generate_with`] for bare films, the original set.
pub fn generate(out: &Path, opts: &SynthOptions, ctl: &JobControl) -> Result<SynthReport> {
    generate_with(out, opts, FilmKind::Bare, ctl)
}

/// Write OUT/<Manufacturer>/<System>/NNNN.png (NNNN = 0-based sample index, 4+ digits; the folder
/// is the film's own system, the first implant on it), OUT/labels.csv and OUT/boxes.csv.
///
/// `labels.csv`: header `path,manufacturer,system,x,y,w,h,angle`, one row per implant (a film's
/// own system first), path relative to OUT with '/' separators; `x,y,w,h` is the axis-aligned box
/// of the fixture body in film pixels and `angle` its apex direction in the `raiox-find`
/// convention (0 = apex down, 180 = apex up), all rounded to 0.1. `boxes.csv`: header
/// `film,class,x,y,w,h` as in the annotated real films, class `implant` per fixture and `crown`
/// per drawn crown, so the finder's evaluation reads a synthetic set like a real one. Rows are in
/// a deterministic order.
///
/// Films are rendered in parallel; each file is written to a `.tmp` sibling and renamed. A cancel
/// request stops the job between films: the CSVs then list only the films written and the
/// report says [`Outcome::Cancelled`]. Progress goes to `ctl` as stage `"synth"`.
pub fn generate_with(
    out: &Path,
    opts: &SynthOptions,
    kind: FilmKind,
    ctl: &JobControl,
) -> Result<SynthReport> {
    if opts.size < 16 {
        return Err(Error::Invalid(format!(
            "synth: size {} is too small (16 px minimum)",
            opts.size
        )));
    }
    let classes = systems();
    for s in classes {
        let dir = out.join(s.manufacturer).join(s.system);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let per_class = opts.per_class;
    let total = classes.len() * per_class;
    let digits = per_class.saturating_sub(1).to_string().len().max(4);
    let rel_path = |s: &SynthSystem, i: usize| format!("{}/{}/{:0digits$}.png", s.manufacturer, s.system, i);
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    // None: skipped after a cancel request or an earlier failure.
    let results: Vec<Option<Result<Vec<ImplantTruth>>>> = (0..total)
        .into_par_iter()
        .map(|k| {
            if ctl.is_cancelled() || failed.load(Ordering::Relaxed) {
                return None;
            }
            let (system, sample) = (&classes[k / per_class], k % per_class);
            let result = write_png(out, &rel_path(system, sample), system, sample, opts, kind);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            ctl.report("synth", n, total as u64);
            Some(result)
        })
        .collect();

    let mut films = Vec::with_capacity(total);
    for (k, result) in results.into_iter().enumerate() {
        match result {
            Some(Ok(truth)) => films.push((rel_path(&classes[k / per_class], k % per_class), truth)),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    let labels_csv = out.join("labels.csv");
    write_csvs(&labels_csv, &out.join("boxes.csv"), &films)?;
    Ok(SynthReport {
        written: films.len(),
        classes: classes.len(),
        labels_csv,
        outcome: if films.len() == total {
            Outcome::Finished
        } else {
            Outcome::Cancelled
        },
    })
}

/// Render one film, write it as `out/rel` via a `.tmp` sibling and a rename, return its truth.
fn write_png(
    out: &Path,
    rel: &str,
    system: &SynthSystem,
    sample: usize,
    opts: &SynthOptions,
    kind: FilmKind,
) -> Result<Vec<ImplantTruth>> {
    let film = render_film(system, sample, opts.seed, opts.size, kind);
    let img = &film.image;
    let mut bytes = Vec::with_capacity(img.as_raw().len() / 2);
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Sub)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::L8)
        .map_err(|e| Error::Invalid(format!("encoding {rel}: {e}")))?;
    replace_atomic(&out.join(rel), &bytes)?;
    Ok(film.implants)
}

/// A number rounded to 0.1 as written in the CSVs (no "-0.0").
fn tenth(v: f32) -> String {
    let r = (v * 10.0).round() / 10.0;
    format!("{:.1}", if r == 0.0 { 0.0 } else { r })
}

/// An angle in degrees rounded to 0.1 and kept in (-180, 180] after rounding.
fn angle(v: f32) -> String {
    let r = (v * 10.0).round() / 10.0;
    tenth(if r <= -180.0 { r + 360.0 } else { r })
}

/// The four box numbers as CSV fields.
fn box_fields(b: &(f32, f32, f32, f32)) -> [String; 4] {
    [tenth(b.0), tenth(b.1), tenth(b.2), tenth(b.3)]
}

/// `labels.csv` (one row per implant) and `boxes.csv` (one row per fixture and crown), in job order.
fn write_csvs(labels: &Path, boxes: &Path, films: &[(String, Vec<ImplantTruth>)]) -> Result<()> {
    let csv_err = |e: csv::Error| Error::Invalid(format!("writing the CSVs: {e}"));
    let mut lab = csv::Writer::from_writer(Vec::new());
    lab.write_record(["path", "manufacturer", "system", "x", "y", "w", "h", "angle"])
        .map_err(csv_err)?;
    let mut bx = csv::Writer::from_writer(Vec::new());
    bx.write_record(["film", "class", "x", "y", "w", "h"])
        .map_err(csv_err)?;
    for (rel, truth) in films {
        for t in truth {
            let [x, y, w, h] = box_fields(&t.fixture);
            lab.write_record([
                rel.as_str(),
                t.manufacturer,
                t.system,
                &x,
                &y,
                &w,
                &h,
                &angle(t.angle_deg),
            ])
            .map_err(csv_err)?;
            bx.write_record([rel.as_str(), "implant", &x, &y, &w, &h])
                .map_err(csv_err)?;
        }
        for crown in truth.iter().filter_map(|t| t.crown.as_ref()) {
            let [x, y, w, h] = box_fields(crown);
            bx.write_record([rel.as_str(), "crown", &x, &y, &w, &h])
                .map_err(csv_err)?;
        }
    }
    let csv_bytes = |w: csv::Writer<Vec<u8>>, path: &Path| {
        w.into_inner()
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
    };
    replace_atomic(labels, &csv_bytes(lab, labels)?)?;
    replace_atomic(boxes, &csv_bytes(bx, boxes)?)
}
