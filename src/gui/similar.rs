//! Find similar: the nearest library images of the current one, with scores and labels.
//!
//! Why a panel of tiles: curators use neighbours to spot mislabelled images and near-duplicates;
//! clicking one makes it the current image so they can walk the library by similarity.

use crate::gui::browser::{tile, Gallery};
use crate::search::identify::Neighbour;

/// The similar panel's state.
#[derive(Default)]
pub struct SimilarView {
    /// The query image.
    pub query: Option<i64>,
    /// Best first.
    pub neighbours: Vec<Neighbour>,
    /// A request is on its way.
    pub waiting: bool,
    /// The last error.
    pub error: Option<String>,
}

/// One neighbour as a tile caption: score and label.
pub fn caption(n: &Neighbour) -> String {
    format!(
        "{:.3} #{}\n{}",
        n.similarity,
        n.id,
        match (&n.manufacturer, &n.system) {
            (Some(m), Some(s)) => format!("{m} {s}"),
            _ => "unlabelled".to_string(),
        }
    )
}

/// Neighbours as a wrapped grid of tiles; returns the clicked image.
pub fn tiles(ui: &mut egui::Ui, neighbours: &[Neighbour], g: &mut Gallery<'_>) -> Option<i64> {
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt(ui.next_auto_id())
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for n in neighbours {
                    if let Some(row) = g.browser.row(n.id) {
                        if tile(ui, g.thumbs, g.layout, row, &caption(n), false).clicked() {
                            clicked = Some(n.id);
                        }
                    }
                }
            });
        });
    clicked
}

impl SimilarView {
    /// Draw the panel; returns `Some(id)` to select an image, and whether a search was asked for.
    pub fn show(&mut self, ui: &mut egui::Ui, g: &mut Gallery<'_>) -> (Option<i64>, bool) {
        let mut search = false;
        ui.horizontal(|ui| {
            let current = g.browser.current;
            if ui
                .add_enabled(
                    current.is_some(),
                    egui::Button::new("Find similar to current image"),
                )
                .clicked()
            {
                search = true;
            }
            if self.waiting {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(q) = self.query else {
            ui.label("Select an image and press Find similar (or the S key).");
            return (None, search);
        };
        ui.horizontal(|ui| {
            if let Some(row) = g.browser.row(q) {
                tile(
                    ui,
                    g.thumbs,
                    g.layout,
                    row,
                    &format!("query\n{}", row.caption()),
                    true,
                );
            }
            ui.label(format!(
                "{} most similar images (cosine similarity, local library)",
                self.neighbours.len()
            ));
        });
        ui.separator();
        (tiles(ui, &self.neighbours, g), search)
    }
}
