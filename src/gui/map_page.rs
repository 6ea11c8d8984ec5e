//! The map page: every implant on the embedding map, coloured by system or status, with the
//! thumbnail of the one under the pointer, lasso or box selection to label or inspect, and the last
//! identified X-ray where it falls.
//!
//! Why a page around the widget: the map is computed on the jobs worker (seconds at 10 000
//! implants, cached until the vectors change); the page turns its points into what the widget
//! draws, keeps their colours in step with the labels, and turns the widget's actions into the
//! app's (a selection becomes the grid's selection, so the picker labels it at once).

use std::collections::HashMap;
use std::sync::Arc;

use crate::gui::browser::{tile, Gallery};
use crate::gui::map::{ColourBy, MapAction, MapPoint, MapView};
use crate::gui::state::Browser;
use crate::search::map::MapPoint as Placed;

/// What the curator asked the map page for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Compute the map (or load it from the cache).
    Compute,
    /// Open an implant in the inspector.
    Open(i64),
    /// Make these implants the selection (to label them together).
    Select(Vec<i64>),
}

/// The map page's state.
#[derive(Default)]
pub struct MapPage {
    /// The widget's view (zoom, pan, tool).
    pub view: MapView,
    /// The map as computed.
    placed: Vec<Placed>,
    /// What the widget draws: positions with the current labels.
    pub points: Vec<MapPoint>,
    /// Colour by system or by status.
    pub colour_by: ColourBy,
    /// The implant under the pointer.
    pub hovered: Option<i64>,
    /// The last identified X-ray on the map.
    pub query: Option<[f32; 2]>,
    /// A computation is on its way.
    pub waiting: bool,
    /// The last error.
    pub error: Option<String>,
}

impl MapPage {
    /// The map arrived (`None`: the computation was cancelled).
    pub fn arrived(&mut self, placed: Option<Vec<Placed>>, browser: &Browser) {
        self.waiting = false;
        if let Some(placed) = placed {
            self.placed = placed;
            self.error = None;
            self.relabel(browser);
        }
    }

    /// Take the labels and statuses from the grid's rows again (after labelling).
    pub fn relabel(&mut self, browser: &Browser) {
        let mut names: HashMap<(String, String), Arc<str>> = HashMap::new();
        self.points = self
            .placed
            .iter()
            .filter_map(|p| {
                let row = browser.row(p.id)?;
                let system = match (&row.manufacturer, &row.system) {
                    (Some(m), Some(s)) => Some(Arc::clone(
                        names
                            .entry((m.clone(), s.clone()))
                            .or_insert_with(|| Arc::from(format!("{m} / {s}"))),
                    )),
                    _ => None,
                };
                Some(MapPoint {
                    id: p.id,
                    x: p.x,
                    y: p.y,
                    system,
                    status: row.status,
                })
            })
            .collect();
        self.view.invalidate();
    }

    /// Whether a map has arrived.
    pub fn has_map(&self) -> bool {
        !self.placed.is_empty()
    }

    /// Draw the page; returns what the curator asked for.
    pub fn show(&mut self, ui: &mut egui::Ui, g: &mut Gallery<'_>) -> Option<Intent> {
        let mut intent = None;
        ui.horizontal(|ui| {
            ui.label("Colour by:");
            ui.selectable_value(&mut self.colour_by, ColourBy::System, "system");
            ui.selectable_value(&mut self.colour_by, ColourBy::Status, "status");
            ui.separator();
            if ui.button("Recompute").clicked() {
                intent = Some(Intent::Compute);
            }
            if self.waiting {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if !self.has_map() {
            ui.label(if self.waiting {
                "Projecting every implant onto the map…"
            } else {
                "No map yet: embed the library, then Recompute."
            });
            return intent;
        }
        ui.label(format!(
            "Scroll to zoom; a lasso or box selection is labelled from the picker; click opens an implant.{}",
            if self.query.is_some() {
                " The ring is the last identified X-ray."
            } else {
                ""
            }
        ));
        if let Some(row) = self.hovered.and_then(|id| g.browser.row(id)) {
            egui::Area::new(egui::Id::unique("map-hover"))
                .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-12.0, 90.0))
                .show(ui.ctx(), |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        tile(ui, g.thumbs, g.layout, row, &row.caption(), false);
                    });
                });
        }
        match self.view.show(ui, &self.points, self.colour_by, self.query) {
            Some(MapAction::Hover(id)) => self.hovered = Some(id),
            Some(MapAction::Open(id)) => intent = Some(Intent::Open(id)),
            Some(MapAction::Select(ids)) => intent = Some(Intent::Select(ids)),
            None => {}
        }
        intent
    }
}
