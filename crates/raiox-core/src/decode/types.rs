//! The decoded raster and the typed reasons a file is refused.

use image::{GrayImage, ImageBuffer, Luma};
use serde::{Deserialize, Serialize};

/// 16-bit gray raster (16-bit TIFF/PNG, 12/16-bit DICOM without a window).
pub type Gray16Image = ImageBuffer<Luma<u16>, Vec<u16>>;

/// A decoded gray raster at the source's bit depth; contrast stretching happens in `standardise`.
#[derive(Debug, Clone)]
pub enum Gray {
    /// 8-bit samples (most raster files; DICOM after its VOI window).
    U8(GrayImage),
    /// 16-bit samples, not yet windowed.
    U16(Gray16Image),
}

impl Gray {
    /// Width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Gray::U8(g) => g.dimensions(),
            Gray::U16(g) => g.dimensions(),
        }
    }
}

/// Non-identifying technical facts about an original, the only source metadata the catalogue keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Technical {
    /// DICOM modality (IO = intra-oral, PX = panoramic, DX, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<String>,
    /// Pixel spacing in millimetres (row, column), when the file states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Bits allocated per sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_allocated: Option<u16>,
    /// Bits actually stored per sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_stored: Option<u16>,
    /// DICOM photometric interpretation (MONOCHROME1/MONOCHROME2/RGB...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photometric: Option<String>,
    /// DICOM transfer syntax UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_syntax: Option<String>,
}

/// A decoded original ready for standardisation.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The gray raster, EXIF orientation already applied.
    pub gray: Gray,
    /// Source format name ("png", "jpeg", "dicom", ...).
    pub format: &'static str,
    /// True when the source says low values are white (DICOM MONOCHROME1): invert before use.
    pub monochrome1: bool,
    /// Technical, non-identifying metadata.
    pub technical: Technical,
}

/// Limits that keep a hostile file from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest accepted width or height.
    pub max_side: u32,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Largest allocation a decoder may make, in bytes.
    pub max_alloc: u64,
    /// Smallest accepted width or height.
    pub min_side: u32,
    /// Largest accepted long-side / short-side ratio.
    pub max_aspect: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_side: 16_384,
            max_pixels: 120_000_000,
            max_alloc: 1 << 30,
            min_side: 32,
            max_aspect: 8.0,
        }
    }
}
