//! CLI commands for embeddings and search: embed, similar, identify, eval.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use super::args::Cli;
use super::args::ModelsCommand;
use super::output::json_line;
use super::progress_bar;
use raiox::catalogue::heads;
use raiox::embed::select::{choose, EncoderChoice};
use raiox::embed::{Encoder, View};
use raiox::embedding::{embed_film, embed_library};
use raiox::search::identify::{EvalReport, Neighbour, Searcher};
use raiox::search::neardup::{copies_first, standard_image};
use raiox::search::review;
use raiox::standardise::Aabb;

pub fn cmd_embed(cli: &Cli, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    let encoder = choose(&lib, choice)?;
    let summary = progress_bar::run_with_bar("embedding", |ctl, _| {
        embed_library(&mut lib, encoder.as_ref(), ctl)
    })?;
    if cli.json {
        json_line(&summary)?;
    } else {
        for f in &summary.failures {
            outln!("failed     #{}: {}", f.id, f.error);
        }
        outln!(
            "{}: {} embedded, {} already up to date, {} failed",
            summary.encoder,
            summary.embedded,
            summary.up_to_date,
            summary.failures.len()
        );
    }
    Ok(if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One query implant: an implant of the library (by id), or one found on a film given by path.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Query {
    /// The film or id as given.
    pub path: String,
    /// The library implant, when the query is an id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The fixture's axis-aligned box on the film.
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub aabb: Option<Aabb>,
    /// Apex direction of the fixture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub angle_deg: Option<f32>,
    /// Why the answer may not be about an implant the finder saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    #[serde(skip)]
    pub vector: Vec<f32>,
    /// Its standard image for the copy check: a film's own; none for a library implant, whose
    /// stored one `similar` reads when it needs it.
    #[serde(skip)]
    pub image: Option<image::GrayImage>,
}

/// The queries of a target: an implant id of the library (`vector_of` gives its stored vector),
/// or a film, whose every implant is one query with its vector of `view`.
pub(super) fn queries(
    encoder: &dyn Encoder,
    view: View,
    target: &str,
    vector_of: impl Fn(i64) -> Result<Option<Vec<f32>>>,
    lib: &raiox::library::Library,
) -> Result<Vec<Query>> {
    if let Ok(id) = target.parse::<i64>() {
        if !Path::new(target).exists() {
            let v = vector_of(id)?.with_context(|| {
                format!(
                    "implant {id} has no current {} vector: run `raiox embed`",
                    encoder.id()
                )
            })?;
            let rec = raiox::catalogue::images::get(lib.conn(), id)?;
            return Ok(vec![Query {
                path: target.to_string(),
                id: Some(id),
                aabb: rec.aabb,
                angle_deg: rec.angle_deg,
                warning: None,
                vector: v,
                image: None,
            }]);
        }
    }
    Ok(embed_film(encoder, Path::new(target))?
        .into_iter()
        .map(|q| Query {
            path: target.to_string(),
            id: None,
            aabb: Some(q.fixture.aabb()),
            angle_deg: q.found.then_some(q.fixture.angle_deg),
            warning: (!q.found)
                .then(|| "no implant found on this film: the whole image was used".to_string()),
            vector: q.vector_of(view).to_vec(),
            image: Some(q.image),
        })
        .collect())
}

pub(super) fn open_searcher(cli: &Cli, choice: Option<EncoderChoice>) -> Result<Opened> {
    opened_with(cli, choice, Searcher::ready)
}

/// [`open_searcher`] on the encoder's own vectors, without a learned head: what the review and
/// the leave-one-out evaluation need (a head trained on the labels has seen them, mistakes too).
pub(super) fn open_frozen_searcher(cli: &Cli, choice: Option<EncoderChoice>) -> Result<Opened> {
    opened_with(cli, choice, Searcher::ready_frozen)
}

/// The library, the encoder chosen for it and a searcher over its vectors.
type Opened = (raiox::library::Library, Box<dyn Encoder>, Searcher);

fn opened_with(
    cli: &Cli,
    choice: Option<EncoderChoice>,
    ready: fn(&raiox::library::Library, &dyn Encoder) -> Result<Searcher, raiox::Error>,
) -> Result<Opened> {
    let lib = cli.open_library()?;
    let encoder = choose(&lib, choice)?;
    let searcher = ready(&lib, encoder.as_ref())?;
    Ok((lib, encoder, searcher))
}

/// How a query implant is named in text output.
pub(super) fn query_title(q: &Query) -> String {
    match (q.id, q.aabb) {
        (Some(id), _) => format!("implant {id}"),
        (None, Some(b)) => format!(
            "{} (implant at {:.0},{:.0},{:.0},{:.0})",
            q.path, b.x, b.y, b.w, b.h
        ),
        (None, None) => q.path.clone(),
    }
}
pub(super) fn neighbour_line(n: &Neighbour) -> String {
    format!(
        "  #{:<6} {:.4}  {:<44} {}",
        n.id,
        n.similarity,
        n.name.as_deref().unwrap_or("(unlabelled)"),
        match (&n.manufacturer, &n.system) {
            (Some(m), Some(s)) => format!("{m} / {s}"),
            _ => String::new(),
        }
    )
}

/// The library's implants most like a target's, by their context view: a re-scan or copy of an
/// implant finds that very implant first.
pub fn cmd_similar(cli: &Cli, target: &str, k: usize, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let (lib, encoder, searcher) =
        opened_with(cli, choice, |l, e| Searcher::ready_view(l, e, View::Context))?;
    let vector_of = |id: i64| Ok(searcher.index.vector(id).map(<[f32]>::to_vec));
    for mut q in queries(encoder.as_ref(), View::Context, target, vector_of, &lib)? {
        let mut found = searcher.similar(&q.vector, k, q.id);
        let image = q
            .image
            .take()
            .or_else(|| q.id.and_then(|id| standard_image(&lib, id)));
        if let Some(image) = &image {
            copies_first(image, &mut found, |id| standard_image(&lib, id));
        }
        if cli.json {
            let mut line = serde_json::to_value(&q)?;
            line["query"] = target.into();
            line["encoder"] = encoder.id().into();
            line["neighbours"] = serde_json::to_value(&found)?;
            json_line(&line)?;
        } else {
            outln!("most similar to {} ({}):", query_title(&q), encoder.id());
            if let Some(w) = &q.warning {
                outln!("  ({w})");
            }
            found.iter().for_each(|n| outln!("{}", neighbour_line(n)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct IdentifyLine<'a> {
    #[serde(flatten)]
    query: &'a Query,
    #[serde(flatten)]
    result: raiox::search::identify::Identification,
}

pub fn cmd_identify(
    cli: &Cli,
    paths: &[PathBuf],
    k: usize,
    choice: Option<EncoderChoice>,
) -> Result<ExitCode> {
    let (lib, encoder, searcher) = open_searcher(cli, choice)?;
    let calibration = searcher.calibration(&lib, k)?;
    let mut failed = false;
    for path in paths {
        let shown = path.display().to_string();
        let vector_of = |id: i64| Ok(searcher.index.vector(id).map(<[f32]>::to_vec));
        let found = match queries(encoder.as_ref(), View::Fixture, &shown, vector_of, &lib) {
            Ok(q) => q,
            Err(e) => {
                failed = true;
                if cli.json {
                    json_line(&serde_json::json!({"path": shown, "error": format!("{e:#}")}))?;
                } else {
                    outln!("{shown}: cannot identify: {e:#}");
                }
                continue;
            }
        };
        for q in &found {
            let result = searcher.identify(&q.vector, k, calibration.as_ref());
            if cli.json {
                json_line(&IdentifyLine { query: q, result })?;
                continue;
            }
            print_identification(
                &query_title(q),
                q.warning.as_deref(),
                &result,
                calibration.is_some(),
            );
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_identification(
    shown: &str,
    warning: Option<&str>,
    result: &raiox::search::identify::Identification,
    calibrated: bool,
) {
    match &result.verdict {
        Some(v) => outln!(
            "{shown}: {} / {} (confidence {:.0} %)",
            v.manufacturer,
            v.system,
            v.confidence * 100.0
        ),
        None if !calibrated => {
            outln!(
                "{shown}: unknown — the library needs at least 10 labelled implants of 2+ systems to judge"
            )
        }
        None => outln!("{shown}: unknown — not confidently in the catalogue"),
    }
    if let Some(w) = warning {
        outln!("  ({w})");
    }
    for c in result.candidates.iter().take(5) {
        outln!("  {:>5.1} %  {} / {}", c.score * 100.0, c.manufacturer, c.system);
    }
    outln!("  evidence:");
    result
        .neighbours
        .iter()
        .take(5)
        .for_each(|n| outln!("  {}", neighbour_line(n)));
}

pub fn cmd_eval(cli: &Cli, k: usize, choice: Option<EncoderChoice>, flip: Option<f64>) -> Result<ExitCode> {
    let (lib, encoder, mut searcher) = open_frozen_searcher(cli, choice)?;
    let calibration = searcher.calibration(&lib, k)?;
    let report = searcher.evaluate(k, calibration.as_ref());
    let head = heads::active(lib.conn(), &searcher.stamp().head_key())?
        .and_then(|h| serde_json::from_str::<serde_json::Value>(&h.report).ok());
    let review = match flip {
        Some(f) if (0.0..=1.0).contains(&f) => Some(review::check_with_flipped_labels(
            &mut searcher,
            k,
            f,
            REVIEW_CHECK_SEED,
        )),
        Some(f) => anyhow::bail!("--flip {f}: give a share between 0 and 1, e.g. 0.05"),
        None => None,
    };
    if cli.json {
        let mut line = serde_json::to_value(&report)?;
        if let Some(r) = &review {
            line["review"] = serde_json::to_value(r)?;
        }
        if let Some(h) = head {
            line["head"] = h;
        }
        json_line(&line)?;
    } else {
        print_eval(encoder.id(), &report);
        if let Some(r) = &review {
            outln!(
                "review queue: {} of {} flipped labels in its first {} entries ({:.1} %; {} entries, {} implants)",
                (r.recall_at_twice * r.flipped as f64).round(),
                r.flipped,
                2 * r.flipped,
                100.0 * r.recall_at_twice,
                r.queue,
                r.implants
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Seed of the labels `eval --flip` flips, so a check can be repeated.
const REVIEW_CHECK_SEED: u64 = 0x5EED_F11B;

fn print_eval(encoder: &str, r: &EvalReport) {
    let pct = |x: f64| format!("{:.1} %", x * 100.0);
    outln!(
        "leave-one-out over {} labelled images, {encoder}, k = {}",
        r.images,
        r.k
    );
    outln!("  system top-1        {}", pct(r.system_top1));
    outln!("  system top-5        {}", pct(r.system_top5));
    outln!("  manufacturer top-1  {}", pct(r.manufacturer_top1));
    outln!("  manufacturer top-5  {}", pct(r.manufacturer_top5));
    outln!("  precision@{:<2}       {}", r.k, pct(r.precision_at_k));
    outln!("  said unknown        {}", pct(r.unknown_rate));
    outln!("  verdict precision   {}", pct(r.verdict_precision));
    if let Some(c) = &r.calibration {
        outln!(
            "  thresholds: vote share ≥ {:.2}, nearest similarity ≥ {:.3}",
            c.min_confidence,
            c.min_similarity
        );
    }
    outln!("per-system recall:");
    for (s, v) in &r.per_system_recall {
        outln!("  {:<40} {}", s, pct(*v));
    }
    let names: Vec<&String> = r.per_system_recall.keys().collect();
    outln!("confusion (rows: true, columns: predicted, in the order above):");
    for t in &names {
        let row = &r.confusion[*t];
        let cells: Vec<String> = names
            .iter()
            .map(|p| format!("{:>4}", row.get(*p).copied().unwrap_or(0)))
            .collect();
        outln!("  {:<40} {}", t, cells.join(""));
    }
}

pub fn cmd_models(cli: &Cli, command: &ModelsCommand) -> Result<ExitCode> {
    match command {
        ModelsCommand::Fetch {
            model: EncoderChoice::Lite0,
        } => {
            let path = raiox::embed::lite0::bundled_weights_path()?;
            outln!("lite0 is bundled: {}", path.display());
        }
        ModelsCommand::Fetch {
            model: EncoderChoice::Clip,
        } => {
            let dir = raiox::embed::clip::fetch(&raiox::embed::clip::default_dir())?;
            outln!("CLIP ViT-B/32 weights ready in {}", dir.display());
        }
        ModelsCommand::List => {
            let lib = cli.open_library()?;
            let active = raiox::catalogue::settings::get(lib.conn(), "encoder")?;
            let lite0 = raiox::embed::lite0::bundled_weights_path().map(|p| p.display().to_string());
            let clip = raiox::embed::select::clip_dir().map(|p| p.display().to_string());
            if cli.json {
                json_line(&serde_json::json!({
                    "active": active,
                    "lite0": lite0.as_ref().ok(),
                    "clip": clip,
                }))?;
            } else {
                outln!(
                    "active encoder of this library: {}",
                    active.as_deref().unwrap_or("(none yet: the next embed picks)")
                );
                match lite0 {
                    Ok(p) => outln!("lite0-imagenet  bundled     {p}"),
                    Err(e) => outln!("lite0-imagenet  MISSING     {e}"),
                }
                match clip {
                    Some(p) => outln!("clip-vit-b32    available   {p}"),
                    None => outln!("clip-vit-b32    not present (get it with `raiox models fetch clip`)"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
