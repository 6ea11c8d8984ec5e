//! One film's anatomy: pose, bone, neighbouring teeth and restoration, rasterised to attenuation.
//!
//! Scene coordinates are millimetres in the implant frame (x across, y towards the apex, platform
//! centre at the origin); the film is that frame rotated, scaled and shifted.

use super::geometry::Implant;
use super::rng::Rng;
use super::texture::{Noise, TileView};
use super::SynthSystem;

/// A natural tooth next to the implant: crown above the crest, tapering root with a canal.
struct Tooth {
    x: f32,
    cej: f32,
    cos: f32,
    sin: f32,
    half_w: f32,
    root_len: f32,
    crown_h: f32,
}

/// Crown half-width at fraction `s` of its height (0 cervical, 1 occlusal): bulge, rounded top.
fn crown_half_width(half_w: f32, s: f32) -> f32 {
    let top = ((s - 0.7) / 0.3).max(0.0);
    half_w * (1.0 + 0.4 * s * (2.0 - s)) * (1.0 - top * top).max(0.0).sqrt()
}

/// Soft-edged inside test: 1 well inside, 0 outside, linear over one pixel.
fn cover(edge_mm: f32, px_per_mm: f32) -> f32 {
    (edge_mm * px_per_mm + 0.5).clamp(0.0, 1.0)
}

impl Tooth {
    fn random(rng: &mut Rng, side: f32, implant_half_w: f32, crest: f32) -> Self {
        let half_w = rng.range(2.3, 3.1);
        let tilt = rng.range(-0.14, 0.14);
        Tooth {
            x: side * (implant_half_w + rng.range(1.2, 3.0) + half_w),
            cej: crest - rng.range(1.0, 2.0),
            cos: tilt.cos(),
            sin: tilt.sin(),
            half_w,
            root_len: rng.range(11.0, 16.0),
            crown_h: rng.range(7.0, 9.0),
        }
    }

    /// (tooth attenuation, factor on the bone term) at scene point (x, y).
    fn sample(&self, x: f32, y: f32, ppm: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.x, y - self.cej);
        let (a, b) = (dx * self.cos + dy * self.sin, dy * self.cos - dx * self.sin);
        if a.abs() > 1.45 * self.half_w || b < -self.crown_h || b > self.root_len + 0.6 {
            return (0.0, 1.0);
        }
        let aa = a.abs();
        if b < 0.0 {
            let s = -b / self.crown_h;
            if s > 1.0 {
                return (0.0, 1.0);
            }
            let w = crown_half_width(self.half_w, s);
            let edge = (w - aa).min(self.crown_h + b);
            let c = cover(edge, ppm);
            let enamel = if edge < 1.3 * (s / 0.35).min(1.0) {
                0.8
            } else {
                0.0
            };
            let pulp = if aa < 0.3 * self.half_w && s < 0.45 {
                -0.3
            } else {
                0.0
            };
            let q = aa / w.max(1e-3);
            let thick = (1.0 - q * q).max(0.0).sqrt();
            return (c * (0.35 + 0.45 * thick + enamel + pulp), 1.0);
        }
        let t = b / self.root_len;
        let w = self.half_w * (1.0 - 0.5 * t) * (1.0 - (t * t) * (t * t) * t.min(1.0)).max(0.0).sqrt();
        let edge = w - aa;
        if edge > 0.0 {
            let q = aa / w;
            let thick = (1.0 - q * q).sqrt();
            let canal_w = self.half_w * 0.12 * (1.0 - 0.7 * t);
            let canal = if aa < canal_w && t < 0.97 { 0.3 } else { 0.0 };
            (cover(edge, ppm) * (0.15 + 0.45 * thick - canal), 1.0)
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

/// Abutment and crown (or a healing cap) on the implant.
struct Restoration {
    abut_top: f32,
    abut_w: f32,
    crown: Option<(f32, f32, f32)>, // (cervical y, height, density)
    crown_w: f32,
}

impl Restoration {
    fn random(rng: &mut Rng, implant: &Implant) -> Option<Self> {
        let r = implant.platform_radius();
        if rng.chance(0.5) {
            let cervical = implant.top - rng.range(0.4, 1.4);
            Some(Restoration {
                abut_top: cervical - rng.range(2.5, 4.0),
                abut_w: r * 0.8,
                crown: Some((cervical, rng.range(6.5, 8.5), rng.range(0.8, 1.5))),
                crown_w: rng.range(2.6, 3.3),
            })
        } else if rng.chance(0.5) {
            Some(Restoration {
                abut_top: implant.top - rng.range(2.0, 4.0),
                abut_w: r * rng.range(0.85, 1.05),
                crown: None,
                crown_w: 0.0,
            })
        } else {
            None
        }
    }

    fn sample(&self, x: f32, y: f32, top: f32, ppm: f32) -> f32 {
        let ax = x.abs();
        let mut a = 0.0;
        if y > self.abut_top && y < top + 0.05 {
            let s = (top - y) / (top - self.abut_top);
            let w = self.abut_w * (1.0 - 0.3 * s);
            let c = cover((w - ax).min(y - self.abut_top), ppm);
            let q = ax / w;
            a += c * 2.4 * (0.6 + 0.4 * (1.0 - q * q).max(0.0).sqrt());
        }
        if let Some((cervical, height, density)) = self.crown {
            let s = (cervical - y) / height;
            if (0.0..=1.0).contains(&s) {
                let w = crown_half_width(self.crown_w, s);
                let q = ax / w.max(1e-3);
                let thick = (1.0 - q * q).max(0.0).sqrt();
                a += cover((w - ax).min(height * (1.0 - s)), ppm) * density * (0.6 + 0.4 * thick);
            }
        }
        a
    }
}

/// Depth band (mm) around the mean crest where the crest line's waves and dip can reach.
const CREST_RANGE: f32 = 3.0;

/// Everything placed on one film, in scene coordinates, plus the film pose.
pub(crate) struct Scene {
    implant: Implant,
    ppm: f32,
    cos: f32,
    sin: f32,
    origin: (f32, f32),
    crest: f32,
    crest_amp: f32,
    dip: f32,
    occlusal: f32,
    bone: f32,
    trabecula: TileView,
    teeth: Vec<Tooth>,
    restoration: Option<Restoration>,
    noise: Noise,
    offsets: [f32; 4],
}

impl Scene {
    /// Draw a random scene around `system` for a `size`-pixel film.
    pub(crate) fn random(system: &SynthSystem, rng: &mut Rng, size: u32) -> Self {
        let g = &system.geometry;
        let implant = Implant::new(g, rng.range(0.82, 1.15), rng.range(0.88, 1.12));
        let size = size as f32;
        let ppm = size / rng.range(20.0, 28.0);
        let angle = rng.range(-20.0, 20.0).to_radians();
        let (sin, cos) = angle.sin_cos();
        // Place the implant's middle off-centre while keeping it inside the film.
        let mid = 0.5 * (implant.top + implant.length());
        let half_len = 0.5 * (implant.length() - implant.top) * ppm;
        let half_w = implant.half_width * ppm;
        let ex = cos.abs() * half_w + sin.abs() * half_len;
        let ey = sin.abs() * half_w + cos.abs() * half_len;
        let shift = |rng: &mut Rng, extent: f32| {
            let room = (0.5 * size - extent - 0.04 * size).max(0.0);
            rng.range(-1.0, 1.0) * room.min(0.15 * size)
        };
        let centre = (0.5 * size + shift(rng, ex), 0.5 * size + shift(rng, ey));
        let origin = (centre.0 + mid * sin * ppm, centre.1 - mid * cos * ppm);

        let bone_level = if g.collar_delta > 0.3 { g.collar_h } else { 0.3 };
        let crest = bone_level + rng.range(-0.4, 0.6);
        let mut teeth = Vec::with_capacity(2);
        let sides: &[f32] = match rng.unit() {
            u if u < 0.25 => &[-1.0],
            u if u < 0.5 => &[1.0],
            _ => &[-1.0, 1.0],
        };
        for &side in sides {
            teeth.push(Tooth::random(rng, side, implant.half_width, crest));
        }
        let restoration = Restoration::random(rng, &implant);
        Scene {
            ppm,
            cos,
            sin,
            origin,
            crest,
            crest_amp: rng.range(0.5, 1.5),
            dip: rng.range(0.0, 1.2),
            occlusal: crest - rng.range(9.0, 12.0),
            bone: rng.range(0.75, 1.05),
            trabecula: {
                let cell_px = ppm * rng.range(0.8, 1.3);
                TileView::random(rng, cell_px)
            },
            teeth,
            restoration,
            noise: Noise::new(rng),
            offsets: [0.0; 4].map(|_| rng.range(0.0, 128.0)),
            implant,
        }
    }

    /// Attenuation at scene point (x, y) in film units (0 = air, ~4 = solid titanium), given the
    /// bone texture `tex` in [0, 1] at that pixel.
    #[inline]
    fn attenuation(&self, x: f32, y: f32, tex: f32) -> f32 {
        let mut bone = 0.0;
        if y > self.crest - CREST_RANGE {
            let (mask, cortex) = if y < self.crest + CREST_RANGE {
                let near = ((x.abs() - self.implant.half_width).max(0.0) / 2.5 - 1.0).min(0.0);
                let wave = self.noise.value1(x * 0.25 + self.offsets[0]) - 0.5;
                let crest = self.crest + self.crest_amp * wave + self.dip * near * near;
                let mask = ((y - crest) * 2.0 + 0.5).clamp(0.0, 1.0);
                (mask, (1.0 - (y - crest - 0.4).abs() * 3.0).max(0.0))
            } else {
                (1.0, 0.0)
            };
            bone = mask * self.bone * (0.55 + 0.9 * tex + 0.35 * cortex);
        }
        let mut a = 0.12 + 0.2 * ((y - self.occlusal) * 0.5).clamp(0.0, 1.0);
        for tooth in &self.teeth {
            let (add, factor) = tooth.sample(x, y, self.ppm);
            a += add;
            bone *= factor;
        }
        a += bone;
        if x.abs() < self.implant.half_width {
            a += self.implant.attenuation(x, y, self.ppm);
        }
        if let Some(r) = &self.restoration {
            a += r.sample(x, y, self.implant.top, self.ppm);
        }
        a
    }

    /// Attenuation for every pixel of a `size`×`size` film, row-major.
    ///
    /// The bone texture lives in film coordinates so it can be filled a row at a time.
    pub(crate) fn rasterise(&self, size: u32) -> Vec<f32> {
        let n = size as usize;
        let mut out = vec![0.0; n * n];
        let step = 1.0 / self.ppm;
        let (dx_col, dy_col) = (self.cos * step, -self.sin * step);
        let (freq, o) = (0.3 * step, &self.offsets);
        let mut rows = [vec![0.0; n], vec![0.0; n]];
        let mut cols = Vec::new();
        for (j, line) in out.chunks_exact_mut(n).enumerate() {
            let jc = j as f32 + 0.5;
            self.trabecula.fill_row(j, &mut rows[0]);
            self.noise
                .fill_row(jc * freq + o[1], 0.5 * freq + o[2], freq, &mut rows[1], &mut cols);
            let py = jc - self.origin.1;
            let px = 0.5 - self.origin.0;
            let mut x = (px * self.cos + py * self.sin) * step;
            let mut y = (py * self.cos - px * self.sin) * step;
            for (i, a) in line.iter_mut().enumerate() {
                let tex = 0.75 * rows[0][i] + 0.25 * rows[1][i];
                *a = self.attenuation(x, y, tex);
                x += dx_col;
                y += dy_col;
            }
        }
        out
    }
}
