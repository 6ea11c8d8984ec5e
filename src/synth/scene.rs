//! One film's scene: pose, bone and crest, plus the teeth, implant and restoration placed on it,
//! rasterised row by row to attenuation.
//!
//! Scene coordinates are millimetres in the implant frame (x across, y towards the apex, platform
//! centre at the origin); the film is that frame rotated, scaled and shifted.

use super::anatomy::{Restoration, Tooth};
use super::geometry::Implant;
use super::rng::Rng;
use super::texture::{Noise, TileView};
use super::SynthSystem;
use crate::standardise::Fixture;
use std::ops::Range;

/// Columns `i < n` of a row whose points `start + i * step` (in an object's frame) can fall inside
/// the box `lo..hi`, widened by a pixel: where on this row that object needs evaluating.
fn span(start: (f32, f32), step: (f32, f32), lo: (f32, f32), hi: (f32, f32), n: usize) -> Range<usize> {
    let (mut from, mut to) = (0.0f32, n as f32);
    for (s, d, l, h) in [(start.0, step.0, lo.0, hi.0), (start.1, step.1, lo.1, hi.1)] {
        if d.abs() < 1e-9 {
            if s < l || s > h {
                return 0..0;
            }
        } else {
            let (a, b) = ((l - s) / d, (h - s) / d);
            from = from.max(a.min(b));
            to = to.min(a.max(b));
        }
    }
    if to < from {
        return 0..0;
    }
    (from.floor().max(0.0) as usize)..((to.ceil() + 1.0).min(n as f32) as usize)
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
    offsets: [f32; 3],
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

        let crest = g.bone_level() + rng.range(-0.4, 0.6);
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
            offsets: [0.0; 3].map(|_| rng.range(0.0, 128.0)),
            implant,
        }
    }

    /// The implant's fixture body (platform to apex tip, threads included) as an oriented box in
    /// film pixels: the truth the finder is measured against and the labels CSV carries.
    pub(crate) fn fixture(&self) -> Fixture {
        let length = self.implant.length();
        let mid = 0.5 * length * self.ppm;
        Fixture {
            cx: self.origin.0 - mid * self.sin,
            cy: self.origin.1 + mid * self.cos,
            width: 2.0 * self.implant.half_width * self.ppm,
            length: length * self.ppm,
            angle_deg: self.sin.atan2(self.cos).to_degrees(),
        }
    }

    /// Bone attenuation at scene point (x, y) inside the crest band, given the texture `tex` in
    /// [0, 1] there: zero above a wavy crest that dips towards the implant, a cortical band below.
    /// Outside the band bone is simply full (below) or absent (above).
    #[inline]
    fn crestal_bone(&self, x: f32, y: f32, tex: f32) -> f32 {
        let near = ((x.abs() - self.implant.half_width).max(0.0) / 2.5 - 1.0).min(0.0);
        let wave = self.noise.value1(x * 0.25 + self.offsets[0]) - 0.5;
        let crest = self.crest + self.crest_amp * wave + self.dip * near * near;
        let mask = ((y - crest) * 2.0 + 0.5).clamp(0.0, 1.0);
        let cortex = (1.0 - (y - crest - 0.4).abs() * 3.0).max(0.0);
        mask * self.bone * (0.45 + 0.7 * tex + 0.35 * cortex)
    }

    /// Attenuation for every pixel of a `size`×`size` film, row-major, in film units (0 = air,
    /// ~3 = solid titanium). The bone texture lives in film coordinates so it can be filled a row
    /// at a time; each object is evaluated only on its span of the row.
    pub(crate) fn rasterise(&self, size: u32) -> Vec<f32> {
        let n = size as usize;
        let mut out = vec![0.0; n * n];
        if n == 0 {
            return out;
        }
        let step = 1.0 / self.ppm;
        let d = (self.cos * step, -self.sin * step);
        let (freq, o) = (0.3 * step, &self.offsets);
        let mut rows = [vec![0.0; n], vec![0.0; n]];
        let mut bone = vec![0.0; n];
        let mut cols = Vec::new();
        let implant_box = (
            (-self.implant.half_width, self.implant.top),
            (self.implant.half_width, self.implant.length()),
        );
        let restoration_box = self.restoration.as_ref().map(Restoration::bounds);
        let crest_band = (
            (f32::MIN, self.crest - CREST_RANGE),
            (f32::MAX, self.crest + CREST_RANGE),
        );
        for (j, line) in out.chunks_exact_mut(n).enumerate() {
            let jc = j as f32 + 0.5;
            self.trabecula.fill_row(j, &mut rows[0], &mut cols);
            self.noise
                .fill_row(jc * freq + o[1], 0.5 * freq + o[2], freq, &mut rows[1], &mut cols);
            let (px, py) = (0.5 - self.origin.0, jc - self.origin.1);
            let start = (
                (px * self.cos + py * self.sin) * step,
                (py * self.cos - px * self.sin) * step,
            );
            let at = |i: usize| (start.0 + i as f32 * d.0, start.1 + i as f32 * d.1);
            let tex = |i: usize| 0.75 * rows[0][i] + 0.25 * rows[1][i];
            // Bulk pass (vectorisable): soft tissue everywhere, full bone below the crest band.
            for (i, (a, b)) in line.iter_mut().zip(bone.iter_mut()).enumerate() {
                let y = start.1 + i as f32 * d.1;
                let below = if y > self.crest { self.bone } else { 0.0 };
                *b = below * (0.45 + 0.7 * tex(i));
                *a = 0.12 + 0.2 * ((y - self.occlusal) * 0.5).clamp(0.0, 1.0) + *b;
            }
            for i in span(start, d, crest_band.0, crest_band.1, n) {
                let (x, y) = at(i);
                let b = self.crestal_bone(x, y, tex(i));
                line[i] += b - bone[i];
                bone[i] = b;
            }
            for tooth in &self.teeth {
                let f = tooth.frame;
                let (local, step) = (f.local(start), f.rotate(d));
                let [crown, root] = tooth.boxes().map(|(lo, hi)| span(local, step, lo, hi, n));
                let row = if crown.is_empty() {
                    root
                } else if root.is_empty() {
                    crown
                } else {
                    crown.start.min(root.start)..crown.end.max(root.end)
                };
                for i in row {
                    let (add, factor) = tooth.sample(f.local(at(i)), self.ppm);
                    // The ligament and lamina dura modulate the bone only.
                    line[i] += add + bone[i] * (factor - 1.0);
                }
            }
            for i in span(start, d, implant_box.0, implant_box.1, n) {
                let (x, y) = at(i);
                line[i] += self.implant.attenuation(x, y, self.ppm);
            }
            if let (Some(r), Some((lo, hi))) = (&self.restoration, restoration_box) {
                for i in span(start, d, lo, hi, n) {
                    line[i] += r.sample(at(i), self.ppm);
                }
            }
        }
        out
    }
}
