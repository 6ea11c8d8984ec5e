//! Standardisation: from a decoded film to one 224×224 8-bit model input per implant.
//!
//! Steps: robust stretch to 8 bits (DICOM MONOCHROME1 inverted) → film-inversion detection
//! ([`develop`]) → the implant finder proposes every fixture as an oriented box ([`find`]) → per
//! implant ([`standardise_implant`]): the film is turned so the fixture stands vertical with its apex
//! down, a square of side `length × (1 + 2 × margin)` around it is cut (so every implant is seen at
//! the same scale) and resampled to 224 px (Lanczos3 from the film's own scale) → optional CLAHE →
//! PNG without any metadata. Deterministic: the same decoded film, box and [`Params`] give
//! byte-identical PNG bytes. This module never touches the database or the file system.

pub mod clahe;
pub mod crop;
pub mod fixture;
pub mod levels;
pub mod view;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{GrayImage, ImageEncoder};
use serde::{Deserialize, Serialize};

pub use crop::Rect;
pub use fixture::{Aabb, BoxSpec, Fixture};

use crate::decode::Decoded;
use crate::Error;

/// Version of the pipeline; bumping it marks every stored standard image as stale
/// (`raiox restandardise` re-derives them). 2: fast PNG compression of the output (same pixels).
/// 3: one standard image per implant, cut around its fixture box turned apex-down.
pub const PIPELINE_VERSION: u32 = 3;

/// Longest side of the thumbnail used for polarity detection.
const THUMB_SIDE: u32 = 160;

/// Per-implant standardisation parameters, stored with the implant so it can be re-derived alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Pipeline version these parameters were written for.
    pub version: u32,
    /// Manual polarity override; `None` uses the automatic film-inversion detection.
    #[serde(default)]
    pub invert: Option<bool>,
    /// Context around the fixture on each side, as a share of its length. Measured on re-scans
    /// of real films (docs/BENCHMARKS.md): a quarter of the length keeps the threads' outline and
    /// the platform without the neighbours taking over.
    #[serde(default = "default_margin")]
    pub margin: f32,
    /// CLAHE clip limit (OpenCV semantics); 0 turns CLAHE off. Off by default: on real re-scans
    /// it lowered the nearest-neighbour hit rate (local contrast amplifies noise and film grain).
    pub clahe_clip: f32,
    /// CLAHE tiles per side.
    pub clahe_grid: u32,
    /// Output side in pixels.
    pub size: u32,
}

fn default_margin() -> f32 {
    0.25
}

impl Default for Params {
    fn default() -> Self {
        Params {
            version: PIPELINE_VERSION,
            invert: None,
            margin: default_margin(),
            clahe_clip: 0.0,
            clahe_grid: 8,
            size: 224,
        }
    }
}

/// A film ready for finding and cutting implants: 8-bit, bright metal, polarity decided.
#[derive(Debug, Clone)]
pub struct Developed {
    /// The film's pixels (after the stretch and, when inverted, the inversion): what is cut.
    pub image: GrayImage,
    /// The same film without the stretch's clipping ([`levels::unclipped`]): what the finder reads.
    pub unclipped: GrayImage,
    /// Whether the film was treated as inverted (detected or forced).
    pub inverted: bool,
}

/// The model input of one implant.
#[derive(Debug, Clone)]
pub struct Standardised {
    /// The model input as an 8-bit gray PNG with no metadata chunks.
    pub png: Vec<u8>,
    /// The model input pixels.
    pub image: GrayImage,
}

/// Stretch a decoded film to 8 bits and turn it so metal is bright (`invert` forces the polarity).
pub fn develop(decoded: &Decoded, invert: Option<bool>) -> Result<Developed, Error> {
    let mut full = levels::stretch(&decoded.gray, decoded.monochrome1);
    let (width, height) = full.dimensions();
    let inverted = match invert {
        Some(forced) => forced,
        None => {
            let scale = (width.max(height) as f64 / THUMB_SIDE as f64).max(1.0);
            let (tw, th) = (
                ((width as f64 / scale).round() as u32).max(1),
                ((height as f64 / scale).round() as u32).max(1),
            );
            let thumb = resize(&full, Rect::full(width, height), tw, th, FilterType::Box)?;
            levels::looks_inverted(&thumb)
        }
    };
    let mut unclipped = levels::unclipped(&decoded.gray, decoded.monochrome1);
    if inverted {
        invert_pixels(&mut full);
        invert_pixels(&mut unclipped);
    }
    Ok(Developed {
        image: full,
        unclipped,
        inverted,
    })
}

/// Every implant fixture the finder sees on a developed film, left to right (then top to bottom),
/// so a film's implants keep a stable order.
pub fn find(film: &Developed) -> Vec<Fixture> {
    let (w, h) = film.image.dimensions();
    let mut found: Vec<Fixture> = raiox_find::find_implants(&film.unclipped)
        .iter()
        .map(Fixture::from_found)
        .filter(|f| f.check(w, h).is_ok())
        .collect();
    found.sort_by(|a, b| a.cx.total_cmp(&b.cx).then(a.cy.total_cmp(&b.cy)));
    found
}

/// Cut one implant out of a developed film, apex down and at a normalised scale (see the module
/// documentation), and encode it.
pub fn standardise_implant(
    film: &Developed,
    fixture: &Fixture,
    params: &Params,
) -> Result<Standardised, Error> {
    let (w, h) = film.image.dimensions();
    fixture.check(w, h).map_err(Error::Invalid)?;
    let size = params.size.clamp(8, 4096);
    let margin = if params.margin.is_finite() {
        params.margin.clamp(0.0, 4.0)
    } else {
        default_margin()
    };
    let found = fixture.as_found();
    let side = fixture.length.max(fixture.width) * (1.0 + 2.0 * margin);
    let mut image = if side <= size as f32 {
        raiox_find::crop_apex_down(&film.image, &found, margin, size)
    } else {
        // Cut at about the film's own scale, then Lanczos3 down: no bilinear aliasing.
        let native = (side.ceil() as u32).clamp(size, 8 * size);
        let square = raiox_find::crop_apex_down(&film.image, &found, margin, native);
        resize(
            &square,
            Rect::full(native, native),
            size,
            size,
            FilterType::Lanczos3,
        )?
    };
    if params.clahe_clip > 0.0 {
        clahe::clahe(&mut image, params.clahe_grid, params.clahe_clip);
    }
    let png = encode_png(&image)?;
    Ok(Standardised { png, image })
}

/// Every implant [`find`] sees on a developed film, with its model input.
pub fn standardise_found(film: &Developed, params: &Params) -> Result<Vec<(Fixture, Standardised)>, Error> {
    find(film)
        .into_iter()
        .map(|f| standardise_implant(film, &f, params).map(|s| (f, s)))
        .collect()
}

/// A whole film standardised: its polarity and each found implant with its model input.
#[derive(Debug, Clone)]
pub struct StandardFilm {
    /// Whether the film was treated as inverted.
    pub inverted: bool,
    /// Film size (after EXIF orientation).
    pub width: u32,
    /// Film height.
    pub height: u32,
    /// Every implant found, in [`find`]'s order.
    pub implants: Vec<(Fixture, Standardised)>,
}

/// Develop a film, find its implants and standardise each: what import, `similar PATH` and
/// `identify PATH` all do with a new film.
pub fn standardise_film(decoded: &Decoded, params: &Params) -> Result<StandardFilm, Error> {
    let film = develop(decoded, params.invert)?;
    let implants = standardise_found(&film, params)?;
    let (width, height) = film.image.dimensions();
    Ok(StandardFilm {
        inverted: film.inverted,
        width,
        height,
        implants,
    })
}

fn invert_pixels(img: &mut GrayImage) {
    img.iter_mut().for_each(|v| *v = 255 - *v);
}

/// Resize the `crop` region of `src` to `w`×`h` with the given filter.
fn resize(src: &GrayImage, crop: Rect, w: u32, h: u32, filter: FilterType) -> Result<GrayImage, Error> {
    let view =
        ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8).map_err(|e| Error::Image {
            step: "resize",
            reason: e.to_string(),
        })?;
    let mut dst = Image::new(w, h, PixelType::U8);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(filter))
        .crop(crop.x as f64, crop.y as f64, crop.w as f64, crop.h as f64);
    Resizer::new()
        .resize(&view, &mut dst, &options)
        .map_err(|e| Error::Image {
            step: "resize",
            reason: e.to_string(),
        })?;
    Ok(GrayImage::from_raw(w, h, dst.into_vec()).expect("buffer matches size"))
}

/// Encode 8-bit gray pixels as a PNG carrying nothing but IHDR, IDAT and IEND.
pub fn encode_png(image: &GrayImage) -> Result<Vec<u8>, Error> {
    let mut png = Vec::with_capacity(image.as_raw().len() / 2);
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, PngFilter::Adaptive)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| Error::Image {
            step: "PNG encoding",
            reason: e.to_string(),
        })?;
    Ok(png)
}
