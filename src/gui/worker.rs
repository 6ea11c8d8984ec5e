//! Background workers: the only place the window touches the library.
//!
//! Why: the UI thread must never block on SQLite, file I/O, decoding or the encoder. A worker is a
//! thread that owns its own [`Library`] handle (SQLite WAL lets several connections share a file),
//! takes [`Command`]s over a channel and answers with [`Reply`]s, waking the UI after each. The app
//! runs two: one for long cancellable jobs (import, embed) and one for quick interactive requests
//! (rows, labels, crops, similar, identify), so a 5 000-file import never delays a click.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use egui::ColorImage;
use image::GrayImage;

use crate::catalogue::films::{self, FilmRecord};
use crate::catalogue::history::{self, Change};
use crate::catalogue::images::{self, ImageRecord};
use crate::catalogue::systems::{self, Catalogue};
use crate::curate::{self, BoxChange, LabelChange};
use crate::decode::Decoded;
use crate::embed::head::{learn, refresh, TrainOptions};
use crate::embed::select::choose;
use crate::embed::{Encoder, View};
use crate::embedding::{embed_film, embed_library};
use crate::gui::state::Row;
use crate::ingest::import::{import_sources, ImportItem, ImportOptions, Sources};
use crate::library::{Layout, Library};
use crate::progress::{JobControl, Outcome};
use crate::search::identify::{Candidate, Identification, Neighbour, Searcher};
use crate::search::map::{self, cached_map, MapParams};
use crate::search::neardup::{self, copies_first, standard_image};
use crate::search::next::label_next;
use crate::search::review::{self, suggest_together, ReviewQueue};
use crate::standardise::{develop, standardise_implant, Fixture};
use crate::sync::web::HttpDownloader;
use crate::sync::{self, CheckReport, RemoteConfig, SyncOptions, SyncReport};
use crate::Error;

/// Longest side of an original as shown in the inspector (the crop is still in original pixels).
const DISPLAY_SIDE: u32 = 1024;

/// Where a failure happened, so the window shows it next to what the curator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Opening the library or listing it.
    Library,
    /// Importing files.
    Import,
    /// Labelling or the catalogue.
    Label,
    /// The inspector: opening, previewing or saving a crop.
    Crop,
    /// Finding similar images.
    Similar,
    /// Identifying an outside X-ray.
    Identify,
    /// Embedding.
    Embed,
    /// Sync with production (settings, connection test, plan, run, conflicts).
    Sync,
    /// Label suggestions (a failure only means there is nothing to suggest from).
    Suggest,
    /// The review queue and its fixes.
    Review,
    /// The embedding map.
    Map,
}

/// Something for a worker to do.
pub enum Command {
    /// List every image and the catalogue (after any change made elsewhere).
    LoadRows,
    /// Import files, folders, URLs and in-memory images, reporting each; embeds new images.
    Import {
        /// What to import.
        sources: Sources,
        /// Cancel flag and progress channel.
        ctl: JobControl,
    },
    /// Compute missing or stale vectors with the active encoder.
    Embed {
        /// Cancel flag and progress channel.
        ctl: JobControl,
    },
    /// Apply one label change to several images.
    Label {
        /// Images.
        ids: Vec<i64>,
        /// The change.
        change: LabelChange,
    },
    /// Add a system (and its manufacturer when new) to the catalogue.
    AddSystem {
        /// Manufacturer name (existing or new).
        manufacturer: String,
        /// System name.
        system: String,
    },
    /// Load one implant for the inspector: its film, the film's implants, the film's and its
    /// standard pixels.
    Open {
        /// Implant id.
        id: i64,
    },
    /// Load a film (one with no implant yet, to draw one) for the inspector.
    OpenFilm {
        /// Film id.
        film_id: i64,
    },
    /// Standardise the open implant with another box, without saving.
    Preview {
        /// Implant id.
        id: i64,
        /// The box in film pixels.
        fixture: Fixture,
    },
    /// Change an implant's box (or go back to the finder's), re-derive and re-embed it.
    SetBox {
        /// Implant id.
        id: i64,
        /// The change.
        change: BoxChange,
    },
    /// Add an implant the finder missed to a film, standardise and embed it, and open it.
    AddImplant {
        /// Film id.
        film_id: i64,
        /// Its box in film pixels.
        fixture: Fixture,
    },
    /// Remove a false implant from its film.
    RemoveImplant {
        /// Implant id.
        id: i64,
    },
    /// The nearest library images of a library image.
    Similar {
        /// Image id.
        id: i64,
        /// How many.
        k: usize,
    },
    /// Which system is in an image file from outside the library.
    Identify {
        /// The file.
        path: PathBuf,
        /// Voting neighbours.
        k: usize,
    },
    /// Learn a head from the labels (kept only when it identifies held-out implants better).
    Learn {
        /// Voting neighbours of the held-out comparison.
        k: usize,
        /// Cancel flag and progress channel.
        ctl: JobControl,
        /// Only when the labels changed since the newest head, and not after `raiox learn --off`
        /// (the window's automatic training after labelling).
        only_if_changed: bool,
    },
    /// An implant's history (after a change to it).
    History {
        /// Implant id.
        id: i64,
    },
    /// Compute (or load from the cache) the embedding map of every implant.
    Map {
        /// Cancel flag and progress channel.
        ctl: JobControl,
    },
    /// What the neighbours suggest for implants about to be labelled.
    Suggest {
        /// The implants (the selection, or the current one).
        ids: Vec<i64>,
        /// Voting neighbours.
        k: usize,
    },
    /// Build the review queue (likely mislabels, copies, outliers).
    Review {
        /// Voting neighbours.
        k: usize,
        /// Cosine from which two implants are near copies (`None`: the encoder's default).
        threshold: Option<f32>,
    },
    /// Mark an implant's review entries as checked (they leave the queue until they change).
    Keep {
        /// Implant id.
        id: i64,
    },
    /// Merge a group of copies into one implant.
    Merge {
        /// The implant that stays.
        keep: i64,
        /// The copies deleted.
        others: Vec<i64>,
        /// The label the kept implant takes when it has none.
        label: Option<(String, String)>,
    },
    /// The order worth labelling the unlabelled implants in.
    LabelNext {
        /// Voting neighbours.
        k: usize,
    },
    /// Production: settings, connection test, plan, run, conflicts.
    Sync(SyncCommand),
}

/// Commands about production (`crate::sync`).
pub enum SyncCommand {
    /// Read the settings (config file, then environment).
    LoadConfig,
    /// Save the settings to the config file.
    SaveConfig(Box<RemoteConfig>),
    /// Test both connections with these settings.
    Check(Box<RemoteConfig>),
    /// Plan (`dry_run`) or run a sync with the saved settings.
    Run {
        /// Only work out what would change.
        dry_run: bool,
        /// Cancel flag and progress channel.
        ctl: JobControl,
    },
    /// Resolve a conflict.
    Resolve {
        /// Image id.
        id: i64,
        /// Keep this library's version (else take production's).
        keep_local: bool,
    },
}

/// What a worker answers. Every command ends with exactly one [`Reply::Finished`].
pub enum Reply {
    /// The library is open.
    Ready {
        /// Where its files live (for the thumbnail loader).
        layout: Layout,
    },
    /// Every image and the catalogue.
    Rows {
        /// One row per image, in id order.
        rows: Vec<Row>,
        /// The catalogue snapshot.
        catalogue: Catalogue,
        /// The encoder searches use (or why it cannot be loaded).
        encoder: Option<String>,
        /// Images with a change queued for production.
        pending: Vec<i64>,
        /// Images in conflict with production.
        conflicts: Vec<i64>,
        /// Films on which no implant was found (they need one drawn).
        empty_films: Vec<i64>,
    },
    /// One imported (or refused) file.
    Imported(ImportItem),
    /// A long job ended; `text` is its summary.
    JobEnded {
        /// Where it ran.
        place: Place,
        /// Summary for the curator.
        text: String,
    },
    /// Records after a label change, with the change that was applied.
    Labelled {
        /// The updated records.
        records: Vec<ImageRecord>,
    },
    /// The catalogue after an addition.
    Catalogue(Catalogue),
    /// A film opened for inspection.
    Opened {
        /// The film.
        film: Box<FilmRecord>,
        /// Its implants.
        implants: Vec<ImageRecord>,
        /// The implant to show (`None`: the film has none, or the open one was removed).
        current: Option<i64>,
        /// The film, contrast-stretched, at most [`DISPLAY_SIDE`] a side.
        original: Arc<ColorImage>,
        /// The current implant's stored standard image.
        standard: Option<Arc<ColorImage>>,
    },
    /// A box preview.
    Preview {
        /// Implant id.
        id: i64,
        /// The 224×224 result.
        image: Arc<ColorImage>,
    },
    /// A saved box.
    Recropped {
        /// The updated record.
        record: Box<ImageRecord>,
        /// Its new standard image.
        standard: Arc<ColorImage>,
    },
    /// Neighbours of a library image.
    Similar {
        /// The query image.
        id: i64,
        /// Best first.
        neighbours: Vec<Neighbour>,
    },
    /// The answer for an outside image.
    Identified {
        /// The file.
        path: PathBuf,
        /// The file as the model sees it.
        query: Arc<ColorImage>,
        /// Ranked systems, evidence and verdict.
        result: Identification,
        /// False when the library is too small to judge (verdict is always unknown).
        calibrated: bool,
    },
    /// Suggestions for implants about to be labelled.
    Suggested {
        /// The implants asked about.
        ids: Vec<i64>,
        /// Top systems of the vote with their share, best first.
        candidates: Vec<Candidate>,
    },
    /// The review queue (with the near-copy threshold it used).
    Review(Box<ReviewQueue>, f32),
    /// The unlabelled implants, in the order worth labelling.
    NextOrder(Vec<i64>),
    /// An implant's history, newest first.
    History {
        /// Implant id.
        id: i64,
        /// Its changes.
        changes: Vec<Change>,
    },
    /// The embedding map (`None`: cancelled).
    Map(Option<Vec<crate::search::map::MapPoint>>),
    /// Where the last identified X-ray falls on the cached map, if there is one.
    MapQuery(Option<[f32; 2]>),
    /// Production settings as loaded.
    SyncConfig(Box<RemoteConfig>),
    /// Settings saved (where).
    SyncSaved(String),
    /// Result of a connection test.
    SyncChecked(CheckReport),
    /// A plan or a run ended.
    Synced(Box<SyncReport>),
    /// A conflict was resolved.
    Resolved(i64),
    /// Something failed; shown where it happened.
    Failed {
        /// Where.
        place: Place,
        /// Why.
        message: String,
    },
    /// The command is done (counted by the app to know when it is idle).
    Finished,
}

/// Order of opening between two workers of one library.
pub enum Gate {
    /// Open at once, then signal.
    First(Sender<()>),
    /// Open once the first worker signalled.
    After(Receiver<()>),
}

impl Gate {
    /// A pair of gates: the first worker's and the second's.
    pub fn pair() -> (Gate, Gate) {
        let (tx, rx) = mpsc::channel();
        (Gate::First(tx), Gate::After(rx))
    }
}

/// A thread that owns a library connection and runs commands one at a time.
pub struct Worker {
    tx: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Start a worker on the library at `root`; replies go to `out`, and `ctx` is woken after each.
    ///
    /// A new library is created by the first connection that opens it, so a second worker passes
    /// `gate`: it opens the library only after the first one signalled (`opened`) that it tried.
    pub fn spawn(name: &str, root: PathBuf, out: Sender<Reply>, ctx: egui::Context, gate: Gate) -> Worker {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("raiox-{name}"))
            .spawn(move || {
                let opened = match gate {
                    Gate::First(opened) => Some(opened),
                    Gate::After(first) => {
                        let _ = first.recv();
                        None
                    }
                };
                run(root, rx, out, ctx, opened)
            })
            .expect("spawn worker thread");
        Worker {
            tx,
            thread: Some(thread),
        }
    }

    /// Queue a command; false when the worker has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.tx.send(command).is_ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the loop once the running command returns; do not wait for it.
        let (dead, _) = mpsc::channel();
        self.tx = dead;
        drop(self.thread.take());
    }
}

/// The per-thread state: the library and what is worth keeping between commands.
struct Session {
    lib: Library,
    encoder: Option<Arc<dyn Encoder>>,
    searcher: Option<Searcher>,
    /// The context-view searcher: similar implants and copies (the same implant, not the system).
    copies: Option<Searcher>,
    review: Option<ReviewQueue>,
    decoded: Option<(i64, Decoded)>,
}

fn run(
    root: PathBuf,
    rx: Receiver<Command>,
    out: Sender<Reply>,
    ctx: egui::Context,
    opened: Option<Sender<()>>,
) {
    let send = |reply: Reply| {
        let _ = out.send(reply);
        ctx.request_repaint();
    };
    let lib = Library::open(&root);
    if let Some(opened) = opened {
        let _ = opened.send(());
    }
    let mut session = match lib {
        Ok(lib) => {
            send(Reply::Ready {
                layout: lib.layout().clone(),
            });
            Some(Session {
                lib,
                encoder: None,
                searcher: None,
                copies: None,
                review: None,
                decoded: None,
            })
        }
        Err(e) => {
            send(Reply::Failed {
                place: Place::Library,
                message: format!("cannot open the library at {}: {e}", root.display()),
            });
            None
        }
    };
    while let Ok(mut command) = rx.recv() {
        // A newer preview of the same image makes an older one pointless while the curator drags.
        while matches!(command, Command::Preview { .. }) {
            match rx.try_recv() {
                Ok(next @ Command::Preview { .. }) => {
                    send(Reply::Finished);
                    command = next;
                }
                Ok(other) => {
                    handle_or_fail(session.as_mut(), command, &send);
                    send(Reply::Finished);
                    command = other;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        handle_or_fail(session.as_mut(), command, &send);
        send(Reply::Finished);
    }
}

fn handle_or_fail(session: Option<&mut Session>, command: Command, send: &dyn Fn(Reply)) {
    let place = place_of(&command);
    let result = match session {
        Some(s) => s.handle(command, send),
        None => Err(Error::Invalid("the library could not be opened".into())),
    };
    if let Err(e) = result {
        send(Reply::Failed {
            place,
            message: e.to_string(),
        });
    }
}

fn place_of(command: &Command) -> Place {
    match command {
        Command::LoadRows => Place::Library,
        Command::Import { .. } => Place::Import,
        Command::Embed { .. } | Command::Learn { .. } => Place::Embed,
        Command::Label { .. } | Command::AddSystem { .. } => Place::Label,
        Command::Open { .. }
        | Command::OpenFilm { .. }
        | Command::Preview { .. }
        | Command::SetBox { .. }
        | Command::AddImplant { .. }
        | Command::RemoveImplant { .. } => Place::Crop,
        Command::Similar { .. } => Place::Similar,
        Command::Identify { .. } => Place::Identify,
        Command::Sync(_) => Place::Sync,
        Command::Suggest { .. } | Command::LabelNext { .. } => Place::Suggest,
        Command::Review { .. } | Command::Keep { .. } | Command::Merge { .. } => Place::Review,
        Command::History { .. } => Place::Crop,
        Command::Map { .. } => Place::Map,
    }
}

impl Session {
    fn handle(&mut self, command: Command, send: &dyn Fn(Reply)) -> Result<(), Error> {
        match command {
            Command::LoadRows => {
                self.forget_searchers();
                send(self.rows()?);
            }
            Command::Import { sources, ctl } => {
                let opts = ImportOptions {
                    encoder: Some(self.encoder()?),
                    downloader: Some(Arc::new(HttpDownloader)),
                    ..ImportOptions::default()
                };
                let summary = import_sources(&mut self.lib, sources, &opts, &ctl, &mut |item| {
                    send(Reply::Imported(item.clone()))
                })?;
                self.forget_searchers();
                send(Reply::JobEnded {
                    place: Place::Import,
                    text: format!(
                        "{} imported, {} duplicates, {} refused{}",
                        summary.imported,
                        summary.duplicates,
                        summary.refused,
                        cancelled_note(summary.outcome)
                    ),
                });
            }
            Command::Embed { ctl } => {
                let encoder = self.encoder()?;
                let summary = embed_library(&mut self.lib, encoder.as_ref(), &ctl)?;
                self.forget_searchers();
                send(Reply::JobEnded {
                    place: Place::Embed,
                    text: format!(
                        "{}: {} embedded, {} up to date, {} failed{}",
                        summary.encoder,
                        summary.embedded,
                        summary.up_to_date,
                        summary.failures.len(),
                        cancelled_note(summary.outcome)
                    ),
                });
            }
            Command::Label { ids, change } => {
                let records = curate::label(&mut self.lib, &ids, &change)?;
                // The vectors did not change: the searcher follows the labels instead of reloading.
                for searcher in [&mut self.searcher, &mut self.copies].into_iter().flatten() {
                    searcher.relabelled(&records);
                }
                send(Reply::Labelled { records });
            }
            Command::Learn {
                k,
                ctl,
                only_if_changed,
            } => {
                let encoder = self.encoder()?;
                let (lib, options) = (&mut self.lib, TrainOptions::default());
                let r = if only_if_changed {
                    refresh(lib, encoder.as_ref(), k, &options, &ctl)?
                } else {
                    Some(learn(lib, encoder.as_ref(), k, &options, &ctl)?)
                };
                self.forget_searchers();
                let text = r.map_or_else(
                    || "no head trained (labels unchanged, too few, or learning is off)".into(),
                    |r| r.summary(),
                );
                send(Reply::JobEnded {
                    place: Place::Embed,
                    text,
                });
            }
            Command::Suggest { ids, k } => {
                let candidates = suggest_together(self.searcher()?, &ids, k);
                send(Reply::Suggested { ids, candidates });
            }
            Command::Review { k, threshold } => {
                let encoder = self.encoder()?;
                let threshold = threshold.unwrap_or_else(|| neardup::threshold(encoder.id()));
                // On the encoder's own vectors: a learned head has seen the labels, mistakes too.
                let frozen = Searcher::ready_frozen(&self.lib, encoder.as_ref())?;
                self.copies()?;
                let copies = self.copies.as_ref().expect("just loaded");
                let found = review::queue(&self.lib, &frozen, copies, k, threshold)?;
                self.review = Some(found.clone());
                send(Reply::Review(Box::new(found), threshold));
            }
            Command::Keep { id } => {
                let queue = self
                    .review
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("open the review queue first".into()))?;
                review::keep(&mut self.lib, queue, id)?;
            }
            Command::Merge { keep, others, label } => {
                let kept = curate::merge_copies(&mut self.lib, keep, &others, label)?;
                self.forget_searchers();
                send(Reply::Labelled { records: vec![kept] });
                send(self.rows()?);
            }
            Command::LabelNext { k } => {
                let order = label_next(self.searcher()?, k)
                    .into_iter()
                    .map(|i| i.id)
                    .collect();
                send(Reply::NextOrder(order));
            }
            Command::AddSystem { manufacturer, system } => {
                systems::find_or_add(self.lib.conn_mut(), &manufacturer, &system, &[])?;
                send(Reply::Catalogue(Catalogue::load(self.lib.conn())?));
            }
            Command::Open { id } => {
                let film_id = images::get(self.lib.conn(), id)?.film_id.ok_or_else(|| {
                    Error::Invalid(format!("implant {id} came from production: its film is not here"))
                })?;
                send(self.open_film(film_id, Some(id))?);
                send(self.history(id)?);
            }
            Command::History { id } => send(self.history(id)?),
            Command::Map { ctl } => {
                // The searcher's index holds the encoder's own fixture-view vectors, head or no head.
                self.searcher()?;
                let searcher = self.searcher.as_ref().expect("just loaded");
                let found = cached_map(
                    self.lib.layout(),
                    searcher.stamp(),
                    &searcher.index,
                    &MapParams::default(),
                    &ctl,
                )?;
                send(Reply::Map(found.map(|m| m.points)));
            }
            Command::OpenFilm { film_id } => send(self.open_film(film_id, None)?),
            Command::Preview { id, fixture } => {
                let params = images::get(self.lib.conn(), id)?.params;
                let film = develop(self.decoded(id)?, params.invert)?;
                let std = standardise_implant(&film, &fixture, &params)?;
                send(Reply::Preview {
                    id,
                    image: Arc::new(gray_image(&std.image)),
                });
            }
            Command::SetBox { id, change } => {
                let encoder = self.encoder()?;
                let record = curate::change_box(&mut self.lib, id, change, encoder.as_ref())?;
                self.forget_searchers();
                let standard = self.standard_image(&record)?;
                send(Reply::Recropped {
                    record: Box::new(record),
                    standard,
                });
            }
            Command::AddImplant { film_id, fixture } => {
                let encoder = self.encoder()?;
                let record = curate::add_implant(&mut self.lib, film_id, fixture, encoder.as_ref())?;
                self.forget_searchers();
                send(self.open_film(film_id, Some(record.id))?);
                send(self.rows()?);
            }
            Command::RemoveImplant { id } => {
                let film_id = images::get(self.lib.conn(), id)?.film_id;
                curate::remove_implant(&mut self.lib, id)?;
                self.forget_searchers();
                if let Some(film_id) = film_id {
                    send(self.open_film(film_id, None)?);
                }
                send(self.rows()?);
            }
            Command::Similar { id, k } => {
                let copies = self.copies()?;
                let query = copies.index.vector(id).ok_or(Error::NotEmbedded(id))?;
                let mut neighbours = copies.similar(query, k, Some(id));
                if let Some(image) = standard_image(&self.lib, id) {
                    copies_first(&image, &mut neighbours, |n| standard_image(&self.lib, n));
                }
                send(Reply::Similar { id, neighbours });
            }
            Command::Sync(c) => self.sync(c, send)?,
            Command::Identify { path, k } => {
                let encoder = self.encoder()?;
                let found = embed_film(encoder.as_ref(), &path)?;
                // The window answers for the film's most fixture-like implant, the first found.
                let first = found
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::Invalid(format!("{}: nothing to identify", path.display())))?;
                let vector = first.fixture_vector;
                let query = display(&first.image);
                self.searcher()?;
                let searcher = self.searcher.as_ref().expect("just loaded");
                let calibration = searcher.calibration(&self.lib, k)?;
                let result = searcher.identify(&vector, k, calibration.as_ref());
                send(Reply::Identified {
                    path,
                    query,
                    result,
                    calibrated: calibration.is_some(),
                });
                // Shown on the map page when a map of these very vectors is cached (the searcher's
                // index holds the encoder's own vectors, head or no head).
                let params = MapParams::default();
                let stamp = searcher.stamp();
                let fingerprint = map::fingerprint(stamp, &searcher.index, &params);
                let placed = map::load_cached(self.lib.layout(), &stamp.encoder_id, &fingerprint)
                    .and_then(|m| m.place(&searcher.index, &vector, 10));
                send(Reply::MapQuery(placed));
            }
        }
        Ok(())
    }

    fn sync(&mut self, command: SyncCommand, send: &dyn Fn(Reply)) -> Result<(), Error> {
        match command {
            SyncCommand::LoadConfig => send(Reply::SyncConfig(Box::new(RemoteConfig::load()?))),
            SyncCommand::SaveConfig(cfg) => {
                let path = RemoteConfig::default_path()
                    .ok_or_else(|| Error::Invalid("no config folder: set RAIOX_CONFIG".into()))?;
                cfg.save(&path)?;
                send(Reply::SyncSaved(path.display().to_string()));
            }
            SyncCommand::Check(cfg) => {
                let encoder = self.encoder()?;
                send(Reply::SyncChecked(sync::check(&cfg, encoder.as_ref())?));
            }
            SyncCommand::Run { dry_run, ctl } => {
                let cfg = RemoteConfig::load()?;
                let missing = cfg.missing();
                if !missing.is_empty() {
                    return Err(Error::Invalid(format!(
                        "production settings missing: {} (open Settings in this window)",
                        missing.join(", ")
                    )));
                }
                let encoder = self.encoder()?;
                let opts = SyncOptions {
                    dry_run,
                    ..SyncOptions::default()
                };
                let report = sync::sync(&mut self.lib, &cfg, encoder.as_ref(), &opts, &ctl)?;
                self.forget_searchers();
                send(Reply::Synced(Box::new(report)));
            }
            SyncCommand::Resolve { id, keep_local } => {
                sync::resolve_conflict(&mut self.lib, id, keep_local)?;
                send(Reply::Resolved(id));
            }
        }
        Ok(())
    }

    fn rows(&mut self) -> Result<Reply, Error> {
        // The encoder queries will use (loading it here also warms it up for the first search).
        let encoder = match self.encoder() {
            Ok(e) => Some(e.id().to_string()),
            Err(e) => Some(format!("unavailable: {e}")),
        };
        let rows = images::list(self.lib.conn(), None)?
            .iter()
            .map(Row::from)
            .collect();
        Ok(Reply::Rows {
            rows,
            catalogue: Catalogue::load(self.lib.conn())?,
            encoder,
            pending: sync::outbox::pending(self.lib.conn())?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            conflicts: sync::outbox::conflicts(self.lib.conn())?
                .into_iter()
                .map(|c| c.0)
                .collect(),
            empty_films: films::list(self.lib.conn(), true)?
                .into_iter()
                .map(|f| f.id)
                .collect(),
        })
    }

    fn history(&self, id: i64) -> Result<Reply, Error> {
        Ok(Reply::History {
            id,
            changes: history::for_implant(self.lib.conn(), id)?,
        })
    }

    fn encoder(&mut self) -> Result<Arc<dyn Encoder>, Error> {
        if self.encoder.is_none() {
            self.encoder = Some(Arc::from(choose(&self.lib, None)?));
        }
        Ok(Arc::clone(self.encoder.as_ref().expect("just loaded")))
    }

    fn searcher(&mut self) -> Result<&Searcher, Error> {
        if self.searcher.is_none() {
            let encoder = self.encoder()?;
            self.searcher = Some(Searcher::ready(&self.lib, encoder.as_ref())?);
        }
        Ok(self.searcher.as_ref().expect("just loaded"))
    }

    /// The context-view searcher (see [`Session::copies`]).
    fn copies(&mut self) -> Result<&Searcher, Error> {
        if self.copies.is_none() {
            let encoder = self.encoder()?;
            self.copies = Some(Searcher::ready_view(&self.lib, encoder.as_ref(), View::Context)?);
        }
        Ok(self.copies.as_ref().expect("just loaded"))
    }

    /// Drop both searchers: the library's vectors changed.
    fn forget_searchers(&mut self) {
        self.searcher = None;
        self.copies = None;
    }

    /// The decoded film of implant `id`, kept while the curator works on that film.
    fn decoded(&mut self, id: i64) -> Result<&Decoded, Error> {
        let rec = images::get(self.lib.conn(), id)?;
        let film_id = rec.film_id.ok_or_else(|| {
            Error::Invalid(format!("implant {id} came from production: its film is not here"))
        })?;
        self.decoded_film(film_id)
    }

    /// A decoded film, kept while the curator works on it.
    fn decoded_film(&mut self, film_id: i64) -> Result<&Decoded, Error> {
        if self.decoded.as_ref().map(|(d, _)| *d) != Some(film_id) {
            let film = films::get(self.lib.conn(), film_id)?;
            let decoded = curate::decode_original(&self.lib, &film.sha256, &film.original_ext)?;
            self.decoded = Some((film_id, decoded));
        }
        Ok(&self.decoded.as_ref().expect("just decoded").1)
    }

    /// The inspector's view of a film: its record, implants, pixels and `current`'s standard image.
    fn open_film(&mut self, film_id: i64, current: Option<i64>) -> Result<Reply, Error> {
        let film = films::get(self.lib.conn(), film_id)?;
        let implants = film
            .implants
            .iter()
            .map(|&id| images::get(self.lib.conn(), id))
            .collect::<Result<Vec<_>, _>>()?;
        let current = current.filter(|c| film.implants.contains(c));
        let standard = match implants.iter().find(|r| Some(r.id) == current) {
            Some(rec) => Some(self.standard_image(rec)?),
            None => None,
        };
        let decoded = self.decoded_film(film_id)?;
        let original = display(&develop(decoded, None)?.image);
        Ok(Reply::Opened {
            film: Box::new(film),
            implants,
            current,
            original,
            standard,
        })
    }

    fn standard_image(&self, record: &ImageRecord) -> Result<Arc<ColorImage>, Error> {
        let img = self.lib.layout().read_standard(&record.standard_sha256)?;
        Ok(Arc::new(gray_image(&img)))
    }
}

fn cancelled_note(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Finished => "",
        Outcome::Cancelled => " (cancelled)",
    }
}

/// A gray image as egui pixels.
pub fn gray_image(img: &GrayImage) -> ColorImage {
    ColorImage::from_gray([img.width() as usize, img.height() as usize], img.as_raw())
}

/// A gray image scaled down to at most [`DISPLAY_SIDE`] a side, as egui pixels.
fn display(img: &GrayImage) -> Arc<ColorImage> {
    Arc::new(gray_image(&fit(img, DISPLAY_SIDE)))
}

/// Scale an image down (never up) so its longest side is at most `side`.
pub fn fit(img: &GrayImage, side: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let scale = side as f64 / w.max(h) as f64;
    if scale >= 1.0 {
        return img.clone();
    }
    let (nw, nh) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle)
}
