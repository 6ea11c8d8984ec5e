//! The settings window and what the window remembers between runs.
//!
//! Why persisted here: eframe stores the layout (panel sizes) by itself; the last library, the theme
//! and the grid order are ours, saved with `eframe::set_value` so the next start opens where the
//! curator left off.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::gui::state::Sort;

/// Key of our settings in eframe's storage.
pub const STORAGE_KEY: &str = "raiox-studio";

/// Remembered between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    /// The last library opened.
    pub library: Option<PathBuf>,
    /// Dark theme (else light).
    pub dark: bool,
    /// Grid order.
    pub sort: Sort,
    /// Neighbours shown by Find similar.
    pub similar_k: usize,
    /// Voting neighbours of Identify.
    pub identify_k: usize,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            library: None,
            dark: true,
            sort: Sort::Oldest,
            similar_k: 24,
            identify_k: 10,
        }
    }
}

/// What the curator asked the settings window for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Pick another library folder.
    OpenLibrary,
    /// Compute missing or stale embeddings.
    Embed,
}

/// Draw the settings window (when open).
pub fn window(
    ctx: &egui::Context,
    open: &mut bool,
    persisted: &mut Persisted,
    root: &std::path::Path,
    encoder: Option<&str>,
) -> Option<Intent> {
    let mut intent = None;
    egui::Window::new("Settings").open(open).resizable(true).show(ctx, |ui| {
        ui.heading("Library");
        ui.label(format!("Open: {}", root.display()));
        if ui.button("Open another library...").clicked() {
            intent = Some(Intent::OpenLibrary);
        }
        ui.separator();
        ui.heading("Embeddings");
        ui.label(format!("Active encoder: {}", encoder.unwrap_or("none yet (Lite0 is used on first embed)")));
        if ui.button("Compute missing embeddings").clicked() {
            intent = Some(Intent::Embed);
        }
        ui.separator();
        ui.heading("Appearance");
        ui.horizontal(|ui| {
            ui.radio_value(&mut persisted.dark, true, "Dark theme");
            ui.radio_value(&mut persisted.dark, false, "Light theme");
        });
        ui.separator();
        ui.heading("Search");
        ui.horizontal(|ui| {
            let l = ui.label("Similar images shown:");
            ui.add(egui::DragValue::new(&mut persisted.similar_k).range(1..=200)).labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label("Identify: voting neighbours:");
            ui.add(egui::DragValue::new(&mut persisted.identify_k).range(1..=100)).labelled_by(l.id);
        });
        ui.separator();
        ui.heading("Sync to production");
        ui.label("Spaces and PostgreSQL settings, Test connection and the sync itself: the Sync to production button.");
    });
    intent
}

/// Dark or light, as the curator chose.
pub(super) fn apply_theme(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
}
