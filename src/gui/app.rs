//! The application: state, the reply pump, keyboard shortcuts, drops, and the frame layout.
//!
//! Why one struct: eframe calls [`RaioxApp::ui`] every frame; each frame first applies what the
//! workers, the file dialogs and the jobs sent (never waiting for any), then draws the panels as
//! functions of the state and turns what they return into commands for the workers.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

use crate::curate::LabelChange;
use crate::gui::capture::{Capture, Screen};
use crate::gui::identify::IdentifyView;
use crate::gui::importing::ImportView;
use crate::gui::inspector::Inspector;
use crate::gui::jobs::Jobs;
use crate::gui::labels::Picker;
use crate::gui::map_page::MapPage;
use crate::gui::production::SyncView;
use crate::gui::review::ReviewView;
use crate::gui::settings::{apply_theme, Persisted, STORAGE_KEY};
use crate::gui::similar::SimilarView;
use crate::gui::state::Browser;
use crate::gui::thumbs::Thumbs;
use crate::gui::undo::{Edit, History, LabelState};
use crate::gui::worker::{Command, Gate, Place, Reply, SyncCommand, Worker};
use crate::ingest::import::Sources;
use crate::ingest::web::display_url;
use crate::library::{Layout, Library};

/// The central area's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The thumbnail grid.
    Library,
    /// Original vs standardised, crop editing.
    Inspect,
    /// Nearest neighbours of the current image.
    Similar,
    /// Identify an outside X-ray.
    Identify,
    /// Per-file import status.
    Import,
    /// Likely mislabels, copies and outliers.
    Review,
    /// Every implant on the embedding map.
    Map,
}

/// A native file dialog the curator opened (run on its own thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    /// Pick image files to import.
    AddFiles,
    /// Pick a folder to import.
    AddFolder,
    /// Pick an X-ray to identify.
    Identify,
    /// Pick another library folder.
    OpenLibrary,
}

/// Paths a file dialog returned, with the dialog.
type Picked = (Dialog, Vec<PathBuf>);

/// Raiox Studio's window.
pub struct RaioxApp {
    pub(super) ctx: egui::Context,
    pub(super) root: PathBuf,
    pub(super) replies: Receiver<Reply>,
    pub(super) jobs_worker: Worker,
    pub(super) quick: Worker,
    pub(super) pending: usize,
    pub(super) layout: Option<Layout>,
    pub(super) encoder: Option<String>,
    pub(super) library_error: Option<String>,
    pub(super) rows_loaded: bool,
    /// Labelled implants when a head was last trained or the library opened (see
    /// [`RaioxApp::learn_when_due`]).
    pub(super) learned_at: Option<usize>,
    pub(super) dialogs: (Sender<Picked>, Receiver<Picked>),
    pub(super) dialog_open: bool,
    pub(super) settings_open: bool,
    pub(super) inspecting: Option<i64>,
    pub(super) scroll_to: Option<i64>,
    pub(super) capture: Option<Capture>,
    /// Remembered settings.
    pub persisted: Persisted,
    /// Library rows, filters and selection.
    pub browser: Browser,
    /// Thumbnail textures.
    pub thumbs: Thumbs,
    /// Running jobs.
    pub jobs: Jobs,
    /// Undo / redo.
    pub history: History,
    /// The central page shown.
    pub tab: Tab,
    /// The label picker.
    pub picker: Picker,
    /// The inspector.
    pub inspector: Inspector,
    /// Films on which no implant was found, listed so they are never silently lost.
    pub empty_films: Vec<i64>,
    /// Find similar.
    pub similar: SimilarView,
    /// Identify.
    pub identify: IdentifyView,
    /// Import status.
    pub importing: ImportView,
    /// Sync to production.
    pub sync: SyncView,
    /// The review queue.
    pub review: ReviewView,
    /// The embedding map.
    pub map: MapPage,
}

impl RaioxApp {
    /// Build the app for eframe: the library from `--library`, else the last one, else the default.
    pub fn new(cc: &eframe::CreationContext<'_>, library: Option<PathBuf>) -> RaioxApp {
        let persisted: Persisted = cc
            .storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_default();
        let root = library
            .or_else(|| persisted.library.clone())
            .or_else(Library::default_root)
            .unwrap_or_else(|| PathBuf::from("raiox-library"));
        RaioxApp::with_library(&cc.egui_ctx, root, persisted)
    }

    /// The app on the library at `root` (tests and benchmarks start here).
    pub fn with_library(ctx: &egui::Context, root: PathBuf, persisted: Persisted) -> RaioxApp {
        apply_theme(ctx, persisted.dark);
        let (reply_tx, replies) = mpsc::channel();
        let (first, after) = Gate::pair();
        let quick = Worker::spawn("quick", root.clone(), reply_tx.clone(), ctx.clone(), first);
        let jobs_worker = Worker::spawn("jobs", root.clone(), reply_tx, ctx.clone(), after);
        let mut browser = Browser::default();
        browser.filter.sort = persisted.sort;
        let mut app = RaioxApp {
            ctx: ctx.clone(),
            root,
            replies,
            jobs_worker,
            quick,
            pending: 0,
            layout: None,
            encoder: None,
            library_error: None,
            rows_loaded: false,
            learned_at: None,
            dialogs: mpsc::channel(),
            dialog_open: false,
            settings_open: false,
            inspecting: None,
            scroll_to: None,
            capture: Capture::from_env(),
            persisted,
            browser,
            thumbs: Thumbs::new(ctx),
            jobs: Jobs::default(),
            history: History::default(),
            tab: Tab::Library,
            picker: Picker::default(),
            inspector: Inspector::default(),
            empty_films: Vec::new(),
            similar: SimilarView::default(),
            identify: IdentifyView::default(),
            importing: ImportView::default(),
            sync: SyncView::default(),
            review: ReviewView::default(),
            map: MapPage::default(),
        };
        app.send(Command::LoadRows);
        app
    }

    /// The library folder in use.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether nothing is running or waiting: no worker command, job, dialog or thumbnail.
    pub fn is_idle(&self) -> bool {
        self.pending == 0 && self.jobs.running.is_empty() && !self.dialog_open && !self.thumbs.busy()
    }

    /// Whether the first listing of the library arrived.
    pub fn rows_loaded(&self) -> bool {
        self.rows_loaded
    }

    /// Send a quick command (rows, labels, crops, similar, identify).
    pub(super) fn send(&mut self, command: Command) {
        if self.quick.send(command) {
            self.pending += 1;
        }
    }

    /// Start a long job on the jobs worker.
    pub(super) fn start_job(
        &mut self,
        place: Place,
        title: &str,
        make: impl FnOnce(crate::progress::JobControl) -> Command,
    ) {
        let ctl = self.jobs.start(place, title);
        if self.jobs_worker.send(make(ctl)) {
            self.pending += 1;
        } else {
            self.jobs.finish(place);
        }
    }

    /// Import files and folders (dropped, picked, or from a test).
    pub fn import(&mut self, paths: Vec<PathBuf>) {
        self.import_sources(Sources {
            paths,
            ..Sources::default()
        });
    }

    /// Import files, URLs and in-memory images (dropped, pasted); downloads run on the worker, so
    /// the window never waits for the network.
    pub fn import_sources(&mut self, sources: Sources) {
        if sources.paths.is_empty() && sources.urls.is_empty() && sources.bytes.is_empty() {
            return;
        }
        let inputs = &mut self.importing.inputs;
        inputs.extend(sources.paths.iter().map(|p| p.display().to_string()));
        inputs.extend(sources.urls.iter().map(|u| display_url(&u.url)));
        inputs.extend(sources.bytes.iter().map(|(name, _)| name.clone()));
        self.importing.summary = None;
        self.importing.error = None;
        self.tab = Tab::Import;
        self.start_job(Place::Import, "import", |ctl| Command::Import { sources, ctl });
    }

    /// Identify an image file that is not in the library.
    pub fn identify_file(&mut self, path: PathBuf) {
        self.tab = Tab::Identify;
        self.identify.waiting = true;
        self.identify.error = None;
        let k = self.persisted.identify_k;
        self.send(Command::Identify { path, k });
    }

    /// Find the images most similar to `id`.
    pub fn find_similar(&mut self, id: i64) {
        self.tab = Tab::Similar;
        self.similar.query = Some(id);
        self.similar.neighbours.clear();
        self.similar.waiting = true;
        self.similar.error = None;
        let k = self.persisted.similar_k;
        self.send(Command::Similar { id, k });
    }

    /// Switch to another library: stop its jobs, start fresh workers, forget what was shown.
    pub fn open_library(&mut self, root: PathBuf) {
        self.jobs.cancel_all();
        let persisted = self.persisted.clone();
        let capture = self.capture.take();
        *self = RaioxApp::with_library(&self.ctx, root, persisted);
        self.capture = capture;
    }

    pub(super) fn open_dialog(&mut self, dialog: Dialog) {
        if self.dialog_open {
            return;
        }
        self.dialog_open = true;
        let (tx, ctx) = (self.dialogs.0.clone(), self.ctx.clone());
        std::thread::spawn(move || {
            let picker = rfd::FileDialog::new();
            let picked: Vec<PathBuf> = match dialog {
                Dialog::AddFiles => picker
                    .add_filter("Images", crate::ingest::import::IMAGE_EXTENSIONS)
                    .pick_files()
                    .unwrap_or_default(),
                Dialog::AddFolder | Dialog::OpenLibrary => picker.pick_folder().into_iter().collect(),
                Dialog::Identify => picker.pick_file().into_iter().collect(),
            };
            let _ = tx.send((dialog, picked));
            ctx.request_repaint();
        });
    }

    /// Apply everything that arrived since the last frame.
    pub(super) fn pump(&mut self, ctx: &egui::Context) {
        while let Ok(reply) = self.replies.try_recv() {
            self.apply(ctx, reply);
        }
        while let Ok((dialog, paths)) = self.dialogs.1.try_recv() {
            self.dialog_open = false;
            match dialog {
                Dialog::AddFiles | Dialog::AddFolder => self.import(paths),
                Dialog::Identify => {
                    if let Some(p) = paths.into_iter().next() {
                        self.identify_file(p);
                    }
                }
                Dialog::OpenLibrary => {
                    if let Some(p) = paths.into_iter().next() {
                        self.open_library(p);
                    }
                }
            }
        }
        self.jobs.poll();
        self.thumbs.begin_frame(ctx);
    }

    fn apply(&mut self, ctx: &egui::Context, reply: Reply) {
        match reply {
            Reply::Ready { layout } => self.layout = Some(layout),
            Reply::Rows {
                rows,
                catalogue,
                encoder,
                pending,
                conflicts,
                empty_films,
            } => {
                self.empty_films = empty_films;
                self.browser.set_rows(rows, &pending, &conflicts);
                self.learned_at.get_or_insert(self.labelled());
                self.browser.catalogue = Some(catalogue);
                self.encoder = encoder;
                self.rows_loaded = true;
                self.library_error = None;
            }
            Reply::Imported(item) => self.importing.items.push(item),
            Reply::JobEnded { place, text } => {
                self.jobs.finish(place);
                match place {
                    Place::Import => {
                        self.importing.summary = Some(text);
                        self.importing.inputs.clear();
                    }
                    _ => self.library_error = Some(text),
                }
                self.send(Command::LoadRows);
            }
            Reply::Labelled { records } => {
                self.browser.update_records(&records);
                self.learn_when_due();
                if self.map.has_map() {
                    self.map.relabel(&self.browser);
                }
                if let Some(id) = self
                    .inspector
                    .id()
                    .filter(|id| records.iter().any(|r| r.id == *id))
                {
                    self.send(Command::History { id });
                }
                if let Some(r) = records.iter().find(|r| Some(r.id) == self.inspector.id()) {
                    self.inspector.record = Some(r.clone());
                }
                self.picker.error = None;
            }
            Reply::Catalogue(c) => {
                self.browser.catalogue = Some(c);
                self.picker.new_system.clear();
                self.picker.error = None;
            }
            Reply::Opened {
                film,
                implants,
                current,
                original,
                standard,
            } => {
                if let Some(id) = current {
                    self.inspecting = Some(id);
                    self.browser.current = Some(id);
                }
                self.inspector
                    .opened(ctx, *film, implants, current, original, standard)
            }
            Reply::Preview { id, image } => self.inspector.previewed(ctx, id, image),
            Reply::Recropped { record, standard } => {
                self.thumbs.forget(Some(record.id));
                self.browser.update_records(std::slice::from_ref(&record));
                self.inspector.saved(ctx, *record, standard);
            }
            Reply::Similar { id, neighbours } => {
                if self.similar.query == Some(id) {
                    self.similar.neighbours = neighbours;
                    self.similar.waiting = false;
                }
            }
            Reply::Identified {
                path,
                query,
                result,
                calibrated,
            } => self.identify.answered(ctx, path, query, result, calibrated),
            Reply::Suggested { ids, candidates } => {
                if ids == self.picker.suggested_for {
                    let catalogue = self.browser.catalogue.as_ref();
                    self.picker.suggestions = candidates
                        .iter()
                        .filter_map(|c| {
                            let (_, s) = catalogue?.resolve_system(Some(&c.manufacturer), &c.system).ok()?;
                            Some((s.id, c.score))
                        })
                        .collect();
                }
            }
            Reply::Review(queue, threshold) => self.review.arrived(*queue, threshold),
            Reply::NextOrder(order) => self.browser.set_next_order(order),
            Reply::History { id, changes } => {
                if self.inspector.id() == Some(id) {
                    self.inspector.history = changes;
                }
            }
            Reply::Map(points) => {
                self.jobs.finish(Place::Map);
                self.map.arrived(points, &self.browser);
            }
            Reply::MapQuery(at) => self.map.query = at,
            Reply::SyncConfig(config) => self.sync.loaded(*config),
            Reply::SyncSaved(path) => {
                self.sync.saved = Some(format!("Saved to {path}"));
                self.send(Command::Sync(SyncCommand::LoadConfig));
            }
            Reply::SyncChecked(report) => {
                self.sync.waiting = false;
                self.sync.check = Some(report);
            }
            Reply::Synced(report) => {
                self.jobs.finish(Place::Sync);
                self.sync.reported(*report);
                self.send(Command::LoadRows);
            }
            Reply::Resolved(id) => {
                if let Some(r) = &mut self.sync.report {
                    r.conflicts.retain(|c| c.id != Some(id));
                }
                self.send(Command::LoadRows);
            }
            Reply::Failed { place, message } => self.failed(place, message),
            Reply::Finished => self.pending = self.pending.saturating_sub(1),
        }
    }

    /// Show an error where it happened.
    fn failed(&mut self, place: Place, message: String) {
        match place {
            Place::Library => {
                self.library_error = Some(message);
                self.rows_loaded = true;
            }
            Place::Import => {
                self.jobs.finish(place);
                self.importing.inputs.clear();
                self.importing.error = Some(message);
                // What was imported before the failure is in the library: show it.
                self.send(Command::LoadRows);
            }
            Place::Embed => {
                self.jobs.finish(place);
                self.library_error = Some(message);
                self.send(Command::LoadRows);
            }
            Place::Label => self.picker.error = Some(message),
            Place::Crop => {
                self.inspector.saving = false;
                self.inspector.error = Some(message);
            }
            Place::Similar => {
                self.similar.waiting = false;
                self.similar.error = Some(message);
            }
            Place::Identify => {
                self.identify.waiting = false;
                self.identify.error = Some(message);
            }
            // Nothing to suggest from (no vectors, nothing labelled yet): the picker shows no
            // suggestions, which says as much.
            Place::Suggest => {}
            Place::Review => {
                self.review.waiting = false;
                self.review.error = Some(message);
            }
            Place::Map => {
                self.jobs.finish(place);
                self.map.waiting = false;
                self.map.error = Some(message);
            }
            Place::Sync => {
                self.jobs.finish(place);
                self.sync.waiting = false;
                self.sync.error = Some(message);
            }
        }
    }

    /// Label the target images with a system, or confirm their labels (`None`).
    pub fn apply_label(&mut self, system_id: Option<i64>) {
        let targets = self.browser.targets();
        if targets.is_empty() {
            self.picker.error = Some("select an image first".into());
            return;
        }
        let change = match system_id {
            Some(sid) => {
                let Some(c) = &self.browser.catalogue else { return };
                let Some(s) = c.system(sid) else { return };
                LabelChange {
                    manufacturer: c.manufacturer(s.manufacturer_id).map(|m| m.name.clone()),
                    system: Some(s.name.clone()),
                    confirm: self.picker.confirm,
                    ..LabelChange::default()
                }
            }
            None => LabelChange {
                confirm: true,
                ..LabelChange::default()
            },
        };
        let before = targets
            .iter()
            .filter_map(|&id| self.browser.row(id).map(|r| (id, LabelState::of(r))))
            .collect();
        self.history.record(Edit::Label {
            before,
            change: change.clone(),
        });
        self.send(Command::Label {
            ids: targets.clone(),
            change,
        });
        if let Some(sid) = system_id {
            self.picker.used(sid);
        }
        self.picker.query.clear();
        if targets.len() == 1 {
            self.step(1);
        }
    }

    /// Label the target images with the suggested or recent system on number key `n`.
    pub fn apply_quick(&mut self, n: usize) {
        match self.picker.quick_at(&self.browser.targets(), n) {
            Some(sid) => self.apply_label(Some(sid)),
            None => self.picker.error = Some(format!("no suggested or recent system on key {n}")),
        }
    }

    /// Label the target images with the first suggestion (Tab).
    pub fn accept_suggestion(&mut self) {
        match self.picker.suggestions_for(&self.browser.targets()).first() {
            Some(&(sid, _)) => self.apply_label(Some(sid)),
            None => self.picker.error = Some("no suggestion for this implant yet".into()),
        }
    }

    /// Ask for suggestions when the implants to label changed (the selection or the current one).
    pub(super) fn request_suggestions(&mut self) {
        let targets = self.browser.targets();
        if targets == self.picker.suggested_for || !self.rows_loaded {
            return;
        }
        self.picker.suggested_for = targets.clone();
        self.picker.suggestions.clear();
        if !targets.is_empty() {
            let k = self.persisted.identify_k;
            self.send(Command::Suggest { ids: targets, k });
        }
    }

    /// Move to the next (`1`) or previous (`-1`) image.
    pub fn step(&mut self, delta: isize) {
        self.browser.refresh();
        self.scroll_to = self.browser.step(delta);
    }

    /// Open the review page and (re)build its queue.
    pub fn open_review(&mut self) {
        self.tab = Tab::Review;
        self.review.waiting = true;
        self.review.error = None;
        let (k, threshold) = (self.persisted.identify_k, self.review.threshold);
        self.send(Command::Review { k, threshold });
    }

    /// Carry out what the review page asked for.
    pub fn review_intent(&mut self, intent: crate::gui::review::Intent) {
        use crate::gui::review::Intent;
        match intent {
            Intent::Refresh => self.open_review(),
            Intent::Relabel {
                id,
                manufacturer,
                system,
            } => {
                let change = LabelChange {
                    manufacturer: Some(manufacturer),
                    system: Some(system),
                    confirm: self.picker.confirm,
                    ..LabelChange::default()
                };
                if let Some(r) = self.browser.row(id) {
                    let before = vec![(id, LabelState::of(r))];
                    self.history.record(Edit::Label {
                        before,
                        change: change.clone(),
                    });
                }
                self.send(Command::Label {
                    ids: vec![id],
                    change,
                });
                self.review.resolved();
            }
            Intent::Keep(id) => {
                self.send(Command::Keep { id });
                self.review.resolved();
            }
            Intent::Merge { keep, others, label } => {
                self.send(Command::Merge { keep, others, label });
                self.review.resolved();
            }
            Intent::Inspect(id) => {
                self.browser.click(id, false, false);
                self.tab = Tab::Inspect;
            }
            Intent::Learn => self.learn(false),
        }
    }

    /// Implants labelled (or confirmed) in the grid.
    fn labelled(&self) -> usize {
        self.browser
            .rows()
            .iter()
            .filter(|r| r.status != crate::catalogue::images::Status::Unlabelled)
            .count()
    }

    /// Labelling in the window keeps the head in step as a labelled import does: once a tenth
    /// more implants (at least ten) are labelled than at the last training, a head is trained in
    /// the background if the labels changed (used only when better; `raiox learn --off` keeps
    /// it off).
    fn learn_when_due(&mut self) {
        let (now, then) = (self.labelled(), self.learned_at.unwrap_or(0));
        if now >= then + (then / 10).max(10) && self.jobs.of(Place::Embed).is_none() {
            self.learn(true);
        }
    }

    /// Train a head on the labels in the background; `only_if_changed`: the automatic kind.
    fn learn(&mut self, only_if_changed: bool) {
        self.learned_at = Some(self.labelled());
        let k = self.persisted.identify_k;
        self.start_job(Place::Embed, "learn", |ctl| Command::Learn {
            k,
            ctl,
            only_if_changed,
        });
    }

    /// Open the map page and compute the map (from the cache when the vectors did not change).
    pub fn open_map(&mut self) {
        self.tab = Tab::Map;
        self.map.waiting = true;
        self.map.error = None;
        self.start_job(Place::Map, "map", |ctl| Command::Map { ctl });
    }

    /// Carry out what the map page asked for.
    pub fn map_intent(&mut self, intent: crate::gui::map_page::Intent) {
        use crate::gui::map_page::Intent;
        match intent {
            Intent::Compute => self.open_map(),
            Intent::Open(id) => {
                self.browser.click(id, false, false);
                self.tab = Tab::Inspect;
            }
            Intent::Select(ids) => {
                self.browser.selected = ids.iter().copied().collect();
                self.browser.current = ids.first().copied();
            }
        }
    }

    /// Open the sync window (reading the production settings the first time).
    pub fn open_sync(&mut self) {
        self.sync.open = true;
        if self.sync.config.is_none() {
            self.send(Command::Sync(SyncCommand::LoadConfig));
        }
    }

    /// Plan (`dry_run`) or run a sync on the jobs worker.
    pub fn start_sync(&mut self, dry_run: bool) {
        self.sync.error = None;
        let title = if dry_run { "sync plan" } else { "sync" };
        self.start_job(Place::Sync, title, |ctl| {
            Command::Sync(SyncCommand::Run { dry_run, ctl })
        });
    }

    /// Draft a box for the open implant and ask for its preview, as a drag on the film does.
    pub fn preview_box(&mut self, fixture: crate::standardise::Fixture) {
        if let Some(id) = self.inspector.id() {
            self.inspector.draft = Some(fixture);
            self.send(Command::Preview { id, fixture });
        }
    }

    /// Undo the latest label or crop change.
    pub fn undo(&mut self) {
        if let Some(commands) = self.history.undo() {
            commands.into_iter().for_each(|c| self.send(c));
        }
    }

    /// Redo the latest undone change.
    pub fn redo(&mut self) {
        if let Some(commands) = self.history.redo() {
            commands.into_iter().for_each(|c| self.send(c));
        }
    }
}

impl Drop for RaioxApp {
    fn drop(&mut self) {
        self.jobs.cancel_all();
    }
}

impl Screen for RaioxApp {
    fn ready(&self) -> bool {
        self.rows_loaded() && self.is_idle()
    }

    fn idle(&self) -> bool {
        self.is_idle()
    }

    fn show(&mut self, view: &str, input: Option<&Path>) {
        self.step(1);
        match view {
            "label" => self.picker.query = "straumann".into(),
            "inspect" => self.tab = Tab::Inspect,
            "review" => self.open_review(),
            "map" => self.open_map(),
            "similar" => {
                if let Some(id) = self.browser.current {
                    self.find_similar(id);
                }
            }
            "identify" => {
                if let Some(p) = input {
                    self.identify_file(p.to_path_buf());
                }
            }
            "import" => {
                if let Some(p) = input {
                    self.import(vec![p.to_path_buf()]);
                }
            }
            _ => {}
        }
    }

    fn begin_box_edit(&mut self) -> bool {
        if self.inspector.draft.is_some() || self.inspector.record.is_none() {
            return false;
        }
        // Show an edit in progress: the open implant's box a little longer and turned.
        if let Some(mut f) = self.inspector.shown_box() {
            f.length *= 1.1;
            f.angle_deg += 5.0;
            self.preview_box(f);
        }
        true
    }
}
