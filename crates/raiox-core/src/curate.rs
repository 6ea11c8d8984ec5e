//! Curator actions on existing records: relabel, confirm, edit implant boxes, re-derive after a
//! pipeline change, delete.
//!
//! Why here and not in a front: the GUI and the CLI must behave identically (same name rules, same
//! re-derivation), so both call these functions.

use crate::catalogue::films;
use crate::catalogue::images::{self, Attributes, BoxSource, ImageRecord, Modality, NewImage, Status};
use crate::catalogue::systems::Catalogue;
use crate::decode::{decode, DecodeLimits, Decoded};
use crate::embed::Encoder;
use crate::embedding::embed_ids;
use crate::library::Library;
use crate::progress::{JobControl, Outcome};
use crate::standardise::{develop, find, standardise_implant, Fixture, Params};
use crate::util::{sha256_hex, write_atomic};
use crate::Error;

/// A label change requested by a curator; `None` fields keep what the image has.
#[derive(Debug, Clone, Default)]
pub struct LabelChange {
    /// New manufacturer text (name or alias).
    pub manufacturer: Option<String>,
    /// New system text (name or alias).
    pub system: Option<String>,
    /// Remove the label altogether.
    pub unlabel: bool,
    /// Mark as confirmed.
    pub confirm: bool,
    /// New attributes; each `Some` replaces the stored value.
    pub attributes: Attributes,
}

/// Apply one label change to several images in one transaction; returns the updated records.
pub fn label(lib: &mut Library, ids: &[i64], change: &LabelChange) -> Result<Vec<ImageRecord>, Error> {
    let catalogue = Catalogue::load(lib.conn())?;
    let target = match &change.system {
        Some(system) => {
            let (m, s) = catalogue.resolve_system(change.manufacturer.as_deref(), system)?;
            Some((m.id, s.id))
        }
        None if change.manufacturer.is_some() => {
            return Err(Error::Invalid(
                "give --system too: a manufacturer alone is not a label".into(),
            ))
        }
        None => None,
    };
    let tx = lib.conn_mut().transaction()?;
    for &id in ids {
        let current = images::get(&tx, id)?;
        let system = if change.unlabel {
            None
        } else {
            target.or(current
                .system_id
                .map(|sid| (manufacturer_of(&catalogue, sid), sid)))
        };
        if change.confirm && system.is_none() {
            return Err(Error::Invalid(format!(
                "image {id} has no label to confirm: give --system"
            )));
        }
        let status = match (change.confirm, target.is_some()) {
            (true, _) => Status::Confirmed,
            (false, true) => Status::Labelled,
            (false, false) => current.status,
        };
        let a = &change.attributes;
        let old = current.attributes;
        let attributes = Attributes {
            modality: a.modality.or(old.modality),
            diameter_mm: a.diameter_mm.or(old.diameter_mm),
            length_mm: a.length_mm.or(old.length_mm),
            connection: a.connection.clone().or(old.connection),
            notes: a.notes.clone().or(old.notes),
        };
        images::set_label(&tx, id, system, &attributes, status)?;
    }
    tx.commit()?;
    ids.iter().map(|&id| images::get(lib.conn(), id)).collect()
}

fn manufacturer_of(catalogue: &Catalogue, system_id: i64) -> i64 {
    catalogue.system(system_id).map_or(0, |s| s.manufacturer_id)
}

/// A change to one implant's box or polarity; `None` fields keep what the implant has.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BoxChange {
    /// A box drawn by the curator (it overrides the finder for this implant only).
    pub fixture: Option<Fixture>,
    /// Back to the finder's box: the fixture it finds on the film that overlaps this one most.
    pub refind: bool,
    /// `Some(None)`: automatic polarity detection; `Some(Some(v))`: forced.
    pub invert: Option<Option<bool>>,
}

/// The decoded original of an implant's film, or why it cannot be had here.
fn film_of(lib: &Library, rec: &ImageRecord) -> Result<Decoded, Error> {
    let Some((sha, ext)) = rec.original().filter(|_| rec.origin_local) else {
        return Err(Error::Invalid(format!(
            "implant {} came from production: its film is not in this library, so its box cannot be changed here",
            rec.id
        )));
    };
    decode_original(lib, sha, ext)
}

/// Read and decode a film's original from the library (every re-derivation starts here).
pub fn decode_original(lib: &Library, sha256: &str, ext: &str) -> Result<Decoded, Error> {
    let original = lib.original_path(sha256, ext);
    let bytes = std::fs::read(&original).map_err(|e| Error::io(&original, e))?;
    decode(&bytes, &DecodeLimits::default()).map_err(|reason| Error::Refused {
        path: original,
        reason,
    })
}

/// Re-derive one implant's standard image after a box or polarity change (others, including the
/// other implants of its film, are untouched).
pub fn rederive(lib: &mut Library, id: i64, change: BoxChange) -> Result<ImageRecord, Error> {
    let rec = images::get(lib.conn(), id)?;
    let mut params: Params = rec.params.clone();
    if let Some(i) = change.invert {
        params.invert = i;
    }
    params.version = crate::standardise::PIPELINE_VERSION;
    let _writing = lib.writing()?;
    let decoded = film_of(lib, &rec)?;
    let film = develop(&decoded, params.invert)?;
    let current = rec.required_fixture()?;
    let (fixture, source) = match (change.fixture, change.refind) {
        (Some(f), _) => (f, BoxSource::Manual),
        (None, true) => {
            let here = current.aabb();
            let best = find(&film)
                .into_iter()
                .map(|f| (f.aabb().iou(&here), f))
                .filter(|(iou, _)| *iou > 0.1)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            match best {
                Some((_, f)) => (f, BoxSource::Finder),
                None => {
                    return Err(Error::Invalid(format!(
                        "the finder sees no implant where implant {id} is: its box was kept"
                    )))
                }
            }
        }
        (None, false) => (current, rec.box_source),
    };
    let (w, h) = film.image.dimensions();
    fixture
        .check(w, h)
        .map_err(|e| Error::Invalid(format!("implant {id}: {e}")))?;
    let std = standardise_implant(&film, &fixture, &params)?;
    let std_sha = sha256_hex(&std.png);
    write_atomic(&lib.standard_path(&std_sha), &std.png)?;
    let tx = lib.conn_mut().transaction()?;
    images::set_standard(&tx, id, &params, &fixture, source, &std_sha)?;
    if let Some(film_id) = rec.film_id {
        films::set_inverted(&tx, film_id, film.inverted)?;
    }
    tx.commit()?;
    remove_unused_standard(lib, &rec.standard_sha256)?;
    images::get(lib.conn(), id)
}

/// A box change as both fronts apply it: re-derive the implant's standard image, then its vector
/// with `encoder`, so search and identification see the new crop at once.
pub fn change_box(
    lib: &mut Library,
    id: i64,
    change: BoxChange,
    encoder: &dyn Encoder,
) -> Result<ImageRecord, Error> {
    let rec = rederive(lib, id, change)?;
    embed_one(lib, id, encoder)?;
    Ok(rec)
}

/// Bring one implant's vector up to date; a failure is an error here, not a line in a summary.
fn embed_one(lib: &mut Library, id: i64, encoder: &dyn Encoder) -> Result<(), Error> {
    let summary = embed_ids(lib, encoder, Some(&[id]), &JobControl::new())?;
    match summary.failures.into_iter().next() {
        Some(f) => Err(Error::Invalid(format!("implant {id}: {}", f.error))),
        None => Ok(()),
    }
}

/// Add an implant the finder missed, from a box drawn on its film, with its standard image and
/// its vector; returns the new implant.
pub fn add_implant(
    lib: &mut Library,
    film_id: i64,
    fixture: Fixture,
    encoder: &dyn Encoder,
) -> Result<ImageRecord, Error> {
    let film_rec = films::get(lib.conn(), film_id)?;
    let decoded = decode_original(lib, &film_rec.sha256, &film_rec.original_ext)?;
    let params = Params::default();
    let film = develop(&decoded, params.invert)?;
    let (w, h) = film.image.dimensions();
    fixture
        .check(w, h)
        .map_err(|e| Error::Invalid(format!("film {film_id}: {e}")))?;
    let _writing = lib.writing()?;
    let std = standardise_implant(&film, &fixture, &params)?;
    let std_sha = sha256_hex(&std.png);
    write_atomic(&lib.standard_path(&std_sha), &std.png)?;
    let modality = film_modality(lib, film_id)?;
    let tx = lib.conn_mut().transaction()?;
    let id = images::insert(
        &tx,
        &NewImage {
            film_id,
            fixture,
            box_source: BoxSource::Manual,
            params,
            standard_sha256: std_sha,
            modality,
        },
    )?;
    tx.commit()?;
    embed_one(lib, id, encoder)?;
    images::get(lib.conn(), id)
}

/// The modality the film's other implants were given at import (DICOM states it per film).
fn film_modality(lib: &Library, film_id: i64) -> Result<Option<Modality>, Error> {
    let first = images::ids_of_film(lib.conn(), film_id)?.into_iter().next();
    Ok(match first {
        Some(id) => images::get(lib.conn(), id)?.attributes.modality,
        None => None,
    })
}

/// Remove a false implant from its film (the film and its other implants stay). The next sync
/// soft-deletes it in production.
pub fn remove_implant(lib: &mut Library, id: i64) -> Result<(), Error> {
    let rec = images::get(lib.conn(), id)?;
    let tx = lib.conn_mut().transaction()?;
    crate::catalogue::vectors::remove(&tx, id)?;
    images::delete(&tx, id)?;
    tx.commit()?;
    remove_unused_standard(lib, &rec.standard_sha256)
}

/// Merge a group of copies into one: `keep` stays and takes `label` (manufacturer, system) when it
/// has none, then the `others` are deleted as [`delete`] does. Returns the kept implant.
///
/// Why label first: an interruption between the two steps leaves copies (the review lists them
/// again), never a lost label.
pub fn merge_copies(
    lib: &mut Library,
    keep: i64,
    others: &[i64],
    label: Option<(String, String)>,
) -> Result<ImageRecord, Error> {
    if others.contains(&keep) {
        return Err(Error::Invalid(format!(
            "implant {keep} cannot be merged into itself"
        )));
    }
    let kept = images::get(lib.conn(), keep)?;
    if let (Status::Unlabelled, Some((manufacturer, system))) = (kept.status, label) {
        let change = LabelChange {
            manufacturer: Some(manufacturer),
            system: Some(system),
            ..LabelChange::default()
        };
        self::label(lib, &[keep], &change)?;
    }
    delete(lib, others)?;
    images::get(lib.conn(), keep)
}

/// Delete the library's copy of a standard image once no implant uses it.
fn remove_unused_standard(lib: &Library, standard_sha256: &str) -> Result<(), Error> {
    if images::standard_refs(lib.conn(), standard_sha256)? == 0 {
        let f = lib.standard_path(standard_sha256);
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&f, e)),
        }
    }
    Ok(())
}

/// Re-derive the standard images written by an older pipeline version (or all with `all`), one
/// image per transaction so an interruption keeps what was done; returns how many were re-derived.
/// Items pulled from production are left as production has them (their originals are elsewhere).
pub fn restandardise(lib: &mut Library, all: bool, ctl: &JobControl) -> Result<(usize, Outcome), Error> {
    let ids = images::restandardise_ids(lib.conn(), all)?;
    for (n, &id) in ids.iter().enumerate() {
        if ctl.is_cancelled() {
            return Ok((n, Outcome::Cancelled));
        }
        rederive(lib, id, BoxChange::default())?;
        ctl.report("restandardise", n as u64 + 1, ids.len() as u64);
    }
    Ok((ids.len(), Outcome::Finished))
}

/// Delete implants from the library: their rows, vectors, and the library's copy of their
/// standard image when no other implant uses it. A film left without implants is deleted too and
/// its original goes to the library's trash. The next sync soft-deletes them in production (a
/// catalogue trigger queues that). Returns how many implants were deleted.
pub fn delete(lib: &mut Library, ids: &[i64]) -> Result<usize, Error> {
    let records = ids
        .iter()
        .map(|&id| images::get(lib.conn(), id))
        .collect::<Result<Vec<_>, _>>()?;
    let tx = lib.conn_mut().transaction()?;
    let mut emptied = Vec::new();
    for rec in &records {
        crate::catalogue::vectors::remove(&tx, rec.id)?;
        images::delete(&tx, rec.id)?;
    }
    for rec in &records {
        if let Some(film_id) = rec.film_id {
            if films::delete_if_empty(&tx, film_id)? {
                emptied.push(rec);
            }
        }
    }
    tx.commit()?;
    for rec in &records {
        remove_unused_standard(lib, &rec.standard_sha256)?;
    }
    // The original may be the curator's only copy of the film: it goes to the trash.
    for rec in emptied {
        if let Some((sha, ext)) = rec.original() {
            lib.move_to_trash(&lib.original_path(sha, ext))?;
        }
    }
    Ok(records.len())
}
