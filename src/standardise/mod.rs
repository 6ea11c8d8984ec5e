//! Standardisation: from a decoded original to the 224×224 8-bit model input.
//!
//! Steps: robust stretch to 8 bits (DICOM MONOCHROME1 inverted) → film-inversion detection → crop
//! (manual, else the automatic guess) → resize the crop to fit 224 px with Lanczos3 (aspect kept) →
//! CLAHE on the resized crop → pad to a square with black → PNG without any metadata.
//! Deterministic: the same decoded image and [`Params`] give byte-identical PNG bytes.
//! This module never touches the database or the file system.

pub mod clahe;
pub mod crop;
pub mod levels;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{GrayImage, ImageEncoder};
use serde::{Deserialize, Serialize};

pub use crop::Rect;

use crate::ingest::decode::Decoded;
use crate::Error;

/// Version of the pipeline; bumping it marks every stored standard image as stale
/// (`raiox restandardise` re-derives them). 2: fast PNG compression of the output (same pixels).
pub const PIPELINE_VERSION: u32 = 2;

/// Longest side of the thumbnail used for polarity and crop detection.
const THUMB_SIDE: u32 = 160;

/// Per-image standardisation parameters, stored with the image so one image can be re-derived alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Pipeline version these parameters were written for.
    pub version: u32,
    /// Manual crop in original coordinates; `None` uses the automatic guess.
    #[serde(default)]
    pub crop: Option<Rect>,
    /// Manual polarity override; `None` uses the automatic film-inversion detection.
    #[serde(default)]
    pub invert: Option<bool>,
    /// CLAHE clip limit (OpenCV semantics).
    pub clahe_clip: f32,
    /// CLAHE tiles per side.
    pub clahe_grid: u32,
    /// Output side in pixels.
    pub size: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            version: PIPELINE_VERSION,
            crop: None,
            invert: None,
            clahe_clip: 2.0,
            clahe_grid: 8,
            size: 224,
        }
    }
}

/// The result of standardising one image.
#[derive(Debug, Clone)]
pub struct Standardised {
    /// The model input as an 8-bit gray PNG with no metadata chunks.
    pub png: Vec<u8>,
    /// The model input pixels.
    pub image: GrayImage,
    /// The automatic crop guess (shown to the curator even when a manual crop is used).
    pub auto_crop: Rect,
    /// The crop actually used.
    pub crop: Rect,
    /// Whether the film was treated as inverted (detected or forced).
    pub inverted: bool,
}

/// Standardise a decoded original with the given parameters.
pub fn standardise(decoded: &Decoded, params: &Params) -> Result<Standardised, Error> {
    let mut full = levels::stretch(&decoded.gray, decoded.monochrome1);
    let (width, height) = full.dimensions();
    let scale = (width.max(height) as f64 / THUMB_SIDE as f64).max(1.0);
    let (tw, th) = (
        ((width as f64 / scale).round() as u32).max(1),
        ((height as f64 / scale).round() as u32).max(1),
    );
    let mut thumb = resize(&full, Rect::full(width, height), tw, th, FilterType::Box)?;
    let inverted = params.invert.unwrap_or_else(|| levels::looks_inverted(&thumb));
    if inverted {
        invert(&mut full);
        invert(&mut thumb);
    }
    let auto_crop = crop::auto_crop(&thumb, width as f64 / tw as f64, width, height);
    let crop = match params.crop {
        Some(manual) => manual.clamp_to(width, height).ok_or_else(|| {
            Error::Invalid(format!("crop {manual:?} lies outside the {width}×{height} image"))
        })?,
        None => auto_crop,
    };
    let size = params.size.max(8);
    let fit = size as f64 / crop.w.max(crop.h) as f64;
    let (rw, rh) = (
        ((crop.w as f64 * fit).round() as u32).clamp(1, size),
        ((crop.h as f64 * fit).round() as u32).clamp(1, size),
    );
    let mut resized = resize(&full, crop, rw, rh, FilterType::Lanczos3)?;
    clahe::clahe(&mut resized, params.clahe_grid, params.clahe_clip);
    let mut image = GrayImage::new(size, size);
    image::imageops::replace(
        &mut image,
        &resized,
        ((size - rw) / 2).into(),
        ((size - rh) / 2).into(),
    );
    let png = encode_png(&image)?;
    Ok(Standardised {
        png,
        image,
        auto_crop,
        crop,
        inverted,
    })
}

fn invert(img: &mut GrayImage) {
    img.iter_mut().for_each(|v| *v = 255 - *v);
}

/// Resize the `crop` region of `src` to `w`×`h` with the given filter.
fn resize(src: &GrayImage, crop: Rect, w: u32, h: u32, filter: FilterType) -> Result<GrayImage, Error> {
    let view = ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8)
        .map_err(|e| Error::Invalid(format!("resize: {e}")))?;
    let mut dst = Image::new(w, h, PixelType::U8);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(filter))
        .crop(crop.x as f64, crop.y as f64, crop.w as f64, crop.h as f64);
    Resizer::new()
        .resize(&view, &mut dst, &options)
        .map_err(|e| Error::Invalid(format!("resize: {e}")))?;
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
        .map_err(|e| Error::Invalid(format!("PNG encoding failed: {e}")))?;
    Ok(png)
}
