//! The import job: files and folders in, de-identified standardised records out.
//!
//! Why this shape: hashing, decoding and standardising run in parallel on all cores, while the
//! database is written from one thread, one transaction per chunk, after the chunk's files are
//! safely on disk. A bad file becomes a `refused` item with its reason and never stops the batch.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use image::GrayImage;
use rayon::prelude::*;
use serde::Serialize;

use crate::catalogue::images::{self, Attributes, Modality, NewImage, Status};
use crate::catalogue::systems::Catalogue;
use crate::embed::Encoder;
use crate::ingest::budget::{footprint, Budget};
use crate::ingest::decode::{decode, DecodeLimits, RefuseReason};
use crate::ingest::labels::{LabelSource, Labeller, RawLabel};
use crate::library::{sha256_hex, write_atomic, Layout, Library};
use crate::progress::{JobControl, Outcome};
use crate::search::identify::stamp_of;
use crate::search::neardup::{NearDupChecker, NearDuplicate};
use crate::search::store;
use crate::standardise::{standardise, Params};
use crate::Error;
use std::sync::Arc;

/// A file's bytes and their SHA-256.
type Loaded = (Vec<u8>, String);

/// Files handled per transaction.
const CHUNK: usize = 32;

/// Extensions picked up when walking a folder (named files are always tried, whatever their name).
const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "jpe", "jfif", "tif", "tiff", "bmp", "dib", "webp", "gif", "dcm", "dicom", "dic",
];

/// Import settings.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Where labels come from.
    pub labels: LabelSource,
    /// Mark labelled imports as confirmed.
    pub confirm: bool,
    /// Decoder guards.
    pub limits: DecodeLimits,
    /// Standardisation parameters for new images.
    pub params: Params,
    /// Embed new images with this encoder in the same transaction as their records, and warn about
    /// near-duplicates; `None` leaves embedding to a later `raiox embed`.
    pub encoder: Option<Arc<dyn Encoder>>,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Added to the library.
    Imported,
    /// Byte-identical to an image already in the library: not added again.
    Duplicate,
    /// Not imported; `error` says why.
    Refused,
}

/// The outcome of one file, as printed by `raiox import --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportItem {
    /// The path as found.
    pub path: String,
    /// What happened.
    pub status: ItemStatus,
    /// Record id (imported or the existing duplicate).
    pub id: Option<i64>,
    /// Standard name, when labelled.
    pub name: Option<String>,
    /// Canonical manufacturer.
    pub manufacturer: Option<String>,
    /// Canonical system.
    pub system: Option<String>,
    /// Why the file was refused.
    pub error: Option<String>,
    /// Set when the image looks like a copy (re-encoded, shifted, mirrored) of a library image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_duplicate: Option<NearDuplicate>,
}

/// Totals for a whole import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// Files added.
    pub imported: usize,
    /// Files already in the library.
    pub duplicates: usize,
    /// Files refused.
    pub refused: usize,
    /// Whether every file was handled.
    pub outcome: Outcome,
}

/// A resolved label: ids for the database and names for the report.
#[derive(Debug, Clone)]
struct Label {
    manufacturer_id: i64,
    system_id: i64,
    manufacturer: String,
    system: String,
}

/// Import files and folders (recursively) into `lib`, reporting each file through `on_item`.
pub fn import(
    lib: &mut Library,
    inputs: &[PathBuf],
    opts: &ImportOptions,
    ctl: &JobControl,
    on_item: &mut dyn FnMut(&ImportItem),
) -> Result<ImportSummary, Error> {
    let labeller = Labeller::new(opts.labels.clone())?;
    let catalogue = Catalogue::load(lib.conn())?;
    lib.sweep()?;
    let _writing = lib.writing()?;
    let mut summary = ImportSummary {
        imported: 0,
        duplicates: 0,
        refused: 0,
        outcome: Outcome::Finished,
    };
    let mut emit = |item: ImportItem, summary: &mut ImportSummary| {
        match item.status {
            ItemStatus::Imported => summary.imported += 1,
            ItemStatus::Duplicate => summary.duplicates += 1,
            ItemStatus::Refused => summary.refused += 1,
        }
        on_item(&item);
    };
    let (files, missing) = collect_files(inputs);
    for (path, reason) in missing {
        emit(refused(&path, reason), &mut summary);
    }
    let mut checker = match &opts.encoder {
        Some(encoder) => {
            store::ensure_table(lib.conn(), &stamp_of(encoder.as_ref()))?;
            Some(NearDupChecker::open(lib, encoder.as_ref())?)
        }
        None => None,
    };
    let mut resolved: HashMap<RawLabel, Result<Label, String>> = HashMap::new();
    let total = files.len() as u64;
    for (n, chunk) in files.chunks(CHUNK).enumerate() {
        if ctl.is_cancelled() {
            summary.outcome = Outcome::Cancelled;
            break;
        }
        // Read and hash in parallel.
        let read: Vec<(&PathBuf, Result<Loaded, String>)> = chunk
            .par_iter()
            .map(|p| {
                (
                    p,
                    fs::read(p)
                        .map(|b| {
                            let h = sha256_hex(&b);
                            (b, h)
                        })
                        .map_err(|e| RefuseReason::Io(e.to_string()).to_string()),
                )
            })
            .collect();
        // Duplicates, labels: decided on this thread against the database.
        let mut todo = Vec::new();
        let mut later_dups = Vec::new();
        let mut in_chunk = HashSet::new();
        for (path, result) in read {
            let (bytes, sha) = match result {
                Ok(v) => v,
                Err(reason) => {
                    emit(refused(path, reason), &mut summary);
                    continue;
                }
            };
            if let Some(id) = images::id_by_sha(lib.conn(), &sha)? {
                emit(duplicate(lib, path, id)?, &mut summary);
                continue;
            }
            if !in_chunk.insert(sha.clone()) {
                later_dups.push((path, sha));
                continue;
            }
            let label = match labeller.label_for(path) {
                None => None,
                Some(raw) => match resolved
                    .entry(raw.clone())
                    .or_insert_with(|| resolve(&catalogue, &raw))
                    .clone()
                {
                    Ok(l) => Some(l),
                    Err(reason) => {
                        emit(refused(path, reason), &mut summary);
                        continue;
                    }
                },
            };
            todo.push((path, bytes, sha, label));
        }
        // Decode, standardise and store files in parallel.
        let layout = lib.layout();
        let prepared: Vec<_> = todo
            .into_par_iter()
            .map(|(path, bytes, sha, label)| {
                let result = catch_unwind(AssertUnwindSafe(|| prepare(layout, path, &bytes, &sha, opts)))
                    .unwrap_or_else(|_| Err("the decoder failed unexpectedly on this file".to_string()));
                (path, result, label)
            })
            .collect();
        let vectors = match &opts.encoder {
            Some(encoder) => embed_prepared(encoder.as_ref(), &prepared),
            None => HashMap::new(),
        };
        // One transaction for the chunk's records (and their vectors).
        let tx = lib.conn_mut().transaction()?;
        let mut items = Vec::new();
        for (path, result, label) in prepared {
            let (new, _) = match result {
                Ok(new) => new,
                Err(reason) => {
                    items.push(refused(path, reason));
                    continue;
                }
            };
            let id = images::insert(&tx, &new)?;
            let mut item = ImportItem {
                path: path.display().to_string(),
                status: ItemStatus::Imported,
                id: Some(id),
                name: None,
                manufacturer: None,
                system: None,
                error: None,
                near_duplicate: None,
            };
            if let (Some(encoder), Some((v, mirrored))) = (&opts.encoder, vectors.get(&new.sha256)) {
                store::put(&tx, id, &new.standard_sha256, &stamp_of(encoder.as_ref()), v)?;
                if let Some(checker) = checker.as_mut() {
                    item.near_duplicate = checker.check_and_add(id, v, mirrored);
                }
            }
            if let Some(l) = label {
                let attrs = Attributes {
                    modality: new.modality,
                    ..Attributes::default()
                };
                let status = if opts.confirm {
                    Status::Confirmed
                } else {
                    Status::Labelled
                };
                item.name =
                    images::set_label(&tx, id, Some((l.manufacturer_id, l.system_id)), &attrs, status)?;
                item.manufacturer = Some(l.manufacturer);
                item.system = Some(l.system);
            }
            items.push(item);
        }
        tx.commit()?;
        for item in items {
            emit(item, &mut summary);
        }
        for (path, sha) in later_dups {
            let id = images::id_by_sha(lib.conn(), &sha)?;
            match id {
                Some(id) => emit(duplicate(lib, path, id)?, &mut summary),
                None => emit(
                    refused(path, "its identical twin in this batch was refused".into()),
                    &mut summary,
                ),
            }
        }
        ctl.report("import", ((n + 1) * CHUNK).min(files.len()) as u64, total);
    }
    Ok(summary)
}

/// Decode, standardise and write one file's original and standard image; the record to insert.
fn prepare(
    lib: &Layout,
    path: &Path,
    bytes: &[u8],
    sha: &str,
    opts: &ImportOptions,
) -> Result<(NewImage, GrayImage), String> {
    // Decoders share one memory budget (held until the working copies are gone).
    let _memory = Budget::decoders().reserve(footprint(bytes));
    let decoded = decode(bytes, &opts.limits).map_err(|e| e.to_string())?;
    let std = standardise(&decoded, &opts.params).map_err(|e| e.to_string())?;
    let std_sha = sha256_hex(&std.png);
    let (width, height) = decoded.gray.dimensions();
    write_atomic(&lib.original_path(sha, decoded.format), bytes).map_err(|e| e.to_string())?;
    write_atomic(&lib.standard_path(&std_sha), &std.png).map_err(|e| e.to_string())?;
    let modality = match decoded.technical.modality.as_deref() {
        Some("IO") => Some(Modality::Periapical),
        Some("PX") => Some(Modality::Panoramic),
        Some("XC") | Some("OT") => None,
        _ => None,
    };
    let new = NewImage {
        sha256: sha.to_string(),
        original_ext: decoded.format.to_string(),
        source_name: path.display().to_string(),
        source_format: decoded.format.to_string(),
        width,
        height,
        technical: decoded.technical,
        params: opts.params.clone(),
        auto_crop: std.auto_crop,
        inverted: std.inverted,
        standard_sha256: std_sha,
        modality,
    };
    Ok((new, std.image))
}

/// A chunk's file after decoding and standardising: its record and model input, or why it failed.
type Prepared<'a> = (&'a PathBuf, Result<(NewImage, GrayImage), String>, Option<Label>);

/// Embed a chunk's standard images and their mirror images in one batch, keyed by original hash.
/// A failure is logged and leaves those images for `raiox embed`, never refusing a file.
fn embed_prepared(encoder: &dyn Encoder, prepared: &[Prepared]) -> HashMap<String, (Vec<f32>, Vec<f32>)> {
    let ok: Vec<&(NewImage, GrayImage)> = prepared.iter().filter_map(|p| p.1.as_ref().ok()).collect();
    let mut batch: Vec<GrayImage> = ok.iter().map(|(_, img)| img.clone()).collect();
    batch.extend(ok.iter().map(|(_, img)| image::imageops::flip_horizontal(img)));
    match encoder.embed(&batch) {
        Ok(vectors) => {
            let (direct, mirrored) = vectors.split_at(ok.len());
            ok.iter()
                .zip(direct.iter().zip(mirrored))
                .map(|((new, _), (v, m))| (new.sha256.clone(), (v.clone(), m.clone())))
                .collect()
        }
        Err(e) => {
            tracing::warn!(
                "embedding with {} failed, run `raiox embed` later: {e}",
                encoder.id()
            );
            HashMap::new()
        }
    }
}

fn resolve(catalogue: &Catalogue, raw: &RawLabel) -> Result<Label, String> {
    let (m, s) = catalogue
        .resolve_system(raw.manufacturer.as_deref(), &raw.system)
        .map_err(|e| format!("label: {e}"))?;
    Ok(Label {
        manufacturer_id: m.id,
        system_id: s.id,
        manufacturer: m.name.clone(),
        system: s.name.clone(),
    })
}

fn refused(path: &Path, reason: String) -> ImportItem {
    ImportItem {
        path: path.display().to_string(),
        status: ItemStatus::Refused,
        id: None,
        name: None,
        manufacturer: None,
        system: None,
        error: Some(reason),
        near_duplicate: None,
    }
}

fn duplicate(lib: &Library, path: &Path, id: i64) -> Result<ImportItem, Error> {
    let rec = images::get(lib.conn(), id)?;
    Ok(ImportItem {
        path: path.display().to_string(),
        status: ItemStatus::Duplicate,
        id: Some(id),
        name: rec.name,
        manufacturer: rec.manufacturer,
        system: rec.system,
        error: None,
        near_duplicate: None,
    })
}

/// Expand inputs into files: named files as given, folders walked recursively (sorted, skipping
/// hidden entries and files whose extension is not an image or DICOM one; extension-less files are
/// kept, as DICOM exports often have none). Also returns inputs that do not exist.
fn collect_files(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let (mut files, mut missing) = (Vec::new(), Vec::new());
    for input in inputs {
        match fs::metadata(input) {
            Ok(m) if m.is_dir() => walk(input, &mut files),
            Ok(_) => files.push(input.clone()),
            Err(e) => missing.push((input.clone(), RefuseReason::Io(e.to_string()).to_string())),
        }
    }
    (files, missing)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
            if ext.as_deref().is_none_or(|e| IMAGE_EXTENSIONS.contains(&e)) {
                out.push(path);
            }
        }
    }
}
