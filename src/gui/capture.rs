//! Screenshots of the real window for the README: `RAIOX_SCREENSHOT=out.png` makes the app set up
//! one screen, wait until every job, worker reply and thumbnail has arrived, save the frame as PNG
//! and close.
//!
//! Why inside the app: the screenshots must show the real window drawn by the real renderer, not a
//! mock-up; `tools/screenshots.sh` runs the binary under Xvfb once per screen.
//!
//! `RAIOX_SCREENSHOT_VIEW` picks the screen: `library` (default), `label`, `inspect`, `similar`,
//! `identify` or `import`; `RAIOX_SCREENSHOT_INPUT` is the file to identify or the folder to import.

use std::path::{Path, PathBuf};

/// What a capture needs from the window. Why a trait: the capture drives the app, and the app
/// holds the capture; the app implements this so the two files do not import each other.
pub trait Screen {
    /// The library listing arrived and no job or reply is pending.
    fn ready(&self) -> bool;
    /// No job or reply is pending.
    fn idle(&self) -> bool;
    /// Set up the screen `view` names, with its `input` file or folder.
    fn show(&mut self, view: &str, input: Option<&Path>);
    /// On the inspector, start an edit of the open implant's box so its preview shows; false when
    /// there is nothing to edit (or an edit is already shown).
    fn begin_box_edit(&mut self) -> bool;
}

/// Frames the window must stay idle before the picture is taken.
const SETTLE_FRAMES: u32 = 8;

/// Progress of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the library listing.
    Loading,
    /// The screen was set up; waiting for the results.
    Settling(u32),
    /// A crop draft was set on the inspector; waiting for its preview.
    Cropping,
    /// Screenshot requested.
    Taken,
}

/// A screenshot to take.
pub struct Capture {
    path: PathBuf,
    view: String,
    input: Option<PathBuf>,
    stage: Stage,
}

impl Capture {
    /// The capture asked for by the environment, if any.
    pub fn from_env() -> Option<Capture> {
        let path = std::env::var_os("RAIOX_SCREENSHOT")?;
        Some(Capture {
            path: PathBuf::from(path),
            view: std::env::var("RAIOX_SCREENSHOT_VIEW").unwrap_or_else(|_| "library".into()),
            input: std::env::var_os("RAIOX_SCREENSHOT_INPUT").map(PathBuf::from),
            stage: Stage::Loading,
        })
    }

    /// Advance by one frame; returns the capture while it is not done.
    pub fn drive(mut self, app: &mut dyn Screen, ctx: &egui::Context) -> Option<Capture> {
        ctx.request_repaint();
        match self.stage {
            Stage::Loading if app.ready() => {
                app.show(&self.view, self.input.as_deref());
                self.stage = Stage::Settling(0);
            }
            Stage::Settling(n) if app.idle() => {
                if self.view == "inspect" && app.begin_box_edit() {
                    self.stage = Stage::Cropping;
                } else if n >= SETTLE_FRAMES {
                    self.take(ctx);
                    self.stage = Stage::Taken;
                } else {
                    self.stage = Stage::Settling(n + 1);
                }
            }
            Stage::Cropping if app.idle() => self.stage = Stage::Settling(SETTLE_FRAMES / 2),
            Stage::Settling(_) => self.stage = Stage::Settling(0),
            _ => {}
        }
        (self.stage != Stage::Taken).then_some(self)
    }

    fn take(&self, ctx: &egui::Context) {
        let (path, ctx2) = (self.path.clone(), ctx.clone());
        ctx.request_screenshot(move |image| {
            let [w, h] = image.size;
            let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
            match image::RgbaImage::from_raw(w as u32, h as u32, bytes) {
                Some(img) => match img.save(&path) {
                    Ok(()) => eprintln!("screenshot saved to {}", path.display()),
                    Err(e) => eprintln!("cannot save {}: {e}", path.display()),
                },
                None => eprintln!("screenshot has an unexpected size"),
            }
            ctx2.send_viewport_cmd(egui::ViewportCommand::Close);
        });
    }
}
