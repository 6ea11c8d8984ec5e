//! The Raiox Studio window (eframe/egui): import by drag-and-drop, browse, inspect and fix crops,
//! label fast from the keyboard, find similar images, identify an outside X-ray.
//!
//! Why it never blocks: the UI thread only draws. Everything that reads files, decodes, embeds or
//! writes SQLite runs on [`worker`] threads that own their own library connection; thumbnails are
//! decoded by [`thumbs`] loaders; long jobs report progress and can be cancelled ([`jobs`]). Panels
//! are functions of the state in [`app`] and [`state`] and return what the curator asked for.

pub mod app;
pub mod boxedit;
pub mod browser;
pub mod capture;
pub mod frame;
pub mod identify;
pub mod importing;
pub mod inspector;
pub mod jobs;
pub mod labels;
pub mod map;
pub mod map_page;
pub mod production;
pub mod review;
pub mod settings;
pub mod similar;
pub mod state;
pub mod status;
pub mod thumbs;
pub mod undo;
pub mod worker;

use std::path::PathBuf;

pub use app::RaioxApp;

/// The window icon (drawn by `tools/icon/make_icon.py`).
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

/// Open the window on `library` (else the last library, else the default one) and run until closed.
pub fn run(library: Option<PathBuf>) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default();
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(std::sync::Arc::new(icon)),
        Err(e) => tracing::warn!("the window icon could not be read: {e}"),
    }
    let options = eframe::NativeOptions {
        viewport: viewport
            .with_title("Raiox Studio")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "Raiox Studio",
        options,
        Box::new(move |cc| Ok(Box::new(RaioxApp::new(cc, library)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
