//! The application: state, the reply pump, keyboard shortcuts, drops, and the frame layout.
//!
//! Why one struct: eframe calls [`RaioxApp::ui`] every frame; each frame first applies what the
//! workers, the file dialogs and the jobs sent (never waiting for any), then draws the panels as
//! functions of the state and turns what they return into commands for the workers.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use egui::{Key, Modifiers};

use crate::curate::LabelChange;
use crate::gui::browser;
use crate::gui::capture::Capture;
use crate::gui::identify::{self, IdentifyView};
use crate::gui::importing::ImportView;
use crate::gui::inspector::{self, Inspector};
use crate::gui::jobs::Jobs;
use crate::gui::labels::{self, Picker};
use crate::gui::settings::{self, Persisted, STORAGE_KEY};
use crate::gui::similar::SimilarView;
use crate::gui::state::Browser;
use crate::gui::status;
use crate::gui::thumbs::Thumbs;
use crate::gui::undo::{Edit, History, LabelState};
use crate::gui::worker::{Command, Gate, Place, Reply, Worker};
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

/// Raiox Studio's window.
pub struct RaioxApp {
    ctx: egui::Context,
    root: PathBuf,
    replies: Receiver<Reply>,
    jobs_worker: Worker,
    quick: Worker,
    pending: usize,
    layout: Option<Layout>,
    encoder: Option<String>,
    library_error: Option<String>,
    rows_loaded: bool,
    dialogs: (Sender<(Dialog, Vec<PathBuf>)>, Receiver<(Dialog, Vec<PathBuf>)>),
    dialog_open: bool,
    settings_open: bool,
    inspecting: Option<i64>,
    scroll_to: Option<i64>,
    capture: Option<Capture>,
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
    /// Find similar.
    pub similar: SimilarView,
    /// Identify.
    pub identify: IdentifyView,
    /// Import status.
    pub importing: ImportView,
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
            similar: SimilarView::default(),
            identify: IdentifyView::default(),
            importing: ImportView::default(),
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
    fn send(&mut self, command: Command) {
        if self.quick.send(command) {
            self.pending += 1;
        }
    }

    /// Start a long job on the jobs worker.
    fn start_job(
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
        if paths.is_empty() {
            return;
        }
        self.importing.inputs.extend(paths.iter().cloned());
        self.importing.summary = None;
        self.importing.error = None;
        self.tab = Tab::Import;
        self.start_job(Place::Import, "import", |ctl| Command::Import { paths, ctl });
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

    fn open_dialog(&mut self, dialog: Dialog) {
        if self.dialog_open {
            return;
        }
        self.dialog_open = true;
        let (tx, ctx) = (self.dialogs.0.clone(), self.ctx.clone());
        std::thread::spawn(move || {
            let picker = rfd::FileDialog::new();
            let picked: Vec<PathBuf> = match dialog {
                Dialog::AddFiles => picker
                    .add_filter(
                        "Images",
                        &[
                            "png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif", "dcm", "dicom",
                        ],
                    )
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
    fn pump(&mut self, ctx: &egui::Context) {
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
            } => {
                self.browser.set_rows(rows);
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
                record,
                original,
                standard,
            } => self.inspector.opened(ctx, *record, original, standard),
            Reply::Preview { id, crop, image } => self.inspector.previewed(ctx, id, crop, image),
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

    /// Label the target images with the recent system on number key `n`.
    pub fn apply_recent(&mut self, n: usize) {
        match self.picker.recent_at(n) {
            Some(sid) => self.apply_label(Some(sid)),
            None => self.picker.error = Some(format!("no recent system on key {n} yet")),
        }
    }

    /// Move to the next (`1`) or previous (`-1`) image.
    pub fn step(&mut self, delta: isize) {
        self.browser.refresh();
        self.scroll_to = self.browser.step(delta);
    }

    /// Draft a crop on the open image and ask for its preview, as a drag on the original does.
    pub fn preview_crop(&mut self, crop: crate::standardise::Rect) {
        if let Some(id) = self.inspector.id() {
            self.inspector.draft = Some(inspector::Draft::Manual(crop));
            self.send(Command::Preview { id, crop: Some(crop) });
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

    fn keyboard(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let (mut undo, mut redo) = (false, false);
        let mut keys = Vec::new();
        ctx.input_mut(|i| {
            if typing {
                return;
            }
            redo = i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
            undo = i.consume_key(Modifiers::COMMAND, Key::Z);
            for key in [
                Key::J,
                Key::K,
                Key::ArrowRight,
                Key::ArrowLeft,
                Key::ArrowDown,
                Key::ArrowUp,
                Key::Enter,
                Key::Slash,
                Key::L,
                Key::I,
                Key::S,
            ]
            .into_iter()
            .chain(labels::NUMBER_KEYS)
            {
                if i.consume_key(Modifiers::NONE, key) {
                    keys.push(key);
                }
            }
        });
        if redo {
            self.redo();
        } else if undo {
            self.undo();
        }
        for key in keys {
            match key {
                Key::J | Key::ArrowRight | Key::ArrowDown => self.step(1),
                Key::K | Key::ArrowLeft | Key::ArrowUp => self.step(-1),
                Key::Enter => self.apply_label(None),
                Key::Slash | Key::L => self.picker.focus = true,
                Key::I => self.tab = Tab::Inspect,
                Key::S => {
                    if let Some(id) = self.browser.current {
                        self.find_similar(id);
                    }
                }
                other => {
                    if let Some(n) = labels::NUMBER_KEYS.iter().position(|k| *k == other) {
                        self.apply_recent(n + 1);
                    }
                }
            }
        }
    }

    fn dropped(&mut self, ctx: &egui::Context) {
        let paths: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if paths.is_empty() {
            return;
        }
        if self.tab == Tab::Identify {
            if let Some(p) = paths.into_iter().next() {
                self.identify_file(p);
            }
        } else {
            self.import(paths);
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("Raiox Studio");
            ui.separator();
            if ui.button("Add images...").clicked() {
                self.open_dialog(Dialog::AddFiles);
            }
            if ui.button("Add folder...").clicked() {
                self.open_dialog(Dialog::AddFolder);
            }
            ui.separator();
            let undo_tip = self.history.next_undo().map(Edit::describe);
            let r = ui.add_enabled(undo_tip.is_some(), egui::Button::new("Undo"));
            if r.on_hover_text(format!("Ctrl+Z {}", undo_tip.unwrap_or_default()))
                .clicked()
            {
                self.undo();
            }
            let redo_tip = self.history.next_redo().map(Edit::describe);
            let r = ui.add_enabled(redo_tip.is_some(), egui::Button::new("Redo"));
            if r.on_hover_text(format!("Ctrl+Shift+Z {}", redo_tip.unwrap_or_default()))
                .clicked()
            {
                self.redo();
            }
            ui.separator();
            ui.add_enabled(false, egui::Button::new("Sync to production..."))
                .on_disabled_hover_text("Production sync (issue #4) is not part of this build yet");
            if ui.button("Settings").clicked() {
                self.settings_open = !self.settings_open;
            }
            let theme = if self.persisted.dark {
                "Light theme"
            } else {
                "Dark theme"
            };
            if ui.button(theme).clicked() {
                self.persisted.dark = !self.persisted.dark;
            }
        });
    }

    fn central(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for (tab, name) in [
                (Tab::Library, "Library"),
                (Tab::Inspect, "Inspect"),
                (Tab::Similar, "Similar"),
                (Tab::Identify, "Identify"),
                (Tab::Import, "Import"),
            ] {
                ui.selectable_value(&mut self.tab, tab, name);
            }
        });
        ui.separator();
        let layout = self.layout.clone();
        let layout = layout.as_ref();
        match self.tab {
            Tab::Library => {
                let scroll_to = self.scroll_to.take();
                match browser::grid(ui, &mut self.browser, &mut self.thumbs, layout, scroll_to) {
                    Some(browser::Intent::Click { id, toggle, range }) => {
                        self.browser.click(id, toggle, range)
                    }
                    Some(browser::Intent::Inspect(id)) => {
                        self.browser.click(id, false, false);
                        self.tab = Tab::Inspect;
                    }
                    None => {}
                }
            }
            Tab::Inspect => {
                if let Some(id) = self.browser.current {
                    if self.inspecting != Some(id) {
                        self.inspecting = Some(id);
                        self.send(Command::Open { id });
                    }
                }
                match self.inspector.show(ui) {
                    Some(inspector::Intent::Preview(crop)) => {
                        if let Some(id) = self.inspector.id() {
                            self.send(Command::Preview { id, crop });
                        }
                    }
                    Some(inspector::Intent::Save(crop)) => {
                        if let Some(rec) = &self.inspector.record {
                            let (id, before) = (rec.id, rec.params.crop);
                            self.history.record(Edit::Crop {
                                id,
                                before,
                                after: crop,
                            });
                            self.send(Command::Recrop { id, crop });
                        }
                    }
                    None => {}
                }
            }
            Tab::Similar => {
                let (select, search) = self.similar.show(ui, &self.browser, &mut self.thumbs, layout);
                if let Some(id) = select {
                    self.browser.click(id, false, false);
                    self.find_similar(id);
                } else if let (true, Some(id)) = (search, self.browser.current) {
                    self.find_similar(id);
                }
            }
            Tab::Identify => match self.identify.show(ui, &self.browser, &mut self.thumbs, layout) {
                Some(identify::Intent::Open) => self.open_dialog(Dialog::Identify),
                Some(identify::Intent::Select(id)) => {
                    self.browser.click(id, false, false);
                    self.tab = Tab::Inspect;
                }
                None => {}
            },
            Tab::Import => {
                let job = self.jobs.running.iter().find(|j| j.place == Place::Import);
                if self.importing.show(ui, job) {
                    if let Some(j) = self.jobs.of(Place::Import) {
                        j.cancel();
                    }
                }
            }
        }
    }

    fn side_panels(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        egui::Panel::bottom("status").show(ui, |ui| {
            let cancel = status::bar(
                ui,
                &self.root,
                self.encoder.as_deref(),
                &self.browser.counts,
                &self.jobs,
                self.library_error.as_deref(),
            );
            if let Some(i) = cancel {
                self.jobs.running[i].cancel();
            }
        });
        egui::Panel::left("filters")
            .default_size(220.0)
            .show(ui, |ui| browser::filters(ui, &mut self.browser));
        egui::Panel::right("labels").default_size(280.0).show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("labels-scroll")
                .show(ui, |ui| {
                    match self.picker.show(ui, &self.browser) {
                        Some(labels::Intent::Apply(sid)) => self.apply_label(Some(sid)),
                        Some(labels::Intent::ConfirmCurrent) => self.apply_label(None),
                        Some(labels::Intent::Recent(n)) => self.apply_recent(n),
                        Some(labels::Intent::AddSystem { manufacturer, system }) => {
                            self.send(Command::AddSystem { manufacturer, system })
                        }
                        None => {}
                    }
                    ui.separator();
                    let current = self.browser.current;
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(current.is_some(), egui::Button::new("Inspect (I)"))
                            .clicked()
                        {
                            self.tab = Tab::Inspect;
                        }
                        if ui
                            .add_enabled(current.is_some(), egui::Button::new("Find similar (S)"))
                            .clicked()
                        {
                            if let Some(id) = current {
                                self.find_similar(id);
                            }
                        }
                    });
                });
        });
    }
}

/// Dark or light, as the curator chose.
fn apply_theme(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
}

impl eframe::App for RaioxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.pump(&ctx);
        self.keyboard(&ctx);
        self.dropped(&ctx);
        let want = if self.persisted.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        };
        if ctx.theme() != want {
            apply_theme(&ctx, self.persisted.dark);
        }
        self.side_panels(ui);
        egui::CentralPanel::default().show(ui, |ui| self.central(ui));
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            let text = if self.tab == Tab::Identify {
                "Drop to identify"
            } else {
                "Drop to import"
            };
            egui::Area::new(egui::Id::unique("drop-hint"))
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(&ctx, |ui| ui.heading(text));
        }
        let mut open = self.settings_open;
        let root = self.root.clone();
        match settings::window(
            &ctx,
            &mut open,
            &mut self.persisted,
            &root,
            self.encoder.as_deref(),
        ) {
            Some(settings::Intent::OpenLibrary) => self.open_dialog(Dialog::OpenLibrary),
            Some(settings::Intent::Embed) => {
                self.start_job(Place::Embed, "embed", |ctl| Command::Embed { ctl })
            }
            None => {}
        }
        self.settings_open = open;
        self.persisted.sort = self.browser.filter.sort;
        self.thumbs.end_frame();
        if !self.jobs.running.is_empty() || self.pending > 0 {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        if let Some(capture) = self.capture.take() {
            self.capture = capture.drive(self, &ctx);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.persisted.library = Some(self.root.clone());
        eframe::set_value(storage, STORAGE_KEY, &self.persisted);
    }
}

impl Drop for RaioxApp {
    fn drop(&mut self) {
        self.jobs.cancel_all();
    }
}
