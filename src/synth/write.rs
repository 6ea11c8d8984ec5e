//! Writing a synthetic set to disk: one PNG per film (atomically) and `labels.csv`.

use super::{render_with_truth, systems, SynthOptions, SynthReport, SynthSystem};
use crate::progress::{JobControl, Outcome};
use crate::standardise::Fixture;
use anyhow::{ensure, Context, Result};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Write OUT/<Manufacturer>/<System>/NNNN.png (NNNN = 0-based sample index, 4+ digits),
/// OUT/labels.csv with header `path,manufacturer,system,x,y,w,h,angle` (path relative to OUT with
/// '/' separators; the implant fixture's axis-aligned box in film pixels and its apex angle, as
/// `raiox import --labels` reads them), one row per film in a deterministic order, and
/// OUT/boxes.csv (`film,class,x,y,w,h`, class `implant`) for `raiox eval-finder`.
///
/// Films are rendered in parallel; each PNG is written to a `.tmp` sibling and renamed. A cancel
/// request stops the job between films: `labels.csv` then lists only the films written and the
/// report says [`Outcome::Cancelled`]. Progress goes to `ctl` as stage `"synth"`.
pub fn generate(out: &Path, opts: &SynthOptions, ctl: &JobControl) -> Result<SynthReport> {
    ensure!(
        opts.size >= 16,
        "synth: size {} is too small (16 px minimum)",
        opts.size
    );
    let classes = systems();
    for s in classes {
        let dir = out.join(s.manufacturer).join(s.system);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let per_class = opts.per_class;
    let total = classes.len() * per_class;
    let digits = per_class.saturating_sub(1).to_string().len().max(4);
    let rel_path = |s: &SynthSystem, i: usize| format!("{}/{}/{:0digits$}.png", s.manufacturer, s.system, i);
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    // None: skipped after a cancel request or an earlier failure.
    let results: Vec<Option<Result<Fixture>>> = (0..total)
        .into_par_iter()
        .map(|k| {
            if ctl.is_cancelled() || failed.load(Ordering::Relaxed) {
                return None;
            }
            let (system, sample) = (&classes[k / per_class], k % per_class);
            let result = write_png(out, &rel_path(system, sample), system, sample, opts);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            ctl.report("synth", n, total as u64);
            Some(result)
        })
        .collect();

    let mut rows = Vec::with_capacity(total);
    for (k, result) in results.into_iter().enumerate() {
        match result {
            Some(Ok(truth)) => rows.push((k, truth)),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    let labels_csv = out.join("labels.csv");
    let named: Vec<(String, &SynthSystem, Fixture)> = rows
        .iter()
        .map(|&(k, truth)| {
            let system = &classes[k / per_class];
            (rel_path(system, k % per_class), system, truth)
        })
        .collect();
    write_labels(&labels_csv, &named)?;
    write_boxes(&out.join("boxes.csv"), &named)?;
    Ok(SynthReport {
        written: rows.len(),
        classes: classes.len(),
        labels_csv,
        outcome: if rows.len() == total {
            Outcome::Finished
        } else {
            Outcome::Cancelled
        },
    })
}

/// Render one film and write it as `out/rel` via a `.tmp` sibling and a rename; its fixture box.
fn write_png(
    out: &Path,
    rel: &str,
    system: &SynthSystem,
    sample: usize,
    opts: &SynthOptions,
) -> Result<Fixture> {
    let (img, truth) = render_with_truth(system, sample, opts.seed, opts.size);
    let mut bytes = Vec::with_capacity(img.as_raw().len() / 2);
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Sub)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::L8)
        .with_context(|| format!("encoding {rel}"))?;
    let path = out.join(rel);
    write_atomic(&path, &bytes)?;
    Ok(truth)
}

/// Write `bytes` to `path.tmp` then rename it over `path`, so readers never see half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", Path::new(&tmp).display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))
}

/// Box numbers as written: 0.1 px.
fn px(v: f32) -> String {
    format!("{:.1}", v)
}

/// `labels.csv`: header `path,manufacturer,system,x,y,w,h,angle`, one row per written film.
fn write_labels(path: &Path, rows: &[(String, &SynthSystem, Fixture)]) -> Result<()> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["path", "manufacturer", "system", "x", "y", "w", "h", "angle"])?;
    for (rel, s, truth) in rows {
        let b = truth.aabb();
        csv.write_record([
            rel.clone(),
            s.manufacturer.to_string(),
            s.system.to_string(),
            px(b.x),
            px(b.y),
            px(b.w),
            px(b.h),
            px(truth.angle_deg),
        ])?;
    }
    let bytes = csv.into_inner().context("serialising labels.csv")?;
    write_atomic(path, &bytes)
}

/// `boxes.csv`: the fixtures in the annotation format `raiox eval-finder` reads.
fn write_boxes(path: &Path, rows: &[(String, &SynthSystem, Fixture)]) -> Result<()> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["film", "class", "x", "y", "w", "h"])?;
    for (rel, _, truth) in rows {
        let b = truth.aabb();
        csv.write_record([rel.clone(), "implant".into(), px(b.x), px(b.y), px(b.w), px(b.h)])?;
    }
    let bytes = csv.into_inner().context("serialising boxes.csv")?;
    write_atomic(path, &bytes)
}
