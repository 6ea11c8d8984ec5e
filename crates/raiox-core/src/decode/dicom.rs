//! DICOM originals: sniffing, decoding the first frame to a gray raster, and the technical fields
//! the catalogue may keep.
//!
//! Why a module of its own: a DICOM file carries patient identity next to its pixels, and its
//! pixels need more than a codec (transfer syntaxes, bits stored, rescale, VOI window, MONOCHROME1).
//! This module is the only place that opens a DICOM object. It hands back pixels and the
//! [`Technical`] fields (modality, spacing, bit depth, photometric, transfer syntax) and nothing
//! else: no names, IDs, dates, institutions or instance UIDs ever leave it.
//!
//! Hostile input is checked before any third-party code allocates for it: every declared element
//! length must fit in the file, Rows × Columns must fit the [`DecodeLimits`], and an embedded JPEG
//! or JPEG 2000 codestream must have the size the header declares (the codec adapters index out of
//! bounds otherwise). A `catch_unwind` around the codec call is the last line of defence.

use std::error::Error as StdError;
use std::panic::{catch_unwind, AssertUnwindSafe};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, FileMetaTable, FileMetaTableBuilder, OpenFileOptions};
use dicom_pixeldata::{
    DecodedPixelData, PhotometricInterpretation, PixelDecoder, PixelRepresentation, PlanarConfiguration,
    VoiLutFunction, WindowLevelTransform,
};
use image::GrayImage;

use super::types::{DecodeLimits, Decoded, Gray, Gray16Image, Technical};
use crate::error::RefuseReason;

const FORMAT: &str = "dicom";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
/// Transfer syntaxes this build decodes (dicom-pixeldata with `native` + `openjp2`). The two deflated
/// ones (1.2.840.10008.1.2.1.99 data set, 1.2.840.10008.1.2.8.1 frames) are left out on purpose:
/// dicom-rs inflates them without a bound, so a small file could expand to gigabytes.
const SUPPORTED_TS: &[&str] = &[
    IMPLICIT_LE,
    EXPLICIT_LE,
    EXPLICIT_BE,
    "1.2.840.10008.1.2.1.98",  // encapsulated uncompressed
    "1.2.840.10008.1.2.5",     // RLE lossless
    "1.2.840.10008.1.2.4.50",  // JPEG baseline
    "1.2.840.10008.1.2.4.51",  // JPEG extended
    "1.2.840.10008.1.2.4.57",  // JPEG lossless
    "1.2.840.10008.1.2.4.70",  // JPEG lossless SV1
    "1.2.840.10008.1.2.4.90",  // JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  // JPEG 2000
    "1.2.840.10008.1.2.4.92",  // JPEG 2000 part 2 lossless
    "1.2.840.10008.1.2.4.93",  // JPEG 2000 part 2
    "1.2.840.10008.1.2.4.201", // HTJ2K lossless
    "1.2.840.10008.1.2.4.202", // HTJ2K RPCL lossless
    "1.2.840.10008.1.2.4.203", // HTJ2K
];
const UNDEFINED: u32 = u32::MAX;
/// Explicit-VR value representations with a 4-byte length field.
const LONG_VRS: &[&[u8; 2]] = &[
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];
const SHORT_VRS: &[&[u8; 2]] = &[
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL",
    b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];

/// True when `bytes` look like DICOM: a 128-byte preamble then `DICM`, `DICM` at the start, or a
/// bare file-meta group or data set (group 0002 / 0008 element) without either.
pub fn looks_like_dicom(bytes: &[u8]) -> bool {
    layout(bytes).is_some()
}

/// Decode a DICOM file's first frame into a gray raster plus non-identifying technical fields.
///
/// Monochrome data with a VOI LUT or Window Center/Width is rescaled, windowed and returned as
/// [`Gray::U8`]; without one, samples of more than 8 bits (or with a rescale) come back as
/// [`Gray::U16`] (rescaled, shifted to ≥ 0) for the caller to stretch, and 8-bit samples as
/// [`Gray::U8`]. Colour (RGB/YBR) becomes 8-bit luma. MONOCHROME1 is flagged, not inverted.
pub fn decode_dicom(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, RefuseReason> {
    let obj = parse(bytes)?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    let technical = technical(&obj, &ts);
    let pixel = obj.get(tags::PIXEL_DATA).ok_or(RefuseReason::NoPixelData)?;

    let rows = int(&obj, tags::ROWS).ok_or_else(|| corrupt("Rows is missing"))?;
    let cols = int(&obj, tags::COLUMNS).ok_or_else(|| corrupt("Columns is missing"))?;
    let spp = int(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bits = technical
        .bits_allocated
        .ok_or_else(|| corrupt("BitsAllocated is missing"))?;
    let photometric = technical.photometric.clone().unwrap_or_default();
    let (w, h) = (u64::from(cols), u64::from(rows));
    let frame_bytes = (w.saturating_mul(h))
        .saturating_mul(u64::from(spp))
        .saturating_mul(u64::from(bits.div_ceil(8)));
    if w > u64::from(limits.max_side)
        || h > u64::from(limits.max_side)
        || w.saturating_mul(h) > limits.max_pixels
        || frame_bytes > limits.max_alloc
    {
        return Err(RefuseReason::TooLarge {
            width: w,
            height: h,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    if rows == 0 || cols == 0 {
        return Err(corrupt("Rows or Columns is zero"));
    }
    let colour = photometric == "RGB" || photometric.starts_with("YBR_");
    let supported = match (photometric.as_str(), spp) {
        ("MONOCHROME1" | "MONOCHROME2", 1) => matches!(bits, 1 | 8 | 16 | 32),
        (_, 3) if colour => matches!(bits, 8 | 16),
        _ => false,
    };
    if !supported {
        return Err(unsupported(format!(
            "photometric interpretation '{photometric}' with {spp} sample(s) of {bits} bits"
        )));
    }

    match (pixel.value().primitive(), pixel.value().fragments()) {
        (Some(p), _) => {
            let needed = if bits == 1 {
                (w * h).div_ceil(8)
            } else {
                frame_bytes
            };
            let have = p.calculate_byte_len() as u64;
            if have < needed {
                return Err(corrupt(format!(
                    "pixel data holds {have} bytes, {cols}×{rows}×{spp} at {bits} bits needs {needed}"
                )));
            }
            if photometric.ends_with("_422") || photometric.ends_with("_420") {
                return Err(unsupported(format!("uncompressed {photometric}")));
            }
        }
        (None, Some(fragments)) => check_codestream(fragments, &ts, cols, rows, spp)?,
        (None, None) => return Err(corrupt("Pixel Data is neither a value nor fragments")),
    }

    let px = catch_unwind(AssertUnwindSafe(|| obj.decode_pixel_data_frame(0)))
        .map_err(|_| corrupt("the pixel data decoder panicked"))?
        .map_err(|e| corrupt(chain(&e)))?;
    let gray = if px.samples_per_pixel() == 1 {
        monochrome(&px, cols, rows)?
    } else {
        luma(&px, cols, rows)?
    };
    Ok(Decoded {
        gray,
        format: FORMAT,
        monochrome1: photometric == "MONOCHROME1",
        technical,
    })
}

/// How the bytes are laid out, as far as a cheap sniff can tell.
enum Layout {
    /// 128-byte preamble, `DICM`, meta group, data set.
    Preamble,
    /// `DICM`, meta group, data set.
    Magic,
    /// Meta group without `DICM`.
    BareMeta,
    /// A data set with no meta group at all.
    BareDataset { explicit: bool },
}

fn layout(bytes: &[u8]) -> Option<Layout> {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        return Some(Layout::Preamble);
    }
    if bytes.starts_with(b"DICM") {
        return Some(Layout::Magic);
    }
    if bytes.len() < 8 {
        return None;
    }
    let group = u16::from_le_bytes([bytes[0], bytes[1]]);
    let element = u16::from_le_bytes([bytes[2], bytes[3]]);
    let vr = [bytes[4], bytes[5]];
    let explicit = LONG_VRS.contains(&&vr) || SHORT_VRS.contains(&&vr);
    let implicit_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    match group {
        0x0002 if element <= 0x0002 && explicit => Some(Layout::BareMeta),
        0x0008 if element <= 0x0020 && (explicit || implicit_len <= 1024) => {
            Some(Layout::BareDataset { explicit })
        }
        _ => None,
    }
}

/// Parse the whole object after checking every declared length against the bytes present.
fn parse(bytes: &[u8]) -> Result<DefaultDicomObject, RefuseReason> {
    let Some(layout) = layout(bytes) else {
        return Err(RefuseReason::UnknownFormat("no DICOM header".into()));
    };
    let owned: Vec<u8>;
    let body: &[u8] = match layout {
        Layout::Preamble => &bytes[128..],
        Layout::Magic => bytes,
        Layout::BareMeta => {
            owned = [b"DICM".as_slice(), bytes].concat();
            &owned
        }
        Layout::BareDataset { explicit } => {
            walk(bytes, 0, explicit, false, false).map_err(corrupt)?;
            let ts = if explicit { EXPLICIT_LE } else { IMPLICIT_LE };
            let meta = FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                .media_storage_sop_instance_uid("2.25.0")
                .build()
                .map_err(|e| corrupt(chain(&e)))?;
            let mut buf = b"DICM".to_vec(); // `write` omits the magic code
            meta.write(&mut buf).map_err(|e| corrupt(chain(&e)))?;
            buf.extend_from_slice(bytes);
            return read(&buf);
        }
    };
    let meta_end = 4 + walk(&body[4..], 0, true, false, true).map_err(corrupt)?;
    let meta = FileMetaTable::from_reader(body).map_err(|e| corrupt(chain(&e)))?;
    let ts = meta.transfer_syntax().trim_end_matches(['\0', ' ']);
    if !SUPPORTED_TS.contains(&ts) {
        return Err(unsupported(format!("transfer syntax {ts}")));
    }
    walk(body, meta_end, ts != IMPLICIT_LE, ts == EXPLICIT_BE, false).map_err(corrupt)?;
    read(body)
}

fn read(body: &[u8]) -> Result<DefaultDicomObject, RefuseReason> {
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(body)
        .map_err(|e| match e {
            dicom_object::ReadError::ReadUnrecognizedTransferSyntax { uid, .. } => {
                unsupported(format!("transfer syntax {uid}"))
            }
            e => corrupt(chain(&e)),
        })
}

/// Walk the element headers from `pos`, failing when a declared length runs past the end of
/// `data` (a truncated file, or a length crafted to make the parser allocate gigabytes).
/// With `meta_only`, stops at the first element outside group 0002 and returns its offset.
fn walk(data: &[u8], mut pos: usize, explicit: bool, big: bool, meta_only: bool) -> Result<usize, String> {
    let u16_at = |p: usize| {
        let b = [data[p], data[p + 1]];
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |p: usize| {
        let b = [data[p], data[p + 1], data[p + 2], data[p + 3]];
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut in_fragments = false;
    while pos + 8 <= data.len() {
        let tag = Tag(u16_at(pos), u16_at(pos + 2));
        if meta_only && tag.group() != 0x0002 {
            break;
        }
        let (len, header, descend) = if tag.group() == 0xFFFE {
            // item (E000), item delimiter (E00D), sequence delimiter (E0DD): no VR
            if tag.element() == 0xE0DD {
                in_fragments = false;
            }
            (u32_at(pos + 4), 8, !in_fragments)
        } else if explicit {
            let vr = [data[pos + 4], data[pos + 5]];
            if LONG_VRS.contains(&&vr) {
                if pos + 12 > data.len() {
                    break;
                }
                (u32_at(pos + 8), 12, &vr == b"SQ")
            } else {
                (u32::from(u16_at(pos + 6)), 8, false)
            }
        } else {
            let sq = StandardDataDictionary
                .by_tag(tag)
                .is_some_and(|e| matches!(e.vr(), VirtualVr::Exact(VR::SQ)));
            (u32_at(pos + 4), 8, sq)
        };
        pos += header;
        if len == UNDEFINED {
            in_fragments |= tag == tags::PIXEL_DATA;
            continue;
        }
        let remaining = data.len() - pos;
        if len as usize > remaining {
            return Err(format!(
                "element ({:04X},{:04X}) declares {len} bytes but only {remaining} remain: the file is truncated",
                tag.group(),
                tag.element()
            ));
        }
        if !descend {
            pos += len as usize;
        }
    }
    Ok(pos)
}

/// Refuse an embedded JPEG / JPEG 2000 codestream whose size or component count disagrees with
/// the header: the codec adapters would index out of bounds or allocate for the embedded size.
fn check_codestream(
    fragments: &[Vec<u8>],
    ts: &str,
    cols: u32,
    rows: u32,
    spp: u32,
) -> Result<(), RefuseReason> {
    let first = fragments
        .iter()
        .find(|f| !f.is_empty())
        .ok_or_else(|| corrupt("Pixel Data has no fragments"))?;
    let found = if matches!(
        ts,
        "1.2.840.10008.1.2.4.50"
            | "1.2.840.10008.1.2.4.51"
            | "1.2.840.10008.1.2.4.57"
            | "1.2.840.10008.1.2.4.70"
    ) {
        Some(jpeg_size(first).ok_or_else(|| corrupt("embedded JPEG has no frame header"))?)
    } else if ts.starts_with("1.2.840.10008.1.2.4.9") || ts.starts_with("1.2.840.10008.1.2.4.20") {
        Some(j2k_size(first).ok_or_else(|| corrupt("embedded JPEG 2000 has no SIZ marker"))?)
    } else {
        None
    };
    match found {
        Some((w, h, c)) if (w, h, c) != (cols, rows, spp) => Err(corrupt(format!(
            "embedded codestream is {w}×{h} with {c} component(s), the header says {cols}×{rows} with {spp}"
        ))),
        _ => Ok(()),
    }
}

/// Width, height and components from a JPEG's start-of-frame segment.
fn jpeg_size(d: &[u8]) -> Option<(u32, u32, u32)> {
    let mut p = 2;
    if d.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    loop {
        while *d.get(p)? != 0xFF {
            p += 1;
        }
        while *d.get(p)? == 0xFF {
            p += 1;
        }
        let marker = *d.get(p)?;
        p += 1;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*d.get(p)?, *d.get(p + 1)?]));
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let s = d.get(p + 3..p + 8)?;
            let h = u32::from(u16::from_be_bytes([s[0], s[1]]));
            let w = u32::from(u16::from_be_bytes([s[2], s[3]]));
            return Some((w, h, u32::from(s[4])));
        }
        p += len;
    }
}

/// Width, height and components from a JPEG 2000 SIZ marker (raw codestream or inside a JP2 box).
fn j2k_size(d: &[u8]) -> Option<(u32, u32, u32)> {
    let at = d.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])? + 4;
    let s = d.get(at..at + 38)?;
    let be = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let w = be(4).checked_sub(be(12))?;
    let h = be(8).checked_sub(be(16))?;
    Some((w, h, u32::from(u16::from_be_bytes([s[36], s[37]]))))
}

/// One sample of the decoded frame, as stored (native endian, `bytes` wide).
fn sample(data: &[u8], index: usize, bytes: usize) -> u32 {
    let at = index * bytes;
    match bytes {
        1 => u32::from(data[at]),
        2 => u32::from(u16::from_ne_bytes([data[at], data[at + 1]])),
        _ => u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]),
    }
}

fn gray8(cols: u32, rows: u32, samples: Vec<u8>) -> Result<Gray, RefuseReason> {
    GrayImage::from_raw(cols, rows, samples)
        .map(Gray::U8)
        .ok_or_else(|| corrupt("frame size mismatch"))
}

fn decoded_len_ok(px: &DecodedPixelData<'_>, need: usize) -> Result<(), RefuseReason> {
    if px.data().len() < need {
        return Err(corrupt(format!(
            "decoder returned {} bytes, the frame needs {need}",
            px.data().len()
        )));
    }
    Ok(())
}

/// Monochrome frame → stored value → modality rescale → VOI LUT / window (U8) or shifted U16.
fn monochrome(px: &DecodedPixelData<'_>, cols: u32, rows: u32) -> Result<Gray, RefuseReason> {
    let n = cols as usize * rows as usize;
    let allocated = px.bits_allocated();
    let bytes = usize::from(allocated.div_ceil(8));
    decoded_len_ok(px, n * bytes)?;
    let data = px.data();
    if allocated == 1 {
        // dicom-pixeldata expands 1-bit samples to 0 / 255 bytes
        return gray8(cols, rows, data[..n].to_vec());
    }
    let stored = px.bits_stored().clamp(1, allocated);
    let shift = px
        .high_bit()
        .saturating_add(1)
        .saturating_sub(stored)
        .min(allocated - stored);
    let mask = if stored >= 32 {
        u32::MAX
    } else {
        (1u32 << stored) - 1
    };
    let signed = px.pixel_representation() == PixelRepresentation::Signed;
    let rescale = px.rescale().ok().and_then(|r| r.first().copied());
    let (slope, intercept) = rescale
        .filter(|r| r.slope.is_finite() && r.intercept.is_finite() && r.slope != 0.0)
        .map_or((1.0, 0.0), |r| (r.slope, r.intercept));
    let value = |i: usize| {
        let v = (sample(data, i, bytes) >> shift) & mask;
        let v = if signed && v >> (stored - 1) & 1 == 1 {
            f64::from(v) - 2f64.powi(i32::from(stored)) // two's complement in `stored` bits
        } else {
            f64::from(v)
        };
        v * slope + intercept
    };

    let lut = px
        .voi_lut_sequence()
        .ok()
        .flatten()
        .and_then(|s| s.first())
        .filter(|l| !l.data.is_empty());
    if let Some(lut) = lut {
        let used = 16 - lut.data.iter().max().copied().unwrap_or(0).leading_zeros() as u8;
        let depth = if used == 0 || used > lut.bits_stored {
            lut.bits_stored.clamp(1, 16)
        } else {
            used
        };
        let scale = 255.0 / ((1u32 << depth) - 1) as f64;
        let last = lut.data.len() - 1;
        let out = (0..n)
            .map(|i| {
                let idx = (value(i).round() as i64).saturating_sub(lut.min_pixel_value.into());
                let idx = idx.clamp(0, last as i64);
                (f64::from(lut.data[idx as usize]) * scale)
                    .round()
                    .clamp(0.0, 255.0) as u8
            })
            .collect();
        return gray8(cols, rows, out);
    }
    let window = px.window().ok().flatten().and_then(|w| w.first().copied());
    if let Some(window) = window.filter(|w| w.center.is_finite() && w.width.is_finite() && w.width > 0.0) {
        let function = px
            .voi_lut_function()
            .ok()
            .flatten()
            .and_then(|f| f.first().copied())
            .unwrap_or(VoiLutFunction::Linear);
        let transform = WindowLevelTransform::new(function, window);
        let out = (0..n)
            .map(|i| transform.apply(value(i), 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        return gray8(cols, rows, out);
    }
    if stored <= 8 && !signed && (slope, intercept) == (1.0, 0.0) {
        let out = (0..n).map(|i| value(i) as u8).collect();
        return gray8(cols, rows, out);
    }
    let (lo, hi) = (0..n)
        .map(value)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let base = lo.min(0.0);
    let scale = if hi - base > 65535.0 {
        65535.0 / (hi - base)
    } else {
        1.0
    };
    let out = (0..n)
        .map(|i| ((value(i) - base) * scale).round().clamp(0.0, 65535.0) as u16)
        .collect();
    Gray16Image::from_raw(cols, rows, out)
        .map(Gray::U16)
        .ok_or_else(|| corrupt("frame size mismatch"))
}

/// Colour frame (RGB after codec decoding, or uncompressed RGB / YBR_FULL) → 8-bit luma.
fn luma(px: &DecodedPixelData<'_>, cols: u32, rows: u32) -> Result<Gray, RefuseReason> {
    let n = cols as usize * rows as usize;
    let bytes = usize::from(px.bits_allocated().div_ceil(8));
    decoded_len_ok(px, 3 * n * bytes)?;
    let data = px.data();
    let stored = px.bits_stored().clamp(1, px.bits_allocated().min(16));
    let to8 = 255.0 / f64::from((1u32 << stored) - 1);
    let planar = px.planar_configuration() == PlanarConfiguration::PixelFirst;
    let at = |i: usize, c: usize| f64::from(sample(data, if planar { c * n + i } else { 3 * i + c }, bytes));
    let is_rgb = *px.photometric_interpretation() == PhotometricInterpretation::Rgb;
    let out = (0..n)
        .map(|i| {
            let y = if is_rgb {
                0.299 * at(i, 0) + 0.587 * at(i, 1) + 0.114 * at(i, 2)
            } else {
                at(i, 0)
            };
            (y * to8).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    gray8(cols, rows, out)
}

/// The non-identifying technical fields; nothing else is read out of the data set.
fn technical(obj: &DefaultDicomObject, ts: &str) -> Technical {
    let spacing = [tags::PIXEL_SPACING, tags::IMAGER_PIXEL_SPACING]
        .into_iter()
        .find_map(|tag| {
            let v = obj.get(tag)?.to_multi_float64().ok()?;
            (v.len() >= 2 && v[..2].iter().all(|x| x.is_finite() && *x > 0.0)).then(|| [v[0], v[1]])
        });
    Technical {
        modality: text(obj, tags::MODALITY).filter(|m| is_defined_modality(m)),
        pixel_spacing_mm: spacing,
        bits_allocated: int(obj, tags::BITS_ALLOCATED).and_then(|v| u16::try_from(v).ok()),
        bits_stored: int(obj, tags::BITS_STORED).and_then(|v| u16::try_from(v).ok()),
        photometric: text(obj, tags::PHOTOMETRIC_INTERPRETATION).filter(|p| is_defined_photometric(p)),
        transfer_syntax: Some(ts.to_string()).filter(|s| !s.is_empty()),
    }
}

/// Modality (0008,0060) is a code string, but writers put free text in it (a patient's name has
/// been seen there): only DICOM's defined terms are kept.
fn is_defined_modality(m: &str) -> bool {
    const DEFINED: &[&str] = &[
        "IO", "PX", "DX", "CR", "CT", "MR", "US", "XA", "RF", "MG", "NM", "PT", "OT", "SC", "RG", "DOC",
        "XC", "OP", "OPT", "ES", "GM", "SM", "BDUS", "BMD", "DG", "EPS", "HD", "IVUS", "KO", "LS", "OCT",
        "PR", "RTIMAGE", "SEG", "SR", "TG", "VL",
    ];
    DEFINED.contains(&m)
}

/// Photometric Interpretation: the defined terms only, for the same reason.
fn is_defined_photometric(p: &str) -> bool {
    const DEFINED: &[&str] = &[
        "MONOCHROME1",
        "MONOCHROME2",
        "RGB",
        "PALETTE COLOR",
        "YBR_FULL",
        "YBR_FULL_422",
        "YBR_PARTIAL_420",
        "YBR_ICT",
        "YBR_RCT",
    ];
    DEFINED.contains(&p)
}

fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty() && s.len() <= 64).then(|| s.to_string())
}

fn int(obj: &DefaultDicomObject, tag: Tag) -> Option<u32> {
    obj.get(tag)?.to_int::<u32>().ok()
}

fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn corrupt(detail: impl Into<String>) -> RefuseReason {
    RefuseReason::Corrupt {
        format: FORMAT,
        detail: detail.into(),
    }
}

fn unsupported(detail: String) -> RefuseReason {
    RefuseReason::UnsupportedDicom(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn decode(rel: &str) -> Result<Decoded, RefuseReason> {
        decode_dicom(&fixture(rel), &DecodeLimits::default())
    }

    /// Mean of a centred vertical strip (the implant) minus the mean of the left edge columns.
    fn implant_contrast(gray: &Gray) -> f64 {
        let (w, h) = gray.dimensions();
        let px = |x: u32, y: u32| match gray {
            Gray::U8(g) => f64::from(g.get_pixel(x, y)[0]),
            Gray::U16(g) => f64::from(g.get_pixel(x, y)[0]),
        };
        let mean = |xs: std::ops::Range<u32>| {
            let (mut sum, mut count) = (0.0, 0.0);
            for y in h * 2 / 5..h * 3 / 5 {
                for x in xs.clone() {
                    sum += px(x, y);
                    count += 1.0;
                }
            }
            sum / count
        };
        mean(w / 2 - 2..w / 2 + 2) - mean(0..4)
    }

    #[test]
    fn every_awkward_dicom_decodes() {
        // (file, width, height, 16-bit?, MONOCHROME1?, transfer syntax)
        let cases = [
            ("mono2_12bit_window.dcm", 256, 320, false, false, EXPLICIT_LE),
            ("mono1_implicit_nowindow.dcm", 320, 256, true, true, IMPLICIT_LE),
            (
                "jpeg_baseline_8bit.dcm",
                240,
                300,
                false,
                false,
                "1.2.840.10008.1.2.4.50",
            ),
            (
                "jpeg2000_lossless_12bit.dcm",
                256,
                288,
                false,
                false,
                "1.2.840.10008.1.2.4.90",
            ),
            ("rle_16bit.dcm", 192, 224, true, false, "1.2.840.10008.1.2.5"),
            (
                "photo_ybr_jpeg.dcm",
                320,
                240,
                false,
                false,
                "1.2.840.10008.1.2.4.50",
            ),
            ("rgb_uncompressed.dcm", 128, 160, false, false, EXPLICIT_LE),
            ("multiframe_2.dcm", 128, 160, false, false, EXPLICIT_LE),
            ("no_preamble.dcm", 160, 200, true, false, EXPLICIT_LE),
            ("bare_dataset_implicit.dcm", 160, 200, true, false, IMPLICIT_LE),
        ];
        for (name, w, h, wide, mono1, ts) in cases {
            let rel = format!("awkward/dicom/{name}");
            assert!(looks_like_dicom(&fixture(&rel)), "{name}: sniff");
            let d = decode(&rel).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.gray.dimensions(), (w, h), "{name}");
            assert_eq!(matches!(d.gray, Gray::U16(_)), wide, "{name}: bit depth");
            assert_eq!(d.monochrome1, mono1, "{name}");
            assert_eq!(d.format, "dicom");
            assert_eq!(d.technical.transfer_syntax.as_deref(), Some(ts), "{name}");
            // the implant is bright, or dark in stored values when MONOCHROME1
            let contrast = implant_contrast(&d.gray);
            assert!(
                if mono1 { contrast < 0.0 } else { contrast > 0.0 },
                "{name}: {contrast}"
            );
        }
    }

    #[test]
    fn window_and_technical_fields() {
        let d = decode("awkward/dicom/mono2_12bit_window.dcm").unwrap();
        let Gray::U8(g) = &d.gray else {
            panic!("windowed output must be 8-bit")
        };
        // window 2048 ± 1500: the implant (≈ 4000) saturates, the dark surround maps low
        assert_eq!(g.get_pixel(128, 160)[0], 255);
        assert!(g.get_pixel(2, 2)[0] < 60);
        let t = &d.technical;
        assert_eq!(t.modality.as_deref(), Some("IO"));
        assert_eq!(t.pixel_spacing_mm, Some([0.035, 0.035]));
        assert_eq!((t.bits_allocated, t.bits_stored), (Some(16), Some(12)));
        assert_eq!(t.photometric.as_deref(), Some("MONOCHROME2"));
        // ImagerPixelSpacing is the fallback; the rescale intercept (-1000) is shifted away
        let d = decode("awkward/dicom/mono1_implicit_nowindow.dcm").unwrap();
        assert_eq!(d.technical.pixel_spacing_mm, Some([0.1, 0.1]));
        let Gray::U16(g) = &d.gray else {
            panic!("no window: 16-bit")
        };
        assert_eq!(g.pixels().map(|p| p[0]).min(), Some(0));
    }

    #[test]
    fn nothing_identifying_leaves_the_module() {
        for entry in std::fs::read_dir(format!(
            "{}/../../tests/fixtures/awkward/dicom",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                bytes.windows(15).any(|w| w == b"DOE^JANE^SECRET"),
                "fixture carries the name"
            );
            let d = decode_dicom(&bytes, &DecodeLimits::default()).unwrap();
            let json = serde_json::to_string(&d.technical).unwrap();
            for secret in [
                "DOE", "JANE", "SECRET", "PID-", "CLINICA", "19700101", "20240102", "2.25.", "ACC-",
            ] {
                assert!(!json.contains(secret), "{secret} leaked: {json}");
            }
        }
    }

    #[test]
    fn only_the_first_frame_is_decoded() {
        let d = decode("awkward/dicom/multiframe_2.dcm").unwrap();
        let Gray::U8(g) = &d.gray else { panic!("8-bit") };
        assert!(
            g.get_pixel(64, 80)[0] > 200,
            "frame 0 has a bright implant; frame 1 is its negative"
        );
    }

    #[test]
    fn bad_dicoms_are_refused_with_a_reason() {
        assert_eq!(decode("bad/nopixels.dcm").unwrap_err(), RefuseReason::NoPixelData);
        let err = decode("bad/truncated.dcm").unwrap_err();
        assert!(
            matches!(&err, RefuseReason::Corrupt { format: "dicom", detail } if detail.contains("truncated")),
            "{err}"
        );
        assert!(err.to_string().contains("corrupt"));
    }

    #[test]
    fn size_limits_are_checked_before_decoding() {
        let limits = DecodeLimits {
            max_side: 300,
            ..DecodeLimits::default()
        };
        let err = decode_dicom(&fixture("awkward/dicom/mono2_12bit_window.dcm"), &limits).unwrap_err();
        assert!(
            matches!(
                err,
                RefuseReason::TooLarge {
                    width: 256,
                    height: 320,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("decompression bomb"));
    }

    /// Replace the first occurrence of `needle` in `bytes`.
    fn patch(bytes: &mut [u8], needle: &[u8], with: &[u8]) {
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle");
        bytes[at..at + with.len()].copy_from_slice(with);
    }

    #[test]
    fn hostile_headers_are_refused_without_allocating() {
        // Pixel Data claiming 4 GB in a 160 kB file
        let mut bytes = fixture("awkward/dicom/mono2_12bit_window.dcm");
        patch(
            &mut bytes,
            b"\xE0\x7F\x10\x00OW\0\0",
            b"\xE0\x7F\x10\x00OW\0\0\xF0\xFF\xFF\xFF",
        );
        let err = decode_dicom(&bytes, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, RefuseReason::Corrupt { .. }), "{err}");
        // Rows disagreeing with the embedded JPEG (300 rows) would make the codec adapter panic
        let mut bytes = fixture("awkward/dicom/jpeg_baseline_8bit.dcm");
        patch(
            &mut bytes,
            b"\x28\x00\x10\x00US\x02\x00\x2C\x01",
            b"\x28\x00\x10\x00US\x02\x00\x20\x00",
        );
        let err = decode_dicom(&bytes, &DecodeLimits::default()).unwrap_err();
        assert!(
            err.to_string().contains("embedded codestream is 240×300"),
            "{err}"
        );
        // an unsupported transfer syntax (JPEG-LS), same length as the original UID
        let mut bytes = fixture("awkward/dicom/jpeg_baseline_8bit.dcm");
        patch(&mut bytes, b"1.2.840.10008.1.2.4.50", b"1.2.840.10008.1.2.4.80");
        let err = decode_dicom(&bytes, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, RefuseReason::UnsupportedDicom(_)), "{err}");
    }

    #[test]
    fn sniffing() {
        for rel in ["bad/nopixels.dcm", "bad/truncated.dcm"] {
            assert!(looks_like_dicom(&fixture(rel)), "{rel}");
        }
        for rel in [
            "bad/empty.png",
            "bad/text.png",
            "bad/program.jpg",
            "awkward/rgba.png",
            "awkward/cmyk.jpg",
            "awkward/gray16.tif",
        ] {
            assert!(!looks_like_dicom(&fixture(rel)), "{rel}");
            assert!(decode(rel).is_err());
        }
    }

    #[test]
    fn mangled_files_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for name in [
            "mono2_12bit_window.dcm",
            "jpeg_baseline_8bit.dcm",
            "jpeg2000_lossless_12bit.dcm",
            "rle_16bit.dcm",
            "bare_dataset_implicit.dcm",
        ] {
            let original = fixture(&format!("awkward/dicom/{name}"));
            for round in 0..40 {
                let mut bytes = original.clone();
                if round % 2 == 0 {
                    bytes.truncate(next() as usize % bytes.len());
                } else {
                    for _ in 0..8 {
                        let at = next() as usize % bytes.len();
                        bytes[at] = next() as u8;
                    }
                }
                let _ = decode_dicom(&bytes, &DecodeLimits::default());
            }
        }
    }

    /// A 4×2 signed 12-bit (in 16) MONOCHROME2 file, intercept +1000, with `extra` elements.
    fn synthetic(photometric: &str, extra: Vec<dicom_object::mem::InMemElement>) -> Vec<u8> {
        use dicom_core::{dicom_value, DataElement, PrimitiveValue};
        let stored: [i16; 8] = [-2048, -1, 0, 2047, -1000, -872, -745, 3];
        let pixels: Vec<u8> = stored.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut elements = vec![
            DataElement::new(tags::MODALITY, VR::CS, "CT"),
            DataElement::new(tags::PATIENT_NAME, VR::PN, "DOE^JANE^SECRET"),
            DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, dicom_value!(U16, [1])),
            DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric),
            DataElement::new(tags::ROWS, VR::US, dicom_value!(U16, [2])),
            DataElement::new(tags::COLUMNS, VR::US, dicom_value!(U16, [4])),
            DataElement::new(tags::BITS_ALLOCATED, VR::US, dicom_value!(U16, [16])),
            DataElement::new(tags::BITS_STORED, VR::US, dicom_value!(U16, [12])),
            DataElement::new(tags::HIGH_BIT, VR::US, dicom_value!(U16, [11])),
            DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, dicom_value!(U16, [1])),
            DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, "1000"),
            DataElement::new(tags::RESCALE_SLOPE, VR::DS, "1"),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(pixels)),
        ];
        elements.extend(extra);
        let obj = dicom_object::InMemDicomObject::from_element_iter(elements)
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(EXPLICIT_LE)
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                    .media_storage_sop_instance_uid("2.25.1"),
            )
            .unwrap();
        let mut out = Vec::new();
        obj.write_all(&mut out).unwrap();
        out
    }

    fn pixels(gray: &Gray) -> Vec<u32> {
        match gray {
            Gray::U8(g) => g.pixels().map(|p| u32::from(p[0])).collect(),
            Gray::U16(g) => g.pixels().map(|p| u32::from(p[0])).collect(),
        }
    }

    #[test]
    fn free_text_in_modality_is_dropped() {
        use dicom_core::DataElement;
        let bytes = synthetic(
            "MONOCHROME2",
            vec![DataElement::new(tags::MODALITY, VR::CS, "JOHN DOE 1970-01-01")],
        );
        let d = decode_dicom(&bytes, &DecodeLimits::default()).unwrap();
        assert_eq!(d.technical.modality, None);
        assert_eq!(d.technical.photometric.as_deref(), Some("MONOCHROME2"));
        let d = decode_dicom(&synthetic("MONOCHROME2", vec![]), &DecodeLimits::default()).unwrap();
        assert_eq!(d.technical.modality.as_deref(), Some("CT"));
    }

    #[test]
    fn signed_samples_rescale_and_voi_lut() {
        use dicom_core::value::DataSetSequence;
        use dicom_core::{dicom_value, DataElement, PrimitiveValue};
        // no window: rescaled values (-1048 … 3047) shifted so the minimum is 0
        let d = decode_dicom(&synthetic("MONOCHROME2", vec![]), &DecodeLimits::default()).unwrap();
        assert!(matches!(d.gray, Gray::U16(_)));
        assert_eq!(pixels(&d.gray), [0, 2047, 2048, 4095, 1048, 1176, 1303, 2051]);
        // VOI LUT (256 entries from rescaled value 0, 8 bits, identity ramp) wins over a window
        let item = dicom_object::InMemDicomObject::from_element_iter([
            DataElement::new(tags::LUT_DESCRIPTOR, VR::US, dicom_value!(U16, [256, 0, 8])),
            DataElement::new(tags::LUT_DATA, VR::US, PrimitiveValue::U16((0..256u16).collect())),
        ]);
        let extra = vec![
            DataElement::new(tags::VOILUT_SEQUENCE, VR::SQ, DataSetSequence::from(vec![item])),
            DataElement::new(tags::WINDOW_CENTER, VR::DS, "40"),
            DataElement::new(tags::WINDOW_WIDTH, VR::DS, "400"),
        ];
        let d = decode_dicom(&synthetic("MONOCHROME2", extra), &DecodeLimits::default()).unwrap();
        assert!(matches!(d.gray, Gray::U8(_)));
        assert_eq!(pixels(&d.gray), [0, 255, 255, 255, 0, 128, 255, 255]);
        // window only: rescaled 995.5 … 1003.5 spread over 0 … 255
        let extra = vec![
            DataElement::new(tags::WINDOW_CENTER, VR::DS, "1000"),
            DataElement::new(tags::WINDOW_WIDTH, VR::DS, "9"),
        ];
        let d = decode_dicom(&synthetic("MONOCHROME2", extra), &DecodeLimits::default()).unwrap();
        assert_eq!(pixels(&d.gray), [0, 112, 143, 255, 0, 0, 0, 239]);
        assert_eq!(d.technical.modality.as_deref(), Some("CT"));
    }

    #[test]
    fn palette_colour_is_unsupported() {
        let err = decode_dicom(&synthetic("PALETTE COLOR", vec![]), &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, RefuseReason::UnsupportedDicom(_)), "{err}");
    }
}
