//! `raiox suggest` and `raiox review`: what the neighbour vote says about implants already in the
//! library — labels to accept, and labels it contradicts.

use std::process::ExitCode;

use anyhow::Result;

use super::args::Cli;
use super::output::json_line;
use super::search::{neighbour_line, open_searcher};
use raiox::embed::select::EncoderChoice;
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
