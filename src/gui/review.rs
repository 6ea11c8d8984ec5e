//! The review page: likely mislabels, groups of copies and outliers, each with its evidence, fixed
//! with one key.
//!
//! Why a page of its own: a mistake found by the neighbours needs the curator's eye on both the
//! implant and the neighbours that disagree, side by side; one key then relabels to the
//! suggestion (`A`), keeps it as it is (`C`, it does not come back until it changes) or, for
//! copies, keeps the oldest and removes the rest (`M`). `J`/`K` walk the list, `I` inspects.

use egui::Key;

use crate::gui::browser::{cell_size, tile, Gallery};
use crate::gui::similar::caption;
use crate::search::review::ReviewQueue;

/// The lists of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// The neighbours say another system.
    Mislabels,
    /// Copies of one picture.
    Copies,
    /// Far from the rest of their system.
    Outliers,
}

/// What the curator asked the review page for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Build the queue again (with the threshold shown).
    Refresh,
    /// Relabel an implant to what its neighbours say.
    Relabel {
        /// Implant id.
        id: i64,
        /// Manufacturer.
        manufacturer: String,
        /// System.
        system: String,
    },
    /// Keep an implant's entries as they are (checked).
    Keep(i64),
    /// Keep one copy of a group, delete the others.
    Merge {
        /// The implant kept.
        keep: i64,
        /// The copies deleted.
        others: Vec<i64>,
        /// The label the kept one takes if it has none.
        label: Option<(String, String)>,
    },
    /// Open an implant in the inspector.
    Inspect(i64),
    /// Learn a head from the labels.
    Learn,
}

/// The review page's state.
pub struct ReviewView {
    /// The queue as last built.
    pub queue: Option<ReviewQueue>,
    /// The list shown.
    pub list: List,
    /// The entry the keys act on.
    pub at: usize,
    /// Cosine from which implants are near copies (`None` until the encoder's default is known).
    pub threshold: Option<f32>,
    /// A build is on its way.
    pub waiting: bool,
    /// The last error.
    pub error: Option<String>,
    /// Bring the entry at the keys' position into view next frame.
    scroll: bool,
}

impl Default for ReviewView {
    fn default() -> Self {
        ReviewView {
            queue: None,
            list: List::Mislabels,
            at: 0,
            threshold: None,
            waiting: false,
            error: None,
            scroll: false,
        }
    }
}

impl ReviewView {
    /// The queue arrived (built with `threshold`).
    pub fn arrived(&mut self, queue: ReviewQueue, threshold: f32) {
        self.queue = Some(queue);
        self.threshold = Some(threshold);
        self.waiting = false;
        self.error = None;
        self.at = self.at.min(self.len().saturating_sub(1));
    }

    /// Entries in the list shown.
    pub fn len(&self) -> usize {
        match (&self.queue, self.list) {
            (None, _) => 0,
            (Some(q), List::Mislabels) => q.mislabels.len(),
            (Some(q), List::Copies) => q.duplicates.len(),
            (Some(q), List::Outliers) => q.outliers.len(),
        }
    }

    /// Whether the list shown is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The implant the entry at the keys' position is about (a group: its oldest member).
    pub fn current_id(&self) -> Option<i64> {
        let q = self.queue.as_ref()?;
        match self.list {
            List::Mislabels => q.mislabels.get(self.at).map(|m| m.id),
            List::Copies => q.duplicates.get(self.at).map(|g| g.members[0].id),
            List::Outliers => q.outliers.get(self.at).map(|o| o.id),
        }
    }

    /// The fix `A` applies to the current entry: relabel a mislabel to its suggestion, merge a
    /// group of copies into its oldest member.
    pub fn accept(&self) -> Option<Intent> {
        let q = self.queue.as_ref()?;
        match self.list {
            List::Mislabels => q.mislabels.get(self.at).map(|m| Intent::Relabel {
                id: m.id,
                manufacturer: m.suggested.manufacturer.clone(),
                system: m.suggested.system.clone(),
            }),
            List::Copies => q.duplicates.get(self.at).map(|g| {
                let ids = g.ids();
                Intent::Merge {
                    keep: ids[0],
                    others: ids[1..].to_vec(),
                    label: g.merged_label(),
                }
            }),
            List::Outliers => None,
        }
    }

    /// Take the entry at the keys' position out of the list (it was fixed or kept).
    pub fn resolved(&mut self) {
        let at = self.at;
        if let Some(q) = &mut self.queue {
            match self.list {
                List::Mislabels if at < q.mislabels.len() => drop(q.mislabels.remove(at)),
                List::Copies if at < q.duplicates.len() => drop(q.duplicates.remove(at)),
                List::Outliers if at < q.outliers.len() => drop(q.outliers.remove(at)),
                _ => {}
            }
        }
        self.at = self.at.min(self.len().saturating_sub(1));
    }

    /// A key pressed on the page (outside text fields); returns the fix it asks for.
    pub fn key(&mut self, key: Key) -> Option<Intent> {
        self.scroll = true;
        match key {
            Key::J | Key::ArrowDown => {
                self.at = (self.at + 1).min(self.len().saturating_sub(1));
                None
            }
            Key::K | Key::ArrowUp => {
                self.at = self.at.saturating_sub(1);
                None
            }
            Key::A | Key::Enter => self.accept(),
            Key::M if self.list == List::Copies => self.accept(),
            Key::C => self.current_id().map(Intent::Keep),
            Key::I => self.current_id().map(Intent::Inspect),
            _ => None,
        }
    }

    /// Draw the page; returns what the curator asked for.
    pub fn show(&mut self, ui: &mut egui::Ui, g: &mut Gallery<'_>) -> Option<Intent> {
        let mut intent = None;
        let counts = self.queue.as_ref().map_or((0, 0, 0, 0), |q| {
            (q.mislabels.len(), q.duplicates.len(), q.outliers.len(), q.hidden)
        });
        ui.horizontal(|ui| {
            for (list, name, n) in [
                (List::Mislabels, "Likely mislabels", counts.0),
                (List::Copies, "Copies", counts.1),
                (List::Outliers, "Outliers", counts.2),
            ] {
                if ui
                    .selectable_label(self.list == list, format!("{name} ({n})"))
                    .clicked()
                {
                    self.list = list;
                    self.at = 0;
                }
            }
            ui.separator();
            if ui.button("Refresh").clicked() {
                intent = Some(Intent::Refresh);
            }
            if let Some(t) = &mut self.threshold {
                let slider = egui::Slider::new(t, 0.80..=1.0).text("copy threshold");
                if ui.add(slider).drag_stopped() {
                    intent = Some(Intent::Refresh);
                }
            }
            if self.waiting {
                ui.spinner();
            }
            ui.separator();
            if ui
                .button("Learn from labels")
                .on_hover_text("Train a head on the labelled implants; it is used only if it identifies held-out ones better")
                .clicked()
            {
                intent = Some(Intent::Learn);
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(q) = &self.queue else {
            ui.label("Building the review queue…");
            return intent;
        };
        ui.label(match self.list {
            List::Mislabels => "Labelled implants whose nearest neighbours say another system. A: relabel to the suggestion, C: keep the label, I: inspect, J/K: next/previous.",
            List::Copies => "Implants that look like copies of one picture. M or A: keep the oldest (it takes the group's label) and delete the others, C: keep them all.",
            List::Outliers => "Labelled implants far from the rest of their system (a bad crop, another object). C: keep, I: inspect.",
        });
        if counts.3 > 0 {
            ui.weak(format!("{} checked entries hidden", counts.3));
        }
        ui.separator();
        if self.is_empty() {
            ui.label("Nothing to review here.");
            return intent;
        }
        ui.horizontal(|ui| {
            let accept = self.accept();
            let text = match self.list {
                List::Copies => "Keep the oldest, delete the others (M)",
                _ => "Relabel to the suggestion (A)",
            };
            if ui
                .add_enabled(accept.is_some(), egui::Button::new(text))
                .clicked()
            {
                intent = accept;
            }
            if ui.button("Keep as it is (C)").clicked() {
                intent = self.current_id().map(Intent::Keep);
            }
            if ui.button("Inspect (I)").clicked() {
                intent = self.current_id().map(Intent::Inspect);
            }
        });
        let row_height = cell_size().y + 28.0;
        let mut clicked = None;
        let mut area = egui::ScrollArea::vertical();
        if std::mem::take(&mut self.scroll) {
            let spacing = ui.spacing().item_spacing.y;
            area = area.vertical_scroll_offset(self.at as f32 * (row_height + spacing));
        }
        area.show_rows(ui, row_height, self.len(), |ui, range| {
            for n in range {
                let current = n == self.at;
                let frame = egui::Frame::group(ui.style()).stroke(if current {
                    ui.visuals().selection.stroke
                } else {
                    ui.visuals().widgets.noninteractive.bg_stroke
                });
                let response = frame.show(ui, |ui| match self.list {
                    List::Mislabels => {
                        let m = &q.mislabels[n];
                        ui.label(format!(
                            "#{}: labelled {} {} ({:.0} %), neighbours say {} {} ({:.0} %)",
                            m.id,
                            m.manufacturer,
                            m.system,
                            100.0 * m.own_share,
                            m.suggested.manufacturer,
                            m.suggested.system,
                            100.0 * m.suggested.score
                        ));
                        ui.horizontal(|ui| {
                            tiles(ui, g, &[(m.id, "this implant".to_string())]);
                            ui.separator();
                            let evidence: Vec<(i64, String)> =
                                m.evidence.iter().take(6).map(|e| (e.id, caption(e))).collect();
                            tiles(ui, g, &evidence);
                        });
                    }
                    List::Copies => {
                        let d = &q.duplicates[n];
                        ui.label(format!(
                            "{} copies, similarity {:.3}{}",
                            if d.exact { "Exact" } else { "Near" },
                            d.similarity,
                            if d.conflicting_labels {
                                " — their labels differ"
                            } else {
                                ""
                            }
                        ));
                        let members: Vec<(i64, String)> = d
                            .members
                            .iter()
                            .take(8)
                            .map(|m| {
                                let label = m
                                    .label
                                    .as_ref()
                                    .map_or("unlabelled".into(), |(a, b)| format!("{a} {b}"));
                                (m.id, format!("#{}\n{label}", m.id))
                            })
                            .collect();
                        ui.horizontal(|ui| tiles(ui, g, &members));
                    }
                    List::Outliers => {
                        let o = &q.outliers[n];
                        ui.label(format!(
                            "#{}: {} {}, similarity to its system {:.3} (median {:.3})",
                            o.id, o.manufacturer, o.system, o.typicality, o.system_median
                        ));
                        ui.horizontal(|ui| {
                            tiles(ui, g, &[(o.id, "this implant".to_string())]);
                            ui.separator();
                            let own: Vec<(i64, String)> =
                                o.nearest_own.iter().take(6).map(|e| (e.id, caption(e))).collect();
                            tiles(ui, g, &own);
                        });
                    }
                });
                if response.response.interact(egui::Sense::click()).clicked() {
                    clicked = Some(n);
                }
            }
        });
        if let Some(n) = clicked {
            self.at = n;
        }
        intent
    }
}

/// Implants as tiles with captions.
fn tiles(ui: &mut egui::Ui, g: &mut Gallery<'_>, items: &[(i64, String)]) {
    for (id, text) in items {
        if let Some(row) = g.browser.row(*id) {
            tile(ui, g.thumbs, g.layout, row, text, false);
        }
    }
}
