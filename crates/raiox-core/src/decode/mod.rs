//! Decoding originals into a gray raster, with guards against hostile or broken files.
//!
//! Why: every later stage works on one gray buffer whatever the source format. Decoding is where a
//! file is refused (empty, truncated, not an image, a decompression bomb, too small, a sliver), so
//! the reasons live here, typed, and the caller adds the file name.

pub mod budget;
pub mod dicom;
pub mod raster;
mod types;

pub use crate::error::RefuseReason;
pub use types::{DecodeLimits, Decoded, Gray, Gray16Image, Technical};

/// Decode any supported original (DICOM or raster, told apart by content) and apply the size guards.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, RefuseReason> {
    if bytes.is_empty() {
        return Err(RefuseReason::Empty);
    }
    let decoded = if dicom::looks_like_dicom(bytes) {
        dicom::decode_dicom(bytes, limits)?
    } else {
        raster::decode_raster(bytes, limits)?
    };
    let (width, height) = decoded.gray.dimensions();
    let (long, short) = (width.max(height) as f64, width.min(height).max(1) as f64);
    if long / short > limits.max_aspect {
        return Err(RefuseReason::ExtremeAspect {
            width,
            height,
            max_aspect: limits.max_aspect,
        });
    }
    if width < limits.min_side || height < limits.min_side {
        return Err(RefuseReason::TooSmall {
            width,
            height,
            min_side: limits.min_side,
        });
    }
    Ok(decoded)
}
