//! Procedural periapical radiographs of dental implants ("raiox synth").
//!
//! Real labelled implant films cannot be downloaded, so demos, tests and large benchmarks use this
//! generator. It owns the synthetic implant catalogue ([`systems`]: eight systems from four
//! manufacturers, each with its own geometry), the renderer of one film ([`render`]: implant
//! silhouette evaluated analytically per pixel over procedural bone, neighbouring teeth and an
//! optional restoration, then film blur, tone curve, noise and occasional inversion) and the
//! dataset writer ([`generate`]: one PNG per film plus `labels.csv` with each implant's box and
//! `boxes.csv` for `raiox eval-finder`). Every film is a pure function
//! of (system, sample, seed, size), so output is byte-identical whatever the thread count.
//!
//! Files: `systems` (catalogue data), `geometry` (implant shape), `anatomy` (teeth, restoration),
//! `scene` (pose, bone, rasterising), `texture` (noise, trabecular tile), `film` (processing),
//! `rng` (SplitMix64), `write` (dataset on disk).

mod anatomy;
mod film;
mod geometry;
mod rng;
mod scene;
mod systems;
mod texture;
mod write;

pub use write::generate;

/// One synthetic implant system: the label it is written under plus the geometry that draws it.
#[derive(Debug)]
pub struct SynthSystem {
    /// Manufacturer display name, also the first directory level of a generated set.
    pub manufacturer: &'static str,
    /// System display name, also the second directory level of a generated set.
    pub system: &'static str,
    pub(crate) geometry: geometry::Geometry,
}

/// Every synthetic system, in the order `generate` writes them (the order of `labels.csv`).
pub fn systems() -> &'static [SynthSystem] {
    &systems::SYSTEMS
}

/// What to generate: `per_class` films per system, from `seed`, each `size`×`size` pixels.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Films per system.
    pub per_class: usize,
    /// Master seed; the same seed gives byte-identical output.
    pub seed: u64,
    /// Side of each square film in pixels.
    pub size: u32,
}

impl Default for SynthOptions {
    /// 100 films per class, seed 0, 400 px: a quick demo set.
    fn default() -> Self {
        SynthOptions {
            per_class: 100,
            seed: 0,
            size: 400,
        }
    }
}

/// What `generate` did, for the CLI summary and the GUI.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthReport {
    /// Films written (fewer than requested when cancelled).
    pub written: usize,
    /// Number of systems (classes) in the set.
    pub classes: usize,
    /// The `labels.csv` listing every written film.
    pub labels_csv: std::path::PathBuf,
    /// Whether every film was written or the job was cancelled.
    pub outcome: crate::progress::Outcome,
}

/// Render one film (deterministic) — used by tests and benchmarks without touching disk.
pub fn render(system: &SynthSystem, sample: usize, seed: u64, size: u32) -> image::GrayImage {
    render_with_truth(system, sample, seed, size).0
}

/// Render one film and say where its implant's fixture is (film pixels, oriented box).
pub fn render_with_truth(
    system: &SynthSystem,
    sample: usize,
    seed: u64,
    size: u32,
) -> (image::GrayImage, crate::standardise::Fixture) {
    let key = rng::name_key(&[system.manufacturer, system.system]);
    let mut rng = rng::Rng::for_film(seed, key, sample);
    let scene = scene::Scene::random(system, &mut rng, size);
    let film = film::Film::random(&mut rng);
    let truth = scene.fixture();
    (film.develop(scene.rasterise(size), size, &mut rng), truth)
}
