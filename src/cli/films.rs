//! CLI commands for films and their implants: `films`, `box`, `eval-finder`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use image::{Rgb, RgbImage};
use raiox_find::eval::{match_greedy, read_boxes, score_film, summarise, Aabb, FilmResult, Summary};
use serde_json::json;

use super::args::BoxArgs;
use super::args::Cli;
use super::output::{json_line, print_record};
use raiox::catalogue::{films, images};
use raiox::curate::{self, BoxChange};
use raiox::decode::{decode, DecodeLimits};
use raiox::embed::select::choose;
use raiox::standardise::{develop, find, Fixture};

/// `raiox films [--empty]`: films with their implant counts.
pub fn cmd_films(cli: &Cli, empty: bool) -> Result<ExitCode> {
    let lib = cli.open_library()?;
    for film in films::list(lib.conn(), empty)? {
        if cli.json {
            let mut line = serde_json::to_value(&film)?;
            line["implant_count"] = film.implants.len().into();
            json_line(&line)?;
        } else {
            let implants = match film.implants.len() {
                0 => "no implant found — draw one".to_string(),
                _ => format!(
                    "implants {}",
                    film.implants
                        .iter()
                        .map(|id| format!("#{id}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            };
            outln!(
                "film {:<6} {}x{} {:<6} {}",
                film.id,
                film.width,
                film.height,
                film.source_format,
                implants
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `raiox box`: move/resize/rotate an implant's box, delete a false one, add a missed one, or go
/// back to the finder's box.
pub fn cmd_box(cli: &Cli, args: &BoxArgs) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    match (args.id, args.film) {
        (None, Some(film_id)) => {
            let spec = args
                .add
                .as_ref()
                .context("give --add x,y,w,h[,angle] with --film")?;
            let encoder = choose(&lib, None)?;
            let rec = curate::add_implant(
                &mut lib,
                film_id,
                Fixture::from_spec(spec, None),
                encoder.as_ref(),
            )?;
            print_record(&lib, &rec, cli.json)?;
        }
        (Some(id), None) => {
            if args.delete {
                curate::remove_implant(&mut lib, id)?;
                if cli.json {
                    json_line(&json!({"deleted": id}))?;
                } else {
                    outln!("implant {id} removed from its film");
                }
                return Ok(ExitCode::SUCCESS);
            }
            let current = images::get(lib.conn(), id)?;
            let change = match (&args.set, args.find) {
                (Some(spec), false) => BoxChange {
                    fixture: Some(Fixture::from_spec(spec, current.fixture.as_ref())),
                    ..BoxChange::default()
                },
                (None, true) => BoxChange {
                    refind: true,
                    ..BoxChange::default()
                },
                _ => bail!("give one of --set x,y,w,h[,angle], --find or --delete"),
            };
            let encoder = choose(&lib, None)?;
            let rec = curate::change_box(&mut lib, id, change, encoder.as_ref())?;
            print_record(&lib, &rec, cli.json)?;
        }
        _ => bail!("give an implant ID (--set, --find, --delete) or --film FILM_ID --add"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `raiox eval-finder FOLDER [--boxes CSV] [--misses DIR]`: the finder as import runs it
/// (decode, polarity, find) against annotated fixture boxes; recall, precision and mean IoU at
/// IoU ≥ 0.5 per subfolder and overall, and the films with misses (drawn into DIR when given).
/// With `unannotated`, boxes on implants the annotators left out are counted apart, so precision
/// can also be given against every implant on the films.
pub fn cmd_eval_finder(
    cli: &Cli,
    folder: &Path,
    boxes: Option<&Path>,
    misses_dir: Option<&Path>,
    unannotated: Option<&Path>,
) -> Result<ExitCode> {
    if !folder.is_dir() {
        bail!(
            "the films folder {} does not exist (or is not a folder): nothing to evaluate",
            folder.display()
        );
    }
    let csv: PathBuf = boxes.map_or_else(|| folder.join("boxes.csv"), Path::to_path_buf);
    if !csv.is_file() {
        bail!("the annotations {} do not exist: give --boxes CSV", csv.display());
    }
    let truths = read_boxes(&csv).map_err(anyhow::Error::msg)?;
    let further: HashMap<String, Vec<Aabb>> = match unannotated {
        Some(path) => read_boxes(path)
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .map(|t| (t.film, t.implants))
            .collect(),
        None => HashMap::new(),
    };
    let mut results = Vec::new();
    let mut apart = Vec::new();
    for truth in truths {
        let path = folder.join(&truth.film);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let decoded = decode(&bytes, &DecodeLimits::default())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let film = develop(&decoded, None)?;
        let start = Instant::now();
        let predicted: Vec<_> = find(&film).iter().map(Fixture::as_found).collect();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let result = score_film(truth, film.image.dimensions(), predicted, ms);
        apart.push(on_unannotated(&result, further.get(&result.truth.film)));
        if let Some(dir) = misses_dir {
            if result.matches.len() < result.truth.implants.len()
                || result.matches.len() < result.predicted.len()
            {
                draw_film(
                    dir,
                    &film.image,
                    &result.truth.film,
                    &result.truth.implants,
                    &result.predicted,
                )?;
            }
        }
        results.push(result);
    }
    let mut groups: Vec<(String, Summary, usize)> = Vec::new();
    let mut names: Vec<String> = results.iter().map(group_of).collect();
    names.sort();
    names.dedup();
    let group = |name: Option<&String>| {
        let of: Vec<(&FilmResult, usize)> = results
            .iter()
            .zip(apart.iter().copied())
            .filter(|(r, _)| name.is_none_or(|n| &group_of(r) == n))
            .collect();
        let films: Vec<&FilmResult> = of.iter().map(|(r, _)| *r).collect();
        (summarise(&films), of.iter().map(|(_, n)| n).sum::<usize>())
    };
    if names.len() > 1 {
        for name in &names {
            let (s, n) = group(Some(name));
            groups.push((name.clone(), s, n));
        }
    }
    let (s, n) = group(None);
    groups.push(("all".into(), s, n));
    let misses: Vec<&FilmResult> = results
        .iter()
        .filter(|r| r.matches.len() < r.truth.implants.len())
        .collect();
    if cli.json {
        let groups: Vec<_> = groups
            .iter()
            .map(|(name, s, n)| {
                let mut g = json!({
                    "group": name, "films": s.films, "fixtures": s.truths, "predictions": s.predictions,
                    "matched": s.matched, "recall": s.recall, "precision": s.precision,
                    "mean_iou": s.mean_iou, "apex_known": s.apex_known, "apex_right": s.apex_right,
                    "median_ms": s.median_ms,
                });
                if unannotated.is_some() {
                    g["unannotated"] = json!(n);
                    g["precision_all_implants"] = json!(precision_all(s, *n));
                }
                g
            })
            .collect();
        let misses: Vec<_> = misses
            .iter()
            .map(|r| {
                json!({
                    "film": r.truth.film, "fixtures": r.truth.implants.len(),
                    "matched": r.matches.len(), "predictions": r.predicted.len(),
                })
            })
            .collect();
        json_line(&json!({ "iou_threshold": 0.5, "groups": groups, "misses": misses }))?;
    } else {
        outln!(
            "{:<12} {:>5} {:>8} {:>11} {:>7} {:>6} {:>9} {:>8} {:>10} {:>8}",
            "group",
            "films",
            "fixtures",
            "predictions",
            "matched",
            "recall",
            "precision",
            "mean IoU",
            "apex right",
            "ms/film"
        );
        for (name, s, n) in &groups {
            outln!(
                "{:<12} {:>5} {:>8} {:>11} {:>7} {:>6.3} {:>9.3} {:>8.3} {:>10} {:>8.1}",
                name,
                s.films,
                s.truths,
                s.predictions,
                s.matched,
                s.recall,
                s.precision,
                s.mean_iou,
                format!("{}/{}", s.apex_right, s.apex_known),
                s.median_ms
            );
            if unannotated.is_some() {
                outln!(
                    "{:<12} {n} boxes on implants the annotations lack: precision against every implant {:.3}",
                    "",
                    precision_all(s, *n)
                );
            }
        }
        outln!("matching: axis-aligned fixture boxes, greedy one-to-one, IoU >= 0.5");
        for r in &misses {
            outln!(
                "missed: {} ({} of {} fixtures matched, {} predicted)",
                r.truth.film,
                r.matches.len(),
                r.truth.implants.len(),
                r.predicted.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How many of the finder's boxes that match no annotation lie on one of `further` (implants the
/// annotations lack), matched one-to-one at IoU ≥ 0.5 like the annotations.
fn on_unannotated(result: &FilmResult, further: Option<&Vec<Aabb>>) -> usize {
    let Some(further) = further else {
        return 0;
    };
    let extra: Vec<Aabb> = result
        .predicted
        .iter()
        .enumerate()
        .filter(|(j, _)| result.matches.iter().all(|m| m.1 != *j))
        .map(|(_, p)| p.aabb())
        .collect();
    match_greedy(further, &extra, 0.5).len()
}

/// Precision when boxes on unannotated implants count as right.
fn precision_all(s: &Summary, unannotated: usize) -> f64 {
    (s.matched + unannotated) as f64 / s.predictions.max(1) as f64
}

/// The film's first folder in the CSV (`periapical/p000.jpg` → `periapical`), "." for none.
fn group_of(r: &FilmResult) -> String {
    match r.truth.film.split_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    }
}

/// Write the film with the annotated boxes (green) and the finder's oriented boxes (red, apex end
/// marked) as `DIR/<film path with / as _>.png`, for looking at the misses.
fn draw_film(
    dir: &Path,
    film: &image::GrayImage,
    name: &str,
    truth: &[raiox_find::eval::Aabb],
    found: &[raiox_find::FoundImplant],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut img: RgbImage = image::DynamicImage::ImageLuma8(film.clone()).to_rgb8();
    let green = Rgb([40, 220, 60]);
    let red = Rgb([240, 40, 40]);
    for &(x, y, w, h) in truth {
        let c = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)];
        polygon(&mut img, &c, green);
    }
    for f in found {
        polygon(&mut img, &f.corners(), red);
        let (ax, ay) = f.apex_point();
        for d in -3i32..=3 {
            put(&mut img, ax + d as f32, ay, red);
            put(&mut img, ax, ay + d as f32, red);
        }
    }
    let stem = Path::new(name).with_extension("");
    let file = dir.join(format!(
        "{}.png",
        stem.to_string_lossy().replace(['/', '\\'], "_")
    ));
    img.save(&file)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

fn polygon(img: &mut RgbImage, corners: &[(f32, f32)], colour: Rgb<u8>) {
    for i in 0..corners.len() {
        let (a, b) = (corners[i], corners[(i + 1) % corners.len()]);
        let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            put(img, a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), colour);
        }
    }
}

fn put(img: &mut RgbImage, x: f32, y: f32, colour: Rgb<u8>) {
    if x.is_finite()
        && y.is_finite()
        && x >= 0.0
        && y >= 0.0
        && (x as u32) < img.width()
        && (y as u32) < img.height()
    {
        img.put_pixel(x as u32, y as u32, colour);
    }
}
