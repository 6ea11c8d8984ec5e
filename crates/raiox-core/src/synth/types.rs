//! The generator's vocabulary: a synthetic system, what to generate, the kinds of film, the truth
//! about each implant drawn, and what a run wrote.

use super::geometry;

/// One synthetic implant system: the label it is written under plus the geometry that draws it.
#[derive(Debug)]
pub struct SynthSystem {
    /// Manufacturer display name, also the first directory level of a generated set.
    pub manufacturer: &'static str,
    /// System display name, also the second directory level of a generated set.
    pub system: &'static str,
    pub(crate) geometry: geometry::Geometry,
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

/// What a film shows: one bare implant on a square film, or a restored mouth that imitates a real
/// periapical film.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilmKind {
    /// One implant per `size`×`size` film, apex down, ±20° tilt, sometimes a restoration.
    #[default]
    Bare,
    /// 1–3 implants of different systems with abutment and metal-ceramic crown between natural
    /// teeth (fillings, root-canal fillings), upper or lower jaw. Portrait films `size` px high and
    /// `size` × 340 / 410 wide; about 1 in 8 is a panoramic-like strip `2 × size` wide.
    Restored,
}

impl FilmKind {
    /// Every kind (what a front offers as choices).
    pub const ALL: [FilmKind; 2] = [FilmKind::Bare, FilmKind::Restored];

    /// The name fronts and reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            FilmKind::Bare => "bare",
            FilmKind::Restored => "restored",
        }
    }
}

impl std::str::FromStr for FilmKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::util::parse_choice(s, &FilmKind::ALL, |v| v.as_str())
    }
}

/// Where one implant lies on its film, in film pixels (x right, y down, origin at the top-left
/// corner of the film): the truth that `labels.csv` and `boxes.csv` record.
#[derive(Debug, Clone, PartialEq)]
pub struct ImplantTruth {
    /// The implant's manufacturer.
    pub manufacturer: &'static str,
    /// The implant's system.
    pub system: &'static str,
    /// Axis-aligned box `(x, y, w, h)` of the fixture body (platform to apex; no abutment, crown
    /// or external hex).
    pub fixture: (f32, f32, f32, f32),
    /// Apex direction as in `raiox-find`: the platform-to-apex unit vector is `(-sin a, cos a)`;
    /// 0 = apex down, 180 = apex up; in (-180, 180].
    pub angle_deg: f32,
    /// Axis-aligned box of the crown, where one is drawn.
    pub crown: Option<(f32, f32, f32, f32)>,
}

/// One rendered film and the truth about every implant on it (the film's own system first).
#[derive(Debug, Clone)]
pub struct SynthFilm {
    /// The film.
    pub image: image::GrayImage,
    /// Every implant on the film.
    pub implants: Vec<ImplantTruth>,
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
