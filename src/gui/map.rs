//! The embedding map widget: every implant as a dot on the 2-D map, coloured by system or status,
//! with zoom, pan, hover, click, lasso and box selection, and a legend.
//!
//! Why one mesh: 100 000 dots as separate shapes would cost a tessellation each; one `egui::Mesh`
//! of tiny quads is a single shape, rebuilt only when the points, the view or the selection change
//! (it is kept in an `Arc` otherwise). Hover and click look the nearest dot up in a uniform grid
//! built once per set of points, so a frame is O(visible points) at most and usually O(1).
//! The widget only draws: computing the map is the caller's job, off the UI thread.

use std::collections::HashMap;
use std::sync::Arc;

use egui::epaint::{Mesh, Vertex, WHITE_UV};
use egui::{Color32, Event, Pos2, Rect, Sense, Stroke, Vec2};

use crate::catalogue::images::Status;

/// One implant to draw: its map position (`0..=1`, from `raiox::search::map`) and what colours it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// Image id.
    pub id: i64,
    /// Horizontal map position, 0..=1.
    pub x: f32,
    /// Vertical map position, 0..=1.
    pub y: f32,
    /// "Manufacturer / System" when labelled (shared: many implants have the same one).
    pub system: Option<Arc<str>>,
    /// Curation status.
    pub status: Status,
}

/// What the dots' colours mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColourBy {
    /// One colour per system (a stable hash of its name), unlabelled in grey.
    #[default]
    System,
    /// Unlabelled, labelled and confirmed.
    Status,
}

/// What the curator did on the map this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapAction {
    /// The pointer rests on this implant (show its thumbnail).
    Hover(i64),
    /// This implant was clicked (open it).
    Open(i64),
    /// These implants were lassoed or boxed, in the order of `points`.
    Select(Vec<i64>),
}

/// What a plain drag does (Shift-drag always lassoes, Ctrl/Cmd-drag always boxes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Move the view.
    #[default]
    Pan,
    /// Draw a free-hand selection.
    Lasso,
    /// Drag a selection rectangle.
    Box,
}

/// Dots a quarter-cell apart on average: the hover grid's cell count per point.
const POINTS_PER_CELL: usize = 2;
/// How near (in screen points) the pointer must be to a dot to hover or click it.
const PICK_RADIUS: f32 = 8.0;
/// Legend rows before "… more".
const LEGEND_ROWS: usize = 12;
/// Grey of unlabelled implants.
const UNLABELLED: Color32 = Color32::from_gray(140);

/// Identity of the points last seen: their slice's address and length, and the colouring.
type DataKey = (usize, usize, ColourBy);

/// The map's view and caches; keep one per map page.
pub struct MapView {
    /// What a plain drag does.
    pub tool: Tool,
    centre: Vec2,
    zoom: f32,
    data: Option<DataKey>,
    colours: Vec<Color32>,
    legend: Vec<(String, Color32, usize)>,
    grid: Grid,
    selected: Vec<bool>,
    mesh: Arc<Mesh>,
    mesh_key: Option<(DataKey, Rect, Vec2, f32, u64)>,
    selection_generation: u64,
    drag: Option<(Tool, Vec<Vec2>)>,
    last_rect: Rect,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            tool: Tool::Pan,
            centre: Vec2::splat(0.5),
            zoom: 1.0,
            data: None,
            colours: Vec::new(),
            legend: Vec::new(),
            grid: Grid::default(),
            selected: Vec::new(),
            mesh: Arc::new(Mesh::default()),
            mesh_key: None,
            selection_generation: 0,
            drag: None,
            last_rect: Rect::NOTHING,
        }
    }
}

/// A uniform grid over the unit square: point indices per cell, cells row after row (CSR).
#[derive(Default)]
struct Grid {
    side: usize,
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl Grid {
    fn build(points: &[MapPoint]) -> Grid {
        let side = ((points.len() / POINTS_PER_CELL) as f64)
            .sqrt()
            .clamp(1.0, 1024.0) as usize;
        let cell = |p: &MapPoint| Grid::cell_of(side, p.x) + side * Grid::cell_of(side, p.y);
        let mut starts = vec![0u32; side * side + 1];
        points.iter().for_each(|p| starts[cell(p) + 1] += 1);
        for c in 1..starts.len() {
            starts[c] += starts[c - 1];
        }
        let mut fill = starts.clone();
        let mut items = vec![0u32; points.len()];
        for (i, p) in points.iter().enumerate() {
            let c = cell(p);
            items[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        Grid { side, starts, items }
    }

    fn cell_of(side: usize, v: f32) -> usize {
        ((v.clamp(0.0, 1.0) * side as f32) as usize).min(side - 1)
    }

    /// The index of the point nearest `at` within `radius` (map units).
    fn nearest(&self, points: &[MapPoint], at: Vec2, radius: f32) -> Option<usize> {
        if self.side == 0 {
            return None;
        }
        let lo = |v: f32| Grid::cell_of(self.side, v - radius);
        let hi = |v: f32| Grid::cell_of(self.side, v + radius);
        let mut best: Option<(f32, usize)> = None;
        for cy in lo(at.y)..=hi(at.y) {
            for cx in lo(at.x)..=hi(at.x) {
                let c = cx + cy * self.side;
                for &i in &self.items[self.starts[c] as usize..self.starts[c + 1] as usize] {
                    let p = &points[i as usize];
                    let d = (p.x - at.x).powi(2) + (p.y - at.y).powi(2);
                    if d <= radius * radius && best.is_none_or(|b| d < b.0) {
                        best = Some((d, i as usize));
                    }
                }
            }
        }
        best.map(|b| b.1)
    }
}

/// A stable colour for a system name: the same system has the same colour in every session.
pub fn system_colour(name: &str) -> Color32 {
    let h = name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    });
    let hue = (h % 3600) as f32 / 3600.0;
    let sat = 0.55 + ((h >> 16) % 30) as f32 / 100.0;
    let val = 0.80 + ((h >> 24) % 20) as f32 / 100.0;
    egui::ecolor::Hsva::new(hue, sat, val, 1.0).into()
}

/// The colour of a curation status.
pub fn status_colour(status: Status) -> Color32 {
    match status {
        Status::Unlabelled => UNLABELLED,
        Status::Labelled => Color32::from_rgb(230, 170, 40),
        Status::Confirmed => Color32::from_rgb(60, 180, 90),
    }
}

impl MapView {
    /// Forget the caches: call it when the points changed in place (same slice, new content).
    pub fn invalidate(&mut self) {
        self.data = None;
        self.mesh_key = None;
    }

    /// Back to the whole map.
    pub fn reset_view(&mut self) {
        self.centre = Vec2::splat(0.5);
        self.zoom = 1.0;
    }

    /// Where the map position (`x`, `y`) was drawn in the last frame (screen points), e.g. to show
    /// the hovered implant's thumbnail beside its dot.
    pub fn screen_position(&self, x: f32, y: f32) -> Pos2 {
        self.to_screen(self.last_rect, Vec2::new(x, y))
    }

    /// The current zoom factor (1: the whole map fits).
    pub fn zoom(&self) -> f32 {
        self.zoom
    }

    /// Draw the toolbar, the map and its legend; returns what the curator did this frame.
    /// `query` is a placed identify query (map coordinates), drawn as a cross.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        points: &[MapPoint],
        colour_by: ColourBy,
        query: Option<[f32; 2]>,
    ) -> Option<MapAction> {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tool, Tool::Pan, "Pan");
            ui.selectable_value(&mut self.tool, Tool::Lasso, "Lasso");
            ui.selectable_value(&mut self.tool, Tool::Box, "Box");
            if ui.button("Reset view").clicked() {
                self.reset_view();
            }
            ui.label(format!(
                "{} implants · Shift-drag: lasso · Ctrl-drag: box",
                points.len()
            ));
        });
        let (response, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
        let rect = response.rect;
        self.last_rect = rect;
        self.refresh(points, colour_by);
        let mut action = None;

        // Zoom: the wheel, ctrl-scroll and pinch, about the pointer.
        if let Some(ptr) = response.hover_pos() {
            let factor = ui.input(|i| {
                let wheel: f32 = i
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::MouseWheel {
                            unit,
                            delta,
                            modifiers,
                            ..
                        } if !modifiers.command && !modifiers.ctrl => Some(match unit {
                            egui::MouseWheelUnit::Point => delta.y,
                            egui::MouseWheelUnit::Line => delta.y * 40.0,
                            egui::MouseWheelUnit::Page => delta.y * rect.height(),
                        }),
                        _ => None,
                    })
                    .sum();
                (wheel * 0.002).exp() * i.zoom_delta()
            });
            if factor != 1.0 {
                let anchor = self.to_map(rect, ptr);
                self.zoom = (self.zoom * factor).clamp(0.5, 2000.0);
                self.centre = anchor - (ptr - rect.center()) / self.scale(rect);
            }
        }

        // Drags: pan, lasso or box.
        if response.drag_started() {
            let mods = ui.input(|i| i.modifiers);
            let tool = if mods.shift {
                Tool::Lasso
            } else if mods.command || mods.ctrl {
                Tool::Box
            } else {
                self.tool
            };
            let origin = ui.input(|i| i.pointer.press_origin());
            let start = origin
                .or(response.interact_pointer_pos())
                .map(|p| self.to_map(rect, p))
                .into_iter()
                .collect();
            self.drag = Some((tool, start));
        }
        if let Some(ptr) = response.interact_pointer_pos() {
            let at = self.to_map(rect, ptr);
            let scale = self.scale(rect);
            match &mut self.drag {
                Some((Tool::Pan, _)) => self.centre -= response.drag_delta() / scale,
                Some((Tool::Box, path)) => {
                    path.truncate(1);
                    path.push(at);
                }
                Some((Tool::Lasso, path))
                    if path.last().is_none_or(|l| ((*l - at) * scale).length() >= 2.0) =>
                {
                    path.push(at)
                }
                Some((Tool::Lasso, _)) | None => {}
            }
        }
        if response.drag_stopped() {
            if let Some((tool, path)) = self.drag.take() {
                let polygon = match tool {
                    Tool::Pan => None,
                    Tool::Lasso => Some(path),
                    Tool::Box => path
                        .first()
                        .zip(path.last())
                        .map(|(a, b)| vec![*a, Vec2::new(b.x, a.y), *b, Vec2::new(a.x, b.y)]),
                };
                if let Some(polygon) = polygon.filter(|p| p.len() >= 3) {
                    action = Some(MapAction::Select(self.select(points, &polygon)));
                }
            }
        }

        // Hover and click: the nearest dot within the pick radius.
        let hovered = response
            .hover_pos()
            .filter(|_| self.drag.is_none())
            .and_then(|p| {
                let at = self.to_map(rect, p);
                self.grid.nearest(points, at, PICK_RADIUS / self.scale(rect))
            });
        if action.is_none() {
            if let Some(i) = hovered {
                action = Some(if response.clicked() {
                    MapAction::Open(points[i].id)
                } else {
                    MapAction::Hover(points[i].id)
                });
            }
        }

        self.paint(&painter, rect, points, query, hovered);
        action
    }

    /// Map units → screen points.
    fn scale(&self, rect: Rect) -> f32 {
        self.zoom * rect.width().min(rect.height()) * 0.95
    }

    fn to_screen(&self, rect: Rect, m: Vec2) -> Pos2 {
        rect.center() + (m - self.centre) * self.scale(rect)
    }

    fn to_map(&self, rect: Rect, p: Pos2) -> Vec2 {
        self.centre + (p - rect.center()) / self.scale(rect)
    }

    /// Rebuild colours, legend and grid when the points or the colouring changed.
    fn refresh(&mut self, points: &[MapPoint], colour_by: ColourBy) {
        let key = (points.as_ptr() as usize, points.len(), colour_by);
        if self.data == Some(key) {
            return;
        }
        let same_points = self.data.is_some_and(|d| d.0 == key.0 && d.1 == key.1);
        self.data = Some(key);
        self.mesh_key = None;
        let mut counts: HashMap<Option<&str>, (Color32, usize)> = HashMap::new();
        self.colours = points
            .iter()
            .map(|p| {
                let (name, colour) = match colour_by {
                    ColourBy::System => (
                        p.system.as_deref(),
                        p.system.as_deref().map_or(UNLABELLED, system_colour),
                    ),
                    ColourBy::Status => (Some(p.status.as_str()), status_colour(p.status)),
                };
                counts.entry(name).or_insert((colour, 0)).1 += 1;
                colour
            })
            .collect();
        let mut legend: Vec<(String, Color32, usize)> = counts
            .into_iter()
            .map(|(name, (c, n))| (name.unwrap_or("unlabelled").to_string(), c, n))
            .collect();
        legend.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        self.legend = legend;
        if !same_points {
            self.grid = Grid::build(points);
            self.selected = vec![false; points.len()];
            self.selection_generation += 1;
        }
    }

    /// Ids of the points inside `polygon` (map coordinates), and mark them selected.
    fn select(&mut self, points: &[MapPoint], polygon: &[Vec2]) -> Vec<i64> {
        let (mut lo, mut hi) = (Vec2::splat(f32::INFINITY), Vec2::splat(f32::NEG_INFINITY));
        for v in polygon {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        let mut ids = Vec::new();
        for (p, sel) in points.iter().zip(self.selected.iter_mut()) {
            let hit = p.x >= lo.x
                && p.x <= hi.x
                && p.y >= lo.y
                && p.y <= hi.y
                && inside(polygon, Vec2::new(p.x, p.y));
            *sel = hit;
            if hit {
                ids.push(p.id);
            }
        }
        self.selection_generation += 1;
        ids
    }

    fn paint(
        &mut self,
        painter: &egui::Painter,
        rect: Rect,
        points: &[MapPoint],
        query: Option<[f32; 2]>,
        hovered: Option<usize>,
    ) {
        painter.rect_filled(rect, 0.0, Color32::from_gray(20));
        let Some(data) = self.data else { return };
        let key = (data, rect, self.centre, self.zoom, self.selection_generation);
        if self.mesh_key != Some(key) {
            self.rebuild_mesh(rect, points);
            self.mesh_key = Some(key);
        }
        painter.add(egui::Shape::Mesh(Arc::clone(&self.mesh)));
        if let Some(i) = hovered {
            let p = &points[i];
            let at = self.to_screen(rect, Vec2::new(p.x, p.y));
            painter.circle_stroke(at, 6.0, Stroke::new(1.5, Color32::WHITE));
        }
        if let Some([x, y]) = query {
            let at = self.to_screen(rect, Vec2::new(x, y));
            let s = Stroke::new(2.5, Color32::from_rgb(255, 60, 60));
            painter.line_segment([at - Vec2::splat(8.0), at + Vec2::splat(8.0)], s);
            painter.line_segment([at + Vec2::new(-8.0, 8.0), at + Vec2::new(8.0, -8.0)], s);
            painter.circle_stroke(at, 10.0, s);
        }
        if let Some((tool, path)) = &self.drag {
            let screen: Vec<Pos2> = path.iter().map(|m| self.to_screen(rect, *m)).collect();
            let s = Stroke::new(1.5, Color32::from_rgb(120, 200, 255));
            if *tool == Tool::Lasso {
                painter.add(egui::Shape::closed_line(screen, s));
            } else if *tool == Tool::Box && screen.len() == 2 {
                let r = Rect::from_two_pos(screen[0], screen[1]);
                painter.rect_stroke(r, 0.0, s, egui::StrokeKind::Middle);
            }
        }
        self.paint_legend(painter, rect);
    }

    /// One quad per visible dot (selected ones larger, with a white rim).
    fn rebuild_mesh(&mut self, rect: Rect, points: &[MapPoint]) {
        let half = (1.2 * self.zoom.powf(0.3)).clamp(1.2, 5.0);
        let clip = rect.expand(half * 3.0);
        let scale = self.scale(rect);
        let origin = rect.center() - self.centre * scale;
        let mesh = Arc::make_mut(&mut self.mesh);
        mesh.clear();
        mesh.reserve_vertices(4 * points.len());
        mesh.reserve_triangles(2 * points.len());
        let quad = |mesh: &mut Mesh, c: Pos2, h: f32, colour: Color32| {
            let base = mesh.vertices.len() as u32;
            for (dx, dy) in [(-h, -h), (h, -h), (h, h), (-h, h)] {
                mesh.vertices.push(Vertex {
                    pos: Pos2::new(c.x + dx, c.y + dy),
                    uv: WHITE_UV,
                    color: colour,
                });
            }
            mesh.indices
                .extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
        };
        for (i, p) in points.iter().enumerate() {
            let c = Pos2::new(origin.x + p.x * scale, origin.y + p.y * scale);
            if !clip.contains(c) {
                continue;
            }
            if self.selected.get(i).copied().unwrap_or(false) {
                quad(mesh, c, half * 2.0 + 1.0, Color32::WHITE);
                quad(mesh, c, half * 2.0, self.colours[i]);
            } else {
                quad(mesh, c, half, self.colours[i]);
            }
        }
    }

    fn paint_legend(&self, painter: &egui::Painter, rect: Rect) {
        let font = egui::FontId::proportional(12.0);
        let row = 16.0;
        let rows = self.legend.len().min(LEGEND_ROWS) + usize::from(self.legend.len() > LEGEND_ROWS);
        if rows == 0 {
            return;
        }
        let box_rect = Rect::from_min_size(
            rect.min + Vec2::splat(8.0),
            Vec2::new(220.0, rows as f32 * row + 8.0),
        );
        painter.rect_filled(box_rect, 4.0, Color32::from_black_alpha(180));
        for (n, (name, colour, count)) in self.legend.iter().take(LEGEND_ROWS).enumerate() {
            let y = box_rect.min.y + 4.0 + n as f32 * row + row / 2.0;
            painter.circle_filled(Pos2::new(box_rect.min.x + 10.0, y), 4.0, *colour);
            painter.text(
                Pos2::new(box_rect.min.x + 20.0, y),
                egui::Align2::LEFT_CENTER,
                format!("{name} ({count})"),
                font.clone(),
                Color32::from_gray(230),
            );
        }
        if self.legend.len() > LEGEND_ROWS {
            let y = box_rect.min.y + 4.0 + LEGEND_ROWS as f32 * row + row / 2.0;
            painter.text(
                Pos2::new(box_rect.min.x + 20.0, y),
                egui::Align2::LEFT_CENTER,
                format!("… {} more", self.legend.len() - LEGEND_ROWS),
                font,
                Color32::from_gray(200),
            );
        }
    }
}

/// Whether `p` lies inside `polygon` (even-odd rule; the polygon closes itself).
fn inside(polygon: &[Vec2], p: Vec2) -> bool {
    let mut odd = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            odd = !odd;
        }
        j = i;
    }
    odd
}
