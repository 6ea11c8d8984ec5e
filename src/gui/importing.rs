//! The import panel: what was dropped or picked, each file's status as it is handled, and the
//! progress bar with its Cancel button.
//!
//! Why a per-file list: a curator importing a folder must see which files were refused and why
//! (corrupt, too small, not an image) without leaving the window; every good file is still imported.

use crate::gui::jobs::Job;
use crate::ingest::import::{ImportItem, ItemStatus};

/// The import panel's state.
#[derive(Default)]
pub struct ImportView {
    /// Inputs queued or importing (files and folders as given, URLs, pasted images).
    pub inputs: Vec<String>,
    /// Per-file outcomes, in the order they were handled.
    pub items: Vec<ImportItem>,
    /// Summary of the last finished import.
    pub summary: Option<String>,
    /// The last error.
    pub error: Option<String>,
}

impl ImportView {
    /// Counts of imported, duplicate and refused items so far.
    pub fn tally(&self) -> (usize, usize, usize) {
        let n = |s: ItemStatus| self.items.iter().filter(|i| i.status == s).count();
        (
            n(ItemStatus::Imported),
            n(ItemStatus::Duplicate),
            n(ItemStatus::Refused),
        )
    }

    /// Draw the panel; returns true when Cancel was pressed.
    pub fn show(&mut self, ui: &mut egui::Ui, job: Option<&Job>) -> bool {
        let mut cancel = false;
        ui.heading("Import");
        ui.label(
            "Drop image files, whole folders or images from a web browser anywhere on the window, use Add \
             images / Add folder, or paste (Ctrl+V) an image or image URLs.",
        );
        if let Some(job) = job {
            ui.horizontal(|ui| {
                let bar = match job.fraction() {
                    Some(f) => egui::ProgressBar::new(f).text(job.describe()),
                    None => egui::ProgressBar::new(0.0).animate(true).text(job.describe()),
                };
                ui.add(bar.desired_width(ui.available_width() - 90.0));
                if ui
                    .add_enabled(!job.cancelling, egui::Button::new("Cancel import"))
                    .clicked()
                {
                    cancel = true;
                }
            });
        }
        if let Some(s) = &self.summary {
            ui.label(s);
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let (imported, duplicates, refused) = self.tally();
        ui.label(format!(
            "{} files handled: {imported} imported, {duplicates} duplicates, {refused} refused",
            self.items.len()
        ));
        for p in &self.inputs {
            ui.label(format!("importing: {p}"));
        }
        ui.separator();
        let row_height = ui.text_style_height(&egui::TextStyle::Body);
        egui::ScrollArea::vertical()
            .id_salt("import-items")
            .auto_shrink([false, false])
            .show_rows(ui, row_height, self.items.len(), |ui, range| {
                for item in &self.items[range] {
                    let (status, color) = match item.status {
                        ItemStatus::Imported => ("imported", ui.visuals().text_color()),
                        ItemStatus::Duplicate => ("duplicate", ui.visuals().weak_text_color()),
                        ItemStatus::Refused => ("refused", ui.visuals().error_fg_color),
                    };
                    let mut line = format!("{status:<10} {}", item.path);
                    if let Some(id) = item.id {
                        line.push_str(&format!("  #{id}"));
                    }
                    if let Some(e) = &item.error {
                        line.push_str(&format!("  {e}"));
                    }
                    if let Some(w) = &item.warning {
                        line.push_str(&format!("  {w}"));
                    }
                    if let Some(nd) = &item.near_duplicate {
                        line.push_str(&format!("  near-duplicate of #{} ({:.3})", nd.of, nd.similarity));
                    }
                    ui.colored_label(color, line);
                }
            });
        cancel
    }
}
