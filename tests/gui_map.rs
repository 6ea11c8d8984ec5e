//! The embedding map widget driven headless like a curator would: hover, click, zoom, pan, and
//! lasso or box a cluster to select exactly its implants.
#![cfg(feature = "gui")]

use std::sync::Arc;

use egui::{Event, Modifiers, MouseWheelSource, MouseWheelUnit, PointerButton, Pos2, TouchPhase};
use egui_kittest::Harness;
use raiox::catalogue::images::Status;
use raiox::gui::map::{ColourBy, MapAction, MapPoint, MapView, Tool};

struct Page {
    view: MapView,
    points: Vec<MapPoint>,
    actions: Vec<MapAction>,
}

/// Three clusters of 30 implants (ids 100.., 200.., 300..) around known map positions.
const CENTRES: [(f32, f32); 3] = [(0.2, 0.25), (0.8, 0.25), (0.5, 0.8)];

fn points() -> Vec<MapPoint> {
    let mut out = Vec::new();
    for (c, &(cx, cy)) in CENTRES.iter().enumerate() {
        let system: Arc<str> = Arc::from(format!("Maker / System {c}"));
        for i in 0..30 {
            let angle = i as f32 * 2.4;
            let r = 0.06 * ((i % 10) as f32 / 10.0);
            out.push(MapPoint {
                id: (c as i64 + 1) * 100 + i,
                x: cx + r * angle.cos(),
                y: cy + r * angle.sin(),
                system: Some(Arc::clone(&system)),
                status: if i % 3 == 0 {
                    Status::Confirmed
                } else {
                    Status::Labelled
                },
            });
        }
    }
    out
}

fn page() -> Harness<'static, Page> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(
            |ui, page: &mut Page| {
                if let Some(a) = page
                    .view
                    .show(ui, &page.points, ColourBy::System, Some([0.5, 0.5]))
                {
                    page.actions.push(a);
                }
            },
            Page {
                view: MapView::default(),
                points: points(),
                actions: Vec::new(),
            },
        );
    h.run_steps(2);
    h
}

fn at(h: &Harness<'static, Page>, x: f32, y: f32) -> Pos2 {
    h.state().view.screen_position(x, y)
}

fn button(pos: Pos2, pressed: bool, modifiers: Modifiers) -> Event {
    Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers,
    }
}

/// Drag through `path` (screen points) with `modifiers` held; the actions of those frames.
fn drag(h: &mut Harness<'static, Page>, path: &[Pos2], modifiers: Modifiers) -> Vec<MapAction> {
    h.state_mut().actions.clear();
    h.event(Event::ModifiersChanged(modifiers));
    h.event(Event::PointerMoved(path[0]));
    h.step();
    h.event(button(path[0], true, modifiers));
    h.step();
    for p in &path[1..] {
        h.event(Event::PointerMoved(*p));
        h.step();
    }
    h.event(button(path[path.len() - 1], false, modifiers));
    h.step();
    h.event(Event::ModifiersChanged(Modifiers::NONE));
    h.step();
    std::mem::take(&mut h.state_mut().actions)
}

fn selections(actions: &[MapAction]) -> Vec<Vec<i64>> {
    actions
        .iter()
        .filter_map(|a| match a {
            MapAction::Select(ids) => Some(ids.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn shift_lasso_around_a_cluster_selects_exactly_its_implants() {
    let mut h = page();
    let (cx, cy) = CENTRES[1];
    let ring: Vec<Pos2> = (0..=16)
        .map(|k| {
            let a = k as f32 / 16.0 * std::f32::consts::TAU;
            at(&h, cx + 0.1 * a.cos(), cy + 0.1 * a.sin())
        })
        .collect();
    let picked = selections(&drag(&mut h, &ring, Modifiers::SHIFT));
    assert_eq!(picked, vec![(200..230).collect::<Vec<i64>>()]);
    // A lasso over empty space selects nothing (and says so).
    let empty: Vec<Pos2> = (0..=8)
        .map(|k| {
            let a = k as f32 / 8.0 * std::f32::consts::TAU;
            at(&h, 0.85 + 0.05 * a.cos(), 0.8 + 0.05 * a.sin())
        })
        .collect();
    assert_eq!(
        selections(&drag(&mut h, &empty, Modifiers::SHIFT)),
        vec![Vec::<i64>::new()]
    );
}

#[test]
fn box_tool_selects_the_boxed_cluster_and_a_plain_drag_pans() {
    let mut h = page();
    h.state_mut().view.tool = Tool::Box;
    let (cx, cy) = CENTRES[2];
    let path = [
        at(&h, cx - 0.1, cy - 0.1),
        at(&h, cx, cy),
        at(&h, cx + 0.1, cy + 0.1),
    ];
    assert_eq!(
        selections(&drag(&mut h, &path, Modifiers::NONE)),
        vec![(300..330).collect::<Vec<i64>>()]
    );

    h.state_mut().view.tool = Tool::Pan;
    let before = at(&h, 0.5, 0.5);
    let path = [
        before,
        before + egui::vec2(40.0, 0.0),
        before + egui::vec2(80.0, 30.0),
    ];
    let actions = drag(&mut h, &path, Modifiers::NONE);
    assert!(selections(&actions).is_empty());
    let moved = at(&h, 0.5, 0.5) - before;
    assert!(
        (moved - egui::vec2(80.0, 30.0)).length() < 2.0,
        "panned by {moved:?}"
    );
}

#[test]
fn hover_shows_the_nearest_implant_and_click_opens_it() {
    let mut h = page();
    let target = h.state().points[47].clone();
    let pos = at(&h, target.x, target.y) + egui::vec2(2.0, 1.0);
    h.state_mut().actions.clear();
    h.event(Event::PointerMoved(pos));
    h.run_steps(2);
    assert_eq!(h.state().actions.last(), Some(&MapAction::Hover(target.id)));
    h.event(button(pos, true, Modifiers::NONE));
    h.step();
    h.event(button(pos, false, Modifiers::NONE));
    h.step();
    assert!(
        h.state().actions.contains(&MapAction::Open(target.id)),
        "{:?}",
        h.state().actions
    );
    // Far from every dot: nothing.
    h.state_mut().actions.clear();
    h.event(Event::PointerMoved(at(&h, 0.95, 0.6)));
    h.run_steps(2);
    assert!(h.state().actions.is_empty(), "{:?}", h.state().actions);
}

#[test]
fn the_wheel_zooms_about_the_pointer() {
    let mut h = page();
    let anchor = at(&h, CENTRES[0].0, CENTRES[0].1);
    let other = at(&h, 0.8, 0.8);
    h.event(Event::PointerMoved(anchor));
    h.step();
    h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 300.0),
        phase: TouchPhase::Move,
        source: MouseWheelSource::Wheel,
        modifiers: Modifiers::NONE,
    });
    h.run_steps(2);
    let zoom = h.state().view.zoom();
    assert!(zoom > 1.5, "zoom {zoom}");
    // The point under the pointer stays; others move away from it by the zoom factor.
    assert!((at(&h, CENTRES[0].0, CENTRES[0].1) - anchor).length() < 1.0);
    let (d0, d1) = ((other - anchor).length(), (at(&h, 0.8, 0.8) - anchor).length());
    assert!((d1 / d0 - zoom).abs() < 0.01, "{d0} → {d1} at zoom {zoom}");
    h.state_mut().view.reset_view();
    h.step();
    assert_eq!(h.state().view.zoom(), 1.0);
}
