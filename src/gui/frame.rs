//! The frame: panel layout, the toolbar, keyboard shortcuts and dropped files.
//!
//! Why apart from the state: this is the only code eframe calls each frame. It reads the input,
//! draws the panels (functions of the state in [`crate::gui::app`]) and turns what they return into
//! the app's actions; it never waits for a worker.

use std::time::Duration;

use egui::{Key, Modifiers};

use crate::curate::BoxChange;
use crate::gui::app::{Dialog, RaioxApp, Tab};
use crate::gui::browser::{self, Gallery};
use crate::gui::identify;
use crate::gui::inspector;
use crate::gui::labels;
use crate::gui::production;
use crate::gui::settings::{self, apply_theme, STORAGE_KEY};
use crate::gui::state::Sort;
use crate::gui::status;
use crate::gui::undo::Edit;
use crate::gui::worker::{Command, Place, SyncCommand};
use crate::ingest::import::Sources;
use crate::ingest::web::{self, UrlItem};

impl RaioxApp {
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
                Key::A,
                Key::C,
                Key::M,
                Key::Tab,
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
        if keys.contains(&Key::Tab) {
            // Tab accepts a suggestion here; egui would also move the keyboard focus to a widget.
            ctx.memory_mut(|m| m.move_focus(egui::FocusDirection::None));
        }
        if redo {
            self.redo();
        } else if undo {
            self.undo();
        }
        for key in keys {
            if self.tab == Tab::Review {
                if let Some(intent) = self.review.key(key) {
                    self.review_intent(intent);
                }
                continue;
            }
            match key {
                Key::Tab => self.accept_suggestion(),
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
                        self.apply_quick(n + 1);
                    }
                }
            }
        }
    }

    /// Dropped files and folders, URLs (a platform may hand a link dragged from a browser over as
    /// its path) and images with no file behind them (a browser's image: its bytes).
    fn dropped(&mut self, ctx: &egui::Context) {
        let dropped: Vec<egui::DroppedFileHandle> = ctx.input(|i| i.raw.dropped_files.clone());
        if dropped.is_empty() {
            return;
        }
        if self.tab == Tab::Identify {
            if let Some(f) = dropped.first() {
                self.identify_file(f.path().to_path_buf());
            }
            return;
        }
        let mut sources = Sources::default();
        for f in dropped {
            let path = f.path();
            let text = path.to_string_lossy();
            if web::is_url(&text) {
                sources.urls.push(UrlItem {
                    url: text.into_owned(),
                    label: None,
                });
            } else if path.exists() {
                sources.paths.push(path.to_path_buf());
            } else {
                match f.bytes() {
                    Ok(bytes) if !bytes.is_empty() => {
                        let name = path
                            .file_name()
                            .map_or("dropped image".into(), |n| n.to_string_lossy().into_owned());
                        sources.bytes.push((format!("{name} (dropped)"), bytes));
                    }
                    // Reported by the import as a file that cannot be read.
                    _ => sources.paths.push(path.to_path_buf()),
                }
            }
        }
        self.import_sources(sources);
    }

    /// Ctrl+V outside a text field: a copied image, or copied image URLs (one per line), is imported.
    fn pasted(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let mut sources = Sources::default();
        let mut failed = None;
        ctx.input(|i| {
            for event in &i.events {
                match event {
                    egui::Event::Paste(text) => {
                        sources
                            .urls
                            .extend(text.lines().map(str::trim).filter(|l| web::is_url(l)).map(|url| {
                                UrlItem {
                                    url: url.to_string(),
                                    label: None,
                                }
                            }))
                    }
                    egui::Event::PasteImage(image) => match png_of(image) {
                        Ok(png) => {
                            let when = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
                            sources.bytes.push((format!("image pasted at {when}"), png));
                        }
                        Err(e) => failed = Some(format!("the pasted image could not be read: {e}")),
                    },
                    _ => {}
                }
            }
        });
        if let Some(e) = failed {
            self.tab = Tab::Import;
            self.importing.error = Some(e);
        }
        self.import_sources(sources);
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
            if ui.button("Sync to production...").clicked() {
                self.open_sync();
            }
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
                (Tab::Review, "Review"),
                (Tab::Map, "Map"),
            ] {
                if ui.selectable_value(&mut self.tab, tab, name).clicked() {
                    if tab == Tab::Review && self.review.queue.is_none() {
                        self.open_review();
                    }
                    if tab == Tab::Map && !self.map.has_map() && !self.map.waiting {
                        self.open_map();
                    }
                }
            }
        });
        ui.separator();
        let layout = self.layout.clone();
        let layout = layout.as_ref();
        match self.tab {
            Tab::Library => {
                if !self.empty_films.is_empty() {
                    let mut open = None;
                    ui.horizontal_wrapped(|ui| {
                        ui.colored_label(
                            ui.visuals().warn_fg_color,
                            format!(
                                "No implant found on {} film(s) — open one to draw its implants:",
                                self.empty_films.len()
                            ),
                        );
                        for &film_id in self.empty_films.iter().take(20) {
                            if ui.small_button(format!("film {film_id}")).clicked() {
                                open = Some(film_id);
                            }
                        }
                    });
                    if let Some(film_id) = open {
                        self.inspecting = self.browser.current;
                        self.tab = Tab::Inspect;
                        self.send(Command::OpenFilm { film_id });
                    }
                }
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
                    Some(inspector::Intent::Preview(fixture)) => {
                        if let Some(id) = self.inspector.id() {
                            self.send(Command::Preview { id, fixture });
                        }
                    }
                    Some(inspector::Intent::Save(after)) => {
                        if let Some(rec) = &self.inspector.record {
                            let id = rec.id;
                            if let Some(before) = rec.fixture {
                                self.history.record(Edit::Box { id, before, after });
                            }
                            let change = BoxChange {
                                fixture: Some(after),
                                ..BoxChange::default()
                            };
                            self.send(Command::SetBox { id, change });
                        }
                    }
                    Some(inspector::Intent::Refind) => {
                        if let Some(id) = self.inspector.id() {
                            let change = BoxChange {
                                refind: true,
                                ..BoxChange::default()
                            };
                            self.send(Command::SetBox { id, change });
                        }
                    }
                    Some(inspector::Intent::Select(id)) => {
                        self.browser.click(id, false, false);
                        self.inspecting = Some(id);
                        self.send(Command::Open { id });
                    }
                    Some(inspector::Intent::Add(fixture)) => {
                        if let Some(film) = &self.inspector.film {
                            let film_id = film.id;
                            self.send(Command::AddImplant { film_id, fixture });
                        }
                    }
                    Some(inspector::Intent::Remove(id)) => self.send(Command::RemoveImplant { id }),
                    None => {}
                }
            }
            Tab::Similar => {
                let (select, search) = self
                    .similar
                    .show(ui, &mut Gallery::new(&self.browser, &mut self.thumbs, layout));
                if let Some(id) = select {
                    self.browser.click(id, false, false);
                    self.find_similar(id);
                } else if let (true, Some(id)) = (search, self.browser.current) {
                    self.find_similar(id);
                }
            }
            Tab::Identify => match self
                .identify
                .show(ui, &mut Gallery::new(&self.browser, &mut self.thumbs, layout))
            {
                Some(identify::Intent::Open) => self.open_dialog(Dialog::Identify),
                Some(identify::Intent::Select(id)) => {
                    self.browser.click(id, false, false);
                    self.tab = Tab::Inspect;
                }
                None => {}
            },
            Tab::Review => {
                let intent = self
                    .review
                    .show(ui, &mut Gallery::new(&self.browser, &mut self.thumbs, layout));
                if let Some(intent) = intent {
                    self.review_intent(intent);
                }
            }
            Tab::Map => {
                let intent = self
                    .map
                    .show(ui, &mut Gallery::new(&self.browser, &mut self.thumbs, layout));
                if let Some(intent) = intent {
                    self.map_intent(intent);
                }
            }
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
                        Some(labels::Intent::Quick(n)) => self.apply_quick(n),
                        Some(labels::Intent::AcceptSuggestion) => self.accept_suggestion(),
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

impl eframe::App for RaioxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.pump(&ctx);
        self.keyboard(&ctx);
        self.request_suggestions();
        if self.browser.filter.sort == Sort::LabelNext && !self.browser.next_order_fresh && self.rows_loaded {
            // Asked once per listing; a failure (no vectors yet) leaves the import order.
            self.browser.set_next_order(Vec::new());
            let k = self.persisted.identify_k;
            self.send(Command::LabelNext { k });
        }
        self.dropped(&ctx);
        self.pasted(&ctx);
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
        let running = self
            .jobs
            .running
            .iter()
            .find(|j| j.place == Place::Sync)
            .map(|j| j.describe());
        match self.sync.window(&ctx, running) {
            Some(production::Intent::Plan) => self.start_sync(true),
            Some(production::Intent::Run) => self.start_sync(false),
            Some(production::Intent::Check(cfg)) => {
                self.sync.waiting = true;
                self.sync.check = None;
                self.send(Command::Sync(SyncCommand::Check(cfg)));
            }
            Some(production::Intent::Save(cfg)) => self.send(Command::Sync(SyncCommand::SaveConfig(cfg))),
            Some(production::Intent::Resolve { id, keep_local }) => {
                self.send(Command::Sync(SyncCommand::Resolve { id, keep_local }))
            }
            None => {}
        }
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

/// A pasted image as PNG bytes (fast compression: this runs on the UI thread, once per paste).
fn png_of(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [w, h] = image.size;
    let rgba: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let (w, h) = (
        u32::try_from(w).map_err(|e| e.to_string())?,
        u32::try_from(h).map_err(|e| e.to_string())?,
    );
    let mut png = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut png,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    );
    image::ImageEncoder::write_image(encoder, &rgba, w, h, image::ExtendedColorType::Rgba8)
        .map_err(|e| e.to_string())?;
    Ok(png)
}
