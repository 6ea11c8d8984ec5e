//! Command-line arguments (clap). Every GUI action has a subcommand here.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use anyhow::Context as _;

use raiox::catalogue::images::{Modality, Status};
use raiox::embed::select::EncoderChoice;
use raiox::library::Library;
use raiox::synth::FilmKind;

/// Raiox Studio: build the labelled dental-implant radiograph library behind Raiox AI.
#[derive(Debug, Parser)]
#[command(name = "raiox", version, about, propagate_version = true)]
pub struct Cli {
    /// Library folder (default: the platform data dir, e.g. ~/.local/share/raioxstudio).
    #[arg(long, global = true, env = "RAIOX_LIBRARY", value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// Machine-readable output: one JSON object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do (none: open the window when built with the `gui` feature).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import image files and folders (recursively) into the library.
    Import(ImportArgs),
    /// List the implants in the library (one line or JSON object per implant).
    List {
        /// Only implants with this status.
        #[arg(value_parser = choice(&Status::ALL, Status::as_str), long)]
        status: Option<Status>,
    },
    /// Show everything the library knows about one implant.
    Show {
        /// Implant id.
        id: i64,
    },
    /// List the films (imported originals) with their implants.
    Films {
        /// Only films on which no implant was found (draw one with `raiox box --film`).
        #[arg(long)]
        empty: bool,
    },
    /// Edit implants: move, resize or rotate a box, delete a false one, add a missed one.
    Box(BoxArgs),
    /// Measure the implant finder against annotated fixture boxes (`film,class,x,y,w,h`).
    EvalFinder {
        /// Folder of films; the CSV's film paths are relative to it.
        folder: PathBuf,
        /// Annotations (class `implant`, optionally `crown`); default FOLDER/boxes.csv.
        #[arg(long, value_name = "CSV")]
        boxes: Option<PathBuf>,
        /// Draw the films with misses or extra boxes into this folder (annotations green, finder red).
        #[arg(long, value_name = "DIR")]
        misses: Option<PathBuf>,
        /// Implants the annotations lack, checked by eye (same format): a box on one is counted
        /// apart, neither a hit nor a false box.
        #[arg(long, value_name = "CSV")]
        unannotated: Option<PathBuf>,
    },
    /// Set or change the manufacturer/system and attributes of images; confirm them.
    Label(LabelArgs),
    /// Change an implant's box (axis-aligned) or its film's polarity and re-derive its standard image.
    Crop(CropArgs),
    /// Re-derive standard images made by an older pipeline version (or every image with --all).
    Restandardise {
        /// Re-derive every image, not only stale ones.
        #[arg(long)]
        all: bool,
    },
    /// Export the catalogue as CSV or JSON (never includes source file names).
    Export(ExportArgs),
    /// List or extend the catalogue of manufacturers and systems.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Write a synthetic labelled radiograph set (OUT/<Manufacturer>/<System>/NNNN.png, labels.csv
    /// with every implant's box and angle, boxes.csv for the implant finder).
    Synth(SynthArgs),
    /// Compute or refresh image embeddings (does nothing when every vector is current).
    Embed {
        /// Encoder: clip (needs weights) or lite0 (bundled). Default: the library's active one.
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// The library images most similar to an image id or to an image file.
    Similar {
        /// Image id, or a path to an image (standardised and embedded on the fly).
        target: String,
        /// Neighbours to show.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Search production (pgvector HNSW) instead of the local cache.
        #[arg(long)]
        remote: bool,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// Which implant is in this X-ray? Ranked systems, evidence, or an honest "unknown".
    Identify {
        /// Image files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Labelled neighbours that vote.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// Who changed an implant's label, box or crop, when, from what to what (newest first), this
    /// library's changes and those pulled from production.
    History {
        /// Implant id.
        id: i64,
    },
    /// Show the curator name recorded with every change in this library, or set it.
    Curator {
        /// New name (at most 64 characters, no control characters); none: show the current one.
        name: Option<String>,
    },
    /// Suggested labels for implants: the top systems of their neighbours' vote, with their share.
    Suggest {
        /// Implant ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Labelled neighbours that vote.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// The review queue: labelled implants whose neighbours vote for another system (likely
    /// mislabels), groups of copies, and outliers of their system, each with its evidence.
    Review {
        /// Labelled neighbours that vote.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Entries to show at most, per list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Cosine similarity from which two implants are near copies (default: the encoder's
        /// import warning threshold).
        #[arg(long)]
        threshold: Option<f32>,
        /// Mark these implants' entries as checked: they leave the queue until they change.
        #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "merge")]
        keep: Vec<i64>,
        /// Merge the duplicate group holding this implant into it: it takes the group's label if
        /// it has none, the other copies are deleted.
        #[arg(long, value_name = "ID")]
        merge: Option<i64>,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// Learn a head from the labels: a projection of the encoder's vectors trained on the labelled
    /// implants, used for similarity and identify only when it identifies held-out ones better.
    Learn {
        /// Labelled neighbours that vote (for the held-out comparison).
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Stop using learned heads (searches go back to the encoder's own vectors).
        #[arg(long)]
        off: bool,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// Unlabelled implants in the order worth labelling: uncertain vote and far from anything
    /// labelled first, near copies of a listed one later.
    Next {
        /// Labelled neighbours that vote.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Implants to show at most.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// The embedding map: every implant placed in 2-D so that similar implants lie close together
    /// (computed once, then cached until the library's vectors change).
    Map {
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// Leave-one-out identification quality over the labelled images.
    Eval {
        /// Labelled neighbours that vote.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Also check the review queue: flip this share of the labels at random (in memory only,
        /// seeded) and report how many of them the queue puts in its first 2 × flipped entries.
        #[arg(long, value_name = "FRACTION")]
        flip: Option<f64>,
        /// Encoder (default: the library's active one).
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str), long)]
        encoder: Option<EncoderChoice>,
    },
    /// Show which encoders are available, or download CLIP weights.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Verify the library (database integrity, every file present and intact) and remove leftovers.
    Check,
    /// Synthesise a small labelled set, import it into the library, list it and evaluate identification.
    Demo {
        /// Images per implant system.
        #[arg(long, default_value_t = 6)]
        per_class: usize,
        /// Where to write the synthetic films.
        #[arg(long, default_value = "demo-synth")]
        synth_dir: PathBuf,
    },
    /// Open the Raiox Studio window (the default when no command is given).
    Gui,
    /// Push local changes to production (Spaces + PostgreSQL) and pull production's changes back.
    Sync(SyncArgs),
    /// Production settings: test the connections, show or save them.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Delete images from the library (and, at the next sync, from production).
    Delete {
        /// Image ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Items changed both here and in production (and production rows refused as unsafe): list
    /// them, or keep one side.
    #[command(subcommand)]
    Conflicts(ConflictsCommand),
    /// Originals of deleted images wait in the library's trash: list it or empty it.
    #[command(subcommand)]
    Trash(TrashCommand),
    /// Measure every performance goal on this machine (synthetic library, cached) and print a table.
    Bench(BenchArgs),
}

/// `raiox bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Run size: 10k (minutes) or 100k (the first run builds a library of several GB).
    #[arg(long, default_value = "10k")]
    pub scale: raiox::bench::Scale,
    /// Folder for the cached library, the anchors' inputs and results.json
    /// (default: the platform cache dir, e.g. ~/.cache/raioxstudio/bench).
    #[arg(long, env = "RAIOX_BENCH_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Also measure production (needs SPACES_* and DATABASE_URL; pushes synthetic items there,
    /// and runs the scale study in scratch schemas of the database, dropped afterwards).
    #[arg(long)]
    pub remote: bool,
    /// Measure production only, skipping the local measurements (implies --remote).
    #[arg(long)]
    pub remote_only: bool,
}

/// `raiox sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Show exactly what would be uploaded, updated, deleted and pulled; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only push local changes.
    #[arg(long, conflicts_with = "pull_only")]
    pub push_only: bool,
    /// Only pull production's changes.
    #[arg(long)]
    pub pull_only: bool,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Attempts per request before an item is reported as failed.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// `raiox remote ...`.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Test the object store and the database and say exactly what is wrong.
    Check,
    /// Show the settings in force (secrets masked) and where they come from.
    Show,
    /// Save settings to the config file (owner-only); unset flags keep their saved values.
    Set {
        /// Object store endpoint URL.
        #[arg(long)]
        endpoint: Option<String>,
        /// Bucket.
        #[arg(long)]
        bucket: Option<String>,
        /// Region (default: from the endpoint).
        #[arg(long)]
        region: Option<String>,
        /// Access key id.
        #[arg(long)]
        access_key: Option<String>,
        /// Read the secret key from this environment variable (never from the command line).
        #[arg(long, value_name = "VAR")]
        secret_key_env: Option<String>,
        /// Read the database URL from this environment variable (it holds a password).
        #[arg(long, value_name = "VAR")]
        database_url_env: Option<String>,
        /// Path-style addressing.
        #[arg(long)]
        path_style: Option<bool>,
        /// Upload objects public-read and store their URL.
        #[arg(long)]
        public_read: Option<bool>,
    },
}

/// `raiox conflicts ...`.
#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// List items in conflict.
    List,
    /// Keep this library's version: the next sync overwrites production.
    KeepLocal {
        /// Image id.
        id: i64,
    },
    /// Take production's version: the next sync overwrites the library.
    TakeRemote {
        /// Image id.
        id: i64,
    },
}

/// `raiox trash ...`.
#[derive(Debug, Subcommand)]
pub enum TrashCommand {
    /// List the originals in the trash.
    List,
    /// Delete them for good.
    Empty,
}

/// `raiox import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files, folders or http(s) URLs (may be left out with --labels: the CSV names the files).
    #[arg(required_unless_present_any = ["labels", "urls"], value_name = "PATH|URL")]
    pub paths: Vec<PathBuf>,
    /// Manufacturer for every imported file (with --system).
    #[arg(long, requires = "system")]
    pub manufacturer: Option<String>,
    /// System for every imported file.
    #[arg(long, conflicts_with_all = ["labels", "labels_from_dirs"])]
    pub system: Option<String>,
    /// CSV with header path,manufacturer,system (paths relative to the CSV).
    #[arg(long, value_name = "CSV", conflicts_with = "labels_from_dirs")]
    pub labels: Option<PathBuf>,
    /// Take labels from the folder layout <Manufacturer>/<System>/<file>.
    #[arg(long)]
    pub labels_from_dirs: bool,
    /// Mark labelled imports as confirmed.
    #[arg(long)]
    pub confirm: bool,
    /// Do not embed new images (and so skip the near-duplicate check); run `raiox embed` later.
    #[arg(long)]
    pub no_embed: bool,
    /// Do not train a head on the labels after a labelled import (see `raiox learn`).
    #[arg(long)]
    pub no_learn: bool,
    /// Add manufacturers and systems that labels name but the catalogue lacks, and label with them
    /// (without it such images are imported unlabelled, with the closest catalogue entries).
    #[arg(long)]
    pub add_unknown: bool,
    /// Download and import the URLs in FILE: one per line, optionally `url,manufacturer,system`.
    #[arg(long, value_name = "FILE")]
    pub urls: Option<PathBuf>,
    /// Seconds one download attempt may take.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub timeout: f64,
    /// Largest download accepted, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub max_size: u64,
    /// Attempts per URL when the server fails, times out or drops the connection.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Downloads in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

impl Default for ImportArgs {
    /// The same values as the command line's defaults (for `raiox demo`).
    fn default() -> Self {
        ImportArgs {
            paths: Vec::new(),
            manufacturer: None,
            system: None,
            labels: None,
            labels_from_dirs: false,
            confirm: false,
            no_embed: false,
            no_learn: false,
            add_unknown: false,
            urls: None,
            timeout: 60.0,
            max_size: 64,
            attempts: 3,
            concurrency: 4,
        }
    }
}

/// `raiox label`.
#[derive(Debug, Args)]
pub struct LabelArgs {
    /// Image ids.
    #[arg(required = true)]
    pub ids: Vec<i64>,
    /// Manufacturer (name or alias).
    #[arg(long)]
    pub manufacturer: Option<String>,
    /// System (name or alias; may include the manufacturer, e.g. "Straumann BLT").
    #[arg(long)]
    pub system: Option<String>,
    /// Mark as confirmed by a curator.
    #[arg(long)]
    pub confirm: bool,
    /// Remove the label.
    #[arg(long, conflicts_with_all = ["system", "confirm"])]
    pub unlabel: bool,
    /// Kind of image.
    #[arg(value_parser = choice(&Modality::ALL, Modality::as_str), long)]
    pub modality: Option<Modality>,
    /// Implant diameter in mm.
    #[arg(long)]
    pub diameter: Option<f64>,
    /// Implant length in mm.
    #[arg(long)]
    pub length: Option<f64>,
    /// Connection type.
    #[arg(long)]
    pub connection: Option<String>,
    /// Notes.
    #[arg(long)]
    pub notes: Option<String>,
}

/// `raiox crop`.
#[derive(Debug, Args)]
pub struct CropArgs {
    /// Implant id.
    pub id: i64,
    /// The fixture's box x,y,w,h in the film's pixels (the apex keeps its side).
    #[arg(long, conflicts_with = "auto")]
    pub rect: Option<raiox::standardise::BoxSpec>,
    /// Return to the box the implant finder proposes there.
    #[arg(long)]
    pub auto: bool,
    /// Film polarity: auto-detect, or force inverted / normal.
    #[arg(long)]
    pub invert: Option<Polarity>,
}

/// `raiox box`.
#[derive(Debug, Args)]
pub struct BoxArgs {
    /// Implant id (with --set, --find or --delete).
    #[arg(required_unless_present = "film", conflicts_with = "film")]
    pub id: Option<i64>,
    /// New box x,y,w,h[,angle]: the fixture's axis-aligned box in the film's pixels and its apex
    /// angle (0 = apex down, 180 = apex up; without it the apex keeps its side).
    #[arg(long, value_name = "x,y,w,h[,angle]", allow_hyphen_values = true, conflicts_with_all = ["delete", "find"])]
    pub set: Option<raiox::standardise::BoxSpec>,
    /// Go back to the box the implant finder proposes there.
    #[arg(long, conflicts_with = "delete")]
    pub find: bool,
    /// Remove a false implant from its film.
    #[arg(long)]
    pub delete: bool,
    /// Add an implant to this film (with --add).
    #[arg(long, value_name = "FILM_ID", requires = "add")]
    pub film: Option<i64>,
    /// The new implant's box x,y,w,h[,angle] (with --film).
    #[arg(
        long,
        value_name = "x,y,w,h[,angle]",
        allow_hyphen_values = true,
        requires = "film"
    )]
    pub add: Option<raiox::standardise::BoxSpec>,
}

/// Film polarity choice.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Polarity {
    /// Detect automatically.
    Auto,
    /// Treat the film as inverted.
    Inverted,
    /// Treat the film as normal.
    Normal,
}

/// `raiox export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also copy labelled standard images into this folder under their standard names.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array.
    Json,
}

/// `raiox models ...`.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The encoders, where their weights are, and which one the library uses.
    List,
    /// Download a model's weights (needs network).
    Fetch {
        /// Which model.
        #[arg(value_parser = choice(&EncoderChoice::ALL, EncoderChoice::as_str))]
        model: EncoderChoice,
    },
}

/// `raiox catalogue ...`.
#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// List manufacturers, systems and aliases.
    List,
    /// Add a manufacturer, or a system under a manufacturer, with optional aliases.
    Add {
        /// Manufacturer (new, or an existing name/alias when adding a system).
        #[arg(long)]
        manufacturer: String,
        /// System to add under the manufacturer.
        #[arg(long)]
        system: Option<String>,
        /// Extra names (repeatable).
        #[arg(long = "alias")]
        aliases: Vec<String>,
    },
}

/// `raiox synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output folder.
    pub out: PathBuf,
    /// Images per implant system.
    #[arg(long, default_value_t = 10)]
    pub per_class: usize,
    /// Random seed (same seed, same files).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Image side in pixels (bare films); the height of restored films (width: size × 340 / 410,
    /// or 2 × size for the panoramic-like strips).
    #[arg(long, default_value_t = 400)]
    pub size: u32,
    /// bare: one implant per square film; restored: 1–3 implants with crowns among natural
    /// teeth, upper or lower jaw, like real periapical films.
    #[arg(value_parser = choice(&FilmKind::ALL, FilmKind::as_str), long, default_value = "bare")]
    pub kind: FilmKind,
}

/// clap's parser for a core enum: offers its names and parses with the enum's own `FromStr`, so the
/// core needs no CLI dependency.
fn choice<T>(all: &[T], name: fn(T) -> &'static str) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static + std::str::FromStr<Err = String>,
{
    let names: Vec<&'static str> = all.iter().map(|v| name(*v)).collect();
    clap::builder::PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

impl Cli {
    pub fn open_library(&self) -> anyhow::Result<Library> {
        let root = match &self.library {
            Some(dir) => dir.clone(),
            None => {
                Library::default_root().context("no home folder: give --library DIR or set RAIOX_LIBRARY")?
            }
        };
        Library::open(&root).with_context(|| format!("opening the library at {}", root.display()))
    }
}
