//! Deterministic classical finder for dental-implant fixtures on radiographs.
//!
//! Metal is the most radiopaque thing on a dental film, but so are crowns. The finder thresholds
//! the metal, separates *narrow* metal (fixtures, abutments) from restorations (morphological
//! openings sized to the expected fixture width, and the denser crown alloys), then fits an
//! oriented box to each long, solid, parallel-sided narrow part, cuts off crown remnants by
//! width and density, and decides which end is the apex from what lies beyond each end. See
//! the crate README for the method, the parameters and the measured figures.

mod crop;
pub mod eval;
mod find;
mod profile;
mod raster;
mod types;

pub use crop::crop_apex_down;
pub use find::{aabb_iou, find_implants, find_implants_with, inside_share};
pub use types::{FinderParams, FoundImplant};
