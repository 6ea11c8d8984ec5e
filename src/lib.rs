//! Raiox Studio: the window, and the library paths the `raiox` CLI, tests and benches use.
//!
//! The work happens below: `raiox-core` (decode, standardise, catalogue, jobs), `raiox-embed` (Candle
//! encoders), `raiox-sync` (production and web downloads), `raiox-bench`. This package adds the
//! thin fronts — the window here and the CLI in the binary — and re-exports the layers under one
//! name so a front never reaches past them.

pub use raiox_bench as bench;
pub use raiox_core::{
    catalogue, curate, decode, embedding, error, export, index, ingest, library, progress, search,
    standardise, synth, util, Error,
};
pub use raiox_sync as sync;

/// Encoders: the trait and stamps from the core, the Candle models and the selection rule.
pub mod embed {
    pub use raiox_core::embed::*;
    pub use raiox_embed::{clip, head, lite0, select};
}

#[cfg(feature = "gui")]
pub mod gui;
