//! `raiox suggest`, `raiox review`, `raiox next`, `raiox learn` and `raiox map`: what the neighbours
//! say about implants already in the library — labels to accept, labels they contradict, copies,
//! outliers, what to label next, a head learned from the labels, and where each implant lies.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::args::Cli;
use super::output::json_line;
use super::progress_bar;
use super::search::{neighbour_line, open_frozen_searcher, open_searcher};
use raiox::catalogue::images;
use raiox::catalogue::{heads, settings};
use raiox::curate::merge_copies;
use raiox::embed::head::{learn, TrainOptions, AUTO_LEARN};
use raiox::embed::select::{choose, EncoderChoice};
use raiox::embed::View;
use raiox::search::groups::DuplicateGroup;
use raiox::search::identify::Searcher;
use raiox::search::map::{cached_map, MapParams};
use raiox::search::neardup;
use raiox::search::next::label_next;
use raiox::search::outliers::Outlier;
use raiox::search::review::{keep, queue, suggest, LikelyMislabel};

/// One line per implant: its top systems with their share of the vote, and the voters.
pub fn cmd_suggest(cli: &Cli, ids: &[i64], k: usize, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let (_lib, encoder, searcher) = open_searcher(cli, choice)?;
    let mut failed = false;
    for &id in ids {
        let Some(s) = suggest(&searcher, id, k) else {
            failed = true;
            let why = format!(
                "implant {id} has no {} vector (unknown id, or not embedded yet: run `raiox embed`)",
                encoder.id()
            );
            if cli.json {
                json_line(&serde_json::json!({"id": id, "error": why}))?;
            } else {
                outln!("{why}");
            }
            continue;
        };
        if cli.json {
            json_line(&s)?;
            continue;
        }
        let label = s.label.as_ref().map_or("unlabelled".to_string(), |(m, sys)| {
            format!("labelled {m} / {sys}")
        });
        outln!("implant {id} ({label}), {}:", encoder.id());
        if s.candidates.is_empty() {
            outln!("  no labelled neighbour to suggest from");
        }
        for (n, c) in s.candidates.iter().enumerate() {
            outln!(
                "  {}. {} / {}  {:.0} %",
                n + 1,
                c.manufacturer,
                c.system,
                100.0 * c.score
            );
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What `raiox review` was asked for.
pub struct ReviewArgs {
    /// Voting neighbours.
    pub k: usize,
    /// Entries shown per list.
    pub limit: usize,
    /// Near-copy threshold (default: the encoder's).
    pub threshold: Option<f32>,
    /// Implants whose entries to mark as checked.
    pub keep: Vec<i64>,
    /// Merge the duplicate group holding this implant into it.
    pub merge: Option<i64>,
}

/// One line of `raiox review --json`: an entry of one of the three lists.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Entry<'a> {
    Mislabel(&'a LikelyMislabel),
    Duplicate(&'a DuplicateGroup),
    Outlier(&'a Outlier),
}

/// The review queue (likely mislabels, copies, outliers), or a fix of it (`--keep`, `--merge`).
pub fn cmd_review(cli: &Cli, args: &ReviewArgs, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let (mut lib, encoder, searcher) = open_frozen_searcher(cli, choice)?;
    let threshold = args.threshold.unwrap_or_else(|| neardup::threshold(encoder.id()));
    if !(0.0..=1.0).contains(&threshold) {
        anyhow::bail!("--threshold must be a cosine similarity between 0 and 1, not {threshold}");
    }
    let copies = Searcher::ready_view(&lib, encoder.as_ref(), View::Context)?;
    let q = queue(&lib, &searcher, &copies, args.k, threshold)?;
    if let Some(id) = args.merge {
        let group = q
            .duplicates
            .iter()
            .find(|g| g.ids().contains(&id))
            .ok_or_else(|| {
                anyhow::anyhow!("implant {id} is in no duplicate group at cosine ≥ {threshold}")
            })?;
        let others: Vec<i64> = group.ids().into_iter().filter(|&o| o != id).collect();
        let kept = merge_copies(&mut lib, id, &others, group.merged_label())?;
        if cli.json {
            json_line(&serde_json::json!({"kept": kept.id, "deleted": others, "name": kept.name}))?;
        } else {
            outln!("kept implant {id}, deleted {} copies", others.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.keep.is_empty() {
        let mut failed = false;
        for &id in &args.keep {
            let marked = keep(&mut lib, &q, id)?;
            failed |= marked == 0;
            if cli.json {
                json_line(&serde_json::json!({"id": id, "checked": marked}))?;
            } else if marked == 0 {
                outln!("implant {id} is not in the review queue");
            } else {
                outln!("implant {id}: {marked} entries checked");
            }
        }
        return Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let limit = args.limit;
    if cli.json {
        let entries = (q.mislabels.iter().take(limit).map(Entry::Mislabel))
            .chain(q.duplicates.iter().take(limit).map(Entry::Duplicate))
            .chain(q.outliers.iter().take(limit).map(Entry::Outlier));
        for entry in entries {
            json_line(&entry)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let more = |n: usize| {
        if n > limit {
            format!(", the first {limit}")
        } else {
            String::new()
        }
    };
    outln!(
        "{} likely mislabels: labelled implants whose neighbours vote for another system ({}, k = {}){}",
        q.mislabels.len(),
        encoder.id(),
        args.k,
        more(q.mislabels.len())
    );
    for e in q.mislabels.iter().take(limit) {
        outln!(
            "implant {}: labelled {} / {} ({:.0} % of the vote), neighbours say {} / {} ({:.0} %)",
            e.id,
            e.manufacturer,
            e.system,
            100.0 * e.own_share,
            e.suggested.manufacturer,
            e.suggested.system,
            100.0 * e.suggested.score
        );
        e.evidence
            .iter()
            .take(3)
            .for_each(|n| outln!("{}", neighbour_line(n)));
    }
    outln!(
        "{} duplicate groups (identical standard image, or cosine ≥ {threshold}){}",
        q.duplicates.len(),
        more(q.duplicates.len())
    );
    for g in q.duplicates.iter().take(limit) {
        let members: Vec<String> = g
            .members
            .iter()
            .map(|m| match &m.label {
                Some((man, sys)) => format!("#{} {man} / {sys}", m.id),
                None => format!("#{} unlabelled", m.id),
            })
            .collect();
        outln!(
            "{} copies ({:.3}){}: {}",
            if g.exact { "exact" } else { "near" },
            g.similarity,
            if g.conflicting_labels {
                ", labels differ"
            } else {
                ""
            },
            members.join(", ")
        );
    }
    outln!(
        "{} outliers: far from the rest of their system{}",
        q.outliers.len(),
        more(q.outliers.len())
    );
    for o in q.outliers.iter().take(limit) {
        outln!(
            "implant {}: {} / {}, mean cosine to its own system {:.3} (system median {:.3}, {:.1} robust SD below)",
            o.id,
            o.manufacturer,
            o.system,
            o.typicality,
            o.system_median,
            o.score
        );
    }
    if q.hidden > 0 {
        outln!("{} checked entries not shown", q.hidden);
    }
    Ok(ExitCode::SUCCESS)
}

/// Unlabelled implants in the order worth labelling, with why.
pub fn cmd_next(cli: &Cli, k: usize, limit: usize, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let (_lib, encoder, searcher) = open_searcher(cli, choice)?;
    let order = label_next(&searcher, k);
    if cli.json {
        for item in order.iter().take(limit) {
            json_line(item)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} unlabelled implants with a {} vector; label these first:",
        order.len(),
        encoder.id()
    );
    for item in order.iter().take(limit) {
        let suggestion = item.suggestion.as_ref().map_or("no suggestion".to_string(), |c| {
            format!(
                "suggests {} / {} ({:.0} %)",
                c.manufacturer,
                c.system,
                100.0 * c.score
            )
        });
        outln!(
            "implant {}: uncertainty {:.2}, novelty {:.2}, {suggestion}",
            item.id,
            item.uncertainty,
            item.novelty
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Train a head on the labels (or switch heads off) and say whether searches now use it.
pub fn cmd_learn(cli: &Cli, k: usize, off: bool, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    let encoder = choose(&lib, choice)?;
    if off {
        let n = heads::deactivate(lib.conn(), &View::Fixture.stamp(encoder.as_ref()).head_key())?;
        settings::set(lib.conn(), AUTO_LEARN, "off")?;
        if cli.json {
            json_line(&serde_json::json!({"encoder": encoder.id(), "switched_off": n}))?;
        } else {
            outln!("{}: searches use the encoder's own vectors again", encoder.id());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = TrainOptions::default();
    let report = progress_bar::run_with_bar("learning", |ctl, _| {
        learn(&mut lib, encoder.as_ref(), k, &options, ctl)
    })?;
    if cli.json {
        json_line(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "head {} on {} ({} labelled implants of {} systems, {:.1} s)",
        report.head,
        report.encoder,
        report.trained_on,
        report.systems,
        report.seconds
    );
    outln!(
        "held-out identification (system top-1 of {} implants): {:.1} % with the encoder's vectors, {:.1} % with the head",
        report.after.implants,
        100.0 * report.before.system_top1,
        100.0 * report.after.system_top1
    );
    outln!(
        "{}",
        if report.active {
            "similarity and identify now use the head"
        } else {
            "not better: searches keep the encoder's own vectors"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// One implant of the map with the label it is coloured by.
#[derive(serde::Serialize)]
struct MapLine<'a> {
    id: i64,
    x: f32,
    y: f32,
    manufacturer: Option<&'a str>,
    system: Option<&'a str>,
    status: &'static str,
}

/// Every implant's map position (0..1) with its label and status, one line each, in id order.
pub fn cmd_map(cli: &Cli, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let (lib, encoder, searcher) = open_searcher(cli, choice)?;
    let stamp = searcher.stamp().clone();
    let map = progress_bar::run_with_bar("mapping", |ctl, _| {
        cached_map(lib.layout(), &stamp, &searcher.index, &MapParams::default(), ctl)
    })?;
    let Some(map) = map else {
        outln!("cancelled");
        return Ok(ExitCode::FAILURE);
    };
    let records: std::collections::HashMap<i64, images::ImageRecord> = images::list(lib.conn(), None)?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    if !cli.json {
        outln!(
            "{} implants mapped ({}); x and y in 0..1, similar implants lie close together",
            map.points.len(),
            encoder.id()
        );
    }
    for p in &map.points {
        let rec = records.get(&p.id);
        let line = MapLine {
            id: p.id,
            x: p.x,
            y: p.y,
            manufacturer: rec.and_then(|r| r.manufacturer.as_deref()),
            system: rec.and_then(|r| r.system.as_deref()),
            status: rec.map_or("unknown", |r| r.status.as_str()),
        };
        if cli.json {
            json_line(&line)?;
        } else {
            let label = match (line.manufacturer, line.system) {
                (Some(m), Some(s)) => format!("{m} / {s}"),
                _ => "unlabelled".to_string(),
            };
            outln!(
                "implant {:>6}  x {:.4}  y {:.4}  {:<10} {label}",
                p.id,
                p.x,
                p.y,
                line.status
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
