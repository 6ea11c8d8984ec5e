//! Identify: which implant is in an X-ray that is not in the library.
//!
//! Why it says "unknown": a nearest-neighbour vote always has a winner, but a curator acting on a
//! wrong answer is worse than no answer. The verdict is shown only when the library's calibrated
//! thresholds are met; otherwise the ranked candidates and the evidence are still shown.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{ColorImage, RichText, TextureHandle, TextureOptions, Vec2};

use crate::gui::browser::Gallery;
use crate::gui::similar::tiles;
use crate::search::identify::Identification;

/// The identify panel's state.
#[derive(Default)]
pub struct IdentifyView {
    /// The file asked about.
    pub path: Option<PathBuf>,
    query: Option<TextureHandle>,
    /// The answer.
    pub result: Option<Identification>,
    /// False when the library is too small to judge.
    pub calibrated: bool,
    /// A request is on its way.
    pub waiting: bool,
    /// The last error.
    pub error: Option<String>,
}

/// What the curator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Pick a file to identify.
    Open,
    /// Select a library image (an evidence tile).
    Select(i64),
}

impl IdentifyView {
    /// An answer arrived.
    pub fn answered(
        &mut self,
        ctx: &egui::Context,
        path: PathBuf,
        query: Arc<ColorImage>,
        result: Identification,
        calibrated: bool,
    ) {
        self.query = Some(ctx.load_texture("identify-query", query, TextureOptions::LINEAR));
        self.path = Some(path);
        self.result = Some(result);
        self.calibrated = calibrated;
        self.waiting = false;
        self.error = None;
    }

    /// The headline: the verdict or an honest unknown.
    pub fn headline(&self) -> Option<String> {
        let r = self.result.as_ref()?;
        Some(match &r.verdict {
            Some(v) => format!(
                "{} {} (confidence {:.0} %)",
                v.manufacturer,
                v.system,
                v.confidence * 100.0
            ),
            None if !self.calibrated => {
                "Unknown: the library needs at least 10 labelled images of 2 or more systems to judge".into()
            }
            None => "Unknown: not confidently in the catalogue".into(),
        })
    }

    /// Draw the panel.
    pub fn show(&mut self, ui: &mut egui::Ui, g: &mut Gallery<'_>) -> Option<Intent> {
        let mut intent = None;
        ui.horizontal(|ui| {
            if ui.button("Open X-ray to identify...").clicked() {
                intent = Some(Intent::Open);
            }
            ui.label("or drop an image file here while this tab is open.");
            if self.waiting {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let (Some(result), Some(headline)) = (&self.result, self.headline()) else {
            return intent;
        };
        ui.horizontal_top(|ui| {
            if let Some(q) = &self.query {
                ui.add(egui::Image::from_texture((q.id(), Vec2::splat(224.0))).alt_text("X-ray to identify"));
            }
            ui.vertical(|ui| {
                if let Some(p) = &self.path {
                    ui.label(
                        p.file_name()
                            .map(|f| f.to_string_lossy().to_string())
                            .unwrap_or_default(),
                    );
                }
                ui.label(RichText::new(headline).heading());
                ui.label("Ranked systems (share of the similarity-weighted vote):");
                for c in result.candidates.iter().take(8) {
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::ProgressBar::new(c.score.clamp(0.0, 1.0))
                                .desired_width(160.0)
                                .text(format!("{:.0} %", c.score * 100.0)),
                        );
                        ui.label(format!("{} {}", c.manufacturer, c.system));
                    });
                }
            });
        });
        ui.separator();
        ui.label("Evidence: the nearest labelled library images");
        if let Some(id) = tiles(ui, &result.neighbours, g) {
            intent = Some(Intent::Select(id));
        }
        intent
    }
}
