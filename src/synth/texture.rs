//! Procedural textures: lattice value noise (crest lines, bone density) and a shared trabecular
//! tile sampled through random affine views (bone texture).

use super::rng::Rng;
use std::sync::OnceLock;

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

    /// Smooth 1-D value noise in [0, 1) along row 0 of the lattice (crest lines).
    #[inline]
    pub(crate) fn value1(&self, x: f32) -> f32 {
        let x = x + OFFSET;
        let ix = x as i32;
        let f = x - ix as f32;
        let (a, b) = (
            self.table[(ix & MASK) as usize],
            self.table[((ix + 1) & MASK) as usize],
        );
        a + (b - a) * f * f * (3.0 - 2.0 * f)
    }

    /// One row of [`Noise::value`] at lattice y `y` and x = `x0 + i * dx`, i < `out.len()`.
    ///
    /// Interpolates down the lattice once per column, then along the row per pixel: the cheap,
    /// separable way to fill a whole texture (`dx` < 1: several pixels per cell).
    pub(crate) fn fill_row(&self, y: f32, x0: f32, dx: f32, out: &mut [f32], cols: &mut Vec<f32>) {
        let y = y + OFFSET;
        let iy = y as i32;
        let fy = y - iy as f32;
        let sy = fy * fy * (3.0 - 2.0 * fy);
        let (r0, r1) = ((iy & MASK) as usize * SIDE, ((iy + 1) & MASK) as usize * SIDE);
        let x0 = x0 + OFFSET;
        let first = x0 as i32;
        let count = (out.len() as f32 * dx) as usize + 3;
        cols.clear();
        cols.extend((0..count as i32).map(|c| {
            let x = ((first + c) & MASK) as usize;
            self.table[r0 + x] + (self.table[r1 + x] - self.table[r0 + x]) * sy
        }));
        let start = x0 - first as f32;
        for (i, o) in out.iter_mut().enumerate() {
            let x = start + i as f32 * dx;
            let c = x as usize;
            let f = x - c as f32;
            let (a, b) = (cols[c], cols[c + 1]);
            *o = a + (b - a) * f * f * (3.0 - 2.0 * f);
        }
    }
}

/// Side of the shared trabecular tile in texels (power of two: wrapping is a mask).
const TILE: usize = 512;
/// Texels across one coarse marrow cell; the baked-in fine cells are half as wide.
const CELL: usize = 16;

/// A tile of `TILE`² texels.
type Tile = [f32; TILE * TILE];

/// The periodic trabecular pattern every film samples: coarse and fine cell layers baked together.
/// Built once per process from a fixed seed.
fn trabecular_tile() -> &'static Tile {
    static TILE_DATA: OnceLock<Box<Tile>> = OnceLock::new();
    TILE_DATA.get_or_init(|| {
        let mut tile = Box::new([0.0; TILE * TILE]);
        worley_struts(&mut tile, TILE / CELL, 0.6);
        worley_struts(&mut tile, 2 * TILE / CELL, 0.4);
        tile
    })
}

/// Add `weight` × a periodic Worley pattern with `cells`² cells to `tile`: bright (F2 − F1) struts
/// of random thickness around dark round marrow spaces of random size.
fn worley_struts(tile: &mut Tile, cells: usize, weight: f32) {
    let cell = (TILE / cells) as f32;
    let mut rng = Rng::for_film(0x7EB_ECA1, cells as u64, 0);
    // Per cell: feature point (texels), strut half-width and marrow-space radius (texels).
    let points: Vec<[f32; 4]> = (0..cells * cells)
        .map(|k| {
            let (cx, cy) = ((k % cells) as f32, (k / cells) as f32);
            [
                (cx + rng.range(0.1, 0.9)) * cell,
                (cy + rng.range(0.1, 0.9)) * cell,
                rng.range(0.09, 0.25) * cell,
                rng.range(0.3, 0.55) * cell,
            ]
        })
        .collect();
    let wrap = |d: f32| d - TILE as f32 * (d / TILE as f32).round();
    for (t, texel) in tile.iter_mut().enumerate() {
        let (x, y) = ((t % TILE) as f32 + 0.5, (t / TILE) as f32 + 0.5);
        let (cx, cy) = ((t % TILE) / (TILE / cells), (t / TILE) / (TILE / cells));
        let (mut f1, mut f2, mut near) = (f32::MAX, f32::MAX, [0.0; 4]);
        for k in 0..9 {
            let nx = (cx + cells + k % 3 - 1) % cells;
            let ny = (cy + cells + k / 3 - 1) % cells;
            let p = points[ny * cells + nx];
            let (dx, dy) = (wrap(p[0] - x), wrap(p[1] - y));
            let d = (dx * dx + dy * dy).sqrt();
            if d < f1 {
                (f2, f1, near) = (f1, d, p);
            } else if d < f2 {
                f2 = d;
            }
        }
        let strut = (1.0 - (f2 - f1) / (2.0 * near[2])).max(0.0);
        let marrow = ((near[3] - f1) / (0.4 * near[3])).clamp(0.0, 1.0);
        *texel += weight * (0.5 * strut * strut + 0.5 * (1.0 - marrow * marrow));
    }
}

/// An affine view (scale, rotation, offset) of the trabecular tile, evaluated a row at a time.
pub(crate) struct TileView {
    tile: &'static Tile,
    /// Texel steps per pixel along a row (di) and down a column (dj), and the texel at pixel 0.
    di: (f32, f32),
    dj: (f32, f32),
    at: (f32, f32),
}

impl TileView {
    /// A random view whose coarse marrow cells are `cell_px` pixels across.
    pub(crate) fn random(rng: &mut Rng, cell_px: f32) -> Self {
        let scale = CELL as f32 / cell_px;
        let (sin, cos) = rng.range(0.0, std::f32::consts::TAU).sin_cos();
        TileView {
            tile: trabecular_tile(),
            di: (cos * scale, sin * scale),
            dj: (-sin * scale, cos * scale),
            at: (rng.range(0.0, TILE as f32), rng.range(0.0, TILE as f32)),
        }
    }

    /// Bilinear samples of row `j` into `out` (one per pixel).
    pub(crate) fn fill_row(&self, j: usize, out: &mut [f32]) {
        let jf = j as f32;
        // Start each row inside the first tile period to keep the offset trick exact.
        let u0 = (self.at.0 + jf * self.dj.0).rem_euclid(TILE as f32) + OFFSET;
        let v0 = (self.at.1 + jf * self.dj.1).rem_euclid(TILE as f32) + OFFSET;
        const M: i32 = TILE as i32 - 1;
        let t = self.tile;
        for (i, o) in out.iter_mut().enumerate() {
            let (u, v) = (u0 + i as f32 * self.di.0, v0 + i as f32 * self.di.1);
            let (iu, iv) = (u as i32, v as i32);
            let (fu, fv) = (u - iu as f32, v - iv as f32);
            let (x0, x1) = ((iu & M) as usize, ((iu + 1) & M) as usize);
            let (r0, r1) = ((iv & M) as usize * TILE, ((iv + 1) & M) as usize * TILE);
            let top = t[r0 + x0] + (t[r0 + x1] - t[r0 + x0]) * fu;
            let bottom = t[r1 + x0] + (t[r1 + x1] - t[r1 + x0]) * fu;
            *o = top + (bottom - top) * fv;
        }
    }
}
