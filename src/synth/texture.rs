//! Cheap lattice value noise for bone texture, crest lines and exposure unevenness.

use super::rng::Rng;

/// Lattice side; a power of two so wrapping is a mask. 128² f32 stays cache-resident.
const SIDE: usize = 128;
const MASK: i32 = SIDE as i32 - 1;
/// Added before truncating so `as i32` acts as `floor` for every coordinate we use.
const OFFSET: f32 = 4096.0;

/// A wrapping grid of random values, interpolated with a smoothstep: one octave per call.
pub(crate) struct Noise {
    table: Vec<f32>,
}

impl Noise {
    /// Fill the lattice from the film's generator.
    pub(crate) fn new(rng: &mut Rng) -> Self {
        Noise {
            table: (0..SIDE * SIDE).map(|_| rng.unit()).collect(),
        }
    }

    /// Smooth value noise in [0, 1) at lattice coordinates (x, y); period 128 cells.
    #[inline]
    pub(crate) fn value(&self, x: f32, y: f32) -> f32 {
        let (x, y) = (x + OFFSET, y + OFFSET);
        let (ix, iy) = (x as i32, y as i32);
        let (fx, fy) = (x - ix as f32, y - iy as f32);
        let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
        let (x0, x1) = ((ix & MASK) as usize, ((ix + 1) & MASK) as usize);
        let (r0, r1) = ((iy & MASK) as usize * SIDE, ((iy + 1) & MASK) as usize * SIDE);
        let t = &self.table;
        let top = t[r0 + x0] + (t[r0 + x1] - t[r0 + x0]) * sx;
        let bottom = t[r1 + x0] + (t[r1 + x1] - t[r1 + x0]) * sx;
        top + (bottom - top) * sy
    }

    /// Ridged noise: bright thin ridges along the mid-level contours, like trabecular struts.
    #[inline]
    pub(crate) fn ridge(&self, x: f32, y: f32) -> f32 {
        let r = 1.0 - (2.0 * self.value(x, y) - 1.0).abs();
        r * r * r
    }
}
