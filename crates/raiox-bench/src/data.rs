//! The benchmark inputs: a cached synthetic library, the standardisation set, embedding inputs and
//! kNN vectors, all under one data folder.
//!
//! Why on disk and cached: building a 10 000-film library takes minutes and a 100 000-film one much
//! longer, so it is built once and reused (a marker file says it is complete). Every input the
//! Python anchors need is written where they can find it, so both sides time the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::GrayImage;

use raiox_core::catalogue::images;
use raiox_core::ingest::import::{import, ImportOptions};
use raiox_core::ingest::labels::LabelSource;
use raiox_core::library::Library;
use raiox_core::progress::JobControl;
use raiox_core::synth::{self, SynthOptions};
use raiox_core::Error;

/// Dimension of the kNN benchmark vectors (CLIP ViT-B/32's).
pub const DIM: usize = 512;
/// Seed of the kNN queries (shared with the FAISS anchor through `queries.f32`).
pub const QUERY_SEED: u64 = 0xDEC0DE;
/// Seed of the cached library's films.
const LIBRARY_SEED: u64 = 5;
/// Seed of the standardisation set (the one `benches/anchors/run_standardise.sh` uses).
const STANDARDISE_SEED: u64 = 11;
/// Written last into a finished folder; a folder without it is rebuilt.
const MARKER: &str = "bench-complete";
/// Extensions the standardisation set is read with (the anchor uses the same list).
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp"];

/// The folders under the data root.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// The data root (`results.json` goes here).
    pub root: PathBuf,
    /// Standardisation films for both sides.
    pub standardise: PathBuf,
    /// The standardised images embedded by both sides.
    pub embed: PathBuf,
    /// `queries.f32` and `vectors_<n>.f32` (little-endian f32 rows of [`DIM`]).
    pub knn: PathBuf,
    /// Standard PNGs and `rows.jsonl` for the upload and upsert anchors.
    pub sync: PathBuf,
}

impl Dirs {
    /// The layout under `root` (folders are created when written).
    pub fn new(root: &Path) -> Dirs {
        let inputs = root.join("inputs");
        Dirs {
            root: root.to_path_buf(),
            standardise: inputs.join("standardise"),
            embed: inputs.join("embed"),
            knn: inputs.join("knn"),
            sync: inputs.join("sync"),
        }
    }

    /// The cached library of `items` films.
    pub fn library(&self, items: usize) -> PathBuf {
        self.root.join(format!("library-{items}"))
    }
}

/// The default data folder: the platform cache dir (e.g. `~/.cache/raioxstudio/bench`).
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("ai", "Raiox", "Raiox Studio").map(|d| d.cache_dir().join("bench"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Films written by `raiox synth` into `dir` unless it already holds this very set (a sibling
/// `<dir>.complete` file names the set; it stays outside `dir`, which is imported or read whole).
fn synthesise(dir: &Path, per_class: usize, seed: u64, size: u32, ctl: &JobControl) -> Result<(), Error> {
    let marker = dir.with_extension("complete");
    let wanted = format!("per_class={per_class} seed={seed} size={size}");
    if dir.is_dir() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    let opts = SynthOptions {
        per_class,
        seed,
        size,
    };
    synth::generate(dir, &opts, ctl).map_err(|e| Error::Invalid(format!("synthesising: {e:#}")))?;
    if ctl.is_cancelled() {
        return Err(Error::Invalid("cancelled".into()));
    }
    std::fs::write(&marker, wanted).map_err(io(&marker))
}

/// The library of `items` labelled synthetic films (`items / 8` per system), built on first use by
/// the real import path (decode, standardise, catalogue) without embedding, then reused.
pub fn cached_library(dirs: &Dirs, items: usize, px: u32, ctl: &JobControl) -> Result<Library, Error> {
    let root = dirs.library(items);
    if root.join(MARKER).is_file() {
        return Library::open(&root);
    }
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(io(&root))?;
    }
    let films = dirs.root.join(format!("library-{items}.synth"));
    synthesise(&films, items.div_ceil(8), LIBRARY_SEED, px, ctl)?;
    let mut lib = Library::open(&root)?;
    let opts = ImportOptions {
        labels: LabelSource::Csv(films.join("labels.csv")),
        ..ImportOptions::default()
    };
    let mut refused = Vec::new();
    let summary = import(&mut lib, std::slice::from_ref(&films), &opts, ctl, &mut |item| {
        if let Some(e) = &item.error {
            refused.push(format!("{}: {e}", item.path));
        }
    })?;
    if summary.refused > 0 || ctl.is_cancelled() {
        return Err(Error::Invalid(format!(
            "building the bench library: {} films refused{} {}",
            summary.refused,
            if ctl.is_cancelled() { " (cancelled)" } else { "" },
            refused.join("; ")
        )));
    }
    // The library keeps its own copies of the originals.
    std::fs::remove_dir_all(&films).map_err(io(&films))?;
    let _ = std::fs::remove_file(films.with_extension("complete"));
    let marker = root.join(MARKER);
    std::fs::write(&marker, b"").map_err(io(&marker))?;
    Ok(lib)
}

/// Every image file under `dir`, recursively, sorted so runs see the same order.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let path = entry.map_err(io(&d))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every image file under `dir`, read into memory (so timing starts from file bytes, not I/O).
pub fn read_images(dir: &Path) -> Result<Vec<Vec<u8>>, Error> {
    image_files(dir)?
        .iter()
        .map(|p| std::fs::read(p).map_err(io(p)))
        .collect()
}

/// The standardisation set (8 systems × `per_class` films of `px`), written to
/// [`Dirs::standardise`] for the Pillow anchor and returned as file bytes.
pub fn standardise_set(
    dirs: &Dirs,
    per_class: usize,
    px: u32,
    ctl: &JobControl,
) -> Result<Vec<Vec<u8>>, Error> {
    synthesise(&dirs.standardise, per_class, STANDARDISE_SEED, px, ctl)?;
    read_images(&dirs.standardise)
}

/// The first `n` standard images of the library, decoded for the encoders and copied as PNGs to
/// [`Dirs::embed`] for the PyTorch anchor.
pub fn embed_inputs(dirs: &Dirs, lib: &Library, n: usize) -> Result<Vec<GrayImage>, Error> {
    let dir = &dirs.embed;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut out = Vec::with_capacity(n);
    for (i, rec) in images::list(lib.conn(), None)?.iter().take(n).enumerate() {
        let path = lib.standard_path(&rec.standard_sha256);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let img = image::load_from_memory(&bytes)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?
            .to_luma8();
        let copy = dir.join(format!("{i:04}.png"));
        std::fs::write(&copy, &bytes).map_err(io(&copy))?;
        out.push(img);
    }
    if out.len() < n {
        return Err(Error::Invalid(format!(
            "the bench library holds fewer than {n} images"
        )));
    }
    Ok(out)
}

/// Deterministic clustered unit vectors of [`DIM`], like embeddings of many images of a few hundred
/// systems (300 centres, noise of the same order as the centres' spread).
pub fn clustered_vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    clustered_vectors_dim(n, DIM, seed)
}

/// [`clustered_vectors`] of any dimension (production's vectors have the encoder's).
pub fn clustered_vectors_dim(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = XorShift(seed);
    let centres: Vec<Vec<f32>> = (0..300)
        .map(|_| (0..dim).map(|_| rng.uniform()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = centres[(i * 7919) % 300]
                .iter()
                .map(|c| c + 0.8 * rng.uniform())
                .collect();
            raiox_core::embed::l2_normalise(&mut v);
            v
        })
        .collect()
}

/// A small seeded generator for benchmark inputs (xorshift64): the same numbers on every machine,
/// with no dependency for it.
pub struct XorShift(pub u64);

impl XorShift {
    /// Uniform in [-0.5, 0.5).
    pub fn uniform(&mut self) -> f32 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f32 {
        let u1 = (self.uniform() + 0.5).max(1e-7);
        let u2 = self.uniform() + 0.5;
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// Seed of the `n`-vector kNN set (so every size is its own set, as in `benches/search.rs`).
pub fn vector_seed(n: usize) -> u64 {
    0x5EED + n as u64
}

/// Write rows as little-endian f32, the layout numpy's `fromfile(dtype="<f4")` reads.
pub fn write_f32(path: &Path, rows: &[Vec<f32>]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io(path))?);
    for x in rows.iter().flatten() {
        f.write_all(&x.to_le_bytes()).map_err(io(path))?;
    }
    f.flush().map_err(io(path))
}
