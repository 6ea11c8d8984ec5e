//! The import job: files and folders in, de-identified standardised records out.
//!
//! Why this shape: hashing, decoding and standardising run in parallel on all cores, while the
//! database is written from one thread, one transaction per chunk, after the chunk's files are
//! safely on disk. A bad file becomes a `refused` item with its reason and never stops the batch.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use image::GrayImage;
use rayon::prelude::*;
use serde::Serialize;

use crate::catalogue::films::{self, NewFilm};
use crate::catalogue::images::{self, Attributes, BoxSource, Modality, NewImage, Status};
use crate::catalogue::systems::Catalogue;
use crate::catalogue::vectors;
use crate::decode::budget::{footprint, Budget};
use crate::decode::{decode, DecodeLimits, RefuseReason};
use crate::embed::{Encoder, View};
use crate::ingest::assign::assign;
use crate::ingest::labels::{LabelRow, LabelSource, Labeller, RawLabel};
use crate::ingest::resolve::{Label, Resolver};
use crate::ingest::web::{display_url, Downloader, UrlItem, WebOptions};
use crate::library::{Layout, Library};
use crate::progress::{JobControl, Outcome};
use crate::search::neardup::{NearDupChecker, NearDuplicate};
use crate::standardise::view::fixture_view;
use crate::standardise::{develop, find, standardise_implant, Aabb, BoxSpec, Fixture, Params};
use crate::util::{sha256_hex, write_atomic};
use crate::Error;
use std::sync::Arc;

/// A file's bytes and their SHA-256.
type Loaded = (Vec<u8>, String);

/// Files handled per transaction.
const CHUNK: usize = 32;

/// Extensions of the images a folder walk and the window's file dialog pick up (a file
/// named on its own is always tried, whatever its name).
pub const IMAGE_EXTENSIONS: &[&str] = &[
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
    /// Add a label's unknown manufacturer or system to the catalogue (and label with it) instead of
    /// importing the image unlabelled with a warning.
    pub add_unknown: bool,
    /// Download limits for URLs.
    pub web: WebOptions,
    /// Who downloads URLs (the core has no network code); `None` refuses every URL with the reason.
    pub downloader: Option<Arc<dyn Downloader>>,
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

/// One implant of an imported film, as printed by `raiox import --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImplantItem {
    /// Implant id.
    pub id: i64,
    /// Axis-aligned box of the fixture in the film's pixels.
    #[serde(rename = "box")]
    pub aabb: Aabb,
    /// Apex direction (0 = apex down, 180 = apex up).
    pub angle_deg: f32,
    /// How the box came about.
    pub box_source: BoxSource,
    /// Standard name, when labelled.
    pub name: Option<String>,
    /// Canonical manufacturer.
    pub manufacturer: Option<String>,
    /// Canonical system.
    pub system: Option<String>,
    /// Set when the implant looks like a copy of one already in the library.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_duplicate: Option<NearDuplicate>,
}

/// The outcome of one file, as printed by `raiox import --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportItem {
    /// The path as found.
    pub path: String,
    /// What happened.
    pub status: ItemStatus,
    /// The film's first implant (imported or the existing duplicate), for one-implant films.
    pub id: Option<i64>,
    /// The film's id.
    pub film_id: Option<i64>,
    /// Every implant of the film.
    pub implants: Vec<ImplantItem>,
    /// The first implant's standard name, when labelled.
    pub name: Option<String>,
    /// The first implant's canonical manufacturer.
    pub manufacturer: Option<String>,
    /// The first implant's canonical system.
    pub system: Option<String>,
    /// Why the file was refused.
    pub error: Option<String>,
    /// Imported, but not as asked: no implant found, an unknown label (with the closest
    /// catalogue entries), a label that cannot say which implant it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Set when the first implant looks like a copy (re-encoded, shifted, mirrored) of one in the
    /// library.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_duplicate: Option<NearDuplicate>,
}

impl ImportItem {
    fn new(origin: &str, status: ItemStatus) -> Self {
        ImportItem {
            path: origin.to_string(),
            status,
            id: None,
            film_id: None,
            implants: Vec::new(),
            name: None,
            manufacturer: None,
            system: None,
            error: None,
            warning: None,
            near_duplicate: None,
        }
    }

    /// Add an implant; the first one also fills the top-level fields.
    fn push(&mut self, implant: ImplantItem) {
        if self.implants.is_empty() {
            self.id = Some(implant.id);
            self.name.clone_from(&implant.name);
            self.manufacturer.clone_from(&implant.manufacturer);
            self.system.clone_from(&implant.system);
            self.near_duplicate.clone_from(&implant.near_duplicate);
        }
        self.implants.push(implant);
    }

    fn warn(&mut self, text: String) {
        self.warning = Some(match self.warning.take() {
            Some(w) => format!("{w}; {text}"),
            None => text,
        });
    }
}

/// Totals for a whole import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// Files added.
    pub imported: usize,
    /// Implants found or drawn on the files added.
    pub implants: usize,
    /// Files added on which no implant was found (listed by `raiox films --empty`).
    pub without_implant: usize,
    /// Files already in the library.
    pub duplicates: usize,
    /// Files refused.
    pub refused: usize,
    /// Whether every file was handled.
    pub outcome: Outcome,
    /// Labels that named nothing in the catalogue, with how many images were imported unlabelled
    /// because of each and the closest catalogue entries.
    pub unknown_labels: Vec<crate::ingest::resolve::UnknownLabel>,
    /// Manufacturers and systems added to the catalogue by `add_unknown`.
    pub added_to_catalogue: Vec<String>,
}

/// Everything one import handles: files and folders, URLs, and images handed over as bytes
/// (pasted from the clipboard, dropped from a web browser).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Files and folders (folders are walked recursively).
    pub paths: Vec<PathBuf>,
    /// URLs to download, each with an optional label.
    pub urls: Vec<UrlItem>,
    /// In-memory images: a provenance text (kept locally only) and the bytes.
    pub bytes: Vec<(String, Vec<u8>)>,
}

/// One item on its way into the chunked import loop.
struct Incoming {
    /// Local provenance: the path, the URL without credentials, or the in-memory item's name.
    origin: String,
    /// The file, for label lookups by path.
    path: Option<PathBuf>,
    content: Content,
    /// A label given with the item (a URL list row); otherwise the label source decides.
    label: Option<RawLabel>,
}

enum Content {
    /// Read the file at `path`.
    File,
    /// Bytes already in memory (a download, a paste).
    Bytes(Vec<u8>),
    /// Could not be had at all (a failed download): refused with this reason.
    Refused(String),
    /// A URL this library already imported (an earlier, interrupted run): that record's id.
    Known(i64),
}

/// Import files and folders (recursively) into `lib`, reporting each file through `on_item`.
pub fn import(
    lib: &mut Library,
    inputs: &[PathBuf],
    opts: &ImportOptions,
    ctl: &JobControl,
    on_item: &mut dyn FnMut(&ImportItem),
) -> Result<ImportSummary, Error> {
    let sources = Sources {
        paths: inputs.to_vec(),
        ..Sources::default()
    };
    import_sources(lib, sources, opts, ctl, on_item)
}

/// Import files, folders, URLs and in-memory images into `lib`, reporting each through `on_item`.
///
/// Every item goes through the same path: hashing (a byte-identical image is a duplicate),
/// decode guards, de-identification and standardisation. URLs are downloaded a few at a time while
/// earlier items are being imported; a URL already imported into this library is reported as a
/// duplicate without being downloaded again, so an interrupted run resumes where it stopped.
pub fn import_sources(
    lib: &mut Library,
    sources: Sources,
    opts: &ImportOptions,
    ctl: &JobControl,
    on_item: &mut dyn FnMut(&ImportItem),
) -> Result<ImportSummary, Error> {
    let labeller = Labeller::new(opts.labels.clone())?;
    let mut resolver = Resolver::new(Catalogue::load(lib.conn())?, opts.add_unknown);
    lib.sweep()?;
    let _writing = lib.writing()?;
    let mut summary = ImportSummary {
        imported: 0,
        implants: 0,
        without_implant: 0,
        duplicates: 0,
        refused: 0,
        outcome: Outcome::Finished,
        unknown_labels: Vec::new(),
        added_to_catalogue: Vec::new(),
    };
    let mut emit = |item: ImportItem, summary: &mut ImportSummary| {
        match item.status {
            ItemStatus::Imported => {
                summary.imported += 1;
                summary.implants += item.implants.len();
                summary.without_implant += usize::from(item.implants.is_empty());
            }
            ItemStatus::Duplicate => summary.duplicates += 1,
            ItemStatus::Refused => summary.refused += 1,
        }
        on_item(&item);
    };
    let (files, missing) = collect_files(&sources.paths);
    for (path, reason) in missing {
        emit(refused(&path.display().to_string(), reason), &mut summary);
    }
    let known_urls = films::imported_urls(lib.conn())?;
    let mut checker = match &opts.encoder {
        Some(encoder) => {
            for view in View::ALL {
                vectors::ensure_table(lib.conn(), &view.stamp(encoder.as_ref()))?;
            }
            Some(NearDupChecker::open(lib, encoder.as_ref())?)
        }
        None => None,
    };
    let total = (files.len() + sources.urls.len() + sources.bytes.len()) as u64;
    let closed = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Incoming>(CHUNK * 2);
    std::thread::scope(|scope| {
        scope.spawn(|| feed(files, sources, &known_urls, opts, ctl, &closed, tx));
        let result = (|| {
            let mut done = 0u64;
            loop {
                if ctl.is_cancelled() {
                    break;
                }
                let Ok(first) = rx.recv() else { break };
                let mut chunk = vec![first];
                while chunk.len() < CHUNK {
                    match rx.try_recv() {
                        Ok(next) => chunk.push(next),
                        Err(_) => break,
                    }
                }
                done += chunk.len() as u64;
                import_chunk(
                    lib,
                    chunk,
                    &labeller,
                    &mut resolver,
                    checker.as_mut(),
                    opts,
                    &mut |item| emit(item, &mut summary),
                )?;
                ctl.report("import", done, total);
            }
            Ok::<(), Error>(())
        })();
        // Stops the feeder and the downloads whatever happened above.
        closed.store(true, Ordering::SeqCst);
        drop(rx);
        result
    })?;
    if ctl.is_cancelled() {
        summary.outcome = Outcome::Cancelled;
    }
    summary.unknown_labels = resolver.unknown_summary();
    summary.added_to_catalogue = resolver.added;
    Ok(summary)
}

/// Hand every item to the import loop: files first, then in-memory images, then URLs (already
/// imported ones at once, the others as their downloads finish).
fn feed(
    files: Vec<PathBuf>,
    sources: Sources,
    known_urls: &HashMap<String, i64>,
    opts: &ImportOptions,
    ctl: &JobControl,
    closed: &AtomicBool,
    tx: mpsc::SyncSender<Incoming>,
) {
    let send = |item: Incoming| !closed.load(Ordering::SeqCst) && tx.send(item).is_ok();
    for path in files {
        let item = Incoming {
            origin: path.display().to_string(),
            path: Some(path),
            content: Content::File,
            label: None,
        };
        if !send(item) {
            return;
        }
    }
    for (origin, bytes) in sources.bytes {
        let item = Incoming {
            origin,
            path: None,
            content: Content::Bytes(bytes),
            label: None,
        };
        if !send(item) {
            return;
        }
    }
    let mut to_fetch = Vec::new();
    for (i, u) in sources.urls.iter().enumerate() {
        let origin = display_url(&u.url);
        match known_urls.get(&origin) {
            Some(&id) => {
                let item = Incoming {
                    origin,
                    path: None,
                    content: Content::Known(id),
                    label: u.label.clone(),
                };
                if !send(item) {
                    return;
                }
            }
            None => to_fetch.push((i, u.url.clone())),
        }
    }
    if to_fetch.is_empty() {
        return;
    }
    let (dtx, drx) = mpsc::sync_channel(opts.web.concurrency.max(1));
    std::thread::scope(|scope| {
        scope.spawn(|| match &opts.downloader {
            Some(d) => d.download_all(to_fetch, &opts.web, ctl, closed, dtx),
            None => {
                for (i, _) in to_fetch {
                    let _ = dtx.send((i, Err("this build has no web downloader".to_string())));
                }
            }
        });
        for (i, result) in drx {
            let u = &sources.urls[i];
            let item = Incoming {
                origin: display_url(&u.url),
                path: None,
                content: match result {
                    Ok(bytes) => Content::Bytes(bytes),
                    Err(reason) => Content::Refused(reason),
                },
                label: u.label.clone(),
            };
            if !send(item) {
                closed.store(true, Ordering::SeqCst);
                break;
            }
        }
    });
}

/// Import one chunk: read and hash in parallel, decide duplicates and labels against the database,
/// decode and standardise in parallel, then write the chunk's records in one transaction.
fn import_chunk(
    lib: &mut Library,
    chunk: Vec<Incoming>,
    labeller: &Labeller,
    resolver: &mut Resolver,
    mut checker: Option<&mut NearDupChecker>,
    opts: &ImportOptions,
    emit: &mut dyn FnMut(ImportItem),
) -> Result<(), Error> {
    // Read and hash in parallel.
    let read: Vec<(Incoming, Result<Loaded, String>)> = chunk
        .into_par_iter()
        .map(|mut item| {
            let loaded = match std::mem::replace(&mut item.content, Content::File) {
                Content::File => match item.path.as_deref().map(fs::read) {
                    Some(Ok(b)) => Ok(b),
                    Some(Err(e)) => Err(RefuseReason::Io(e.to_string()).to_string()),
                    None => Err("nothing to read".to_string()),
                },
                Content::Bytes(b) => Ok(b),
                Content::Refused(reason) => Err(reason),
                Content::Known(id) => {
                    item.content = Content::Known(id);
                    Err(String::new())
                }
            }
            .map(|b| {
                let h = sha256_hex(&b);
                (b, h)
            });
            (item, loaded)
        })
        .collect();
    // Duplicates, labels: decided on this thread against the database.
    let mut todo = Vec::new();
    let mut later_dups = Vec::new();
    let mut in_chunk = HashSet::new();
    for (item, result) in read {
        let rows: Vec<LabelRow> = match (item.label.clone(), item.path.as_deref()) {
            (Some(label), _) => vec![LabelRow::whole(label)],
            (None, Some(p)) => labeller.labels_for(p),
            (None, None) => labeller
                .label_for_unnamed()
                .map(LabelRow::whole)
                .into_iter()
                .collect(),
        };
        if let Content::Known(film_id) = item.content {
            match duplicate_labelled(lib, resolver, &item.origin, film_id, &rows, opts) {
                Err(Error::NoFilm(_)) => emit(refused(&item.origin, "its film was deleted meanwhile".into())),
                other => emit(other?),
            }
            continue;
        }
        let (bytes, sha) = match result {
            Ok(v) => v,
            Err(reason) => {
                emit(refused(&item.origin, reason));
                continue;
            }
        };
        if let Some(film_id) = films::id_by_sha(lib.conn(), &sha)? {
            emit(duplicate_labelled(
                lib,
                resolver,
                &item.origin,
                film_id,
                &rows,
                opts,
            )?);
            continue;
        }
        if !in_chunk.insert(sha.clone()) {
            later_dups.push((item.origin, sha, rows));
            continue;
        }
        let mut labels = Vec::with_capacity(rows.len());
        for row in rows {
            let resolved = resolver
                .resolve(lib, &row.label)?
                .map_err(|u| (row.label.clone(), u));
            labels.push((row.bbox, resolved));
        }
        todo.push((item.origin, bytes, sha, labels));
    }
    // Decode, find implants, standardise and store files in parallel.
    let layout = lib.layout();
    let prepared: Vec<Prepared> = todo
        .into_par_iter()
        .map(|(origin, bytes, sha, labels)| {
            let boxes: Vec<Option<BoxSpec>> = labels.iter().map(|(b, _)| *b).collect();
            let result = catch_unwind(AssertUnwindSafe(|| {
                prepare(layout, &origin, &bytes, &sha, &boxes, opts)
            }))
            .unwrap_or_else(|_| Err("the decoder failed unexpectedly on this file".to_string()));
            (origin, result, labels)
        })
        .collect();
    let vectors = match &opts.encoder {
        Some(encoder) => embed_prepared(encoder.as_ref(), &prepared, opts.params.margin),
        None => HashMap::new(),
    };
    // One transaction for the chunk's records (and their vectors).
    let tx = lib.conn_mut().transaction()?;
    let mut items = Vec::new();
    for (origin, result, labels) in prepared {
        let film = match result {
            Ok(film) => film,
            Err(reason) => {
                items.push(refused(&origin, reason));
                continue;
            }
        };
        let film_id = films::insert(&tx, &film.film)?;
        let mut item = ImportItem::new(&origin, ItemStatus::Imported);
        item.film_id = Some(film_id);
        // A label naming nothing in the catalogue is reported whichever implant it was for.
        for (_, resolved) in &labels {
            if let Err((raw, unresolved)) = resolved {
                resolver.count_unlabelled(raw);
                item.warn(format!("{unresolved} — imported unlabelled"));
            }
        }
        for (k, implant) in film.implants.iter().enumerate() {
            let new = NewImage {
                film_id,
                fixture: implant.fixture,
                box_source: implant.source,
                params: opts.params.clone(),
                standard_sha256: implant.standard_sha256.clone(),
                modality: film.modality,
            };
            let id = images::insert(&tx, &new)?;
            let mut entry = implant_item(id, &implant.fixture, implant.source);
            if let (Some(encoder), Some(e)) = (&opts.encoder, vectors.get(&(film.film.sha256.clone(), k))) {
                let sha = &implant.standard_sha256;
                vectors::put(&tx, id, sha, &View::Context.stamp(encoder.as_ref()), &e.context)?;
                vectors::put(&tx, id, sha, &View::Fixture.stamp(encoder.as_ref()), &e.fixture)?;
                if let Some(checker) = checker.as_deref_mut() {
                    let standard = (&implant.image, implant.standard_sha256.as_str());
                    entry.near_duplicate = checker.check_and_add(id, &e.context, &e.mirrored, standard);
                }
            }
            if let Some(Ok(l)) = implant.row.map(|r| &labels[r].1) {
                let attrs = Attributes {
                    modality: film.modality,
                    ..Attributes::default()
                };
                entry.name = images::set_label(
                    &tx,
                    id,
                    Some((l.manufacturer_id, l.system_id)),
                    &attrs,
                    label_status(opts),
                )?;
                entry.manufacturer = Some(l.manufacturer.clone());
                entry.system = Some(l.system.clone());
            }
            item.push(entry);
        }
        for problem in film.problems {
            item.warn(problem);
        }
        if film.implants.is_empty() {
            item.warn(format!(
                "no implant found on this film — draw one (`raiox box --film {film_id} --add x,y,w,h[,angle]`)"
            ));
        }
        items.push(item);
    }
    tx.commit()?;
    for item in items {
        emit(item);
    }
    for (origin, sha, rows) in later_dups {
        match films::id_by_sha(lib.conn(), &sha)? {
            Some(film_id) => emit(duplicate_labelled(lib, resolver, &origin, film_id, &rows, opts)?),
            None => emit(refused(
                &origin,
                "its identical twin in this batch was refused".into(),
            )),
        }
    }
    Ok(())
}

fn label_status(opts: &ImportOptions) -> Status {
    if opts.confirm {
        Status::Confirmed
    } else {
        Status::Labelled
    }
}

fn implant_item(id: i64, fixture: &Fixture, source: BoxSource) -> ImplantItem {
    ImplantItem {
        id,
        aabb: fixture.aabb(),
        angle_deg: fixture.angle_deg,
        box_source: source,
        name: None,
        manufacturer: None,
        system: None,
        near_duplicate: None,
    }
}

/// One implant cut from a new film.
struct PreparedImplant {
    fixture: Fixture,
    source: BoxSource,
    standard_sha256: String,
    image: GrayImage,
    /// The label row that names it.
    row: Option<usize>,
}

/// A new film after decoding, finding and standardising.
struct PreparedFilm {
    film: NewFilm,
    modality: Option<Modality>,
    implants: Vec<PreparedImplant>,
    /// Labels that could not be applied, and why.
    problems: Vec<String>,
}

/// Decode a file, find its implants (plus those its labels' boxes add), standardise each and
/// write the original and the standard images; what to insert.
fn prepare(
    lib: &Layout,
    origin: &str,
    bytes: &[u8],
    sha: &str,
    boxes: &[Option<BoxSpec>],
    opts: &ImportOptions,
) -> Result<PreparedFilm, String> {
    // Decoders share one memory budget (held until the working copies are gone).
    let _memory = Budget::decoders().reserve(footprint(bytes));
    let decoded = decode(bytes, &opts.limits).map_err(|e| e.to_string())?;
    let film = develop(&decoded, opts.params.invert).map_err(|e| e.to_string())?;
    let found = find(&film);
    let assignment = assign(&found, boxes, true);
    let mut problems = assignment.problems;
    let candidates = found
        .iter()
        .zip(assignment.found)
        .map(|(f, row)| (*f, BoxSource::Finder, row))
        .chain(
            assignment
                .added
                .into_iter()
                .map(|(f, r)| (f, BoxSource::Manual, Some(r))),
        );
    let mut implants = Vec::new();
    for (fixture, source, row) in candidates {
        match standardise_implant(&film, &fixture, &opts.params) {
            Ok(std) => {
                let standard_sha256 = sha256_hex(&std.png);
                write_atomic(&lib.standard_path(&standard_sha256), &std.png).map_err(|e| e.to_string())?;
                implants.push(PreparedImplant {
                    fixture,
                    source,
                    standard_sha256,
                    image: std.image,
                    row,
                });
            }
            Err(e) => problems.push(format!("the labelled box was not used: {e}")),
        }
    }
    write_atomic(&lib.original_path(sha, decoded.format), bytes).map_err(|e| e.to_string())?;
    let modality = match decoded.technical.modality.as_deref() {
        Some("IO") => Some(Modality::Periapical),
        Some("PX") => Some(Modality::Panoramic),
        _ => None,
    };
    let (width, height) = film.image.dimensions();
    Ok(PreparedFilm {
        film: NewFilm {
            sha256: sha.to_string(),
            format: decoded.format.to_string(),
            source_name: origin.to_string(),
            width,
            height,
            technical: decoded.technical,
            inverted: film.inverted,
        },
        modality,
        implants,
        problems,
    })
}

/// A label as resolved against the catalogue, or the raw text and why it named nothing.
type Resolved = Result<Label, (RawLabel, crate::ingest::resolve::Unresolved)>;

/// A chunk's file after preparing: its film and implants, or why it failed; and its labels.
type Prepared = (
    String,
    Result<PreparedFilm, String>,
    Vec<(Option<BoxSpec>, Resolved)>,
);

/// Embed a chunk's implants (cut with `margin`) in one batch — the standard image, its mirror
/// image for the copy check and the fixture view — keyed by (film hash, implant index). A failure
/// is logged and leaves those implants for `raiox embed`, never refusing a file.
fn embed_prepared(
    encoder: &dyn Encoder,
    prepared: &[Prepared],
    margin: f32,
) -> HashMap<(String, usize), Embedded> {
    let ok: Vec<((String, usize), &PreparedImplant)> = prepared
        .iter()
        .filter_map(|p| p.1.as_ref().ok())
        .flat_map(|film| {
            film.implants
                .iter()
                .enumerate()
                .map(|(k, i)| ((film.film.sha256.clone(), k), i))
        })
        .collect();
    if ok.is_empty() {
        return HashMap::new();
    }
    let n = ok.len();
    let mut batch: Vec<GrayImage> = ok.iter().map(|(_, i)| i.image.clone()).collect();
    batch.extend(ok.iter().map(|(_, i)| image::imageops::flip_horizontal(&i.image)));
    for (_, i) in &ok {
        match fixture_view(&i.image, Some(&i.fixture), margin) {
            Ok(view) => batch.push(view),
            Err(e) => {
                tracing::warn!("fixture view failed, run `raiox embed` later: {e}");
                return HashMap::new();
            }
        }
    }
    match encoder.embed(&batch) {
        Ok(vectors) if vectors.len() == 3 * n => ok
            .into_iter()
            .enumerate()
            .map(|(j, (key, _))| {
                let embedded = Embedded {
                    context: vectors[j].clone(),
                    mirrored: vectors[n + j].clone(),
                    fixture: vectors[2 * n + j].clone(),
                };
                (key, embedded)
            })
            .collect(),
        result => {
            let reason = match result {
                Err(e) => e.to_string(),
                Ok(v) => format!("{} vectors for {} images", v.len(), 3 * n),
            };
            tracing::warn!(
                "embedding with {} failed, run `raiox embed` later: {reason}",
                encoder.id()
            );
            HashMap::new()
        }
    }
}

/// One new implant's vectors: its standard image, the same mirrored (for the copy check), and its
/// fixture view.
struct Embedded {
    context: Vec<f32>,
    mirrored: Vec<f32>,
    fixture: Vec<f32>,
}

fn refused(origin: &str, reason: String) -> ImportItem {
    let mut item = ImportItem::new(origin, ItemStatus::Refused);
    item.error = Some(reason);
    item
}

/// A duplicate film's unlabelled implants take the labels this import gives them (so a rerun
/// with `--add-unknown`, or with a corrected labels file, labels what the first run could not);
/// labelled implants keep their labels.
fn duplicate_labelled(
    lib: &mut Library,
    resolver: &mut Resolver,
    origin: &str,
    film_id: i64,
    rows: &[LabelRow],
    opts: &ImportOptions,
) -> Result<ImportItem, Error> {
    let film = films::get(lib.conn(), film_id)?;
    let records = film
        .implants
        .iter()
        .map(|&id| images::get(lib.conn(), id))
        .collect::<Result<Vec<_>, _>>()?;
    let mut warnings = Vec::new();
    if !rows.is_empty() && records.iter().any(|r| r.status == Status::Unlabelled) {
        let fixtures = records
            .iter()
            .map(images::ImageRecord::required_fixture)
            .collect::<Result<Vec<_>, _>>()?;
        let boxes: Vec<Option<BoxSpec>> = rows.iter().map(|r| r.bbox).collect();
        let assignment = assign(&fixtures, &boxes, false);
        warnings.extend(assignment.problems);
        for (rec, row) in records.iter().zip(assignment.found) {
            let Some(row) = row.filter(|_| rec.status == Status::Unlabelled) else {
                continue;
            };
            let raw = &rows[row].label;
            match resolver.resolve(lib, raw)? {
                Ok(l) => {
                    let tx = lib.conn_mut().transaction()?;
                    images::set_label(
                        &tx,
                        rec.id,
                        Some((l.manufacturer_id, l.system_id)),
                        &rec.attributes,
                        label_status(opts),
                    )?;
                    tx.commit()?;
                }
                Err(unresolved) => {
                    resolver.count_unlabelled(raw);
                    warnings.push(format!("{unresolved} — left unlabelled"));
                }
            }
        }
    }
    let mut item = duplicate(lib, origin, film_id)?;
    for w in warnings {
        item.warn(w);
    }
    Ok(item)
}

fn duplicate(lib: &Library, origin: &str, film_id: i64) -> Result<ImportItem, Error> {
    let film = films::get(lib.conn(), film_id)?;
    let mut item = ImportItem::new(origin, ItemStatus::Duplicate);
    item.film_id = Some(film_id);
    for id in film.implants {
        let rec = images::get(lib.conn(), id)?;
        let mut entry = implant_item(id, &rec.required_fixture()?, rec.box_source);
        entry.name = rec.name;
        entry.manufacturer = rec.manufacturer;
        entry.system = rec.system;
        item.push(entry);
    }
    Ok(item)
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
