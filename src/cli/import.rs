//! `raiox import`: files, folders, URLs and URL lists, with labels from the command line, a CSV,
//! the folder layout or the URL list.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::args::Cli;
use super::args::ImportArgs;
use super::output;
use super::progress_bar;
use raiox::embed::head::{refresh, TrainOptions, VOTE_K};
use raiox::ingest::import::{import_sources, ImportItem, ImportOptions, ImportSummary, ItemStatus, Sources};
use raiox::ingest::labels::{self, LabelSource};
use raiox::ingest::web::{self, UrlItem, WebOptions};
use raiox::progress::Outcome;
use raiox::sync::web::HttpDownloader;

/// Run `raiox import`; exit 1 when anything was refused.
pub fn cmd_import(cli: &Cli, args: &ImportArgs) -> Result<ExitCode> {
    let (mut paths, mut urls): (Vec<PathBuf>, Vec<UrlItem>) = (Vec::new(), Vec::new());
    for p in &args.paths {
        match p.to_str().filter(|s| web::is_url(s)) {
            Some(url) => urls.push(UrlItem {
                url: url.to_string(),
                label: None,
            }),
            None => paths.push(p.clone()),
        }
    }
    if let Some(list) = &args.urls {
        urls.extend(web::read_url_list(list)?);
    }
    // `--labels CSV` alone: the CSV names the files.
    if paths.is_empty() && urls.is_empty() && args.urls.is_none() {
        match &args.labels {
            Some(csv) => paths = labels::csv_files(csv)?,
            None => bail!("nothing to import: give files, folders or URLs, --labels CSV or --urls FILE"),
        }
    }
    let mut lib = cli.open_library()?;
    let labels = if let Some(system) = &args.system {
        LabelSource::Fixed {
            manufacturer: args.manufacturer.clone(),
            system: system.clone(),
        }
    } else if let Some(csv) = &args.labels {
        LabelSource::Csv(csv.clone())
    } else if args.labels_from_dirs {
        LabelSource::FromDirs
    } else {
        LabelSource::None
    };
    let encoder = if args.no_embed {
        None
    } else {
        match raiox::embed::select::choose(&lib, None) {
            Ok(e) => Some(std::sync::Arc::from(e)),
            Err(e) => {
                eprintln!("warning: images will not be embedded now ({e}); run `raiox embed` later");
                None
            }
        }
    };
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .with_context(|| format!("--timeout {}: give a positive number of seconds", args.timeout))?;
    let labelled = !matches!(labels, LabelSource::None);
    let opts = ImportOptions {
        labels,
        confirm: args.confirm,
        encoder,
        add_unknown: args.add_unknown,
        web: WebOptions {
            timeout,
            max_bytes: args.max_size.saturating_mul(1024 * 1024),
            attempts: args.attempts.max(1),
            concurrency: args.concurrency.max(1),
            ..WebOptions::default()
        },
        downloader: Some(Arc::new(HttpDownloader)),
        ..ImportOptions::default()
    };
    let sources = Sources {
        paths,
        urls,
        bytes: Vec::new(),
    };
    let json = cli.json;
    let summary = progress_bar::run_with_bar("importing", |ctl, bar| {
        import_sources(&mut lib, sources, &opts, ctl, &mut |item: &ImportItem| {
            let line = if json {
                serde_json::to_string(item).unwrap_or_default()
            } else {
                item_line(item)
            };
            bar.suspend(|| output::line(format_args!("{line}")));
        })
    })?;
    print_summary(&summary, json);
    if labelled && !args.no_learn && summary.outcome != Outcome::Cancelled {
        if let Some(encoder) = opts.encoder.as_deref() {
            refresh_head(&mut lib, encoder);
        }
    }
    Ok(if summary.refused > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// After a labelled import, train a head on the labels when they changed (kept only if it
/// identifies held-out implants better); a failure is a warning, the import itself stands.
fn refresh_head(lib: &mut raiox::library::Library, encoder: &dyn raiox::embed::Encoder) {
    let outcome = progress_bar::run_with_bar("learning", |ctl, _| {
        refresh(lib, encoder, VOTE_K, &TrainOptions::default(), ctl)
    });
    match outcome {
        Ok(Some(r)) => eprintln!("{}", r.summary()),
        Ok(None) => {}
        Err(e) => eprintln!("warning: no head learned from the labels ({e}); `raiox learn` tries again"),
    }
}

/// The end-of-run summary on stderr: totals, unknown labels with their counts and suggestions,
/// and what `--add-unknown` added.
fn print_summary(summary: &ImportSummary, json: bool) {
    if !json {
        eprintln!(
            "{} imported, {} duplicate, {} refused{}",
            summary.imported,
            summary.duplicates,
            summary.refused,
            if summary.outcome == Outcome::Cancelled {
                " (cancelled)"
            } else {
                ""
            }
        );
    }
    if !summary.unknown_labels.is_empty() {
        eprintln!(
            "unknown labels (those images are unlabelled; correct the names, or rerun with --add-unknown \
             to add them to the catalogue):"
        );
        for u in &summary.unknown_labels {
            let hint = match u.suggestions.as_slice() {
                [] => String::new(),
                s => format!(" — did you mean {}?", s.join(" or ")),
            };
            eprintln!(
                "  {}: {} image{}{hint}",
                u.label,
                u.images,
                if u.images == 1 { "" } else { "s" }
            );
        }
    }
    if !summary.added_to_catalogue.is_empty() {
        eprintln!(
            "added to the catalogue: {}",
            summary.added_to_catalogue.join(", ")
        );
    }
}

fn item_line(item: &ImportItem) -> String {
    match item.status {
        ItemStatus::Refused => format!(
            "refused    {}: {}",
            item.path,
            item.error.as_deref().unwrap_or("")
        ),
        status => {
            let word = if status == ItemStatus::Imported {
                "imported "
            } else {
                "duplicate"
            };
            // One film, its implants: `#id name [manufacturer / system]` each.
            let implants: Vec<String> = item
                .implants
                .iter()
                .map(|i| {
                    let label = match (&i.manufacturer, &i.system) {
                        (Some(m), Some(s)) => format!(" [{m} / {s}]"),
                        _ => String::new(),
                    };
                    format!("#{} {}{label}", i.id, i.name.as_deref().unwrap_or("(unlabelled)"))
                })
                .collect();
            let implants = if implants.is_empty() {
                "no implant found".to_string()
            } else {
                implants.join(", ")
            };
            let mut warnings = String::new();
            if let Some(d) = &item.near_duplicate {
                warnings.push_str(&format!(
                    "\n  warning: looks like a {}copy of #{} (similarity {:.3})",
                    if d.mirrored { "mirrored " } else { "" },
                    d.of,
                    d.similarity
                ));
            }
            if let Some(w) = &item.warning {
                warnings.push_str(&format!("\n  warning: {}: {w}", item.path));
            }
            format!(
                "{word}  film {:<6} {implants}  <- {}{warnings}",
                item.film_id.unwrap_or_default(),
                item.path
            )
        }
    }
}
