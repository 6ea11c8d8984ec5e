//! Procedural periapical radiographs of dental implants ("raiox synth").
//!
//! Real labelled implant films cannot be downloaded, so demos, tests and large benchmarks use this
//! generator. It owns the synthetic implant catalogue ([`systems`]: eight systems from four
//! manufacturers, each with its own geometry), the renderer of one film ([`render`]: implant
//! silhouette evaluated analytically per pixel over procedural bone, neighbouring teeth and an
//! optional restoration, then film blur, tone curve, noise and occasional inversion) and the
//! dataset writer ([`generate`]: one PNG per film plus `labels.csv` and `boxes.csv`). Every film
//! is a pure function of (system, sample, seed, size, kind), so output is byte-identical whatever
//! the thread count. Each film also knows where its implants are ([`render_film`]), so the same
//! sets train identification and score the implant finder (`raiox-find`).
//!
//! Two kinds of film ([`FilmKind`]): `bare`, one implant per square film (the original set), and
//! `restored`, which imitates real periapical films (several implants of different systems with
//! metal-ceramic crowns, both jaws, treated natural teeth, the occasional panoramic strip).
//!
//! Files: `systems` (catalogue data), `geometry` (implant shape), `anatomy` (teeth, restoration),
//! `scene` (pose, bone, rasterising), `texture` (noise, trabecular tile), `film` (processing),
//! `rng` (SplitMix64), `types` (the generator's vocabulary), `render` (one film), `write` (dataset
//! on disk).

mod anatomy;
mod film;
mod geometry;
mod render;
pub mod rng;
mod scene;
mod systems;
mod texture;
mod types;
mod write;

pub use render::{render, render_film};
pub use systems::all as systems;
pub use types::{FilmKind, ImplantTruth, SynthFilm, SynthOptions, SynthReport, SynthSystem};
pub use write::{generate, generate_with};
