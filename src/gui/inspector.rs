//! The inspector: the original and its standardised 224×224 model input side by side, and the crop
//! the curator drags on the original with a live preview.
//!
//! Why previews go through the worker: a preview is a real standardisation of the original
//! (stretch, polarity, crop, resize, CLAHE), the same code that will write the saved image, so what
//! the curator sees is what the model gets. The worker keeps the decoded original and drops
//! previews made stale by newer ones while the curator drags.

use std::sync::Arc;

use egui::{
    Color32, ColorImage, Pos2, Rect as UiRect, Role, Sense, Stroke, TextureHandle, TextureOptions, Vec2,
    WidgetInfo,
};

use crate::catalogue::images::ImageRecord;
use crate::standardise::Rect;

/// Smallest crop side in original pixels.
const MIN_CROP: u32 = 16;
/// Side of the standard image as drawn.
const STANDARD_SIDE: f32 = 224.0;

/// What the curator did in the inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Show a preview of this crop (`None`: automatic).
    Preview(Option<Rect>),
    /// Save this crop (`None`: automatic) and re-embed.
    Save(Option<Rect>),
}

/// The crop being edited: a manual rectangle, or back to the automatic guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    /// A manual crop in original pixels.
    Manual(Rect),
    /// The automatic crop.
    Auto,
}

impl Draft {
    fn crop(self) -> Option<Rect> {
        match self {
            Draft::Manual(r) => Some(r),
            Draft::Auto => None,
        }
    }
}

/// The inspector's state.
#[derive(Default)]
pub struct Inspector {
    /// The open image.
    pub record: Option<ImageRecord>,
    original: Option<TextureHandle>,
    standard: Option<TextureHandle>,
    preview: Option<(TextureHandle, Rect)>,
    /// The unsaved crop, if the curator changed it.
    pub draft: Option<Draft>,
    drag_from: Option<(f32, f32)>,
    /// The last error opening, previewing or saving.
    pub error: Option<String>,
    /// A save was sent and has not come back.
    pub saving: bool,
}

impl Inspector {
    /// The id of the open image.
    pub fn id(&self) -> Option<i64> {
        self.record.as_ref().map(|r| r.id)
    }

    /// Whether a preview of the draft crop is shown.
    pub fn has_preview(&self) -> bool {
        self.preview.is_some()
    }

    /// A record and its pixels arrived.
    pub fn opened(
        &mut self,
        ctx: &egui::Context,
        record: ImageRecord,
        original: Arc<ColorImage>,
        standard: Arc<ColorImage>,
    ) {
        self.original = Some(ctx.load_texture("inspector-original", original, TextureOptions::LINEAR));
        self.standard = Some(ctx.load_texture("inspector-standard", standard, TextureOptions::LINEAR));
        self.record = Some(record);
        self.preview = None;
        self.draft = None;
        self.error = None;
        self.saving = false;
    }

    /// A preview arrived.
    pub fn previewed(&mut self, ctx: &egui::Context, id: i64, crop: Rect, image: Arc<ColorImage>) {
        if self.id() == Some(id) && self.draft.is_some() {
            let tex = ctx.load_texture("inspector-preview", image, TextureOptions::LINEAR);
            self.preview = Some((tex, crop));
        }
    }

    /// A crop was saved: the record and its standard image changed.
    pub fn saved(&mut self, ctx: &egui::Context, record: ImageRecord, standard: Arc<ColorImage>) {
        if self.id() == Some(record.id) {
            self.standard = Some(ctx.load_texture("inspector-standard", standard, TextureOptions::LINEAR));
            self.record = Some(record);
            self.preview = None;
            self.draft = None;
            self.saving = false;
        }
    }

    /// The crop now in force for display: the draft's preview, the saved manual crop, or the guess.
    fn shown_crop(&self, rec: &ImageRecord) -> Rect {
        match (self.draft, &self.preview) {
            (Some(Draft::Manual(r)), _) => r,
            (Some(Draft::Auto), Some((_, r))) => *r,
            (Some(Draft::Auto), None) => rec.auto_crop,
            (None, _) => rec.params.crop.unwrap_or(rec.auto_crop),
        }
    }

    /// Draw the inspector; returns what the curator asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<Intent> {
        let (Some(rec), Some(original)) = (self.record.clone(), self.original.clone()) else {
            ui.label("Select an image in the library to inspect it.");
            if let Some(e) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            return None;
        };
        let mut intent = None;
        ui.horizontal(|ui| {
            ui.heading(format!(
                "#{} {}",
                rec.id,
                rec.name.as_deref().unwrap_or("unlabelled")
            ));
        });
        ui.label(format!(
            "{} {}x{} px, {} | source: {}",
            rec.source_format,
            rec.width,
            rec.height,
            if rec.inverted {
                "inverted film"
            } else {
                "normal polarity"
            },
            rec.source_name
        ));
        let crop = self.shown_crop(&rec);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.label("Original (drag to crop)");
                let avail = ui.available_size() - Vec2::new(STANDARD_SIDE * 2.0 + 40.0, 90.0);
                let size = fit_size(original.size_vec2(), avail.max(Vec2::splat(160.0)));
                let (rect, response) = ui.allocate_exact_size(size, Sense::drag());
                response
                    .widget_info(|| WidgetInfo::labeled(Role::Image, true, "Original image, drag to crop"));
                let painter = ui.painter_at(rect);
                painter.image(original.id(), rect, unit_uv(), Color32::WHITE);
                let to_screen = |r: Rect| {
                    let (sx, sy) = (rect.width() / rec.width as f32, rect.height() / rec.height as f32);
                    UiRect::from_min_size(
                        rect.min + Vec2::new(r.x as f32 * sx, r.y as f32 * sy),
                        Vec2::new(r.w as f32 * sx, r.h as f32 * sy),
                    )
                };
                painter.rect_stroke(
                    to_screen(rec.auto_crop),
                    0.0,
                    Stroke::new(1.0, Color32::from_rgb(90, 160, 255)),
                    egui::StrokeKind::Inside,
                );
                painter.rect_stroke(
                    to_screen(crop),
                    0.0,
                    Stroke::new(2.0, Color32::from_rgb(255, 200, 0)),
                    egui::StrokeKind::Inside,
                );
                let to_image = |p: Pos2| {
                    (
                        ((p.x - rect.min.x) / rect.width() * rec.width as f32).clamp(0.0, rec.width as f32),
                        ((p.y - rect.min.y) / rect.height() * rec.height as f32)
                            .clamp(0.0, rec.height as f32),
                    )
                };
                if response.drag_started() {
                    self.drag_from = ui.input(|i| i.pointer.press_origin()).map(to_image);
                }
                if let (Some(from), Some(now)) = (self.drag_from, response.interact_pointer_pos()) {
                    if response.dragged() || response.drag_stopped() {
                        if let Some(r) = rect_between(from, to_image(now), rec.width, rec.height) {
                            if self.draft != Some(Draft::Manual(r)) {
                                self.draft = Some(Draft::Manual(r));
                                intent = Some(Intent::Preview(Some(r)));
                            }
                        }
                    }
                }
                if response.drag_stopped() {
                    self.drag_from = None;
                }
                ui.label(format!(
                    "crop x={} y={} w={} h={}",
                    crop.x, crop.y, crop.w, crop.h
                ));
            });
            ui.vertical(|ui| {
                ui.label("Standardised (saved)");
                if let Some(std) = &self.standard {
                    ui.add(
                        egui::Image::from_texture((std.id(), Vec2::splat(STANDARD_SIDE)))
                            .alt_text("Standardised image"),
                    );
                }
                if self.draft.is_some() {
                    ui.label("Preview (not saved)");
                    match &self.preview {
                        Some((tex, _)) => {
                            ui.add(
                                egui::Image::from_texture((tex.id(), Vec2::splat(STANDARD_SIDE)))
                                    .alt_text("Crop preview"),
                            );
                        }
                        None => {
                            ui.spinner();
                        }
                    }
                }
            });
        });
        ui.horizontal(|ui| {
            if ui.button("Reset to automatic crop").clicked() {
                self.draft = Some(Draft::Auto);
                self.preview = None;
                intent = Some(Intent::Preview(None));
            }
            let can_save = self.draft.is_some() && !self.saving;
            if ui.add_enabled(can_save, egui::Button::new("Save crop")).clicked() {
                if let Some(d) = self.draft {
                    self.saving = true;
                    intent = Some(Intent::Save(d.crop()));
                }
            }
            if ui
                .add_enabled(self.draft.is_some(), egui::Button::new("Discard crop"))
                .clicked()
            {
                self.draft = None;
                self.preview = None;
            }
            if self.saving {
                ui.spinner();
                ui.label("re-deriving and re-embedding");
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        intent
    }
}

/// The whole texture.
pub fn unit_uv() -> UiRect {
    UiRect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0))
}

/// The largest size with the aspect of `image` that fits in `space`.
pub fn fit_size(image: Vec2, space: Vec2) -> Vec2 {
    let scale = (space.x / image.x).min(space.y / image.y);
    image * scale.max(0.01)
}

/// The crop between two corners in image pixels, clamped to the image; `None` when too small.
fn rect_between(a: (f32, f32), b: (f32, f32), width: u32, height: u32) -> Option<Rect> {
    let (x0, x1) = (a.0.min(b.0).floor() as u32, a.0.max(b.0).ceil() as u32);
    let (y0, y1) = (a.1.min(b.1).floor() as u32, a.1.max(b.1).ceil() as u32);
    let r = Rect {
        x: x0.min(width),
        y: y0.min(height),
        w: x1.min(width).saturating_sub(x0),
        h: y1.min(height).saturating_sub(y0),
    };
    (r.w >= MIN_CROP && r.h >= MIN_CROP).then_some(r)
}
