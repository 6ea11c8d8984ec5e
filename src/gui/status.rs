//! The status bar: the active library, the encoder in use, counts, and running jobs with Cancel.
//!
//! Why always visible: a curator must know which library they are changing and whether a job is
//! still running before closing the window or starting another import.

use std::path::Path;

use crate::gui::jobs::Jobs;
use crate::gui::state::Counts;

/// Draw the status bar; returns the index of a job whose Cancel was pressed.
pub fn bar(
    ui: &mut egui::Ui,
    root: &Path,
    encoder: Option<&str>,
    counts: &Counts,
    jobs: &Jobs,
    error: Option<&str>,
) -> Option<usize> {
    let mut cancel = None;
    ui.horizontal(|ui| {
        ui.label(format!("Library: {}", root.display()));
        ui.separator();
        ui.label(format!("Encoder: {}", encoder.unwrap_or("none yet")));
        ui.separator();
        let n = |s: &str| counts.by_status.get(s).copied().unwrap_or(0);
        ui.label(format!(
            "{} implants: {} unlabelled, {} labelled, {} confirmed",
            counts.total,
            n("unlabelled"),
            n("labelled"),
            n("confirmed")
        ));
        for (i, job) in jobs.running.iter().enumerate() {
            ui.separator();
            let bar = egui::ProgressBar::new(job.fraction().unwrap_or(0.0))
                .desired_width(140.0)
                .text(job.describe());
            ui.add(bar);
            if ui
                .add_enabled(
                    !job.cancelling,
                    egui::Button::new(format!("Cancel {}", job.title)),
                )
                .clicked()
            {
                cancel = Some(i);
            }
        }
        if let Some(e) = error {
            ui.separator();
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    });
    cancel
}
