//! The `raiox` CLI: parses arguments, calls the library, prints human text or JSON lines.
//!
//! Why thin: every behaviour lives in the library so the GUI gets the same results; this module
//! only gathers parameters, shows progress on stderr and chooses exit codes (0 ok, 1 failure or a
//! refused file, 2 usage).

/// Print a line on standard output, ending quietly when the reader has gone (`| head`).
macro_rules! outln {
    () => {
        $crate::cli::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))
    };
}

mod args;
mod bench;
mod films;
mod history;
mod import;
mod output;
mod progress_bar;
mod review;
mod search;
mod sync;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

pub use args::Cli;
use args::{
    CatalogueCommand, Command, CropArgs, ExportArgs, ExportFormat, ImportArgs, LabelArgs, Polarity, SynthArgs,
};
use output::{json_line, print_record, summary_line};

use raiox::catalogue::images::{self, Attributes};
use raiox::catalogue::systems::{self, Catalogue};
use raiox::curate::{self, LabelChange};
use raiox::synth::{self, FilmKind, SynthOptions};

/// Entry point of the `raiox` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    output::quiet_broken_pipe_panics();
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    if output::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        ExitCode::from(130)
    } else {
        code
    }
}

/// The window, in builds that have it; the headless build says how to get it.
fn open_gui(cli: &Cli) -> Result<ExitCode> {
    #[cfg(feature = "gui")]
    {
        raiox::gui::run(cli.library.clone())?;
        Ok(ExitCode::SUCCESS)
    }
    #[cfg(not(feature = "gui"))]
    {
        let _ = cli;
        eprintln!("this raiox was built without the `gui` feature; run `raiox --help` for the commands");
        Ok(ExitCode::from(2))
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let Some(command) = &cli.command else {
        return open_gui(&cli);
    };
    match command {
        Command::Gui => open_gui(&cli),
        Command::Import(args) => import::cmd_import(&cli, args),
        Command::List { status } => {
            let lib = cli.open_library()?;
            for rec in images::list(lib.conn(), *status)? {
                if cli.json {
                    json_line(&rec)?;
                } else {
                    outln!("{}", summary_line(&rec));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id } => {
            let lib = cli.open_library()?;
            let rec = images::get(lib.conn(), *id)?;
            print_record(&lib, &rec, cli.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Films { empty } => films::cmd_films(&cli, *empty),
        Command::Box(args) => films::cmd_box(&cli, args),
        Command::EvalFinder {
            folder,
            boxes,
            misses,
            unannotated,
        } => films::cmd_eval_finder(
            &cli,
            folder,
            boxes.as_deref(),
            misses.as_deref(),
            unannotated.as_deref(),
        ),
        Command::Label(args) => cmd_label(&cli, args),
        Command::Crop(args) => cmd_crop(&cli, args),
        Command::Export(args) => cmd_export(&cli, args),
        Command::Restandardise { all } => {
            let mut lib = cli.open_library()?;
            let (n, outcome) = progress_bar::run_with_bar("re-deriving", |ctl, _| {
                curate::restandardise(&mut lib, *all, ctl)
            })?;
            if cli.json {
                json_line(&serde_json::json!({"restandardised": n, "outcome": outcome}))?;
            } else {
                outln!("{n} standard images re-derived");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalogue(c) => cmd_catalogue(&cli, c),
        Command::Synth(args) => cmd_synth(&cli, args),
        Command::Models(m) => search::cmd_models(&cli, m),
        Command::Embed { encoder } => search::cmd_embed(&cli, *encoder),
        Command::Similar {
            target,
            k,
            encoder,
            remote: false,
        } => search::cmd_similar(&cli, target, *k, *encoder),
        Command::Similar {
            target,
            k,
            encoder,
            remote: true,
        } => sync::cmd_similar_remote(&cli, target, *k, *encoder),
        Command::Sync(args) => sync::cmd_sync(&cli, args),
        Command::Remote(c) => sync::cmd_remote(&cli, c),
        Command::Delete { ids } => sync::cmd_delete(&cli, ids),
        Command::Conflicts(c) => sync::cmd_conflicts(&cli, c),
        Command::Trash(c) => sync::cmd_trash(&cli, c),
        Command::Bench(args) => bench::cmd_bench(&cli, args),
        Command::Identify { paths, k, encoder } => search::cmd_identify(&cli, paths, *k, *encoder),
        Command::Eval { k, encoder, flip } => search::cmd_eval(&cli, *k, *encoder, *flip),
        Command::History { id } => history::cmd_history(&cli, *id),
        Command::Curator { name } => history::cmd_curator(&cli, name.as_deref()),
        Command::Suggest { ids, k, encoder } => review::cmd_suggest(&cli, ids, *k, *encoder),
        Command::Review {
            k,
            limit,
            threshold,
            keep,
            merge,
            encoder,
        } => review::cmd_review(
            &cli,
            &review::ReviewArgs {
                k: *k,
                limit: *limit,
                threshold: *threshold,
                keep: keep.clone(),
                merge: *merge,
            },
            *encoder,
        ),
        Command::Next { k, limit, encoder } => review::cmd_next(&cli, *k, *limit, *encoder),
        Command::Learn { k, off, encoder } => review::cmd_learn(&cli, *k, *off, *encoder),
        Command::Map { encoder } => review::cmd_map(&cli, *encoder),
        Command::Check => {
            let lib = cli.open_library()?;
            let report = lib.check()?;
            if cli.json {
                json_line(&report)?;
            } else {
                outln!("database integrity: {}", report.integrity);
                outln!("records checked: {}", report.records);
                report.damaged.iter().for_each(|d| outln!("damaged: {d}"));
                outln!(
                    "leftovers removed: {} temporary, {} unreferenced",
                    report.swept.temp_files,
                    report.swept.orphans
                );
            }
            let ok = report.integrity == "ok" && report.damaged.is_empty();
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Demo { per_class, synth_dir } => {
            let synth_args = SynthArgs {
                out: synth_dir.clone(),
                per_class: *per_class,
                seed: 7,
                size: 400,
                kind: FilmKind::Bare,
            };
            cmd_synth(&cli, &synth_args)?;
            let import_args = ImportArgs {
                paths: vec![synth_dir.clone()],
                manufacturer: None,
                system: None,
                labels: Some(synth_dir.join("labels.csv")),
                ..ImportArgs::default()
            };
            let code = import::cmd_import(&cli, &import_args)?;
            let lib = cli.open_library()?;
            if !cli.json {
                outln!("\nLibrary at {}:", lib.root().display());
                for rec in images::list(lib.conn(), None)? {
                    outln!("{}", summary_line(&rec));
                }
                outln!();
                search::cmd_eval(&cli, 10, None, None)?;
            }
            Ok(code)
        }
    }
}

fn cmd_label(cli: &Cli, args: &LabelArgs) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    let change = LabelChange {
        manufacturer: args.manufacturer.clone(),
        system: args.system.clone(),
        unlabel: args.unlabel,
        confirm: args.confirm,
        attributes: Attributes {
            modality: args.modality,
            diameter_mm: args.diameter,
            length_mm: args.length,
            connection: args.connection.clone(),
            notes: args.notes.clone(),
        },
    };
    for rec in curate::label(&mut lib, &args.ids, &change)? {
        if cli.json {
            json_line(&rec)?;
        } else {
            outln!("{}", summary_line(&rec));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_crop(cli: &Cli, args: &CropArgs) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    let current = images::get(lib.conn(), args.id)?;
    let fixture = args
        .rect
        .map(|spec| raiox::standardise::Fixture::from_spec(&spec, current.fixture.as_ref()));
    let invert = args.invert.map(|p| match p {
        Polarity::Auto => None,
        Polarity::Inverted => Some(true),
        Polarity::Normal => Some(false),
    });
    if fixture.is_none() && !args.auto && invert.is_none() {
        anyhow::bail!("nothing to change: give --rect x,y,w,h, --auto or --invert");
    }
    let change = curate::BoxChange {
        fixture,
        refind: args.auto,
        invert,
    };
    let encoder = raiox::embed::select::choose(&lib, None)?;
    let rec = curate::change_box(&mut lib, args.id, change, encoder.as_ref())?;
    print_record(&lib, &rec, cli.json)?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_export(cli: &Cli, args: &ExportArgs) -> Result<ExitCode> {
    let lib = cli.open_library()?;
    let rows = raiox::export::rows(&lib)?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        ExportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        ExportFormat::Csv => raiox::export::write_csv(out, &rows)?,
    }
    if let Some(dir) = &args.images {
        let report = raiox::export::copy_images(&lib, dir)?;
        for (id, why) in &report.skipped {
            eprintln!("warning: image {id} not exported: {why}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_catalogue(cli: &Cli, command: &CatalogueCommand) -> Result<ExitCode> {
    let mut lib = cli.open_library()?;
    match command {
        CatalogueCommand::List => {
            let cat = Catalogue::load(lib.conn())?;
            if cli.json {
                return json_line(&cat).map(|_| ExitCode::SUCCESS);
            }
            for m in &cat.manufacturers {
                outln!("{}  [{}]{}", m.name, m.slug, aliases(&m.aliases));
                for s in cat.systems.iter().filter(|s| s.manufacturer_id == m.id) {
                    outln!("    {}  [{}]{}", s.name, s.slug, aliases(&s.aliases));
                }
            }
        }
        CatalogueCommand::Add {
            manufacturer,
            system,
            aliases: extra,
        } => {
            let (mid, sid) = match system {
                None => (
                    systems::add_manufacturer(lib.conn_mut(), manufacturer, extra)?,
                    None,
                ),
                Some(system) => {
                    let (mid, sid) = systems::find_or_add(lib.conn_mut(), manufacturer, system, extra)?;
                    (mid, Some(sid))
                }
            };
            let cat = Catalogue::load(lib.conn())?;
            let m = cat.manufacturer(mid).context("manufacturer just added")?;
            let s = sid.and_then(|id| cat.system(id));
            if cli.json {
                json_line(&serde_json::json!({"manufacturer": m, "system": s}))?;
            } else {
                outln!(
                    "{}{}",
                    m.name,
                    s.map(|s| format!(" / {}", s.name)).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn aliases(list: &[String]) -> String {
    if list.is_empty() {
        String::new()
    } else {
        format!("  aka {}", list.join(", "))
    }
}

fn cmd_synth(cli: &Cli, args: &SynthArgs) -> Result<ExitCode> {
    let opts = SynthOptions {
        per_class: args.per_class,
        seed: args.seed,
        size: args.size,
    };
    let report = progress_bar::run_with_bar("synthesising", |ctl, _| {
        synth::generate_with(&args.out, &opts, args.kind, ctl)
    })?;
    if cli.json {
        json_line(&report)?;
    } else {
        eprintln!(
            "wrote {} films of {} implant systems to {} (labels: {})",
            report.written,
            report.classes,
            args.out.display(),
            report.labels_csv.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
