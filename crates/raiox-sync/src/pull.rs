//! Pull: production rows changed since the watermark come into the library with their images and
//! vectors, so browsing and similarity work offline over everything in production.
//!
//! Why page by page with the watermark in the same transaction: a pull cut short resumes exactly
//! where it stopped. A row whose item also has an unpushed local change is a conflict: it is listed,
//! and neither side is overwritten.
//!
//! Production is not trusted: every row is checked ([`super::validate`]) before any of its values
//! touches a path or the catalogue. A row that fails — bad fields, a missing or wrong object — is
//! quarantined with its reason and the pull goes on past it; quarantined rows are tried again on
//! every pull, so one fixed in production comes in by itself.

use tokio::runtime::Runtime;
use uuid::Uuid;

use crate::outbox::{self, RowAttributes, SyncItem};
use crate::remote::RemoteRow;
use crate::validate::{check_row, MAX_OBJECT_BYTES};
use crate::{transfer_all, Session, SyncAction, SyncItemReport, SyncReport};
use raiox_core::catalogue::images::{self, Status};
use raiox_core::catalogue::systems;
use raiox_core::catalogue::{history, settings, vectors};
use raiox_core::library::{Layout, Library};
use raiox_core::progress::{JobControl, Outcome};
use raiox_core::standardise::Params;
use raiox_core::util::{sha256_hex, write_atomic};
use raiox_core::Error;

const PAGE: i64 = 500;

/// What a pull does with one production row, decided before anything is written.
enum Step {
    Skip,
    Conflict(i64, &'static str),
    Delete(i64),
    Apply { local: Option<i64>, download: bool },
    Quarantine(String),
}

/// A download's failure: whether it is worth retrying later, and why.
type DownloadError = (bool, String);

/// How a page ended.
enum PageEnd {
    /// Every row was handled.
    Complete,
    /// A transient failure stopped the page before its end; the watermark did not pass it.
    Stopped,
}

pub(super) fn pull(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    ctl: &JobControl,
    report: &mut SyncReport,
) -> Result<Outcome, Error> {
    // Downloaded images are written before their rows commit: no sweep may take them meanwhile.
    let _writing = lib.writing()?;
    if !session.opts.dry_run {
        retry_quarantined(lib, session, rt, report)?;
    }
    let mut wm = outbox::watermark(lib.conn())?;
    let total = rt.block_on(session.with_db("count production changes", &wm, |r, wm| {
        Box::pin(r.count_since(*wm))
    }))?;
    let mut seen = 0u64;
    loop {
        if ctl.is_cancelled() {
            return Ok(Outcome::Cancelled);
        }
        let rows = rt.block_on(session.with_db("read production changes", &wm, |r, wm| {
            Box::pin(r.changes_since(*wm, PAGE))
        }))?;
        if rows.is_empty() {
            return Ok(Outcome::Finished);
        }
        let (handled, end) = page(lib, session, rt, &rows, true, report)?;
        if let Some(last) = handled.checked_sub(1) {
            wm = rows[last].revision;
        }
        seen += handled as u64;
        ctl.report("pull", seen.min(total as u64), total as u64);
        if matches!(end, PageEnd::Stopped) {
            return Ok(Outcome::Finished);
        }
    }
}

/// Rows quarantined by an earlier pull, read again: those production fixed come in, those it
/// removed are forgotten, the others stay listed.
fn retry_quarantined(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let ids: Vec<Uuid> = outbox::quarantined(lib.conn())?
        .iter()
        .filter_map(|(id, _, _)| Uuid::parse_str(id).ok())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows = rt.block_on(session.with_db("read quarantined rows", &ids[..], |r, ids| {
        Box::pin(r.rows_by_id(ids))
    }))?;
    {
        let tx = lib.conn_mut().transaction()?;
        for id in &ids {
            if !rows.iter().any(|r| r.id == *id) {
                outbox::release(&tx, *id)?;
            }
        }
        tx.commit()?;
    }
    page(lib, session, rt, &rows, false, report)?;
    Ok(())
}

/// Handle one page of rows; returns how many were handled (a prefix of `rows`) and how it ended.
/// With `advance`, the watermark moves to the last handled row in the page's transaction.
fn page(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    rows: &[RemoteRow],
    advance: bool,
    report: &mut SyncReport,
) -> Result<(usize, PageEnd), Error> {
    let mut steps = rows
        .iter()
        .map(|row| match check_row(row, &session.stamp) {
            Ok(()) => classify(lib, row),
            Err(reason) => Ok(Step::Quarantine(reason)),
        })
        .collect::<Result<Vec<_>, Error>>()?;
    if session.opts.dry_run {
        report_plan(rows, &steps, report);
        return Ok((rows.len(), PageEnd::Complete));
    }
    // Images first (size-capped, verified against their hash), then one transaction for the page.
    let stop = download(lib, session, rt, rows, &mut steps, report);
    let end = if stop < rows.len() {
        PageEnd::Stopped
    } else {
        PageEnd::Complete
    };
    steps.truncate(stop);
    let systems = system_ids_of(lib, &rows[..stop], &mut steps);
    apply_page(
        lib,
        &session.stamp,
        &rows[..stop],
        steps,
        systems,
        advance,
        report,
    )?;
    Ok((stop, end))
}

/// A dry run's page: what would happen to each row.
fn report_plan(rows: &[RemoteRow], steps: &[Step], report: &mut SyncReport) {
    for (row, step) in rows.iter().zip(steps) {
        let (id, action, error) = match step {
            Step::Skip => continue,
            Step::Conflict(id, _) => (Some(*id), SyncAction::Conflict, None),
            Step::Delete(id) => (Some(*id), SyncAction::PullDelete, None),
            Step::Apply { local, .. } => (*local, SyncAction::Pull, None),
            Step::Quarantine(why) => (None, SyncAction::Quarantine, Some(why.clone())),
        };
        report.pulled += matches!(action, SyncAction::Pull | SyncAction::PullDelete) as usize;
        report
            .items
            .push(SyncItemReport::new(id, row.id.to_string(), action, error));
    }
}

/// Download the images the page's rows need, each verified against its hash, and return where the
/// page stops: a transient failure stops it there (reported) so the watermark never passes it; a
/// permanent one (missing object, wrong content, too large) quarantines that row only.
fn download(
    lib: &Library,
    session: &Session,
    rt: &Runtime,
    rows: &[RemoteRow],
    steps: &mut [Step],
    report: &mut SyncReport,
) -> usize {
    let wanted: Vec<(usize, &RemoteRow)> = rows
        .iter()
        .zip(steps.iter())
        .enumerate()
        .filter_map(|(n, (row, step))| matches!(step, Step::Apply { download: true, .. }).then_some((n, row)))
        .collect();
    let (store, layout) = (&session.store, lib.layout());
    let mut results = rt.block_on(transfer_all(&session.opts, wanted, |(_, row)| async move {
        let bytes = store.get(&row.object_key, MAX_OBJECT_BYTES).await?;
        Ok(save_download(layout, row, &bytes))
    }));
    results.sort_by_key(|((n, _), _)| *n);
    let mut stop = rows.len();
    for ((n, row), result) in results {
        match result
            .map_err(|e| (e.transient, e.message))
            .and_then(|saved| saved)
        {
            Ok(()) => {}
            Err((false, why)) => steps[n] = Step::Quarantine(session.cfg.redact(&why)),
            Err((true, why)) => {
                stop = stop.min(n);
                report.failed.push(SyncItemReport::new(
                    None,
                    &row.object_key,
                    SyncAction::Pull,
                    Some(session.cfg.redact(&why)),
                ));
            }
        }
    }
    stop
}

/// Keep a downloaded image if it is the one its row names.
fn save_download(layout: &Layout, row: &RemoteRow, bytes: &[u8]) -> Result<(), DownloadError> {
    if sha256_hex(bytes) != row.content_sha256 {
        return Err((
            false,
            format!(
                "{}: content does not match its hash in production",
                row.object_key
            ),
        ));
    }
    write_atomic(&layout.standard_path(&row.content_sha256), bytes).map_err(|e| (true, e.to_string()))
}

/// The catalogue ids of each row to apply (None for the others); a row whose manufacturer or system
/// cannot be added is quarantined instead.
fn system_ids_of(lib: &mut Library, rows: &[RemoteRow], steps: &mut [Step]) -> Vec<Option<(i64, i64)>> {
    rows.iter()
        .zip(steps.iter_mut())
        .map(|(row, step)| {
            if !matches!(step, Step::Apply { .. }) {
                return None;
            }
            match system_ids(lib, row) {
                Ok(ids) => Some(ids),
                Err(e) => {
                    *step = Step::Quarantine(e.to_string());
                    None
                }
            }
        })
        .collect()
}

/// Apply a page's steps to the library in one transaction, moving the watermark with them.
fn apply_page(
    lib: &mut Library,
    stamp: &raiox_core::embed::ModelStamp,
    rows: &[RemoteRow],
    steps: Vec<Step>,
    systems: Vec<Option<(i64, i64)>>,
    advance: bool,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let mut tx = lib.conn_mut().transaction()?;
    // Other curators' changes: their authors' entries come with the history feed.
    history::pause(&tx)?;
    for ((row, step), sys) in rows.iter().zip(steps).zip(systems) {
        apply_step(&mut tx, row, step, sys, stamp, report)?;
    }
    history::resume(&tx)?;
    if advance {
        if let Some(last) = rows.last() {
            outbox::set_watermark(&tx, last.revision)?;
        }
    }
    if settings::get(&tx, settings::ACTIVE_ENCODER)?.is_none() {
        settings::set(&tx, settings::ACTIVE_ENCODER, &stamp.encoder_id)?;
    }
    tx.commit()?;
    Ok(())
}

/// Apply one row's step inside the page's transaction.
fn apply_step(
    tx: &mut rusqlite::Transaction,
    row: &RemoteRow,
    step: Step,
    sys: Option<(i64, i64)>,
    stamp: &raiox_core::embed::ModelStamp,
    report: &mut SyncReport,
) -> Result<(), Error> {
    match step {
        Step::Skip => {}
        Step::Conflict(id, why) => {
            outbox::record_conflict(tx, id, row.revision, &serde_json::to_string(row)?)?;
            if !report.conflicts.iter().any(|c| c.id == Some(id)) {
                report.conflicts.push(SyncItemReport::new(
                    Some(id),
                    row.id.to_string(),
                    SyncAction::Conflict,
                    Some(why.into()),
                ));
            }
        }
        Step::Delete(id) => {
            outbox::forget(tx, id)?;
            vectors::remove(tx, id)?;
            images::delete(tx, id)?;
            outbox::release(tx, row.id)?;
            report.pulled += 1;
        }
        Step::Quarantine(why) => quarantine(tx, row, &why, report)?,
        Step::Apply { local, .. } => {
            let Some((manufacturer_id, system_id)) = sys else {
                return Ok(());
            };
            // One savepoint per row: a row that cannot be applied (a name another item holds) is
            // quarantined without undoing the rest of the page.
            let sp = tx.savepoint()?;
            match apply(&sp, row, local, manufacturer_id, system_id, stamp) {
                Ok(id) => {
                    sp.commit()?;
                    outbox::release(tx, row.id)?;
                    report.pulled += 1;
                    report.items.push(SyncItemReport::new(
                        Some(id),
                        &row.object_key,
                        SyncAction::Pull,
                        None,
                    ));
                }
                Err(e) => {
                    drop(sp);
                    quarantine(tx, row, &e.to_string(), report)?;
                }
            }
        }
    }
    Ok(())
}

fn quarantine(
    tx: &rusqlite::Transaction,
    row: &RemoteRow,
    why: &str,
    report: &mut SyncReport,
) -> Result<(), Error> {
    outbox::quarantine(tx, &row.id.to_string(), row.revision, why)?;
    report.quarantined.push(SyncItemReport::new(
        None,
        row.id.to_string(),
        SyncAction::Quarantine,
        Some(why.to_string()),
    ));
    Ok(())
}

/// Decide what to do with a (validated) production row, from this library's sync state.
fn classify(lib: &Library, row: &RemoteRow) -> Result<Step, Error> {
    let conn = lib.conn();
    let Some((id, item)) = outbox::by_remote_id(conn, row.id)? else {
        if row.deleted {
            return Ok(Step::Skip);
        }
        let have = lib.standard_path(&row.content_sha256).is_file();
        return Ok(Step::Apply {
            local: None,
            download: !have,
        });
    };
    if item.revision == Some(row.revision) {
        return Ok(Step::Skip);
    }
    if outbox::is_pending(conn, id)? || outbox::in_conflict(conn, id)? {
        return Ok(Step::Conflict(id, "changed here and in production"));
    }
    if row.deleted {
        // Only what came from production may be removed by production: an item made here holds
        // the curator's original, so its deletion elsewhere is shown to them instead.
        if images::is_local_origin(conn, id)? {
            return Ok(Step::Conflict(
                id,
                "deleted in production by another library; the original here is kept until you choose",
            ));
        }
        return Ok(Step::Delete(id));
    }
    let have = lib.standard_path(&row.content_sha256).is_file();
    Ok(Step::Apply {
        local: Some(id),
        download: !have,
    })
}

/// The catalogue ids of a row's manufacturer and system, adding them when this library lacks them.
fn system_ids(lib: &mut Library, row: &RemoteRow) -> Result<(i64, i64), Error> {
    systems::find_or_add(lib.conn_mut(), &row.manufacturer, &row.system, &[])
}

/// Write a validated production row into the library (a new remote-only image, or an update of
/// one), with its vector, name and sync state.
fn apply(
    tx: &rusqlite::Savepoint,
    row: &RemoteRow,
    local: Option<i64>,
    manufacturer_id: i64,
    system_id: i64,
    stamp: &raiox_core::embed::ModelStamp,
) -> Result<i64, Error> {
    let attrs: RowAttributes = serde_json::from_value(row.attributes.clone())
        .map_err(|e| Error::Invalid(format!("attributes: {e}")))?;
    let id = match local {
        Some(id) => id,
        None => images::insert_pulled(tx, &Params::default(), &row.content_sha256)?,
    };
    let status = if attrs.status == Status::Unlabelled {
        Status::Labelled
    } else {
        attrs.status
    };
    images::set_pulled(
        tx,
        id,
        manufacturer_id,
        system_id,
        &attrs.attributes,
        status,
        &row.content_sha256,
    )?;
    images::adopt_name(tx, id, &row.standard_name)?;
    history::attach(tx, id, &row.id.to_string())?;
    if let Some(v) = &row.embedding {
        vectors::ensure_table(tx, stamp)?;
        vectors::put(tx, id, &row.content_sha256, stamp, v)?;
    }
    let item = SyncItem {
        remote_id: row.id,
        revision: Some(row.revision),
        object_key: Some(row.object_key.clone()),
        content_sha256: Some(row.content_sha256.clone()),
    };
    outbox::mark_synced(tx, id, None, &item)?;
    Ok(id)
}
