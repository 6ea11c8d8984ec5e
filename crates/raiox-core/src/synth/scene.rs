//! One film's scene: pose, bone and crest, plus the teeth, implants and restorations placed on it,
//! rasterised row by row to attenuation, and the truth (where each fixture lies on the film).
//!
//! Scene coordinates are millimetres in the jaw frame (x along the arch, y towards the apices,
//! bone crest near y = 0 for restored films; for a bare film it is the implant's own frame, platform
//! centre at the origin); the film is that frame rotated, scaled and shifted.

use super::anatomy::{Frame, Restoration, Tooth};
use super::geometry::Implant;
use super::rng::Rng;
use super::systems::all as systems;
use super::texture::{Noise, TileView};
use super::types::{ImplantTruth, SynthSystem};
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

/// One implant on a film: its frame in the scene, its shape, what stands on it and its label.
struct Placed {
    frame: Frame,
    implant: Implant,
    restoration: Option<Restoration>,
    manufacturer: &'static str,
    system: &'static str,
}

/// Everything placed on one film, in scene coordinates, plus the film pose.
pub(crate) struct Scene {
    placed: Vec<Placed>,
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
    noise: Noise,
    offsets: [f32; 3],
}

/// Film-independent parts of a scene drawn after the objects: crest shape, bone, textures.
fn finish(
    rng: &mut Rng,
    ppm: f32,
    pose: (f32, f32, (f32, f32)),
    crest: f32,
    placed: Vec<Placed>,
    teeth: Vec<Tooth>,
) -> Scene {
    let (cos, sin, origin) = pose;
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
        noise: Noise::new(rng),
        offsets: [0.0; 3].map(|_| rng.range(0.0, 128.0)),
        placed,
    }
}

/// Shuffle `v` in place (Fisher-Yates) with the film's generator.
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = ((rng.unit() * (i + 1) as f32) as usize).min(i);
        v.swap(i, j);
    }
}

impl Scene {
    /// Draw a random scene around `system` for a `size`-pixel film: one bare implant, apex down.
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
        let placed = vec![Placed {
            frame: Frame::IDENTITY,
            implant,
            restoration,
            manufacturer: system.manufacturer,
            system: system.system,
        }];
        finish(rng, ppm, (cos, sin, origin), crest, placed, teeth)
    }

    /// Draw a restored scene for a `width`×`height` film: a row of tooth sites along the arch,
    /// 1–3 of them implants of different systems (the first is `system`) with abutment and
    /// metal-ceramic crown, the others natural teeth (some filled, root-filled or crowned) or
    /// gaps; upper jaw (apex up) half the time. `panoramic`: a wide strip at lower magnification.
    pub(crate) fn restored(
        system: &SynthSystem,
        rng: &mut Rng,
        width: u32,
        height: u32,
        panoramic: bool,
    ) -> Self {
        let (wf, hf) = (width as f32, height as f32);
        let ppm = if panoramic {
            wf / rng.range(120.0, 150.0)
        } else {
            hf / rng.range(34.0, 42.0)
        };
        let upper = rng.chance(0.5);
        let tilt = rng.range(-12.0f32, 12.0).to_radians();
        let angle = if upper { tilt + std::f32::consts::PI } else { tilt };
        let (sin, cos) = angle.sin_cos();
        // The scene point at the film's centre: a little below the crest, so crowns and apices fit.
        let (sx, sy) = (rng.range(-2.0, 2.0), rng.range(0.5, 3.5));
        let origin = (
            0.5 * wf - ppm * (sx * cos - sy * sin),
            0.5 * hf - ppm * (sx * sin + sy * cos),
        );
        let crest = rng.range(-0.3, 0.3);

        // Tooth sites along the arch, beyond the film edges on both sides.
        let half_mm = 0.5 * wf / ppm;
        let mut sites = Vec::new();
        let mut x = sx - half_mm - 6.0 - rng.range(0.0, 8.0);
        while x < sx + half_mm + 6.0 {
            sites.push(x);
            x += rng.range(7.2, 9.0);
        }
        // Implants stand where their fixture, tilted, stays on the film.
        let mut inside: Vec<usize> = (0..sites.len())
            .filter(|&k| (sites[k] - sx).abs() + 6.0 < half_mm)
            .collect();
        shuffle(&mut inside, rng);
        let wanted = match rng.unit() {
            u if u < 0.45 => 1,
            u if u < 0.8 => 2,
            _ => 3,
        };
        inside.truncate(wanted.max(1));
        let mut others: Vec<&'static SynthSystem> = systems()
            .iter()
            .filter(|s| (s.manufacturer, s.system) != (system.manufacturer, system.system))
            .collect();
        shuffle(&mut others, rng);

        let mut placed = Vec::with_capacity(inside.len());
        for (n, &k) in inside.iter().enumerate() {
            let (manufacturer, name, g) = match n {
                0 => (system.manufacturer, system.system, &system.geometry),
                _ => (
                    others[n - 1].manufacturer,
                    others[n - 1].system,
                    &others[n - 1].geometry,
                ),
            };
            let implant = Implant::new(g, rng.range(0.82, 1.15), rng.range(0.88, 1.12));
            let platform = crest - g.bone_level() - rng.range(-0.4, 0.6);
            let frame = Frame::new(
                (sites[k] + rng.range(-0.5, 0.5), platform),
                rng.range(-8.0f32, 8.0).to_radians(),
            );
            let gap = [k.wrapping_sub(1), k + 1]
                .iter()
                .filter_map(|&j| sites.get(j).map(|&s| (s - sites[k]).abs()))
                .fold(9.0f32, f32::min);
            let restoration = Restoration::metal_ceramic(rng, &implant, 0.36 * gap);
            placed.push(Placed {
                frame,
                implant,
                restoration: Some(restoration),
                manufacturer,
                system: name,
            });
        }
        let mut teeth = Vec::with_capacity(sites.len());
        for (k, &x) in sites.iter().enumerate() {
            if !inside.contains(&k) && rng.chance(0.85) {
                let jitter = rng.range(-0.4, 0.4);
                teeth.push(Tooth::treated(rng, x + jitter, crest));
            }
        }
        finish(rng, ppm, (cos, sin, origin), crest, placed, teeth)
    }

    /// Film pixel coordinates (continuous, pixel k covers [k, k + 1)) of the scene point `p`.
    fn to_film(&self, p: (f32, f32)) -> (f32, f32) {
        (
            self.origin.0 + self.ppm * (p.0 * self.cos - p.1 * self.sin),
            self.origin.1 + self.ppm * (p.0 * self.sin + p.1 * self.cos),
        )
    }

    /// Where every implant lies on the film: the fixture body's axis-aligned box, its apex
    /// direction (raiox-find convention) and its crown's box, clipped to the `width`×`height`
    /// film as an annotator sees it; the film's own system first.
    pub(crate) fn truth(&self, width: u32, height: u32) -> Vec<ImplantTruth> {
        let clip = |(x, y, w, h): (f32, f32, f32, f32)| {
            let (x0, y0) = (x.max(0.0), y.max(0.0));
            let (x1, y1) = ((x + w).min(width as f32), (y + h).min(height as f32));
            (x1 > x0 && y1 > y0).then_some((x0, y0, x1 - x0, y1 - y0))
        };
        let bbox = |pts: &mut dyn Iterator<Item = (f32, f32)>| {
            let (mut lo, mut hi) = ((f32::MAX, f32::MAX), (f32::MIN, f32::MIN));
            for (x, y) in pts {
                lo = (lo.0.min(x), lo.1.min(y));
                hi = (hi.0.max(x), hi.1.max(y));
            }
            (lo.0 <= hi.0).then_some((lo.0, lo.1, hi.0 - lo.0, hi.1 - lo.1))
        };
        self.placed
            .iter()
            .filter_map(|p| {
                let film = |l: (f32, f32)| self.to_film(p.frame.to_scene(l));
                let step = 0.25 / self.ppm;
                let body = bbox(&mut p.implant.body_outline(step).map(film))?;
                let crown = p.restoration.as_ref().and_then(|r| {
                    let outline = r.crown_outline(step);
                    bbox(&mut outline.into_iter().map(film)).and_then(clip)
                });
                // Apex direction: the implant's +v, turned by its frame and by the film pose.
                let (_, c, s) = p.frame.pose();
                let (ac, as_) = (self.cos * c - self.sin * s, self.sin * c + self.cos * s);
                Some(ImplantTruth {
                    manufacturer: p.manufacturer,
                    system: p.system,
                    fixture: body,
                    angle_deg: as_.atan2(ac).to_degrees(),
                    crown,
                })
            })
            .collect()
    }

    /// Bone attenuation at scene point (x, y) inside the crest band, given the texture `tex` in
    /// [0, 1] there: zero above a wavy crest that dips towards the implants, a cortical band
    /// below. Outside the band bone is simply full (below) or absent (above).
    #[inline]
    fn crestal_bone(&self, x: f32, y: f32, tex: f32) -> f32 {
        let near = self
            .placed
            .iter()
            .map(|p| {
                let off = (x - p.frame.pose().0 .0).abs();
                ((off - p.implant.half_width).max(0.0) / 2.5 - 1.0).min(0.0)
            })
            .fold(0.0f32, f32::min);
        let wave = self.noise.value1(x * 0.25 + self.offsets[0]) - 0.5;
        let crest = self.crest + self.crest_amp * wave + self.dip * near * near;
        let mask = ((y - crest) * 2.0 + 0.5).clamp(0.0, 1.0);
        let cortex = (1.0 - (y - crest - 0.4).abs() * 3.0).max(0.0);
        mask * self.bone * (0.45 + 0.7 * tex + 0.35 * cortex)
    }

    /// Attenuation for every pixel of a `width`×`height` film, row-major, in film units (0 = air,
    /// ~3 = solid titanium). The bone texture lives in film coordinates so it can be filled a row
    /// at a time; each object is evaluated only on its span of the row.
    pub(crate) fn rasterise(&self, width: u32, height: u32) -> Vec<f32> {
        let (n, rows_n) = (width as usize, height as usize);
        let mut out = vec![0.0; n * rows_n];
        if n == 0 || rows_n == 0 {
            return out;
        }
        let step = 1.0 / self.ppm;
        let d = (self.cos * step, -self.sin * step);
        let (freq, o) = (0.3 * step, &self.offsets);
        let mut rows = [vec![0.0; n], vec![0.0; n]];
        let mut bone = vec![0.0; n];
        let mut cols = Vec::new();
        let implant_boxes: Vec<_> = self
            .placed
            .iter()
            .map(|p| {
                let i = &p.implant;
                ((-i.half_width, i.top), (i.half_width, i.length()))
            })
            .collect();
        let restoration_boxes: Vec<_> = self
            .placed
            .iter()
            .map(|p| p.restoration.as_ref().map(Restoration::bounds))
            .collect();
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
            for ((p, ibox), rbox) in self.placed.iter().zip(&implant_boxes).zip(&restoration_boxes) {
                let f = p.frame;
                let (local, step) = (f.local(start), f.rotate(d));
                for i in span(local, step, ibox.0, ibox.1, n) {
                    let (x, y) = f.local(at(i));
                    line[i] += p.implant.attenuation(x, y, self.ppm);
                }
                if let (Some(r), Some((lo, hi))) = (&p.restoration, rbox) {
                    for i in span(local, step, *lo, *hi, n) {
                        line[i] += r.sample(f.local(at(i)), self.ppm);
                    }
                }
            }
        }
        out
    }
}
