//! The library browser: filters and counts in the side panel, the virtualised thumbnail grid.
//!
//! Why virtualised: only the rows on screen are laid out (`ScrollArea::show_rows`) and only their
//! thumbnails are wished for, so a 100 000-image library costs the same per frame as a small one.

use egui::{Align2, Color32, FontId, Response, Role, Sense, Stroke, Vec2, WidgetInfo};

use crate::catalogue::images::Status;
use crate::gui::inspector::unit_uv;
use crate::gui::state::{status_name, Browser, Row, Sort, SyncState};
use crate::gui::thumbs::{Thumbs, SIDE};
use crate::library::Layout;

/// Height of the caption under a thumbnail.
const CAPTION: f32 = 30.0;
/// Space around a thumbnail.
const PAD: f32 = 6.0;

/// What the curator did in the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Clicked an image (with Ctrl / Shift).
    Click {
        /// Image.
        id: i64,
        /// Ctrl held: add to / remove from the selection.
        toggle: bool,
        /// Shift held: select a range.
        range: bool,
    },
    /// Double-clicked: open in the inspector.
    Inspect(i64),
}

/// What drawing thumbnails of library images needs: their rows, the texture cache, where files are.
pub struct Gallery<'a> {
    /// The rows (for each image's standard image and status).
    pub browser: &'a Browser,
    /// The texture cache.
    pub thumbs: &'a mut Thumbs,
    /// The library's file layout, once the worker has opened it.
    pub layout: Option<&'a Layout>,
}

impl<'a> Gallery<'a> {
    /// The grid's rows, textures and file layout, lent to a page for one frame.
    pub fn new(browser: &'a Browser, thumbs: &'a mut Thumbs, layout: Option<&'a Layout>) -> Gallery<'a> {
        Gallery {
            browser,
            thumbs,
            layout,
        }
    }
}

/// Size of one grid cell.
pub fn cell_size() -> Vec2 {
    Vec2::new(SIDE as f32 + 2.0 * PAD, SIDE as f32 + CAPTION + 2.0 * PAD)
}

/// One thumbnail with a caption, clickable; shared by the grid, similar and identify panels.
pub fn tile(
    ui: &mut egui::Ui,
    thumbs: &mut Thumbs,
    layout: Option<&Layout>,
    row: &Row,
    caption: &str,
    selected: bool,
) -> Response {
    let (rect, response) = ui.allocate_exact_size(cell_size(), Sense::click());
    let name = format!("Image {}", row.caption());
    response.widget_info(|| WidgetInfo::selected(Role::Button, true, selected, &name));
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let visuals = ui.visuals();
    let painter = ui.painter_at(rect);
    if selected {
        painter.rect_filled(rect, 4.0, visuals.selection.bg_fill);
    } else if response.hovered() {
        painter.rect_filled(rect, 4.0, visuals.widgets.hovered.bg_fill);
    }
    let img_rect = egui::Rect::from_min_size(rect.min + Vec2::splat(PAD), Vec2::splat(SIDE as f32));
    let texture = layout.and_then(|l| thumbs.get(row.id, || l.standard_path(&row.standard_sha256)));
    match texture {
        Some(tex) => {
            painter.image(tex.id(), img_rect, unit_uv(), Color32::WHITE);
        }
        None => {
            painter.rect_filled(img_rect, 2.0, visuals.faint_bg_color);
        }
    }
    let status_color = match row.status {
        Status::Unlabelled => Color32::from_rgb(200, 120, 40),
        Status::Labelled => Color32::from_rgb(70, 140, 220),
        Status::Confirmed => Color32::from_rgb(60, 170, 90),
    };
    painter.circle_filled(img_rect.right_top() + Vec2::new(-8.0, 8.0), 5.0, status_color);
    painter.rect_stroke(
        img_rect,
        2.0,
        Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
        egui::StrokeKind::Inside,
    );
    let text_color = visuals.text_color();
    let font = FontId::proportional(11.0);
    let mut lines = caption.lines();
    for (n, line) in lines.by_ref().take(2).enumerate() {
        let shown: String = if line.chars().count() > 20 {
            line.chars().take(19).chain(std::iter::once('~')).collect()
        } else {
            line.to_string()
        };
        painter.text(
            egui::pos2(rect.center().x, img_rect.max.y + 3.0 + n as f32 * 13.0),
            Align2::CENTER_TOP,
            shown,
            font.clone(),
            text_color,
        );
    }
    response.on_hover_text(caption)
}

/// The thumbnail grid of the filtered view; returns the curator's click.
pub fn grid(
    ui: &mut egui::Ui,
    browser: &mut Browser,
    thumbs: &mut Thumbs,
    layout: Option<&Layout>,
    scroll_to: Option<i64>,
) -> Option<Intent> {
    browser.refresh();
    if browser.is_empty() {
        ui.label(if browser.rows().is_empty() {
            "The library is empty. Drop image files or folders here, or use Add images / Add folder."
        } else {
            "No image matches the filters."
        });
        return None;
    }
    let cell = cell_size();
    let spacing = ui.spacing().item_spacing;
    let columns = ((ui.available_width() + spacing.x) / (cell.x + spacing.x))
        .floor()
        .max(1.0) as usize;
    let rows = browser.len().div_ceil(columns);
    let mut intent = None;
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("library-grid");
    if let Some(n) = scroll_to.and_then(|id| browser.position(id)) {
        let row_top = (n / columns) as f32 * (cell.y + spacing.y);
        let viewport = ui.available_height();
        // Keep the current image in view without jumping when it already is.
        let offset = ui
            .ctx()
            .data(|d| d.get_temp::<f32>(egui::Id::unique("library-grid-offset")))
            .unwrap_or(0.0);
        if row_top < offset || row_top + cell.y > offset + viewport {
            area = area.vertical_scroll_offset((row_top - viewport / 2.0).max(0.0));
        }
    }
    let modifiers = ui.input(|i| i.modifiers);
    let output = area.show_rows(ui, cell.y, rows, |ui, range| {
        for r in range {
            ui.horizontal(|ui| {
                for c in 0..columns {
                    let Some(row) = browser.at(r * columns + c) else {
                        break;
                    };
                    let caption = format!(
                        "{}\n{}",
                        row.caption(),
                        row.system.as_deref().unwrap_or(status_name(row.status))
                    );
                    let selected = browser.selected.contains(&row.id);
                    let response = tile(ui, thumbs, layout, row, &caption, selected);
                    if response.double_clicked() {
                        intent = Some(Intent::Inspect(row.id));
                    } else if response.clicked() {
                        intent = Some(Intent::Click {
                            id: row.id,
                            toggle: modifiers.command,
                            range: modifiers.shift,
                        });
                    }
                }
            });
        }
    });
    ui.ctx().data_mut(|d| {
        d.insert_temp(
            egui::Id::unique("library-grid-offset"),
            output.state.clamped_offset().y,
        )
    });
    intent
}

/// Filters, sort and counts per group.
pub fn filters(ui: &mut egui::Ui, browser: &mut Browser) {
    let f = &mut browser.filter;
    let counts = &browser.counts;
    ui.heading("Library");
    let l = ui.label("Search:");
    ui.add(
        egui::TextEdit::singleline(&mut f.text)
            .hint_text("id, name, system, notes")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id);
    ui.horizontal(|ui| {
        let l = ui.label("Sort:");
        egui::ComboBox::from_id_salt("sort")
            .selected_text(f.sort.label())
            .show_ui(ui, |ui| {
                for s in Sort::ALL {
                    ui.selectable_value(&mut f.sort, s, s.label());
                }
            })
            .response
            .labelled_by(l.id);
    });
    ui.separator();
    ui.label("Status");
    ui.radio_value(&mut f.status, None, format!("All ({})", counts.total));
    for s in [Status::Unlabelled, Status::Labelled, Status::Confirmed] {
        let n = counts.by_status.get(status_name(s)).copied().unwrap_or(0);
        ui.radio_value(&mut f.status, Some(s), format!("{} ({n})", status_name(s)));
    }
    ui.separator();
    ui.label("Production");
    ui.radio_value(&mut f.sync, None, "Any");
    ui.radio_value(
        &mut f.sync,
        Some(SyncState::Pending),
        format!("not synced ({})", counts.pending),
    );
    ui.radio_value(
        &mut f.sync,
        Some(SyncState::Conflict),
        format!("conflict ({})", counts.conflicts),
    );
    ui.separator();
    ui.label("Manufacturer / system");
    if ui
        .selectable_label(f.manufacturer.is_none(), "Any system")
        .clicked()
    {
        f.manufacturer = None;
        f.system = None;
    }
    egui::ScrollArea::vertical().id_salt("systems").show(ui, |ui| {
        for (m, systems) in &counts.by_system {
            let total: usize = systems.values().sum();
            let picked = f.manufacturer.as_ref() == Some(m) && f.system.is_none();
            if ui.selectable_label(picked, format!("{m} ({total})")).clicked() {
                f.manufacturer = Some(m.clone());
                f.system = None;
            }
            for (s, n) in systems {
                let picked = f.manufacturer.as_ref() == Some(m) && f.system.as_ref() == Some(s);
                ui.horizontal(|ui| {
                    ui.add_space(12.0);
                    if ui.selectable_label(picked, format!("{s} ({n})")).clicked() {
                        f.manufacturer = Some(m.clone());
                        f.system = Some(s.clone());
                    }
                });
            }
        }
    });
}
