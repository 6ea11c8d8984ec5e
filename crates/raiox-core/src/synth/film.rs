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
    /// The processing of a film that is never inverted: clinics export films as taken, so the
    /// restored kind, which imitates real films, keeps metal bright.
    pub(crate) fn random_upright(rng: &mut Rng) -> Self {
        Film {
            invert: false,
            ..Film::random(rng)
        }
    }

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
    pub(crate) fn develop(&self, mut atten: Vec<f32>, width: u32, height: u32, rng: &mut Rng) -> GrayImage {
        for _ in 0..self.blur_passes {
            blur_121(&mut atten, width as usize, height as usize);
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
        GrayImage::from_raw(width, height, pixels).expect("buffer is width × height")
    }
}

/// One separable [1 2 1] / 4 blur pass (≈ Gaussian σ 0.7 px) over `rows` rows of `n`, edges clamped.
fn blur_121(buf: &mut [f32], n: usize, rows: usize) {
    if n < 3 || rows < 3 {
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
    for j in 0..rows {
        let up = j.saturating_sub(1) * n;
        let down = (j + 1).min(rows - 1) * n;
        let (row, out) = (j * n, &mut buf[j * n..(j + 1) * n]);
        for (i, o) in out.iter_mut().enumerate() {
            *o = 0.25 * (tmp[up + i] + tmp[down + i]) + 0.5 * tmp[row + i];
        }
    }
}

/// Black out everything outside a rounded rectangle inset by a few pixels, as a scanned sensor
/// or phosphor plate shows on real periapical films (finders must cope with the dark frame).
pub(crate) fn rounded_frame(img: &mut GrayImage, rng: &mut Rng) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let inset = rng.range(0.0, 0.03) * w;
    let radius = rng.range(0.08, 0.18) * w.min(h);
    let (hw, hh) = (0.5 * w - inset, 0.5 * h - inset);
    for (x, y, p) in img.enumerate_pixels_mut() {
        // Signed distance to the rounded rectangle, in pixels (> 0 outside).
        let (dx, dy) = (
            (x as f32 + 0.5 - 0.5 * w).abs() - (hw - radius),
            (y as f32 + 0.5 - 0.5 * h).abs() - (hh - radius),
        );
        let outside = dx.max(0.0).hypot(dy.max(0.0)) + dx.max(dy).min(0.0) - radius;
        let keep = (0.5 - outside).clamp(0.0, 1.0);
        p.0[0] = (f32::from(p.0[0]) * keep + 0.5) as u8;
    }
}
