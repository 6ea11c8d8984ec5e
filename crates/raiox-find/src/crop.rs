//! Upright, scale-normalised crop of one fixture.

use crate::types::FoundImplant;
use image::{GrayImage, Luma};

/// Crop one fixture apex-down: the film is turned so the fixture's long axis is vertical with
/// the apex at the bottom, a square of side `length * (1 + 2 * margin)` around the box centre is
/// taken (so every crop shows the fixture at the same scale) and resampled bilinearly to
/// `out` x `out`. Parts of the square outside the film are black. Never panics; `out == 0`
/// gives an empty image.
pub fn crop_apex_down(film: &GrayImage, implant: &FoundImplant, margin: f32, out: u32) -> GrayImage {
    let mut img = GrayImage::new(out, out);
    let (fw, fh) = film.dimensions();
    let len = if implant.length.is_finite() {
        implant.length.max(implant.width).max(1.0)
    } else {
        1.0
    };
    let margin = if margin.is_finite() { margin.max(0.0) } else { 0.0 };
    if out == 0 || fw == 0 || fh == 0 || !implant.cx.is_finite() || !implant.cy.is_finite() {
        return img;
    }
    let side = len * (1.0 + 2.0 * margin);
    let (ax, ay) = implant.apex_dir();
    // Right-hand direction of the upright view (image x after rotation).
    let (rx, ry) = (ay, -ax);
    let step = side / out as f32;
    let raw = film.as_raw();
    let at = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= i64::from(fw) || y >= i64::from(fh) {
            0.0
        } else {
            f32::from(raw[y as usize * fw as usize + x as usize])
        }
    };
    for j in 0..out {
        let v = (j as f32 + 0.5) * step - 0.5 * side;
        for i in 0..out {
            let u = (i as f32 + 0.5) * step - 0.5 * side;
            // Continuous film coordinates; pixel k covers [k, k + 1).
            let x = implant.cx + u * rx + v * ax - 0.5;
            let y = implant.cy + u * ry + v * ay - 0.5;
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = (x - x0, y - y0);
            let (xi, yi) = (x0 as i64, y0 as i64);
            let val = at(xi, yi) * (1.0 - fx) * (1.0 - fy)
                + at(xi + 1, yi) * fx * (1.0 - fy)
                + at(xi, yi + 1) * (1.0 - fx) * fy
                + at(xi + 1, yi + 1) * fx * fy;
            img.put_pixel(i, j, Luma([val.round().clamp(0.0, 255.0) as u8]));
        }
    }
    img
}
