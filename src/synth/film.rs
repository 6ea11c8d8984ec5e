//! Film processing: blur, exposure curve, gamma, quantum noise and occasional inversion.

use super::rng::Rng;
use image::GrayImage;

/// Attenuation range covered by the tone lookup table.
const A_MAX: f32 = 6.0;
const LUT_LEN: usize = 4096;

/// Per-film processing settings drawn at random.
pub(crate) struct Film {
    blur_passes: u32,
    exposure: f32,
    lo: f32,
    hi: f32,
    gamma: f32,
    noise: f32,
    invert: bool,
}

impl Film {
    /// Draw the processing for one film.
    pub(crate) fn random(rng: &mut Rng) -> Self {
        Film {
            blur_passes: (rng.unit() * 3.0) as u32,
            exposure: rng.range(0.75, 1.0),
            lo: rng.range(0.05, 0.2),
            hi: rng.range(0.93, 0.97),
            gamma: rng.range(0.75, 1.35),
            noise: rng.range(2.0, 9.0),
            invert: rng.chance(0.1),
        }
    }

    /// Attenuation → 8-bit film: 1 - exp(-a) exposure, window, gamma, noise, inversion.
    pub(crate) fn develop(&self, mut atten: Vec<f32>, size: u32, rng: &mut Rng) -> GrayImage {
        let n = size as usize;
        for _ in 0..self.blur_passes {
            blur_121(&mut atten, n);
        }
        let lut: Vec<f32> = (0..LUT_LEN)
            .map(|i| {
                let a = i as f32 * (A_MAX / (LUT_LEN - 1) as f32);
                let exposed = 1.0 - (-a * self.exposure).exp();
                let window = ((exposed - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
                255.0 * window.powf(self.gamma)
            })
            .collect();
        let scale = (LUT_LEN - 1) as f32 / A_MAX;
        // Film grain: a per-film table of Gaussian-ish values, indexed by 10 random bits per pixel.
        let grain: Vec<f32> = (0..1024).map(|_| self.noise * rng.gaussish()).collect();
        let mut pixels = vec![0u8; atten.len()];
        for (src, dst) in atten.chunks(6).zip(pixels.chunks_mut(6)) {
            let mut bits = rng.next_u64();
            for (&a, d) in src.iter().zip(dst) {
                let idx = ((a * scale) as usize).min(LUT_LEN - 1);
                let v = ((lut[idx] + grain[(bits & 1023) as usize]).clamp(0.0, 255.0) + 0.5) as u8;
                *d = if self.invert { 255 - v } else { v };
                bits >>= 10;
            }
        }
        GrayImage::from_raw(size, size, pixels).expect("buffer is size × size")
    }
}

/// One separable [1 2 1] / 4 blur pass (≈ Gaussian σ 0.7 px), edges clamped.
fn blur_121(buf: &mut [f32], n: usize) {
    if n < 3 {
        return;
    }
    let mut tmp = vec![0.0f32; buf.len()];
    for (src, dst) in buf.chunks_exact(n).zip(tmp.chunks_exact_mut(n)) {
        dst[0] = 0.75 * src[0] + 0.25 * src[1];
        for i in 1..n - 1 {
            dst[i] = 0.25 * (src[i - 1] + src[i + 1]) + 0.5 * src[i];
        }
        dst[n - 1] = 0.75 * src[n - 1] + 0.25 * src[n - 2];
    }
    for j in 0..n {
        let up = j.saturating_sub(1) * n;
        let down = (j + 1).min(n - 1) * n;
        let (row, out) = (j * n, &mut buf[j * n..(j + 1) * n]);
        for (i, o) in out.iter_mut().enumerate() {
            *o = 0.25 * (tmp[up + i] + tmp[down + i]) + 0.5 * tmp[row + i];
        }
    }
}
