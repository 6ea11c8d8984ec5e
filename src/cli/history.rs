//! `raiox history` and `raiox curator`: an implant's label history, and the name it is recorded
//! under.

use std::process::ExitCode;

use anyhow::Result;

use super::args::Cli;
use super::output::json_line;
use raiox::catalogue::{history, settings};

/// One line (or JSON object) per change of the implant, newest first.
pub fn cmd_history(cli: &Cli, id: i64) -> Result<ExitCode> {
    let lib = cli.open_library()?;
    let changes = history::for_implant(lib.conn(), id)?;
    for change in &changes {
        if cli.json {
            json_line(change)?;
        } else {
            outln!("{}", change.summary());
        }
    }
    if changes.is_empty() && !cli.json {
        outln!("implant {id}: no recorded change");
    }
    Ok(ExitCode::SUCCESS)
}

/// Show the curator name, or set it (refused, with the reason, when it is not a plain name).
pub fn cmd_curator(cli: &Cli, name: Option<&str>) -> Result<ExitCode> {
    let lib = cli.open_library()?;
    let curator = match name {
        Some(name) => settings::set_curator(lib.conn(), name)?,
        None => settings::curator(lib.conn())?,
    };
    if cli.json {
        json_line(&serde_json::json!({ "curator": curator }))?;
    } else {
        outln!("{curator}");
    }
    Ok(ExitCode::SUCCESS)
}
