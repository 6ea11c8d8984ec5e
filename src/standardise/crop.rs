//! The automatic first guess of the implant crop.
//!
//! Why: an implant is the most radiopaque object on a periapical film, so the brightest compact
//! region, grown by hysteresis into its less bright surroundings, bounds it well enough for a first
//! guess; the curator corrects the rest by hand (the manual crop is stored per image).

use image::GrayImage;
use serde::{Deserialize, Serialize};

/// A crop rectangle in the original image's pixel coordinates (after EXIF orientation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Rect {
    /// The whole image.
    pub fn full(width: u32, height: u32) -> Self {
        Rect {
            x: 0,
            y: 0,
            w: width,
            h: height,
        }
    }

    /// Clip to an image of the given size; `None` when nothing of at least 8×8 pixels remains.
    pub fn clamp_to(self, width: u32, height: u32) -> Option<Rect> {
        let x = self.x.min(width);
        let y = self.y.min(height);
        let w = self.w.min(width - x);
        let h = self.h.min(height - y);
        (w >= 8 && h >= 8).then_some(Rect { x, y, w, h })
    }
}

impl std::str::FromStr for Rect {
    type Err = String;

    /// Parse `x,y,w,h`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("crop '{s}' is not x,y,w,h in whole pixels"))?;
        match parts[..] {
            [x, y, w, h] => Ok(Rect { x, y, w, h }),
            _ => Err(format!("crop '{s}' is not x,y,w,h in whole pixels")),
        }
    }
}

/// Find the implant in `thumb` (a small polarity-corrected copy of the image, `scale` times smaller
/// than the original of `width`×`height`) and return its crop in original coordinates.
pub fn auto_crop(thumb: &GrayImage, scale: f64, width: u32, height: u32) -> Rect {
    let (tw, th) = thumb.dimensions();
    let mut hist = [0u32; 256];
    thumb.as_raw().iter().for_each(|&v| hist[v as usize] += 1);
    let level_at = |fraction: f64| {
        let target = (fraction * (tw * th) as f64) as u32;
        let mut seen = 0;
        hist.iter()
            .position(|&n| {
                seen += n;
                seen > target
            })
            .unwrap_or(255) as u8
    };
    let (p50, p98, p99) = (level_at(0.5), level_at(0.98), level_at(0.99));
    let high = p98.max(1);
    let low = ((u16::from(p50) + u16::from(p99)) / 2).max(u16::from(level_at(0.8))) as u8;
    if p99 <= p50 {
        return Rect::full(width, height);
    }
    let px = |x: u32, y: u32| thumb.as_raw()[(y * tw + x) as usize];
    // Largest 4-connected component of the bright seeds, grown through the low threshold.
    let mut label = vec![0u32; (tw * th) as usize];
    let mut best: Option<(usize, [u32; 4])> = None;
    let mut next = 0;
    for start in 0..(tw * th) {
        if label[start as usize] != 0 || px(start % tw, start / tw) < high {
            continue;
        }
        next += 1;
        let (mut stack, mut count, mut bb) = (vec![start], 0usize, [u32::MAX, u32::MAX, 0, 0]);
        label[start as usize] = next;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % tw, i / tw);
            count += usize::from(px(x, y) >= high);
            bb = [bb[0].min(x), bb[1].min(y), bb[2].max(x), bb[3].max(y)];
            let neighbours = [
                (x.wrapping_sub(1), y),
                (x + 1, y),
                (x, y.wrapping_sub(1)),
                (x, y + 1),
            ];
            for (nx, ny) in neighbours {
                if nx < tw && ny < th && label[(ny * tw + nx) as usize] == 0 && px(nx, ny) >= low {
                    label[(ny * tw + nx) as usize] = next;
                    stack.push(ny * tw + nx);
                }
            }
        }
        if best.is_none_or(|(n, _)| count > n) {
            best = Some((count, bb));
        }
    }
    let Some((_, [x0, y0, x1, y1])) = best else {
        return Rect::full(width, height);
    };
    // Back to original coordinates, with a margin of 15 % of the long side for context.
    let (x0, y0, x1, y1) = (
        x0 as f64 * scale,
        y0 as f64 * scale,
        (x1 + 1) as f64 * scale,
        (y1 + 1) as f64 * scale,
    );
    let margin = 0.15 * (x1 - x0).max(y1 - y0);
    let left = (x0 - margin).max(0.0).floor() as u32;
    let top = (y0 - margin).max(0.0).floor() as u32;
    let right = ((x1 + margin).ceil() as u32).min(width);
    let bottom = ((y1 + margin).ceil() as u32).min(height);
    Rect {
        x: left,
        y: top,
        w: right - left,
        h: bottom - top,
    }
    .clamp_to(width, height)
    .unwrap_or(Rect::full(width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bright_bar() {
        let img = GrayImage::from_fn(100, 100, |x, y| {
            let bar = (40..50).contains(&x) && (20..80).contains(&y);
            image::Luma([if bar {
                250
            } else {
                40 + ((x * 31 + y * 17) % 60) as u8
            }])
        });
        let r = auto_crop(&img, 4.0, 400, 400);
        // Bar spans x 160..200, y 80..320 in original coordinates; the crop contains it with a margin.
        assert!(
            r.x <= 160 && r.x + r.w >= 200 && r.y <= 80 && r.y + r.h >= 320,
            "{r:?}"
        );
        assert!(r.w < 200 && r.h < 360, "crop should be tight: {r:?}");
    }

    #[test]
    fn flat_images_keep_the_full_frame() {
        let img = GrayImage::from_pixel(50, 50, image::Luma([90]));
        assert_eq!(auto_crop(&img, 2.0, 100, 100), Rect::full(100, 100));
    }

    #[test]
    fn parses_and_clamps() {
        let r: Rect = "10, 20,300,400".parse().unwrap();
        assert_eq!(
            r.clamp_to(200, 200),
            Some(Rect {
                x: 10,
                y: 20,
                w: 190,
                h: 180
            })
        );
        assert_eq!(r.clamp_to(12, 500), None);
        assert!("1,2,3".parse::<Rect>().is_err());
    }
}
