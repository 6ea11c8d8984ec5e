//! Raster formats through the `image` crate: PNG, JPEG, TIFF, BMP, WebP, GIF (first frame).
//!
//! Why a wrapper: the format is taken from the bytes, never the extension; the declared size is
//! checked before any pixel is decoded (decompression bombs); EXIF orientation is applied; and
//! a JPEG that merely stops early (which the decoder tolerates silently) is refused as truncated.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use crate::decode::types::{DecodeLimits, Decoded, Gray, Technical};
use crate::error::RefuseReason;

/// Decode a raster image file's bytes.
pub fn decode_raster(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, RefuseReason> {
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| RefuseReason::Io(e.to_string()))
    };
    let format = reader()?
        .format()
        .ok_or_else(|| RefuseReason::UnknownFormat(sniff(bytes)))?;
    let name = format_name(format)
        .ok_or_else(|| RefuseReason::UnknownFormat(format!("{format:?} is not accepted")))?;
    let corrupt = |e: ImageError| match e {
        ImageError::Limits(l) => RefuseReason::Corrupt {
            format: name,
            detail: format!("decoder limit reached: {l}"),
        },
        ImageError::Unsupported(u) => RefuseReason::UnknownFormat(u.to_string()),
        other => RefuseReason::Corrupt {
            format: name,
            detail: other.to_string(),
        },
    };

    let mut probe = reader()?;
    probe.no_limits();
    let (w, h) = probe.into_dimensions().map_err(corrupt)?;
    if w > limits.max_side || h > limits.max_side || u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(RefuseReason::TooLarge {
            width: w.into(),
            height: h.into(),
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    if format == ImageFormat::Jpeg && !jpeg_has_end(bytes) {
        return Err(RefuseReason::Corrupt {
            format: name,
            detail: "the data stops before the end-of-image marker (truncated file)".into(),
        });
    }

    let mut r = reader()?;
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(limits.max_side);
    lim.max_image_height = Some(limits.max_side);
    lim.max_alloc = Some(limits.max_alloc);
    r.limits(lim);
    let mut decoder = r.into_decoder().map_err(corrupt)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    let gray = match img {
        DynamicImage::ImageLuma8(g) => Gray::U8(g),
        DynamicImage::ImageLuma16(g) => Gray::U16(g),
        other if other.color().bytes_per_pixel() / other.color().channel_count() >= 2 => {
            Gray::U16(other.to_luma16())
        }
        other => Gray::U8(other.to_luma8()),
    };
    Ok(Decoded {
        gray,
        format: name,
        monochrome1: false,
        technical: Technical::default(),
    })
}

/// Accepted formats and their short names (also the stored original's extension).
fn format_name(format: ImageFormat) -> Option<&'static str> {
    Some(match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Tiff => "tif",
        ImageFormat::Bmp => "bmp",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        _ => return None,
    })
}

/// A JPEG is complete when an end-of-image marker follows its last start-of-scan (0xFF bytes in
/// entropy-coded data are stuffed, so neither marker can appear there by chance; an EXIF thumbnail's
/// own end marker comes before the main scan and does not count).
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let last_eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_sos, last_eoi), (Some(s), Some(e)) if e > s)
}

/// A short description of unrecognised content, for the refusal message.
fn sniff(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(512)];
    if head.starts_with(b"\x7fELF") || head.starts_with(b"MZ") {
        "content is an executable program".into()
    } else if head.starts_with(b"%PDF") {
        "content is a PDF document".into()
    } else if std::str::from_utf8(head).is_ok() {
        "content is text".into()
    } else {
        "content is not a known image format".into()
    }
}
