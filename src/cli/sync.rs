//! CLI commands for production: sync, remote check/show/set, delete, conflicts, similar --remote.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

use super::args::Cli;
use super::args::{ConflictsCommand, RemoteCommand, SyncArgs, TrashCommand};
use super::output::json_line;
use super::progress_bar;
use raiox::catalogue::vectors;
use raiox::curate;
use raiox::embed::select::{choose, EncoderChoice};
use raiox::embed::View;
use raiox::sync::config::Secret;
use raiox::sync::{self, outbox, RemoteConfig, SyncAction, SyncOptions, SyncReport};

pub fn cmd_sync(cli: &Cli, args: &SyncArgs) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    let cfg = RemoteConfig::load()?;
    let encoder = choose(&lib, None)?;
    let opts = SyncOptions {
        dry_run: args.dry_run,
        push: !args.pull_only,
        pull: !args.push_only,
        concurrency: args.concurrency.max(1),
        attempts: args.attempts.max(1),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..SyncOptions::default()
    };
    let report = progress_bar::run_with_bar("sync", |ctl, _| {
        sync::sync(&mut lib, &cfg, encoder.as_ref(), &opts, ctl)
    })?;
    if cli.json {
        json_line(&report)?;
    } else {
        print_report(&report);
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(r: &SyncReport) {
    for it in &r.items {
        let id = it.id.map(|i| format!("#{i}")).unwrap_or_default();
        println!("{:<14} {:<7} {}", it.action, id, it.key);
    }
    for it in r.conflicts.iter().chain(&r.failed) {
        let id = it.id.map(|i| format!("#{i}")).unwrap_or_default();
        println!(
            "{:<14} {:<7} {} {}",
            if it.action == SyncAction::Conflict {
                "CONFLICT"
            } else {
                "FAILED"
            },
            id,
            it.key,
            it.error.as_deref().unwrap_or("")
        );
    }
    println!("{}", r.summary());
}

pub fn cmd_remote(cli: &Cli, command: &RemoteCommand) -> Result<ExitCode> {
    match command {
        RemoteCommand::Check => {
            let lib = cli.open_library()?;
            let cfg = RemoteConfig::load()?;
            let encoder = choose(&lib, None)?;
            let report = sync::check(&cfg, encoder.as_ref())?;
            let ok = report.spaces.is_none() && report.database.is_none();
            if cli.json {
                json_line(&report)?;
            } else {
                match &report.spaces {
                    None => println!("spaces:   ok ({} / {})", cfg.spaces.endpoint, cfg.spaces.bucket),
                    Some(e) => println!("spaces:   FAILED: {e}"),
                }
                match (&report.database, report.rows) {
                    (None, Some(n)) => println!("database: ok ({n} live rows, TLS {})", report.database_tls),
                    (Some(e), _) => println!("database: FAILED: {e}"),
                    _ => {}
                }
                if let Some(w) = &report.warning {
                    println!("warning:  {w}");
                }
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        RemoteCommand::Show => {
            let cfg = RemoteConfig::load()?;
            let path = RemoteConfig::default_path();
            if cli.json {
                json_line(&serde_json::json!({
                    "config_file": path,
                    "endpoint": cfg.spaces.endpoint,
                    "bucket": cfg.spaces.bucket,
                    "region": cfg.spaces.region,
                    "access_key": cfg.spaces.access_key.to_string(),
                    "secret_key": cfg.spaces.secret_key.to_string(),
                    "database_url": cfg.database.url.to_string(),
                    "path_style": cfg.spaces.path_style,
                    "public_read": cfg.spaces.public_read,
                    "missing": cfg.missing(),
                }))?;
            } else {
                println!(
                    "config file: {}",
                    path.map(|p| p.display().to_string()).unwrap_or_default()
                );
                println!("{cfg:#?}");
                if !cfg.missing().is_empty() {
                    println!("missing: {}", cfg.missing().join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RemoteCommand::Set {
            endpoint,
            bucket,
            region,
            access_key,
            secret_key_env,
            database_url_env,
            path_style,
            public_read,
        } => {
            let path = RemoteConfig::default_path().context("no config folder: set RAIOX_CONFIG")?;
            let mut cfg = if path.is_file() {
                RemoteConfig::read(&path)?
            } else {
                RemoteConfig::default()
            };
            let from_env = |var: &str| {
                std::env::var(var).with_context(|| format!("environment variable {var} is not set"))
            };
            if let Some(v) = endpoint {
                cfg.spaces.endpoint = v.clone();
            }
            if let Some(v) = bucket {
                cfg.spaces.bucket = v.clone();
            }
            if let Some(v) = region {
                cfg.spaces.region = v.clone();
            }
            if let Some(v) = access_key {
                cfg.spaces.access_key = Secret::new(v.clone());
            }
            if let Some(var) = secret_key_env {
                cfg.spaces.secret_key = Secret::new(from_env(var)?);
            }
            if let Some(var) = database_url_env {
                cfg.database.url = Secret::new(from_env(var)?);
            }
            if path_style.is_some() {
                cfg.spaces.path_style = *path_style;
            }
            if let Some(v) = public_read {
                cfg.spaces.public_read = *v;
            }
            cfg.save(&path)?;
            println!("saved {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn cmd_delete(cli: &Cli, ids: &[i64]) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    let n = curate::delete(&mut lib, ids)?;
    if cli.json {
        json_line(&serde_json::json!({"deleted": ids}))?;
    } else {
        println!("{n} deleted (production follows at the next sync)");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cmd_conflicts(cli: &Cli, command: &ConflictsCommand) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    match command {
        ConflictsCommand::List => {
            for (id, rev, remote) in outbox::conflicts(lib.conn())? {
                let remote: serde_json::Value = serde_json::from_str(&remote)?;
                if cli.json {
                    json_line(&serde_json::json!({"id": id, "remote_revision": rev, "remote": remote}))?;
                } else {
                    println!(
                        "#{id:<6} production revision {rev}: {} / {} ({})",
                        remote["manufacturer"].as_str().unwrap_or(""),
                        remote["system"].as_str().unwrap_or(""),
                        remote["standard_name"].as_str().unwrap_or("")
                    );
                }
            }
            for (remote_id, rev, reason) in outbox::quarantined(lib.conn())? {
                if cli.json {
                    json_line(
                        &serde_json::json!({"quarantined": remote_id, "remote_revision": rev, "reason": reason}),
                    )?;
                } else {
                    println!("production row {remote_id} (revision {rev}) refused: {reason}");
                }
            }
        }
        ConflictsCommand::KeepLocal { id } => sync::resolve_conflict(&mut lib, *id, true)?,
        ConflictsCommand::TakeRemote { id } => sync::resolve_conflict(&mut lib, *id, false)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cmd_trash(cli: &Cli, command: &TrashCommand) -> Result<ExitCode> {
    let lib = cli.open_library()?;
    match command {
        TrashCommand::List => {
            for (path, bytes) in lib.trash()? {
                if cli.json {
                    json_line(&serde_json::json!({"path": path, "bytes": bytes}))?;
                } else {
                    println!("{bytes:>10}  {}", path.display());
                }
            }
        }
        TrashCommand::Empty => {
            let n = lib.empty_trash()?;
            if cli.json {
                json_line(&serde_json::json!({"removed": n}))?;
            } else {
                println!("{n} files removed from the trash");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cmd_similar_remote(
    cli: &Cli,
    target: &str,
    k: usize,
    choice: Option<EncoderChoice>,
) -> Result<ExitCode> {
    let lib = cli.open_library()?;
    let encoder = choose(&lib, choice)?;
    let cfg = RemoteConfig::load()?;
    let stamp = encoder.stamp();
    let vector_of = |id: i64| Ok(vectors::get(lib.conn(), &stamp, id)?);
    for q in super::search::queries(encoder.as_ref(), View::Context, target, vector_of, &lib)? {
        let exclude = match q.id {
            Some(id) => outbox::item(lib.conn(), id)?.map(|i| i.remote_id),
            None => None,
        };
        let found: Vec<_> =
            sync::similar_remote(&cfg, encoder.as_ref(), &q.vector, k + exclude.is_some() as usize)?
                .into_iter()
                .filter(|(row, _)| Some(row.id) != exclude)
                .take(k)
                .collect();
        if cli.json {
            let neighbours: Vec<_> = found
                .iter()
                .map(|(row, sim)| {
                    serde_json::json!({"remote_id": row.id, "similarity": sim, "name": row.standard_name,
                    "manufacturer": row.manufacturer, "system": row.system, "object_key": row.object_key})
                })
                .collect();
            let mut line = serde_json::to_value(&q)?;
            line["query"] = target.into();
            line["encoder"] = encoder.id().into();
            line["remote"] = true.into();
            line["neighbours"] = neighbours.into();
            json_line(&line)?;
        } else {
            println!(
                "most similar to {} in production ({}):",
                super::search::query_title(&q),
                encoder.id()
            );
            for (row, sim) in &found {
                println!(
                    "  {sim:.4}  {:<44} {} / {}",
                    row.standard_name, row.manufacturer, row.system
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
