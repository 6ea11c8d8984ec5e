//! `raiox suggest`, `raiox review` and `raiox map`: what the neighbours say about implants already
//! in the library — labels to accept, labels they contradict, and where each implant lies among
//! the others.

use std::process::ExitCode;

use anyhow::Result;

use super::args::Cli;
use super::output::json_line;
use super::progress_bar;
use super::search::{neighbour_line, open_searcher};
use raiox::catalogue::images;
use raiox::embed::select::EncoderChoice;
use raiox::search::map::{cached_map, MapParams};
use raiox::search::review::{likely_mislabels, suggest};

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

/// The likely mislabels, most certain first, each with the neighbours that disagree.
pub fn cmd_review(cli: &Cli, k: usize, limit: usize, choice: Option<EncoderChoice>) -> Result<ExitCode> {
    let (_lib, encoder, searcher) = open_searcher(cli, choice)?;
    let queue = likely_mislabels(&searcher, k);
    if cli.json {
        for entry in queue.iter().take(limit) {
            json_line(entry)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} labelled implants whose neighbours vote for another system ({}, k = {k}){}",
        queue.len(),
        encoder.id(),
        if queue.len() > limit {
            format!(", the first {limit}")
        } else {
            String::new()
        }
    );
    for e in queue.iter().take(limit) {
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
    let stamp = encoder.stamp();
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
