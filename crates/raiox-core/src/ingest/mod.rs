//! Bringing originals into a library: de-identification, labels, matching boxes, the import job.
//!
//! De-identification happens by construction: only pixels and the whitelisted [`crate::decode::Technical`]
//! fields leave the decoders, standard images are written without metadata, and the source path is
//! kept only as local provenance (never used in names, exports or uploads); so is the URL of an
//! image downloaded from the web.
pub mod assign;
pub mod import;
pub mod labels;
pub mod resolve;
pub mod web;
