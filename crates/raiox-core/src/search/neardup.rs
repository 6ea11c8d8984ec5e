//! Near-duplicate warnings at import: a new image whose embedding (or its mirror's) is nearly
//! identical to one already in the library.
//!
//! Why: the same radiograph often arrives twice under different bytes — re-exported, re-compressed,
//! screenshotted, flipped left–right, or scanned again. Exact hashes miss those; a near-identical
//! embedding catches the light changes. A re-scan (a small turn and shift, other exposure, noise)
//! moves the embedding about as far as a different film of the same system is, so the nearest
//! library implants are also compared pixel by pixel: standard images are cut around the fixture
//! at one scale and turned apex-down, so a copy lines up with its original, and the bone and
//! restorations around the fixture agree where another patient's do not
//! ([`pixel_agreement`]). Left in, copies inflate leave-one-out scores and bias identification.

use std::collections::HashMap;

use image::GrayImage;
use serde::Serialize;

use crate::catalogue::images;
use crate::catalogue::vectors;
use crate::embed::Encoder;
use crate::index::Index;
use crate::library::{Layout, Library};
use crate::search::identify::Neighbour;
use crate::Error;

/// A warning: `id` looks like a copy of `of`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NearDuplicate {
    /// The newly imported image.
    pub id: i64,
    /// The library image it resembles.
    pub of: i64,
    /// Cosine similarity.
    pub similarity: f32,
    /// True when it is the mirror image that matched.
    pub mirrored: bool,
    /// The pixel agreement with it ([`pixel_agreement`]), when that is what made it a copy.
    pub agreement: Option<f32>,
}

/// Cosine similarity above which two standard images are taken for copies of one radiograph.
///
/// Calibrated on synthetic films with the bundled encoder (tests/search.rs keeps it honest): a JPEG
/// re-compression at quality 75–90 of a film scores 0.91–0.98 against the original, a 6-pixel shift
/// 0.98, a mirrored copy 0.99 once flipped back; different films of the same system score ≤ 0.86.
pub fn threshold(encoder_id: &str) -> f32 {
    if encoder_id.starts_with("clip") {
        0.95
    } else {
        0.90
    }
}

/// Pixel agreement from which a near library implant is taken for a copy (see [`pixel_agreement`]).
///
/// Measured with `examples/rescan.rs` (re-scans as known copies, every other film as different
/// ones; docs/BENCHMARKS.md): at 0.95, 75 % of real re-scans and 62–67 % of synthetic ones agree,
/// and 0–2.6 % of different films do.
pub const PIXEL_AGREEMENT: f32 = 0.95;

/// Library implants compared pixel by pixel with each new one: its nearest by cosine, from...
const PIXEL_CANDIDATES: usize = 3;
/// ...this cosine up (below it nothing looked like a copy in the measurements).
const PIXEL_MIN_COSINE: f32 = 0.75;
/// Side of the thumbnails compared.
const THUMB: i32 = 56;
/// Border left out (the thumbnails are shifted against each other by up to this much).
const SHIFT: i32 = 3;
/// Half-width of the central band left out: the fixture itself, alike in every film of a system.
const FIXTURE_HALF_BAND: i32 = 9;

/// How well two standard images agree pixel for pixel, -1..1: the best Pearson correlation of
/// their 56-px thumbnails over shifts of up to 3 px (the finder's box moves a little between two
/// scans of one film), leaving out the border and the fixture's central band. Standard images are
/// already turned and scaled by the fixture, so a copy of a film lines up with its original.
pub fn pixel_agreement(a: &GrayImage, b: &GrayImage) -> f32 {
    correlate(&thumbnail(a), &thumbnail(b))
}

/// [`pixel_agreement`] of two thumbnails.
fn correlate(ta: &[f64], tb: &[f64]) -> f32 {
    let mut best = -1.0f32;
    for dy in -SHIFT..=SHIFT {
        for dx in -SHIFT..=SHIFT {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut n) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
            for y in SHIFT..THUMB - SHIFT {
                for x in SHIFT..THUMB - SHIFT {
                    if (x - THUMB / 2).abs() < FIXTURE_HALF_BAND {
                        continue;
                    }
                    let va = ta[(y * THUMB + x) as usize];
                    let vb = tb[((y + dy) * THUMB + x + dx) as usize];
                    sa += va;
                    sb += vb;
                    saa += va * va;
                    sbb += vb * vb;
                    sab += va * vb;
                    n += 1.0;
                }
            }
            let cov = sab / n - (sa / n) * (sb / n);
            let var = (saa / n - (sa / n).powi(2)) * (sbb / n - (sb / n).powi(2));
            if var > 1e-9 {
                best = best.max((cov / var.sqrt()) as f32);
            }
        }
    }
    best
}

fn thumbnail(img: &GrayImage) -> Vec<f64> {
    let side = THUMB as u32;
    image::imageops::resize(img, side, side, image::imageops::FilterType::Triangle)
        .as_raw()
        .iter()
        .map(|&p| f64::from(p))
        .collect()
}

/// A query's thumbnails, made once, compared with one library implant after another.
struct QueryThumbs {
    direct: Vec<f64>,
    mirror: Vec<f64>,
}

impl QueryThumbs {
    fn new(query: &GrayImage) -> Self {
        QueryThumbs {
            direct: thumbnail(query),
            mirror: thumbnail(&image::imageops::flip_horizontal(query)),
        }
    }

    /// The better [`pixel_agreement`] of the query or its mirror image with `other`, and whether
    /// the mirror image gave it.
    fn agreement(&self, other: &GrayImage) -> (f32, bool) {
        let other = thumbnail(other);
        let (direct, mirrored) = (correlate(&self.direct, &other), correlate(&self.mirror, &other));
        (direct.max(mirrored), mirrored > direct)
    }
}

/// Neighbours looked at for copies of the query by [`copies_first`].
const COPY_LOOK: usize = 10;
/// Pixel agreement from which a near neighbour counts as a copy when ranking. Lower than the
/// import's warning ([`PIXEL_AGREEMENT`]): a warning must be sure, a ranking only prefers, and the
/// best-agreeing neighbour comes first. On re-scans of real films the original then came first
/// for 93.8 % (94–95 % threshold: 89.2 %; cosine alone: 84.6 %; docs/BENCHMARKS.md).
const COPY_RANK_AGREEMENT: f32 = 0.90;

/// Put the neighbours that are copies of the query first — those among the first ten, at cosine ≥
/// 0.75, whose standard image (`standard_of`) agrees with `query` (or its mirror image) pixel for
/// pixel at [`COPY_RANK_AGREEMENT`] — marked `copy`, most agreeing first; the others keep their
/// order.
///
/// Why: "is this implant already in the library?" is answered by a copy of its film, which the
/// cosine alone ranks among other films of the same system: on re-scans of real films the original
/// came first for 84.6 % by cosine (docs/BENCHMARKS.md).
pub fn copies_first(
    query: &GrayImage,
    neighbours: &mut Vec<Neighbour>,
    standard_of: impl Fn(i64) -> Option<GrayImage>,
) {
    let thumbs = QueryThumbs::new(query);
    let mut copies: Vec<(usize, f32)> = Vec::new();
    for (k, n) in neighbours.iter().enumerate().take(COPY_LOOK) {
        if n.similarity < PIXEL_MIN_COSINE {
            continue;
        }
        let Some(other) = standard_of(n.id) else { continue };
        let (agreement, _) = thumbs.agreement(&other);
        if agreement >= COPY_RANK_AGREEMENT {
            copies.push((k, agreement));
        }
    }
    copies.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut first: Vec<Neighbour> = copies
        .iter()
        .map(|&(k, _)| Neighbour {
            copy: true,
            ..neighbours[k].clone()
        })
        .collect();
    let taken: std::collections::HashSet<usize> = copies.iter().map(|c| c.0).collect();
    first.extend(
        neighbours
            .drain(..)
            .enumerate()
            .filter(|(k, _)| !taken.contains(k))
            .map(|(_, n)| n),
    );
    *neighbours = first;
}

/// The standard image of library implant `id`, if it can be read.
pub fn standard_image(lib: &Library, id: i64) -> Option<GrayImage> {
    let sha = images::get(lib.conn(), id).ok()?.standard_sha256;
    lib.layout().read_standard(&sha).ok()
}

/// Checks new images against the library and against each other as they arrive.
pub struct NearDupChecker {
    index: Index,
    limit: f32,
    layout: Layout,
    /// Standard image of every implant seen, for the pixel comparison.
    standards: HashMap<i64, String>,
}

impl NearDupChecker {
    /// Load the library's current vectors of `encoder`.
    pub fn open(lib: &Library, encoder: &dyn Encoder) -> Result<Self, Error> {
        let stamp = encoder.stamp();
        let index = Index::build(vectors::load_all(lib.conn(), &stamp)?, stamp.dim);
        Ok(NearDupChecker {
            index,
            limit: threshold(encoder.id()),
            layout: lib.layout().clone(),
            standards: images::standards(lib.conn())?.into_iter().collect(),
        })
    }

    /// Compare a new implant (its vector, its mirror image's, its standard image and that image's
    /// hash) with everything seen so far, then add it.
    pub fn check_and_add(
        &mut self,
        id: i64,
        vector: &[f32],
        mirrored: &[f32],
        standard: (&GrayImage, &str),
    ) -> Option<NearDuplicate> {
        let mut best: Option<NearDuplicate> = None;
        let mut candidates: Vec<(i64, f32)> = Vec::new();
        for (query, is_mirror) in [(vector, false), (mirrored, true)] {
            let found = self.index.search(query, PIXEL_CANDIDATES, &|other| other != id);
            if let Some(&(of, similarity)) = found.first() {
                if similarity >= self.limit && best.as_ref().is_none_or(|b| similarity > b.similarity) {
                    best = Some(NearDuplicate {
                        id,
                        of,
                        similarity,
                        mirrored: is_mirror,
                        agreement: None,
                    });
                }
            }
            candidates.extend(found);
        }
        if best.is_none() {
            best = self.agreeing(id, standard.0, &candidates);
        }
        self.index.push(id, vector);
        self.standards.insert(id, standard.1.to_string());
        best
    }

    /// The first candidate (most similar first) whose standard image agrees with `image`, or
    /// with its mirror image, pixel for pixel.
    fn agreeing(&self, id: i64, image: &GrayImage, candidates: &[(i64, f32)]) -> Option<NearDuplicate> {
        let mut ranked: Vec<(i64, f32)> = candidates
            .iter()
            .copied()
            .filter(|c| c.1 >= PIXEL_MIN_COSINE)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.dedup_by_key(|c| c.0);
        let thumbs = QueryThumbs::new(image);
        for (of, similarity) in ranked {
            let Some(sha) = self.standards.get(&of) else {
                continue;
            };
            let Ok(other) = self.layout.read_standard(sha) else {
                continue;
            };
            let (agreement, mirrored) = thumbs.agreement(&other);
            if agreement >= PIXEL_AGREEMENT {
                return Some(NearDuplicate {
                    id,
                    of,
                    similarity,
                    mirrored,
                    agreement: Some(agreement),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A textured "film crop": value noise on a 12-cell grid, its values drawn from `seed`.
    fn texture(seed: u64) -> GrayImage {
        let cell = |i: u32, j: u32| {
            let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(i * 31 + j * 1009);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % 200) as f32 + 28.0
        };
        GrayImage::from_fn(224, 224, |x, y| {
            let (gx, gy) = (x as f32 / 20.0, y as f32 / 20.0);
            let (i, j) = (gx as u32, gy as u32);
            let (fx, fy) = (gx.fract(), gy.fract());
            let v = cell(i, j) * (1.0 - fx) * (1.0 - fy)
                + cell(i + 1, j) * fx * (1.0 - fy)
                + cell(i, j + 1) * (1.0 - fx) * fy
                + cell(i + 1, j + 1) * fx * fy;
            Luma([v as u8])
        })
    }

    #[test]
    fn a_shifted_noisy_copy_agrees_and_another_film_does_not() {
        let original = texture(1);
        let copy = GrayImage::from_fn(224, 224, |x, y| {
            let p = original.get_pixel((x + 6).min(223), (y + 4).min(223)).0[0];
            Luma([p.saturating_add(((x * 7 + y * 13) % 9) as u8)])
        });
        assert!(pixel_agreement(&original, &copy) >= PIXEL_AGREEMENT);
        assert!(pixel_agreement(&original, &texture(2)) < 0.5);
        let flat = GrayImage::from_pixel(224, 224, Luma([90]));
        assert_eq!(
            pixel_agreement(&original, &flat),
            -1.0,
            "no variance, no agreement"
        );
    }
}
