//! The core's error type.
//!
//! Why: fronts need to tell a usage mistake (unknown system, bad id) from an I/O or database fault,
//! and every message must name what it is about (the file, the id) without leaking secrets.

use std::path::PathBuf;

use crate::decode::RefuseReason;

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
