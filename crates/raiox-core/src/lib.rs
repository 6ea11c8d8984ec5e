//! Raiox Studio's core: decode, de-identify, find and standardise implants, the catalogue, and the
//! jobs both fronts call (import, embed, curate, identify, near-duplicates, export).
//!
//! Layers, each importing only from those below it (checked by `tests/layers.rs`):
//! 1. [`util`], [`error`], [`progress`] — hashing, atomic writes, the error type, job control;
//! 2. pure steps — [`decode`], [`standardise`] (with the `raiox-find` implant finder), [`embed`]
//!    (the encoder trait; the Candle models live in `raiox-embed`), [`index`], and [`synth`];
//! 3. storage — [`library`] (files, lock) and [`catalogue`], which owns every table;
//! 4. jobs — [`ingest`] (import), [`embedding`], [`curate`], [`search`], [`export`].
//!
//! No GUI, CLI, Candle or network dependency: encoders and the web downloader come in as trait
//! objects. Long operations take a [`progress::JobControl`] for progress and cancellation.

pub mod catalogue;
pub mod curate;
pub mod decode;
pub mod embed;
pub mod embedding;
pub mod error;
pub mod export;
pub mod index;
pub mod ingest;
pub mod library;
pub mod progress;
pub mod search;
pub mod standardise;
pub mod synth;
pub mod util;

pub use error::Error;
