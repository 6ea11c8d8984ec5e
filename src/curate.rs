//! Curator actions on existing records: relabel, confirm, re-crop, re-derive after a pipeline change.
//!
//! Why here and not in a front: the GUI and the CLI must behave identically (same name rules, same
//! re-derivation), so both call these functions.

use crate::catalogue::images::{self, Attributes, ImageRecord, Status};
use crate::catalogue::systems::Catalogue;
use crate::ingest::decode::{decode, DecodeLimits};
use crate::library::{sha256_hex, write_atomic, Library};
use crate::progress::{JobControl, Outcome};
use crate::standardise::{standardise, Params, Rect};
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

/// Re-derive one image's standard image with a new crop and/or polarity (others are untouched).
///
/// `crop: Some(None)` returns to the automatic crop; `invert: Some(None)` to automatic detection.
pub fn recrop(
    lib: &mut Library,
    id: i64,
    crop: Option<Option<Rect>>,
    invert: Option<Option<bool>>,
) -> Result<ImageRecord, Error> {
    let rec = images::get(lib.conn(), id)?;
    let mut params: Params = rec.params.clone();
    if let Some(c) = crop {
        params.crop = c;
    }
    if let Some(i) = invert {
        params.invert = i;
    }
    params.version = crate::standardise::PIPELINE_VERSION;
    if !images::is_local_origin(lib.conn(), id)? {
        return Err(Error::Invalid(format!(
            "image {id} came from production: its original is not in this library, so it cannot be re-cropped here"
        )));
    }
    let _writing = lib.writing()?;
    let original = lib.original_path(&rec.sha256, &rec.original_ext);
    let bytes = std::fs::read(&original).map_err(|e| Error::io(&original, e))?;
    let decoded = decode(&bytes, &DecodeLimits::default())
        .map_err(|e| Error::Invalid(format!("{}: {e}", original.display())))?;
    let std = standardise(&decoded, &params)?;
    let std_sha = sha256_hex(&std.png);
    write_atomic(&lib.standard_path(&std_sha), &std.png)?;
    let tx = lib.conn_mut().transaction()?;
    images::set_standard(&tx, id, &params, std.auto_crop, std.inverted, &std_sha)?;
    tx.commit()?;
    if rec.standard_sha256 != std_sha && images::standard_refs(lib.conn(), &rec.standard_sha256)? == 0 {
        let old = lib.standard_path(&rec.standard_sha256);
        std::fs::remove_file(&old).map_err(|e| Error::io(&old, e))?;
    }
    images::get(lib.conn(), id)
}

/// Re-derive the standard images written by an older pipeline version (or all with `all`), one
/// image per transaction so an interruption keeps what was done; returns how many were re-derived.
/// Items pulled from production are left as production has them (their originals are elsewhere).
pub fn restandardise(lib: &mut Library, all: bool, ctl: &JobControl) -> Result<(usize, Outcome), Error> {
    let ids: Vec<i64> = {
        let mut stmt = lib.conn().prepare(
            "SELECT id FROM images WHERE origin = 'local' AND (?1 OR params_version < ?2) ORDER BY id",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![all, crate::standardise::PIPELINE_VERSION],
            |r| r.get(0),
        )?;
        rows.collect::<Result<_, _>>()?
    };
    for (n, &id) in ids.iter().enumerate() {
        if ctl.is_cancelled() {
            return Ok((n, Outcome::Cancelled));
        }
        recrop(lib, id, None, None)?;
        ctl.report("restandardise", n as u64 + 1, ids.len() as u64);
    }
    Ok((ids.len(), Outcome::Finished))
}

/// Delete images from the library: their rows, vectors, and the library's copy of their standard
/// image when no other record uses it; their originals go to the library's trash. The next sync soft-deletes them in
/// production (a catalogue trigger queues that). Returns how many were deleted.
pub fn delete(lib: &mut Library, ids: &[i64]) -> Result<usize, Error> {
    let records = ids
        .iter()
        .map(|&id| images::get(lib.conn(), id))
        .collect::<Result<Vec<_>, _>>()?;
    let tx = lib.conn_mut().transaction()?;
    for rec in &records {
        crate::search::store::remove(&tx, rec.id)?;
        tx.execute("DELETE FROM images WHERE id = ?1", [rec.id])?;
    }
    tx.commit()?;
    for rec in &records {
        if images::standard_refs(lib.conn(), &rec.standard_sha256)? == 0 {
            let f = lib.standard_path(&rec.standard_sha256);
            match std::fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&f, e)),
            }
        }
        // The original may be the curator's only copy of the film: it goes to the trash.
        if rec.origin_local && images::id_by_sha(lib.conn(), &rec.sha256)?.is_none() {
            lib.move_to_trash(&lib.original_path(&rec.sha256, &rec.original_ext))?;
        }
    }
    Ok(records.len())
}
