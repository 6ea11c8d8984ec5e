//! The finder on films drawn in code, where the truth is exact.

mod common;
use common::*;
use raiox_find::{crop_apex_down, find_implants, FoundImplant};

fn lower(px: f32, py: f32, angle: f32, crown: bool) -> Drawn {
    Drawn {
        px,
        py,
        angle_deg: angle,
        width: 42.0,
        length: 140.0,
        crown,
    }
}

/// Every drawn fixture is found once (IoU >= 0.5) with the right apex end, and nothing else
/// (in particular not the crown) is reported.
fn check(drawn: &[Drawn], found: &[FoundImplant]) {
    assert_eq!(
        found.len(),
        drawn.len(),
        "expected {} fixtures, found {found:?}",
        drawn.len()
    );
    for d in drawn {
        let best = found
            .iter()
            .max_by(|a, b| iou(&a.aabb(), &d.aabb()).total_cmp(&iou(&b.aabb(), &d.aabb())))
            .expect("non-empty");
        let v = iou(&best.aabb(), &d.aabb());
        assert!(v >= 0.5, "IoU {v} for {d:?}: {best:?}");
        assert!(apex_right(best, d), "apex wrong for {d:?}: {best:?}");
        if d.crown {
            assert!(
                iou(&best.aabb(), &d.crown_aabb()) < 0.3,
                "crown reported for {d:?}: {best:?}"
            );
        }
    }
}

#[test]
fn single_fixture_with_crown_at_several_angles() {
    for angle in [0.0, 12.0, -20.0, 30.0] {
        let d = lower(170.0 - angle, 150.0, angle, true);
        let found = find_implants(&film(&[d]));
        check(&[d], &found);
    }
}

#[test]
fn upper_jaw_fixture_apex_up() {
    for angle in [180.0, 165.0, -170.0] {
        let d = lower(170.0, 280.0, angle, true);
        let found = find_implants(&film(&[d]));
        check(&[d], &found);
        let a = found[0].angle_deg;
        let diff = ((a - angle + 540.0) % 360.0 - 180.0).abs();
        assert!(diff < 10.0, "angle {a} for drawn {angle}");
    }
}

#[test]
fn fixture_without_crown_uses_taper() {
    let d = lower(170.0, 120.0, 8.0, false);
    check(&[d], &find_implants(&film(&[d])));
    let up = lower(170.0, 300.0, 175.0, false);
    check(&[up], &find_implants(&film(&[up])));
}

#[test]
fn two_implants_sorted_left_to_right() {
    let a = lower(100.0, 150.0, -5.0, true);
    let b = lower(240.0, 150.0, 6.0, true);
    let found = find_implants(&film(&[a, b]));
    check(&[a, b], &found);
    assert!(found[0].cx < found[1].cx);
}

#[test]
fn fillings_and_root_canal_are_not_fixtures() {
    let (w, h) = (340, 410);
    let mut img = background(w, h);
    let d = lower(220.0, 150.0, 0.0, true);
    draw_implant(&mut img, w, h, &d);
    draw_blob(&mut img, w, h, 80.0, 90.0, 18.0);
    draw_line(&mut img, w, h, (70.0, 150.0), (80.0, 300.0), 6.0);
    let found = find_implants(&to_image(&img, w, h));
    check(&[d], &found);
}

#[test]
fn crop_is_apex_down() {
    let d = lower(150.0, 130.0, 40.0, true);
    let film = film(&[d]);
    let found = find_implants(&film);
    assert_eq!(found.len(), 1);
    let crop = crop_apex_down(&film, &found[0], 0.2, 128);
    assert_eq!(crop.dimensions(), (128, 128));
    // The fixture runs down the middle column; the crown (brightest) is above it, so the upper
    // part of the middle column is brighter than the part below the apex.
    let col = |y0: u32, y1: u32| {
        (y0..y1).map(|y| f32::from(crop.get_pixel(64, y)[0])).sum::<f32>() / (y1 - y0) as f32
    };
    assert!(col(30, 90) > 200.0, "fixture not in the middle column");
    assert!(col(118, 128) < 160.0, "below the apex should be bone");
    // Rows near the platform are wider than rows near the apex (taper).
    let width = |y: u32| (0..128).filter(|&x| crop.get_pixel(x, y)[0] > 190).count();
    assert!(width(40) >= width(95), "{} vs {}", width(40), width(95));
}

/// A root with a metal post down its canal (a root-filled natural tooth): the post and the
/// dentine around it pass the shape tests but are dimmer than titanium and carry no crown
/// or abutment, so they are not a fixture.
#[test]
fn post_in_a_root_is_not_a_fixture() {
    let (w, h) = (340, 410);
    let mut img = background(w, h);
    let d = lower(230.0, 150.0, 0.0, true);
    draw_implant(&mut img, w, h, &d);
    for y in 140..300u32 {
        for x in 50..94u32 {
            let i = (y * w + x) as usize;
            img[i] = if (66..78).contains(&x) { 240.0 } else { 180.0 };
        }
    }
    let found = find_implants(&to_image(&img, w, h));
    check(&[d], &found);
}

/// A fixture saturated to white under a dimmer, narrower abutment and no crown (a film exposed
/// hard, or a generator that draws titanium as white): the dense part is the fixture, not a
/// crown to cut off, and the abutment marks its platform.
#[test]
fn saturated_fixture_under_a_dimmer_abutment() {
    let (w, h) = (340, 410);
    let mut img = background(w, h);
    let d = lower(170.0, 130.0, 6.0, false);
    draw_implant(&mut img, w, h, &d);
    for v in img.iter_mut().filter(|v| **v > 200.0) {
        *v = 252.0;
    }
    let (dx, dy) = d.dir();
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 + 0.5 - d.px, y as f32 + 0.5 - d.py);
            let (t, s) = (fx * dx + fy * dy, fx * dy - fy * dx);
            if (-95.0..0.0).contains(&t) && s.abs() <= 15.0 {
                img[(y * w + x) as usize] = 215.0;
            }
        }
    }
    check(&[d], &find_implants(&to_image(&img, w, h)));
}
