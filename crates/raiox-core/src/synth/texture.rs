//! Procedural textures: lattice value noise (crest lines, bone density) and a shared trabecular
//! tile sampled through random scaled, shifted views (bone texture).

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

    /// One row of smooth 2-D value noise at lattice y `y` and x = `x0 + i * dx` (`dx` ≪ 1).
    ///
    /// Interpolates down the lattice once per column, sub-samples the smoothstep curve four
    /// times per cell, then interpolates linearly per pixel: separable and cheap.
    pub(crate) fn fill_row(&self, y: f32, x0: f32, dx: f32, out: &mut [f32], cols: &mut Vec<f32>) {
        const SUB: usize = 4;
        let y = y + OFFSET;
        let iy = y as i32;
        let fy = y - iy as f32;
        let sy = fy * fy * (3.0 - 2.0 * fy);
        let (r0, r1) = ((iy & MASK) as usize * SIDE, ((iy + 1) & MASK) as usize * SIDE);
        let x0 = x0 + OFFSET;
        let first = x0 as i32;
        let lattice = |c: i32| {
            let x = ((first + c) & MASK) as usize;
            self.table[r0 + x] + (self.table[r1 + x] - self.table[r0 + x]) * sy
        };
        let cells = (out.len() as f32 * dx) as i32 + 2;
        cols.clear();
        for c in 0..cells {
            let (a, b) = (lattice(c), lattice(c + 1));
            cols.extend((0..SUB).map(|k| {
                let f = k as f32 / SUB as f32;
                a + (b - a) * f * f * (3.0 - 2.0 * f)
            }));
        }
        cols.push(lattice(cells));
        resample(cols, (x0 - first as f32) * SUB as f32, dx * SUB as f32, out);
    }
}

/// `out[i]` = `cols` linearly interpolated at `start + i * step` (non-negative, in range).
/// Walks in 16.16 fixed point: no float-to-int conversion per pixel.
fn resample(cols: &[f32], start: f32, step: f32, out: &mut [f32]) {
    const ONE: f32 = 65536.0;
    let (mut u, du) = ((start * ONE) as u64, (step * ONE) as u64);
    for o in out.iter_mut() {
        let c = (u >> 16) as usize;
        let (a, b) = (cols[c], cols[c + 1]);
        *o = a + (b - a) * ((u & 0xFFFF) as f32 * (1.0 / ONE));
        u += du;
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
                rng.range(0.08, 0.3) * cell,
                rng.range(0.2, 0.6) * cell,
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

/// A scaled, shifted view of the trabecular tile, evaluated a row at a time. The pattern is
/// isotropic, so no rotation is needed; rows then walk tile rows, which keeps the cache warm.
pub(crate) struct TileView {
    tile: &'static Tile,
    /// Texels per pixel across and down, and the texel under pixel (0, 0).
    scale: (f32, f32),
    at: (f32, f32),
}

impl TileView {
    /// A random view whose coarse marrow cells are about `cell_px` pixels across.
    pub(crate) fn random(rng: &mut Rng, cell_px: f32) -> Self {
        let scale = CELL as f32 / cell_px;
        TileView {
            tile: trabecular_tile(),
            scale: (scale * rng.range(0.85, 1.15), scale * rng.range(0.85, 1.15)),
            at: (rng.range(0.0, TILE as f32), rng.range(0.0, TILE as f32)),
        }
    }

    /// Bilinear samples of row `j` into `out` (one per pixel); `cols` is scratch space.
    pub(crate) fn fill_row(&self, j: usize, out: &mut [f32], cols: &mut Vec<f32>) {
        const M: usize = TILE - 1;
        let v = (self.at.1 + j as f32 * self.scale.1) % TILE as f32;
        let fv = v.fract();
        let r0 = &self.tile[(v as usize & M) * TILE..][..TILE];
        let r1 = &self.tile[((v as usize + 1) & M) * TILE..][..TILE];
        let first = self.at.0 as usize;
        let count = (out.len() as f32 * self.scale.0) as usize + 3;
        cols.clear();
        cols.extend((first..first + count).map(|u| r0[u & M] + (r1[u & M] - r0[u & M]) * fv));
        resample(cols, self.at.0.fract(), self.scale.0, out);
    }
}
