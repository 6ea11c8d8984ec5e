//! The inspector: the whole film with every implant's oriented box, and the open implant's
//! 224×224 model input beside it, with a live preview while its box is edited.
//!
//! Why previews go through the worker: a preview is a real standardisation of the film (stretch,
//! polarity, the fixture turned apex-down, resize), the same code that will write the saved image,
//! so what the curator sees is what the model gets. The worker keeps the decoded film and drops
//! previews made stale by newer ones while the curator drags.

use std::sync::Arc;

use egui::{
    Color32, ColorImage, Pos2, Rect as UiRect, Role, Sense, Shape, Stroke, TextureHandle, TextureOptions,
    Vec2, WidgetInfo,
};

use crate::catalogue::films::FilmRecord;
use crate::catalogue::images::ImageRecord;
use crate::gui::boxedit::{self, Handle};
use crate::standardise::Fixture;

/// Side of the standard image as drawn.
const STANDARD_SIDE: f32 = 224.0;
/// How close (screen points) the pointer must be to grab a handle.
const GRAB: f32 = 6.0;
/// Distance (screen points) of the rotation knob beyond the platform end.
const KNOB_REACH: f32 = 18.0;

/// What the curator did in the inspector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Intent {
    /// Show a preview of the open implant with this box.
    Preview(Fixture),
    /// Save this box for the open implant, re-derive and re-embed it.
    Save(Fixture),
    /// Go back to the box the finder proposes for the open implant.
    Refind,
    /// Open another implant of the film.
    Select(i64),
    /// Add an implant the finder missed, with this box.
    Add(Fixture),
    /// Remove a false implant from the film.
    Remove(i64),
}

/// A drag in progress on the film.
#[derive(Debug, Clone, Copy)]
struct Drag {
    /// What is dragged; `None`: a new box is being drawn.
    handle: Option<Handle>,
    /// Where it started, in film pixels.
    from: (f32, f32),
    /// The open implant's box when it started.
    start: Option<Fixture>,
}

/// The inspector's state.
#[derive(Default)]
pub struct Inspector {
    /// The open implant (`None` with a film open: a film with no implant yet).
    pub record: Option<ImageRecord>,
    /// The open film.
    pub film: Option<FilmRecord>,
    /// Every implant of the open film.
    pub implants: Vec<ImageRecord>,
    original: Option<TextureHandle>,
    standard: Option<TextureHandle>,
    preview: Option<TextureHandle>,
    /// The unsaved box of the open implant, if the curator changed it.
    pub draft: Option<Fixture>,
    /// A new box being drawn, in film pixels.
    drawing: Option<Fixture>,
    drag: Option<Drag>,
    /// The last error opening, previewing or saving.
    pub error: Option<String>,
    /// A save was sent and has not come back.
    pub saving: bool,
    /// The open implant's label, box and crop changes, newest first (who, when, from, to).
    pub history: Vec<crate::catalogue::history::Change>,
}

impl Inspector {
    /// The id of the open implant.
    pub fn id(&self) -> Option<i64> {
        self.record.as_ref().map(|r| r.id)
    }

    /// Whether a preview of the draft box is shown.
    pub fn has_preview(&self) -> bool {
        self.preview.is_some()
    }

    /// A film, its implants and their pixels arrived (`current`: the implant to open).
    pub fn opened(
        &mut self,
        ctx: &egui::Context,
        film: FilmRecord,
        implants: Vec<ImageRecord>,
        current: Option<i64>,
        original: Arc<ColorImage>,
        standard: Option<Arc<ColorImage>>,
    ) {
        self.original = Some(ctx.load_texture("inspector-original", original, TextureOptions::LINEAR));
        self.standard = standard.map(|s| ctx.load_texture("inspector-standard", s, TextureOptions::LINEAR));
        self.record = implants.iter().find(|r| Some(r.id) == current).cloned();
        self.implants = implants;
        self.film = Some(film);
        self.preview = None;
        self.draft = None;
        self.drawing = None;
        self.drag = None;
        self.error = None;
        self.saving = false;
    }

    /// A preview arrived.
    pub fn previewed(&mut self, ctx: &egui::Context, id: i64, image: Arc<ColorImage>) {
        if self.id() == Some(id) && self.draft.is_some() {
            self.preview = Some(ctx.load_texture("inspector-preview", image, TextureOptions::LINEAR));
        }
    }

    /// A box was saved: the record and its standard image changed.
    pub fn saved(&mut self, ctx: &egui::Context, record: ImageRecord, standard: Arc<ColorImage>) {
        if self.id() == Some(record.id) {
            self.standard = Some(ctx.load_texture("inspector-standard", standard, TextureOptions::LINEAR));
            if let Some(r) = self.implants.iter_mut().find(|r| r.id == record.id) {
                *r = record.clone();
            }
            self.record = Some(record);
            self.preview = None;
            self.draft = None;
            self.saving = false;
        }
    }

    /// The open implant's box as shown: the draft, else the saved one.
    pub fn shown_box(&self) -> Option<Fixture> {
        self.draft.or(self.record.as_ref().and_then(|r| r.fixture))
    }

    /// Draw the inspector; returns what the curator asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<Intent> {
        let (Some(film), Some(original)) = (self.film.clone(), self.original.clone()) else {
            ui.label("Select an implant in the library to inspect it.");
            if let Some(e) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            return None;
        };
        let mut intent = None;
        ui.horizontal(|ui| {
            let title = match &self.record {
                Some(rec) => format!(
                    "Implant #{} {} — film {}",
                    rec.id,
                    rec.name.as_deref().unwrap_or("unlabelled"),
                    film.id
                ),
                None => format!("Film {}", film.id),
            };
            ui.heading(title);
        });
        ui.label(format!(
            "{} {}x{} px, {} | {} | source: {}",
            film.source_format,
            film.width,
            film.height,
            if film.inverted {
                "inverted film"
            } else {
                "normal polarity"
            },
            match self.implants.len() {
                0 => "no implant found — drag on the film to draw one".to_string(),
                1 => "1 implant".to_string(),
                n => format!("{n} implants"),
            },
            film.source_name
        ));
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                let avail = ui.available_size() - Vec2::new(STANDARD_SIDE + 40.0, 110.0);
                let size = fit_size(original.size_vec2(), avail.max(Vec2::splat(160.0)));
                // The hint wraps to the film's width, so the model input keeps its column.
                ui.set_max_width(size.x);
                ui.label(
                    "Film: drag inside a box to move it, its ends or sides to resize, the knob to turn; \
                     drag elsewhere to draw a missed implant",
                );
                let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
                response.widget_info(|| {
                    WidgetInfo::labeled(Role::Image, true, "Film with implant boxes, drag to edit")
                });
                intent = self.film_view(ui, rect, &response, &film, &original);
            });
            ui.vertical(|ui| {
                if self.record.is_some() {
                    ui.label("Model input (saved)");
                    if let Some(std) = &self.standard {
                        ui.add(
                            egui::Image::from_texture((std.id(), Vec2::splat(STANDARD_SIDE)))
                                .alt_text("Standardised image"),
                        );
                    }
                }
                if self.draft.is_some() {
                    ui.label("Preview (not saved)");
                    match &self.preview {
                        Some(tex) => {
                            ui.add(
                                egui::Image::from_texture((tex.id(), Vec2::splat(STANDARD_SIDE)))
                                    .alt_text("Box preview"),
                            );
                        }
                        None => {
                            ui.spinner();
                        }
                    }
                }
                if self.record.is_some() {
                    egui::CollapsingHeader::new(format!("History ({})", self.history.len()))
                        .id_salt("implant-history")
                        .show(ui, |ui| {
                            for change in &self.history {
                                // The summary names when and who; the window's font has no
                                // arrow glyph (U+2192), so a change reads "A to B" here.
                                ui.label(change.summary().replace('→', "to"));
                            }
                        });
                }
                if self.implants.len() > 1 {
                    ui.label("Implants of this film");
                    for rec in &self.implants {
                        let text = format!("#{} {}", rec.id, rec.name.as_deref().unwrap_or("unlabelled"));
                        if ui.selectable_label(Some(rec.id) == self.id(), text).clicked() {
                            intent = Some(Intent::Select(rec.id));
                        }
                    }
                }
            });
        });
        if let Some(f) = self.shown_box() {
            ui.label(format!(
                "box: centre {:.0},{:.0}  width {:.0}  length {:.0}  apex {:.0}°",
                f.cx, f.cy, f.width, f.length, f.angle_deg
            ));
        }
        ui.horizontal(|ui| {
            let open = self.record.is_some();
            if ui
                .add_enabled(open && !self.saving, egui::Button::new("Finder's box"))
                .on_hover_text("Go back to the box the implant finder proposes here")
                .clicked()
            {
                self.saving = true;
                intent = Some(Intent::Refind);
            }
            if ui
                .add_enabled(open && !self.saving, egui::Button::new("Turn 180°"))
                .on_hover_text("The apex is at the other end")
                .clicked()
            {
                if let Some(mut f) = self.shown_box() {
                    f.angle_deg = if f.angle_deg > 0.0 {
                        f.angle_deg - 180.0
                    } else {
                        f.angle_deg + 180.0
                    };
                    self.draft = Some(f);
                    intent = Some(Intent::Preview(f));
                }
            }
            let can_save = self.draft.is_some() && !self.saving;
            if ui.add_enabled(can_save, egui::Button::new("Save box")).clicked() {
                if let Some(d) = self.draft {
                    self.saving = true;
                    intent = Some(Intent::Save(d));
                }
            }
            if ui
                .add_enabled(self.draft.is_some(), egui::Button::new("Discard"))
                .clicked()
            {
                self.draft = None;
                self.preview = None;
            }
            if ui
                .add_enabled(open && !self.saving, egui::Button::new("Not an implant"))
                .on_hover_text("Remove this box from the film")
                .clicked()
            {
                if let Some(id) = self.id() {
                    intent = Some(Intent::Remove(id));
                }
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

    /// The film with its boxes, and the mouse editing of the open implant's box.
    fn film_view(
        &mut self,
        ui: &egui::Ui,
        rect: UiRect,
        response: &egui::Response,
        film: &FilmRecord,
        original: &TextureHandle,
    ) -> Option<Intent> {
        let painter = ui.painter_at(rect);
        painter.image(original.id(), rect, unit_uv(), Color32::WHITE);
        // Uniform scale: the film is drawn with its own aspect.
        let scale = rect.width() / film.width.max(1) as f32;
        let to_screen = |p: (f32, f32)| rect.min + Vec2::new(p.0 * scale, p.1 * scale);
        let to_film = |p: Pos2| {
            (
                ((p.x - rect.min.x) / scale).clamp(0.0, film.width as f32),
                ((p.y - rect.min.y) / scale).clamp(0.0, film.height as f32),
            )
        };
        let outline = |f: &Fixture, stroke: Stroke| {
            let pts: Vec<Pos2> = f.as_found().corners().iter().map(|&c| to_screen(c)).collect();
            painter.add(Shape::closed_line(pts, stroke));
            // The apex end is marked by a dot.
            painter.circle_filled(to_screen(f.as_found().apex_point()), 3.0, stroke.color);
        };
        for rec in &self.implants {
            if Some(rec.id) != self.id() {
                if let Some(f) = &rec.fixture {
                    outline(f, Stroke::new(1.5, Color32::from_rgb(90, 160, 255)));
                    painter.text(
                        to_screen(f.as_found().platform_point()),
                        egui::Align2::CENTER_BOTTOM,
                        format!("#{}", rec.id),
                        egui::FontId::proportional(12.0),
                        Color32::from_rgb(90, 160, 255),
                    );
                }
            }
        }
        let reach = KNOB_REACH / scale;
        if let Some(f) = self.shown_box() {
            let yellow = Color32::from_rgb(255, 200, 0);
            outline(&f, Stroke::new(2.0, yellow));
            let k = to_screen(boxedit::knob(&f, reach));
            painter.line_segment(
                [to_screen(f.as_found().platform_point()), k],
                Stroke::new(1.0, yellow),
            );
            painter.circle_stroke(k, 5.0, Stroke::new(2.0, yellow));
        }
        if let Some(f) = &self.drawing {
            outline(f, Stroke::new(2.0, Color32::from_rgb(80, 220, 120)));
        }
        let mut intent = None;
        if response.drag_started() {
            if let Some(from) = ui.input(|i| i.pointer.press_origin()).map(to_film) {
                let start = self.shown_box();
                let handle = start.and_then(|f| boxedit::hit(&f, from, GRAB / scale, reach));
                // A press inside another implant's box opens it instead of drawing.
                let other = self.implants.iter().find(|r| {
                    Some(r.id) != self.id()
                        && r.fixture
                            .is_some_and(|f| boxedit::hit(&f, from, 0.0, reach) == Some(Handle::Inside))
                });
                match (handle, other) {
                    (None, Some(rec)) => intent = Some(Intent::Select(rec.id)),
                    _ => self.drag = Some(Drag { handle, from, start }),
                }
            }
        }
        if let (Some(d), Some(now)) = (self.drag, response.interact_pointer_pos()) {
            let now = to_film(now);
            match (d.handle, d.start) {
                (Some(handle), Some(start)) if response.dragged() || response.drag_stopped() => {
                    let f = boxedit::drag(&start, handle, d.from, now);
                    if self.draft != Some(f) {
                        self.draft = Some(f);
                        intent = Some(Intent::Preview(f));
                    }
                }
                (None, _) => self.drawing = boxedit::draw(d.from, now),
                _ => {}
            }
        }
        if response.drag_stopped() {
            if let Some(f) = self.drawing.take() {
                intent = Some(Intent::Add(f));
            }
            self.drag = None;
        }
        if response.clicked() {
            if let Some(p) = response.interact_pointer_pos().map(to_film) {
                let other = self.implants.iter().find(|r| {
                    r.fixture
                        .is_some_and(|f| boxedit::hit(&f, p, 0.0, reach) == Some(Handle::Inside))
                });
                if let Some(rec) = other.filter(|r| Some(r.id) != self.id()) {
                    intent = Some(Intent::Select(rec.id));
                }
            }
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
