//! Raiox Studio core: import, de-identify, standardise, label and catalogue dental-implant radiographs.
//!
//! The library has no GUI dependency; the `raiox` CLI (and later the GUI) are thin fronts that call
//! these functions. Long operations take a [`progress::JobControl`] for progress and cancellation.

pub mod bench;
pub mod catalogue;
pub mod curate;
pub mod decode;
pub mod embed;
pub mod embedding;
pub mod error;
pub mod export;
#[cfg(feature = "gui")]
pub mod gui;
pub mod index;
pub mod ingest;
pub mod library;
pub mod progress;
pub mod search;
pub mod standardise;
pub mod sync;
pub mod synth;
pub mod util;

pub use error::Error;
pub mod cli;
