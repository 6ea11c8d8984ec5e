//! Editing an oriented implant box with the mouse: which part of the box the pointer grabs, and
//! the box a drag makes from it. Pure geometry in film pixels, so it is tested without a window.
//!
//! Why handles rather than two corners: an implant box is turned (tilted implants, upper-jaw ones
//! point up); the curator moves it from inside, lengthens it from its platform or apex end,
//! widens it from a side, and turns it with the knob beyond the platform end.

use crate::standardise::Fixture;

/// Smallest box side a drag may make, in film pixels.
const MIN_SIDE: f32 = 6.0;

/// The part of a box under the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handle {
    /// Inside: the drag moves the box.
    Inside,
    /// The platform (coronal) end: the drag changes the length, the apex end stays.
    Platform,
    /// The apex end: the drag changes the length, the platform end stays.
    Apex,
    /// A side: the drag changes the width, the axis stays.
    Side,
    /// The knob beyond the platform end: the drag turns the box about its centre.
    Rotate,
}

/// The box's own frame: `(along, across)` offsets of `p` from the centre, along the apex
/// direction and across it.
fn local(f: &Fixture, p: (f32, f32)) -> (f32, f32) {
    let (ax, ay) = f.as_found().apex_dir();
    let (dx, dy) = (p.0 - f.cx, p.1 - f.cy);
    (dx * ax + dy * ay, dx * ay - dy * ax)
}

/// Where the rotation knob is drawn, in film pixels (`reach` beyond the platform end).
pub fn knob(f: &Fixture, reach: f32) -> (f32, f32) {
    let (ax, ay) = f.as_found().apex_dir();
    let d = f.length / 2.0 + reach;
    (f.cx - ax * d, f.cy - ay * d)
}

/// The handle of `f` under `p`, within `tol` film pixels (`reach`: the knob's distance).
pub fn hit(f: &Fixture, p: (f32, f32), tol: f32, reach: f32) -> Option<Handle> {
    let k = knob(f, reach);
    if (p.0 - k.0).hypot(p.1 - k.1) <= tol * 1.5 {
        return Some(Handle::Rotate);
    }
    let (along, across) = local(f, p);
    let (hl, hw) = (f.length / 2.0, f.width / 2.0);
    if across.abs() > hw + tol || along.abs() > hl + tol {
        return None;
    }
    if (along - hl).abs() <= tol {
        Some(Handle::Apex)
    } else if (along + hl).abs() <= tol {
        Some(Handle::Platform)
    } else if (across.abs() - hw).abs() <= tol {
        Some(Handle::Side)
    } else {
        Some(Handle::Inside)
    }
}

/// The box a drag of `handle` from `from` to `to` makes of `start`.
pub fn drag(start: &Fixture, handle: Handle, from: (f32, f32), to: (f32, f32)) -> Fixture {
    let (ax, ay) = start.as_found().apex_dir();
    let mut f = *start;
    match handle {
        Handle::Inside => {
            f.cx += to.0 - from.0;
            f.cy += to.1 - from.1;
        }
        Handle::Apex | Handle::Platform => {
            // The other end stays where it is.
            let sign = if handle == Handle::Apex { 1.0 } else { -1.0 };
            let (along, _) = local(start, to);
            let far = -sign * start.length / 2.0;
            let length = ((along - far) * sign).max(MIN_SIDE);
            let mid = far + sign * length / 2.0;
            f.length = length;
            f.cx = start.cx + ax * mid;
            f.cy = start.cy + ay * mid;
        }
        Handle::Side => {
            let (_, across) = local(start, to);
            f.width = (2.0 * across.abs()).max(MIN_SIDE);
        }
        Handle::Rotate => {
            // The apex points from the knob through the centre.
            let (dx, dy) = (start.cx - to.0, start.cy - to.1);
            if dx.hypot(dy) > 1.0 {
                f.angle_deg = (-dx).atan2(dy).to_degrees();
            }
        }
    }
    f
}

/// A new upright box (apex down) between two corners; `None` when too small to be an implant.
pub fn draw(a: (f32, f32), b: (f32, f32)) -> Option<Fixture> {
    let (w, h) = ((a.0 - b.0).abs(), (a.1 - b.1).abs());
    (w >= MIN_SIDE && h >= MIN_SIDE).then(|| Fixture {
        cx: (a.0 + b.0) / 2.0,
        cy: (a.1 + b.1) / 2.0,
        width: w,
        length: h,
        angle_deg: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upright() -> Fixture {
        Fixture {
            cx: 100.0,
            cy: 200.0,
            width: 40.0,
            length: 120.0,
            angle_deg: 0.0,
        }
    }

    #[test]
    fn hits_the_right_handle() {
        let f = upright();
        assert_eq!(hit(&f, (100.0, 200.0), 5.0, 20.0), Some(Handle::Inside));
        assert_eq!(hit(&f, (100.0, 260.0), 5.0, 20.0), Some(Handle::Apex));
        assert_eq!(hit(&f, (100.0, 140.0), 5.0, 20.0), Some(Handle::Platform));
        assert_eq!(hit(&f, (120.0, 200.0), 5.0, 20.0), Some(Handle::Side));
        assert_eq!(hit(&f, (100.0, 120.0), 5.0, 20.0), Some(Handle::Rotate));
        assert_eq!(hit(&f, (300.0, 200.0), 5.0, 20.0), None);
        // Upside down (upper jaw): the apex end is at the top.
        let up = Fixture {
            angle_deg: 180.0,
            ..f
        };
        assert_eq!(hit(&up, (100.0, 140.0), 5.0, 20.0), Some(Handle::Apex));
    }

    #[test]
    fn drags_move_stretch_widen_and_turn() {
        let f = upright();
        let moved = drag(&f, Handle::Inside, (100.0, 200.0), (110.0, 195.0));
        assert_eq!((moved.cx, moved.cy), (110.0, 195.0));
        // Pull the apex 20 px further down: longer, platform end unchanged.
        let longer = drag(&f, Handle::Apex, (100.0, 260.0), (100.0, 280.0));
        assert!((longer.length - 140.0).abs() < 1e-3, "{longer:?}");
        assert!(
            (longer.cy - longer.length / 2.0 - 140.0).abs() < 1e-3,
            "{longer:?}"
        );
        let wider = drag(&f, Handle::Side, (120.0, 200.0), (130.0, 200.0));
        assert!((wider.width - 60.0).abs() < 1e-3);
        // Knob dragged to the right of the centre: the apex points left (angle 90).
        let turned = drag(&f, Handle::Rotate, (100.0, 120.0), (180.0, 200.0));
        assert!((turned.angle_deg - 90.0).abs() < 1e-3, "{turned:?}");
        // Never degenerate.
        let tiny = drag(&f, Handle::Apex, (100.0, 260.0), (100.0, 0.0));
        assert!(tiny.length >= MIN_SIDE);
        assert!(draw((0.0, 0.0), (3.0, 50.0)).is_none());
        assert_eq!(draw((10.0, 20.0), (50.0, 140.0)).unwrap().length, 120.0);
    }
}
