//! The implant as the library stores it: an oriented box of the fixture body in film pixels.
//!
//! Why a type of our own next to `raiox_find::FoundImplant`: this one is what the catalogue keeps
//! (serialisable, no score), what a curator edits, and what the axis-aligned `box` of the CLI and
//! the labels CSV is converted from and to. The orientation convention is `raiox-find`'s: the apex
//! direction is `(-sin a, cos a)`, so `angle_deg = 0` is upright with the apex down and `180` is an
//! upper-jaw implant with its apex up.

use raiox_find::FoundImplant;
use serde::{Deserialize, Serialize};

/// Smallest side (pixels) a fixture box may have.
const MIN_SIDE: f32 = 2.0;

/// An oriented fixture box: centre, width across the long axis, length along it, apex angle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// Centre x (film pixels, after EXIF orientation).
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Extent across the long axis.
    pub width: f32,
    /// Extent along the long axis, platform to apex.
    pub length: f32,
    /// Apex direction, degrees in (-180, 180]; 0 = apex down.
    pub angle_deg: f32,
}

/// An axis-aligned box `x, y` (top-left corner), `w, h`, in film pixels: how annotators draw
/// implants and how the CLI, the JSON output and the labels CSV give them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aabb {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Aabb {
    /// Intersection over union with another box (0 when either is empty).
    pub fn iou(&self, other: &Aabb) -> f32 {
        raiox_find::aabb_iou(
            &(self.x, self.y, self.w, self.h),
            &(other.x, other.y, other.w, other.h),
        )
    }

    /// Share of this box's area that lies inside `other` (0 when empty).
    pub fn share_inside(&self, other: &Aabb) -> f32 {
        raiox_find::inside_share(
            &(self.x, self.y, self.w, self.h),
            &(other.x, other.y, other.w, other.h),
        )
    }

    /// Rounded to 0.1 px, so JSON output stays readable and stable.
    fn rounded(self) -> Aabb {
        let r = |v: f32| (v * 10.0).round() / 10.0;
        Aabb {
            x: r(self.x),
            y: r(self.y),
            w: r(self.w),
            h: r(self.h),
        }
    }
}

impl std::str::FromStr for Aabb {
    type Err = String;

    /// Parse `x,y,w,h` (pixels, decimals allowed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = numbers(s, "x,y,w,h")?;
        match v[..] {
            [x, y, w, h] => Ok(Aabb { x, y, w, h }),
            _ => Err(format!("box '{s}' is not x,y,w,h")),
        }
    }
}

/// A box as a curator gives it: `x,y,w,h[,angle]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxSpec {
    /// The axis-aligned box around the fixture.
    pub aabb: Aabb,
    /// The apex angle, when given.
    pub angle_deg: Option<f32>,
}

impl std::str::FromStr for BoxSpec {
    type Err = String;

    /// Parse `x,y,w,h` or `x,y,w,h,angle`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = numbers(s, "x,y,w,h[,angle]")?;
        match v[..] {
            [x, y, w, h] => Ok(BoxSpec {
                aabb: Aabb { x, y, w, h },
                angle_deg: None,
            }),
            [x, y, w, h, a] => Ok(BoxSpec {
                aabb: Aabb { x, y, w, h },
                angle_deg: Some(a),
            }),
            _ => Err(format!("box '{s}' is not x,y,w,h[,angle]")),
        }
    }
}

fn numbers(s: &str, shape: &str) -> Result<Vec<f32>, String> {
    s.split(',')
        .map(|p| p.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("box '{s}' is not {shape} in pixels"))
}

/// Wrap an angle into (-180, 180].
fn wrap(deg: f32) -> f32 {
    let a = deg.rem_euclid(360.0);
    if a > 180.0 {
        a - 360.0
    } else {
        a
    }
}

impl Fixture {
    /// The finder's proposal as a stored box.
    pub fn from_found(f: &FoundImplant) -> Fixture {
        Fixture {
            cx: f.cx,
            cy: f.cy,
            width: f.width,
            length: f.length,
            angle_deg: wrap(f.angle_deg),
        }
    }

    /// As the finder's type, for its geometry and cropping.
    pub fn as_found(&self) -> FoundImplant {
        FoundImplant {
            cx: self.cx,
            cy: self.cy,
            width: self.width,
            length: self.length,
            angle_deg: self.angle_deg,
            score: 1.0,
        }
    }

    /// The axis-aligned box around the oriented one (what `list --json` reports as `box`).
    pub fn aabb(&self) -> Aabb {
        let (x, y, w, h) = self.as_found().aabb();
        Aabb { x, y, w, h }.rounded()
    }

    /// The fixture whose axis-aligned box is `b`, turned by `angle_deg` (0 when `None`).
    ///
    /// With no angle, or an axis-parallel one, the fixture is `b` itself (width across, height
    /// along). With a tilt, the width and length are solved so that the tilted box's axis-aligned
    /// hull is `b`; near 45°, where that has no stable solution, the fixture keeps the usual
    /// width-to-length proportion of implants instead.
    pub fn from_aabb(b: Aabb, angle_deg: Option<f32>) -> Fixture {
        let angle = wrap(angle_deg.unwrap_or(0.0));
        let (s, c) = {
            let r = angle.to_radians();
            (r.sin().abs(), r.cos().abs())
        };
        let det = s * s - c * c;
        let (mut length, mut width) = if det.abs() > 0.3 {
            ((b.w * s - b.h * c) / det, (b.h * s - b.w * c) / det)
        } else {
            (f32::NAN, f32::NAN)
        };
        if !(length >= MIN_SIDE && width >= MIN_SIDE) {
            // Implants are about three times as long as wide.
            const RATIO: f32 = 0.35;
            let l1 = b.w / (s + RATIO * c);
            let l2 = b.h / (c + RATIO * s);
            length = 0.5 * (l1 + l2);
            width = RATIO * length;
        }
        Fixture {
            cx: b.x + b.w / 2.0,
            cy: b.y + b.h / 2.0,
            width: width.max(MIN_SIDE),
            length: length.max(MIN_SIDE),
            angle_deg: angle,
        }
    }

    /// Whether the box is usable on a `width`×`height` film: finite, not degenerate, centred on it.
    pub fn check(&self, width: u32, height: u32) -> Result<(), String> {
        let finite = [self.cx, self.cy, self.width, self.length, self.angle_deg]
            .iter()
            .all(|v| v.is_finite());
        if !finite {
            return Err("the box has a non-numeric coordinate".into());
        }
        if self.width < MIN_SIDE || self.length < MIN_SIDE {
            return Err(format!(
                "the box is too small ({:.1}×{:.1} px)",
                self.width, self.length
            ));
        }
        if self.cx < 0.0 || self.cy < 0.0 || self.cx > width as f32 || self.cy > height as f32 {
            return Err(format!(
                "the box's centre ({:.0}, {:.0}) lies outside the {width}×{height} film",
                self.cx, self.cy
            ));
        }
        Ok(())
    }

    /// The fixture a curator's `x,y,w,h[,angle]` means for an implant whose box is `current`
    /// (`None`: a new implant). Without an angle the axis is vertical and the apex keeps its side
    /// (an upper-jaw implant stays apex up).
    pub fn from_spec(spec: &BoxSpec, current: Option<&Fixture>) -> Fixture {
        let upright_sense = |f: &Fixture| if f.angle_deg.abs() > 90.0 { 180.0 } else { 0.0 };
        Fixture::from_aabb(spec.aabb, spec.angle_deg.or_else(|| current.map(upright_sense)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aabb_round_trips_for_tilts() {
        for a in [0.0, 180.0, 15.0, -20.0, 160.0, 90.0, -100.0] {
            let f = Fixture {
                cx: 120.0,
                cy: 125.0,
                width: 40.0,
                length: 150.0,
                angle_deg: a,
            };
            let back = Fixture::from_aabb(f.aabb(), Some(a));
            assert!((back.width - f.width).abs() < 0.5, "angle {a}: {back:?}");
            assert!((back.length - f.length).abs() < 0.5, "angle {a}: {back:?}");
            assert!(
                (back.cx - f.cx).abs() < 0.2 && (back.cy - f.cy).abs() < 0.2,
                "angle {a}: {back:?}"
            );
            assert_eq!(back.angle_deg, a);
        }
        // An upright box is the rectangle itself; near 45° (no exact solution for so narrow a
        // hull) the centre is kept and the hull approximately.
        let b = Aabb {
            x: 100.0,
            y: 50.0,
            w: 40.0,
            h: 150.0,
        };
        let f = Fixture::from_aabb(b, None);
        assert_eq!((f.width, f.length, f.cx, f.cy), (40.0, 150.0, 120.0, 125.0));
        let f = Fixture::from_aabb(b, Some(45.0));
        assert!(f.aabb().iou(&b) > 0.3, "{:?}", f.aabb());
        assert_eq!((f.cx, f.cy), (120.0, 125.0));
    }

    #[test]
    fn parses_boxes_and_rejects_junk() {
        let s: BoxSpec = "1,2,30,40".parse().unwrap();
        assert_eq!(s.angle_deg, None);
        let s: BoxSpec = "1,2.5,30,40,180".parse().unwrap();
        assert_eq!(s.angle_deg, Some(180.0));
        assert!("1,2,3".parse::<BoxSpec>().is_err());
        assert!("1,2,3,x".parse::<BoxSpec>().is_err());
        assert!("1,2,3,NaN".parse::<BoxSpec>().is_err());
    }

    #[test]
    fn check_refuses_boxes_off_the_film() {
        let f = Fixture::from_aabb(
            Aabb {
                x: 500.0,
                y: 10.0,
                w: 40.0,
                h: 100.0,
            },
            None,
        );
        assert!(f.check(400, 400).is_err());
        assert!(f.check(800, 400).is_ok());
        assert_eq!(wrap(270.0), -90.0);
        assert_eq!(wrap(-180.0), 180.0);
    }
}
