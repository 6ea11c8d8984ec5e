//! The core's error type.
//!
//! Why: fronts need to tell a usage mistake (unknown system, bad id) from an I/O or database fault,
//! and every message must name what it is about (the file, the id) without leaking secrets.

use std::path::PathBuf;

/// Errors from library operations (per-file import refusals are reported separately, not as errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalogue database failed.
    #[error("catalogue database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A request that cannot be satisfied as asked (unknown system, bad crop, ...).
    #[error("{0}")]
    Invalid(String),
    /// Production (the object store or the database) failed or refused; the text is secret-free.
    #[error("{0}")]
    Remote(String),
    /// An encoder could not be loaded or could not embed (unreadable weights, a failed forward
    /// pass); `reason` already names the file when there is one.
    #[error("{encoder}: {reason}")]
    Model {
        /// The encoder concerned ("EfficientNet-Lite0", "CLIP ViT-B/32").
        encoder: String,
        /// What went wrong.
        reason: String,
    },
    /// An image file the library holds or was given could not be decoded: the typed reason.
    #[error("{}: {reason}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why the decoders refused it.
        reason: RefuseReason,
    },
    /// Raster work on a decoded image failed (resizing, PNG encoding).
    #[error("{step}: {reason}")]
    Image {
        /// The step that failed.
        step: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The implant has no vector from the active encoder yet.
    #[error("implant {0} has no vector yet: embed the library first")]
    NotEmbedded(i64),
    /// The library has no vectors from this encoder to search.
    #[error("no {encoder} vectors in this library yet: embed the library first (`raiox embed`, or Embed in the window)")]
    NoVectors {
        /// The encoder's id.
        encoder: String,
    },
    /// No image has this id.
    #[error("no implant with id {0} in this library")]
    NotFound(i64),
    /// No film has this id.
    #[error("no film with id {0} in this library")]
    NoFilm(i64),
}

impl Error {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Invalid(format!("malformed JSON in the catalogue: {e}"))
    }
}

/// Why an original was refused; the ingest layer prefixes the file name. (Here rather than in
/// `decode`, which returns it, because [`Error::Refused`] carries it too.)
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum RefuseReason {
    /// Zero-byte file.
    #[error("the file is empty")]
    Empty,
    /// Content matches no supported image format (whatever the extension says).
    #[error("not a supported image or DICOM file ({0})")]
    UnknownFormat(String),
    /// The decoder failed part-way: truncated data, bad checksum, broken structure.
    #[error("corrupt or truncated {format} data: {detail}")]
    Corrupt {
        /// Format being decoded.
        format: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// Declared size beyond the limits: a decompression bomb or an absurd scan.
    #[error("declared size {width}×{height} is beyond the decode limits (max {max_side} px a side, {max_pixels} pixels): refused as a possible decompression bomb")]
    TooLarge {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// Configured side limit.
        max_side: u32,
        /// Configured pixel limit.
        max_pixels: u64,
    },
    /// Too small to show an implant.
    #[error("image is {width}×{height}, smaller than the {min_side} px minimum side")]
    TooSmall {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Configured minimum.
        min_side: u32,
    },
    /// A sliver, not a radiograph.
    #[error("image is {width}×{height}: aspect ratio beyond {max_aspect}:1")]
    ExtremeAspect {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Configured maximum ratio.
        max_aspect: f64,
    },
    /// A DICOM object without a Pixel Data element (a report, a structured document...).
    #[error("DICOM file has no pixel data")]
    NoPixelData,
    /// A DICOM the decoder cannot handle (unknown transfer syntax, colour model...).
    #[error("unsupported DICOM: {0}")]
    UnsupportedDicom(String),
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
}
