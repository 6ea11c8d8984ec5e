//! Synthetic periapical-like films drawn in code: a bone-grey background with deterministic
//! noise, serrated tapered fixtures, wide rounded crowns, fillings.
#![allow(dead_code)]

use image::{GrayImage, Luma};

/// One drawn implant: platform point, apex direction angle (same convention as
/// `FoundImplant::angle_deg`), fixture width and length, and whether a crown sits on it.
#[derive(Clone, Copy, Debug)]
pub struct Drawn {
    pub px: f32,
    pub py: f32,
    pub angle_deg: f32,
    pub width: f32,
    pub length: f32,
    pub crown: bool,
}

impl Drawn {
    pub fn dir(&self) -> (f32, f32) {
        let a = self.angle_deg.to_radians();
        (-a.sin(), a.cos())
    }
    pub fn apex(&self) -> (f32, f32) {
        let (dx, dy) = self.dir();
        (self.px + dx * self.length, self.py + dy * self.length)
    }
    pub fn centre(&self) -> (f32, f32) {
        let (dx, dy) = self.dir();
        (self.px + dx * self.length * 0.5, self.py + dy * self.length * 0.5)
    }
    /// Axis-aligned box of the fixture.
    pub fn aabb(&self) -> (f32, f32, f32, f32) {
        let f = raiox_find::FoundImplant {
            cx: self.centre().0,
            cy: self.centre().1,
            width: self.width,
            length: self.length,
            angle_deg: self.angle_deg,
            score: 1.0,
        };
        f.aabb()
    }
    /// Axis-aligned box of the crown.
    pub fn crown_aabb(&self) -> (f32, f32, f32, f32) {
        let (dx, dy) = self.dir();
        let c = (self.px - dx * self.width * 1.2, self.py - dy * self.width * 1.2);
        let f = raiox_find::FoundImplant {
            cx: c.0,
            cy: c.1,
            width: self.width * 2.1,
            length: self.width * 2.6,
            angle_deg: self.angle_deg,
            score: 1.0,
        };
        f.aabb()
    }
}

fn hash(x: u32, y: u32) -> f32 {
    let mut h = x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    ((h ^ (h >> 16)) & 0xffff) as f32 / 65535.0
}

/// Background: bone grey with a gentle gradient and noise.
pub fn background(w: u32, h: u32) -> Vec<f32> {
    let mut v = vec![0f32; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            v[(y * w + x) as usize] = 95.0 + 30.0 * (y as f32 / h as f32) + 20.0 * (hash(x, y) - 0.5);
        }
    }
    v
}

/// Draw a fixture (serrated, tapering to a rounded apex) and optionally its crown.
pub fn draw_implant(img: &mut [f32], w: u32, h: u32, d: &Drawn) {
    let (dx, dy) = d.dir();
    let hw0 = d.width * 0.5;
    let period = d.width * 0.2;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 + 0.5 - d.px, y as f32 + 0.5 - d.py);
            let t = fx * dx + fy * dy;
            let s = fx * dy - fy * dx;
            let i = (y * w + x) as usize;
            // Fixture.
            if t >= 0.0 && t <= d.length {
                let taper = ((t - 0.6 * d.length) / (0.4 * d.length)).max(0.0);
                let mut hw = hw0 * (1.0 - 0.22 * taper);
                let phase = (t / period).fract();
                hw -= d.width * 0.06 * (2.0 * (phase - 0.5)).abs();
                let tip = d.length - hw;
                let inside = if t > tip {
                    s * s + (t - tip) * (t - tip) <= hw * hw
                } else {
                    s.abs() <= hw
                };
                if inside {
                    img[i] = 225.0 + 8.0 * (hash(x + 7, y) - 0.5);
                }
            }
            // Crown: wide rounded, brighter, sitting on the platform.
            if d.crown {
                let ct = t + d.width * 1.2;
                let e = (ct / (d.width * 1.3)).powi(2) + (s / (d.width * 1.05)).powi(2);
                if e <= 1.0 {
                    img[i] = 250.0;
                }
            }
        }
    }
}

/// A small irregular bright blob (filling).
pub fn draw_blob(img: &mut [f32], w: u32, h: u32, cx: f32, cy: f32, r: f32) {
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 - cx, y as f32 - cy);
            let ang = fy.atan2(fx);
            let rr = r * (1.0 + 0.25 * (3.0 * ang).sin());
            if fx * fx + fy * fy <= rr * rr {
                img[(y * w + x) as usize] = 245.0;
            }
        }
    }
}

/// A thin bright line (root-canal filling).
pub fn draw_line(img: &mut [f32], w: u32, h: u32, a: (f32, f32), b: (f32, f32), thick: f32) {
    let (vx, vy) = (b.0 - a.0, b.1 - a.1);
    let l2 = vx * vx + vy * vy;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 - a.0, y as f32 - a.1);
            let t = ((fx * vx + fy * vy) / l2).clamp(0.0, 1.0);
            let (ex, ey) = (fx - t * vx, fy - t * vy);
            if ex * ex + ey * ey <= thick * thick * 0.25 {
                img[(y * w + x) as usize] = 240.0;
            }
        }
    }
}

pub fn to_image(img: &[f32], w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        Luma([img[(y * w + x) as usize].round().clamp(0.0, 255.0) as u8])
    })
}

/// A 340 x 410 film with the given implants.
pub fn film(implants: &[Drawn]) -> GrayImage {
    let (w, h) = (340, 410);
    let mut img = background(w, h);
    for d in implants {
        draw_implant(&mut img, w, h, d);
    }
    to_image(&img, w, h)
}

pub fn iou(a: &(f32, f32, f32, f32), b: &(f32, f32, f32, f32)) -> f32 {
    raiox_find::aabb_iou(a, b)
}

/// True when the predicted apex end is nearer the drawn apex than the drawn platform.
pub fn apex_right(f: &raiox_find::FoundImplant, d: &Drawn) -> bool {
    let pa = f.apex_point();
    let ap = d.apex();
    let dist = |p: (f32, f32), q: (f32, f32)| (p.0 - q.0).hypot(p.1 - q.1);
    dist(pa, ap) < dist(pa, (d.px, d.py))
}
