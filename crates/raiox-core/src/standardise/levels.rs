//! Intensity handling before cropping: robust min–max stretch to 8 bits and film-polarity detection.
//!
//! Why: sources range from 8-bit photos of films to 16-bit sensor data with a few hot pixels, and
//! some films are scanned inverted. Later stages assume 8 bits with the metal implant bright.

use image::GrayImage;

use crate::decode::Gray;

/// Fraction of pixels clipped at each end by the robust stretch.
const CLIP_FRACTION: f64 = 0.005;

/// Stretch any gray raster to 8 bits between its 0.5th and 99.5th percentiles, optionally inverted.
pub fn stretch(gray: &Gray, invert: bool) -> GrayImage {
    samples_to_8bit(gray, invert, CLIP_FRACTION)
}

/// The film in 8 bits without clipping (8-bit films as they are; 16-bit ones mapped linearly from
/// their darkest to their brightest sample), MONOCHROME1 inverted: what the implant finder reads.
/// Why not the stretch: clipping the brightest half percent makes a crown alloy and the titanium
/// under it the same white, and density is how the finder tells them apart.
pub fn unclipped(gray: &Gray, invert: bool) -> GrayImage {
    match gray {
        Gray::U8(img) if !invert => img.clone(),
        _ => samples_to_8bit(gray, invert, 0.0),
    }
}

fn samples_to_8bit(gray: &Gray, invert: bool, clip: f64) -> GrayImage {
    match gray {
        Gray::U8(img) => stretch_samples(img.as_raw(), 256, img.dimensions(), invert, clip),
        Gray::U16(img) => stretch_samples(img.as_raw(), 65536, img.dimensions(), invert, clip),
    }
}

/// Histogram, lookup table and mapping for samples of any unsigned width with `levels` values.
fn stretch_samples<T: Copy + Into<usize>>(
    raw: &[T],
    levels: usize,
    (w, h): (u32, u32),
    invert: bool,
    clip: f64,
) -> GrayImage {
    let mut hist = vec![0u64; levels];
    raw.iter().for_each(|&v| hist[v.into()] += 1);
    let lut = stretch_lut(&hist, invert, clip);
    GrayImage::from_raw(w, h, raw.iter().map(|&v| lut[v.into()]).collect()).expect("same size")
}

/// A lookup table mapping each input level to 0..=255 between the low and high percentiles that
/// leave out `clip` of the samples at each end.
fn stretch_lut(hist: &[u64], invert: bool, clip: f64) -> Vec<u8> {
    let total: u64 = hist.iter().sum();
    let clip = (total as f64 * clip) as u64;
    let percentile = |from_top: bool| {
        let mut seen = 0;
        let mut levels: Box<dyn Iterator<Item = (usize, &u64)>> = if from_top {
            Box::new(hist.iter().enumerate().rev())
        } else {
            Box::new(hist.iter().enumerate())
        };
        levels
            .find(|(_, &n)| {
                seen += n;
                seen > clip
            })
            .map_or(0, |(level, _)| level)
    };
    let (lo, hi) = (percentile(false), percentile(true));
    let span = (hi.saturating_sub(lo)).max(1) as f64;
    (0..hist.len())
        .map(|v| {
            let t = ((v as f64 - lo as f64) / span).clamp(0.0, 1.0);
            let t = if invert { 1.0 - t } else { t };
            (t * 255.0).round() as u8
        })
        .collect()
}

/// Guess whether a film is inverted (metal dark instead of bright).
///
/// A metal implant is compact and lies away from the film's edges, while air, soft tissue or a
/// scanner's background sits at the edges. So compare where the brightest and the darkest few
/// percent of pixels are: if the dark extreme is clearly more central than the bright one, the film
/// is inverted. Works on a small thumbnail.
pub fn looks_inverted(img: &GrayImage) -> bool {
    let mut hist = [0u64; 256];
    img.as_raw().iter().for_each(|&v| hist[v as usize] += 1);
    let total: u64 = hist.iter().sum();
    let tail = (total / 25).max(1); // 4 % at each end
    let (mut dark_max, mut seen) = (0usize, 0u64);
    for (level, &n) in hist.iter().enumerate() {
        seen += n;
        dark_max = level;
        if seen >= tail {
            break;
        }
    }
    let (mut bright_min, mut seen) = (255usize, 0u64);
    for (level, &n) in hist.iter().enumerate().rev() {
        seen += n;
        bright_min = level;
        if seen >= tail {
            break;
        }
    }
    if bright_min <= dark_max {
        return false; // flat image: nothing to decide on
    }
    let (w, h) = img.dimensions();
    let half = (w.min(h) as f64 / 2.0).max(1.0);
    let (mut dark, mut bright) = ((0.0, 0u64), (0.0, 0u64));
    for (x, y, p) in img.enumerate_pixels() {
        let edge = x.min(y).min(w - 1 - x).min(h - 1 - y) as f64 / half;
        let v = p.0[0] as usize;
        if v <= dark_max {
            dark = (dark.0 + edge, dark.1 + 1);
        } else if v >= bright_min {
            bright = (bright.0 + edge, bright.1 + 1);
        }
    }
    let centrality = |(sum, n): (f64, u64)| sum / n.max(1) as f64;
    centrality(dark) > centrality(bright) + 0.12
}

#[cfg(test)]
mod tests {
    use super::*;

    fn film(invert: bool) -> GrayImage {
        GrayImage::from_fn(120, 120, |x, y| {
            let implant = (50..70).contains(&x) && (30..95).contains(&y);
            let v = if implant {
                240u8
            } else {
                60 + ((x * 7 + y * 13) % 90) as u8
            };
            image::Luma([if invert { 255 - v } else { v }])
        })
    }

    #[test]
    fn detects_inverted_films() {
        assert!(!looks_inverted(&film(false)));
        assert!(looks_inverted(&film(true)));
    }

    #[test]
    fn stretch_maps_robust_range_to_full_scale() {
        let img = image::ImageBuffer::from_fn(100, 100, |x, y| image::Luma([(1000 + (x + y) * 10) as u16]));
        let out = stretch(&Gray::U16(img), false);
        assert_eq!(*out.as_raw().iter().min().unwrap(), 0);
        assert_eq!(*out.as_raw().iter().max().unwrap(), 255);
        let inv = stretch(&Gray::U8(out.clone()), true);
        assert!(inv.get_pixel(0, 0).0[0] > 250 && inv.get_pixel(99, 99).0[0] < 5);
    }
}
