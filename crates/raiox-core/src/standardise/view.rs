//! The fixture view: the part of an implant's standard image that shows the fixture alone.
//!
//! Why two pictures of one implant: the standard image keeps a quarter of the fixture's length of
//! context on every side, and that context (bone, the crown, the neighbouring implants) is what
//! tells one implant from a re-scan of another — the question "is this the same implant?". The
//! question "which system is this?" is answered by the fixture's own outline, and the context
//! then only adds noise: on synthetic restored films, where neighbours are of other systems, the
//! fixture view raised identification's system top-1 from 56 % to 93 %, while it lowered the
//! re-scan check on real films from 83 % to 29 % (docs/BENCHMARKS.md). So each implant is
//! embedded twice, and each question uses its own vectors.

use fast_image_resize::FilterType;
use image::GrayImage;

use super::{resize, Fixture, Rect};
use crate::Error;

/// Context kept above the platform and below the apex, as a share of the fixture's length.
pub const FIXTURE_MARGIN: f32 = 0.05;
/// The view is at least this wide, as a share of its height (implants are about three times as
/// long as wide; a narrower one keeps its bone on both sides).
const MIN_ASPECT: f32 = 0.35;
/// Width kept around the fixture, as a multiple of its width (threads stand out beyond the core).
const WIDTH_GROWTH: f32 = 1.15;

/// The fixture view of `standard` (a standard image cut with `margin` around `fixture`): the
/// fixture with [`FIXTURE_MARGIN`] of its length above and below, as wide as the fixture allows,
/// stretched to the standard image's size. Without a fixture box the standard image itself.
pub fn fixture_view(
    standard: &GrayImage,
    fixture: Option<&Fixture>,
    margin: f32,
) -> Result<GrayImage, Error> {
    let side = standard.width().min(standard.height());
    let Some(f) = fixture else {
        return Ok(standard.clone());
    };
    let length = f.length.max(f.width);
    let margin = if margin.is_finite() {
        margin.clamp(0.0, 4.0)
    } else {
        0.0
    };
    if side < 8 || length.is_nan() || length <= 0.0 || !f.width.is_finite() {
        return Ok(standard.clone());
    }
    let scale = side as f32 / (length * (1.0 + 2.0 * margin));
    let height = (length * (1.0 + 2.0 * FIXTURE_MARGIN) * scale).min(side as f32);
    let width = (MIN_ASPECT * height)
        .max(WIDTH_GROWTH * f.width * scale)
        .min(side as f32);
    let (w, h) = ((width.round() as u32).max(4), (height.round() as u32).max(4));
    let rect = Rect {
        x: (side - w.min(side)) / 2,
        y: (side - h.min(side)) / 2,
        w: w.min(side),
        h: h.min(side),
    };
    resize(standard, rect, side, side, FilterType::Bilinear)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn fixture(width: f32, length: f32) -> Fixture {
        Fixture {
            cx: 100.0,
            cy: 100.0,
            width,
            length,
            angle_deg: 0.0,
        }
    }

    #[test]
    fn the_view_keeps_the_fixture_and_drops_the_neighbours() {
        // A standard image at margin 0.25 of a fixture 30 px wide, 100 px long (film pixels):
        // 150 film px over 224, so the fixture is 20 × 67 % of the picture, centred; a
        // "neighbour" stands at the left edge.
        let mut standard = GrayImage::from_pixel(224, 224, Luma([40]));
        let (fx0, fx1) = (112 - 22, 112 + 22);
        let (fy0, fy1) = (112 - 75, 112 + 75);
        for y in 0..224 {
            for x in 0..224 {
                if (fx0..fx1).contains(&x) && (fy0..fy1).contains(&y) {
                    standard.put_pixel(x, y, Luma([220]));
                }
                if x < 20 {
                    standard.put_pixel(x, y, Luma([250]));
                }
            }
        }
        let view = fixture_view(&standard, Some(&fixture(30.0, 100.0)), 0.25).unwrap();
        assert_eq!(view.dimensions(), (224, 224));
        // No neighbour left; the fixture spans most of the width and nearly all the height.
        assert!(view.pixels().all(|p| p.0[0] < 245));
        let bright_row = (0..224).filter(|&x| view.get_pixel(x, 112).0[0] > 150).count();
        assert!((150..=215).contains(&bright_row), "{bright_row}");
        let bright_col = (0..224).filter(|&y| view.get_pixel(112, y).0[0] > 150).count();
        assert!(bright_col > 190, "{bright_col}");
    }

    #[test]
    fn a_wide_fixture_is_not_cut_and_odd_input_is_kept() {
        let standard = GrayImage::from_pixel(224, 224, Luma([90]));
        let wide = fixture_view(&standard, Some(&fixture(90.0, 100.0)), 0.25).unwrap();
        assert_eq!(wide.dimensions(), (224, 224));
        assert_eq!(fixture_view(&standard, None, 0.25).unwrap(), standard);
        let odd = fixture_view(&standard, Some(&fixture(f32::NAN, 0.0)), f32::NAN).unwrap();
        assert_eq!(odd, standard);
    }
}
