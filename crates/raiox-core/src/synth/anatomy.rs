//! What surrounds the implant: neighbouring natural teeth and the restoration on top of it.
//!
//! Each object answers in its own frame (`a` across, `b` along its axis) and gives a bounding box
//! there, so the rasteriser only evaluates it on the pixels of a row that can reach it.

use super::geometry::Implant;
use super::rng::Rng;

/// Soft-edged inside test: 1 well inside, 0 outside, linear over one pixel.
pub(crate) fn cover(edge_mm: f32, px_per_mm: f32) -> f32 {
    (edge_mm * px_per_mm + 0.5).clamp(0.0, 1.0)
}

/// Crown half-width at fraction `s` of its height (0 cervical, 1 occlusal): bulge, rounded top.
fn crown_half_width(half_w: f32, s: f32) -> f32 {
    let top = ((s - 0.7) / 0.3).max(0.0);
    half_w * (1.0 + 0.4 * s * (2.0 - s)) * (1.0 - top * top).max(0.0).sqrt()
}

/// Cylinder-like thickness profile: 1 on the axis, 0 at half-width `w`.
fn thickness(a: f32, w: f32) -> f32 {
    let q = a / w.max(1e-3);
    (1.0 - q * q).max(0.0).sqrt()
}

/// A rigid frame in scene millimetres: local = rotation(−angle) · (point − origin).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    origin: (f32, f32),
    cos: f32,
    sin: f32,
}

impl Frame {
    /// The scene frame itself (a lone implant at the origin of its film's scene).
    pub(crate) const IDENTITY: Frame = Frame {
        origin: (0.0, 0.0),
        cos: 1.0,
        sin: 0.0,
    };

    /// A frame at `origin`, turned by `angle` radians (positive: clockwise on the film).
    pub(crate) fn new(origin: (f32, f32), angle: f32) -> Self {
        Frame {
            origin,
            cos: angle.cos(),
            sin: angle.sin(),
        }
    }

    /// Where the frame sits in scene coordinates: its origin and its (cos, sin) turn.
    pub(crate) fn pose(&self) -> ((f32, f32), f32, f32) {
        (self.origin, self.cos, self.sin)
    }

    /// Scene coordinates of the local point `l` (inverse of [`Frame::local`]).
    pub(crate) fn to_scene(self, l: (f32, f32)) -> (f32, f32) {
        (
            self.origin.0 + l.0 * self.cos - l.1 * self.sin,
            self.origin.1 + l.0 * self.sin + l.1 * self.cos,
        )
    }

    /// Local coordinates of the scene vector `v` (no translation).
    pub(crate) fn rotate(&self, v: (f32, f32)) -> (f32, f32) {
        (v.0 * self.cos + v.1 * self.sin, v.1 * self.cos - v.0 * self.sin)
    }

    /// Local coordinates of the scene point `p`.
    pub(crate) fn local(&self, p: (f32, f32)) -> (f32, f32) {
        self.rotate((p.0 - self.origin.0, p.1 - self.origin.1))
    }
}

/// A natural tooth next to the implant: crown above the crest, tapering root with a canal,
/// periodontal ligament and lamina dura. Frame origin at the cemento-enamel junction.
pub(crate) struct Tooth {
    pub frame: Frame,
    half_w: f32,
    root_len: f32,
    crown_h: f32,
    work: Dentistry,
}

/// Bright non-implant material in a natural tooth: what a finder must not mistake for a fixture.
#[derive(Default)]
struct Dentistry {
    /// Occlusal filling: (centre across, half-width, depth from the occlusal edge, density);
    /// amalgam is as bright as metal, composite a little brighter than enamel.
    filling: Option<(f32, f32, f32, f32)>,
    /// Root-canal filling density (0: none): a thin bright line tapering down the canal.
    canal: f32,
    /// Full metal-ceramic crown density (0: none).
    cap: f32,
}

impl Tooth {
    /// A tooth on `side` (±1) of an implant of half-width `implant_half_w`, near bone crest `crest`.
    pub(crate) fn random(rng: &mut Rng, side: f32, implant_half_w: f32, crest: f32) -> Self {
        Self::random_at(rng, crest, |rng, half_w| {
            side * (implant_half_w + rng.range(1.2, 3.0) + half_w)
        })
    }

    /// A tooth centred where `place` (given the tooth's half-width) puts it, near bone crest
    /// `crest`; untreated.
    fn random_at(rng: &mut Rng, crest: f32, place: impl FnOnce(&mut Rng, f32) -> f32) -> Self {
        let half_w = rng.range(2.3, 3.1);
        let tilt = rng.range(-0.14, 0.14);
        let x = place(rng, half_w);
        let cej = crest - rng.range(1.0, 2.0);
        Tooth {
            frame: Frame::new((x, cej), tilt),
            half_w,
            root_len: rng.range(11.0, 16.0),
            crown_h: rng.range(7.0, 9.0),
            work: Dentistry::default(),
        }
    }

    /// A tooth at `x` as found in a restored mouth: sometimes an amalgam or composite filling,
    /// a root-canal filling, or a full metal-ceramic crown.
    pub(crate) fn treated(rng: &mut Rng, x: f32, crest: f32) -> Self {
        let mut tooth = Self::random_at(rng, crest, |_, _| x);
        if rng.chance(0.4) {
            let half = tooth.half_w * rng.range(0.25, 0.6);
            let centre = rng.range(-0.5, 0.5) * (tooth.half_w - half);
            let density = if rng.chance(0.6) {
                rng.range(2.5, 4.0)
            } else {
                rng.range(0.5, 1.1)
            };
            tooth.work.filling = Some((centre, half, rng.range(1.2, 3.0), density));
        }
        if rng.chance(0.25) {
            tooth.work.canal = rng.range(1.5, 2.8);
        }
        if rng.chance(0.08) {
            tooth.work.cap = rng.range(2.5, 4.0);
        }
        tooth
    }

    /// Local bounding boxes (lo, hi) of the crown and of the root with its ligament and lamina.
    pub(crate) fn boxes(&self) -> [((f32, f32), (f32, f32)); 2] {
        let (crown_a, root_a) = (1.45 * self.half_w, self.half_w + 0.5);
        [
            ((-crown_a, -self.crown_h), (crown_a, 0.0)),
            ((-root_a, 0.0), (root_a, self.root_len + 0.6)),
        ]
    }

    /// (tooth attenuation, factor on the bone term) at local point (a, b).
    pub(crate) fn sample(&self, (a, b): (f32, f32), ppm: f32) -> (f32, f32) {
        let aa = a.abs();
        if b < 0.0 {
            let s = -b / self.crown_h;
            let w = crown_half_width(self.half_w, s);
            // Two cusps: the occlusal edge peaks at a quarter of the width from each side.
            let cusp = 1.0 - 4.0 * (aa / (1.4 * self.half_w) - 0.5).powi(2);
            let edge = (w - aa).min(self.crown_h * (0.9 + 0.1 * cusp) + b);
            let enamel = if edge < 1.3 * (s / 0.35).min(1.0) {
                0.55
            } else {
                0.0
            };
            // Pulp chamber: widens from the canal, closes at mid-crown.
            let pulp_w = self.half_w * (0.14 + 0.45 * s) * (1.0 - (2.0 * s).powi(4));
            let pulp = if aa < pulp_w { -0.3 } else { 0.0 };
            let dentin = 0.35 + 0.45 * thickness(aa, w);
            let inside = cover(edge, ppm);
            return (
                inside * (dentin + enamel + pulp + self.dentistry_crown(a, b, w, ppm)),
                1.0,
            );
        }
        let t = b / self.root_len;
        let w = self.half_w * (1.0 - 0.5 * t) * (1.0 - (t * t) * (t * t) * t.min(1.0)).max(0.0).sqrt();
        let edge = w - aa;
        if edge > 0.0 {
            let canal_w = self.half_w * 0.12 * (1.0 - 0.7 * t);
            let canal = if aa < canal_w && t < 0.97 { 0.3 } else { 0.0 };
            let filled = if self.work.canal > 0.0 && t < 0.93 {
                self.work.canal * cover(1.4 * canal_w - aa, ppm)
            } else {
                0.0
            };
            (
                cover(edge, ppm) * (0.15 + 0.45 * thickness(aa, w) - canal + filled),
                1.0,
            )
        } else {
            // Periodontal ligament (dark) then lamina dura (bright) around the root.
            let d = if t > 1.0 {
                aa.hypot(b - self.root_len)
            } else {
                -edge
            };
            let bone = match d {
                d if d < 0.18 => 0.6,
                d if d < 0.4 => 1.25,
                _ => 1.0,
            };
            (0.0, bone)
        }
    }
}

impl Tooth {
    /// Extra attenuation of fillings and a metal-ceramic crown at local point (a, b) of the crown,
    /// whose half-width there is `w`.
    fn dentistry_crown(&self, a: f32, b: f32, w: f32, ppm: f32) -> f32 {
        let mut add = 0.0;
        if self.work.cap > 0.0 {
            add += self.work.cap * (0.6 + 0.4 * thickness(a.abs(), w));
        }
        if let Some((centre, half, depth, density)) = self.work.filling {
            let (du, dv) = ((a - centre) / half, (b + self.crown_h) / depth);
            let q = (du * du + dv * dv).sqrt();
            add += density * cover((1.0 - q) * half.min(depth), ppm);
        }
        add
    }
}

/// Abutment and crown (or a healing cap alone) on the implant, in the scene frame.
pub(crate) struct Restoration {
    /// Implant top (platform or hex) the abutment stands on.
    base: f32,
    abut_top: f32,
    abut_w: f32,
    /// (cervical y, height, density, cervical half-width) of the crown.
    crown: Option<(f32, f32, f32, f32)>,
}

impl Restoration {
    /// Half the time a crown on an abutment, a quarter a healing cap, otherwise nothing.
    pub(crate) fn random(rng: &mut Rng, implant: &Implant) -> Option<Self> {
        let (base, r) = (implant.top, implant.platform_radius());
        if rng.chance(0.5) {
            let cervical = base - rng.range(0.4, 1.4);
            Some(Restoration {
                base,
                abut_top: cervical - rng.range(2.5, 4.0),
                abut_w: r * 0.8,
                crown: Some((
                    cervical,
                    rng.range(6.5, 8.5),
                    rng.range(0.8, 1.5),
                    rng.range(2.6, 3.3),
                )),
            })
        } else if rng.chance(0.5) {
            Some(Restoration {
                base,
                abut_top: base - rng.range(2.0, 4.0),
                abut_w: r * rng.range(0.85, 1.05),
                crown: None,
            })
        } else {
            None
        }
    }

    /// Always an abutment and a metal-ceramic crown at least as radiopaque as titanium, no wider
    /// than `max_half_w` at the cervix: a finished restoration as on most real periapical films.
    pub(crate) fn metal_ceramic(rng: &mut Rng, implant: &Implant, max_half_w: f32) -> Self {
        let (base, r) = (implant.top, implant.platform_radius());
        let cervical = base - rng.range(0.4, 1.4);
        Restoration {
            base,
            abut_top: cervical - rng.range(2.5, 4.0),
            abut_w: r * 0.8,
            crown: Some((
                cervical,
                rng.range(6.5, 8.5),
                rng.range(3.0, 4.5),
                rng.range(2.6, 3.3).min(max_half_w),
            )),
        }
    }

    /// Points on the crown's outline every `step` of its height (none without a crown), for the
    /// crown's truth box.
    pub(crate) fn crown_outline(&self, step: f32) -> Vec<(f32, f32)> {
        let Some((cervical, height, _, half_w)) = self.crown else {
            return Vec::new();
        };
        let n = (height / step).ceil() as usize;
        (0..=n)
            .flat_map(|k| {
                let s = (k as f32 * step / height).min(1.0);
                let (w, y) = (crown_half_width(half_w, s), cervical - s * height);
                [(-w, y), (w, y)]
            })
            .collect()
    }

    /// Scene bounding box (lo, hi).
    pub(crate) fn bounds(&self) -> ((f32, f32), (f32, f32)) {
        let (mut top, mut half) = (self.abut_top, self.abut_w);
        if let Some((cervical, height, _, w)) = self.crown {
            top = top.min(cervical - height);
            half = half.max(1.45 * w);
        }
        ((-half, top), (half, self.base + 0.05))
    }

    /// Attenuation at scene point (x, y).
    pub(crate) fn sample(&self, (x, y): (f32, f32), ppm: f32) -> f32 {
        let ax = x.abs();
        let mut a = 0.0;
        if y > self.abut_top && y < self.base + 0.05 {
            let s = (self.base - y) / (self.base - self.abut_top);
            let w = self.abut_w * (1.0 - 0.3 * s);
            let c = cover((w - ax).min(y - self.abut_top), ppm);
            a += c * 2.0 * (0.6 + 0.4 * thickness(ax, w));
        }
        if let Some((cervical, height, density, half_w)) = self.crown {
            let s = (cervical - y) / height;
            if (0.0..=1.0).contains(&s) {
                let w = crown_half_width(half_w, s);
                a += cover((w - ax).min(height * (1.0 - s)), ppm) * density * (0.6 + 0.4 * thickness(ax, w));
            }
        }
        a
    }
}
