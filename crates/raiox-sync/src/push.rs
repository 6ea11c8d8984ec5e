//! Push: the outbox, batch by batch — classify each queued item against production's row, then
//! run that plan: upload objects, write rows, dequeue locally; then deletes, then garbage.
//!
//! Why this order: a production row must never point to a missing object, and an item leaves the
//! outbox only once both are in production; every step is safe to repeat, so a crash anywhere is
//! finished by the next run.
//!
//! Why a plan first: the decisions ([`classify`], [`delete_applies`]) are pure and tested without a
//! server, and a dry run reports exactly the plan a run carries out, having only read.

use std::collections::{BTreeSet, HashMap, HashSet};

use tokio::runtime::Runtime;
use uuid::Uuid;

use crate::objects::StoreError;
use crate::outbox::{self, RowAttributes, SyncItem};
use crate::remote::{PushRow, RemoteRow, Written};
use crate::{transfer_all, Session, SyncAction, SyncItemReport, SyncReport};
use raiox_core::catalogue::images::{self, ImageRecord, Status};
use raiox_core::catalogue::naming::{parse_standard_name, NameParts};
use raiox_core::catalogue::vectors;
use raiox_core::embed::Encoder;
use raiox_core::embedding::embed_ids;
use raiox_core::library::Library;
use raiox_core::progress::{JobControl, Outcome};
use raiox_core::Error;

/// One queued item ready to go.
struct Item {
    image_id: i64,
    seq: i64,
    key: String,
    sync: SyncItem,
    row: RemoteRow,
    name: NameParts,
    path: std::path::PathBuf,
}

/// What a push does with one queued item, decided before anything is written.
#[derive(Debug, Clone)]
enum Step {
    /// Production's row already says everything this item says: take its revision and name and
    /// dequeue, writing nothing.
    Unchanged(RemoteRow),
    /// Write the row, guarded by `expected` (None: a new row). The object is uploaded first unless
    /// production's row already points to it; `replaces` is the object production's row points to
    /// now, when the write moves it to another.
    Write {
        expected: Option<i64>,
        upload: bool,
        replaces: Option<String>,
    },
    /// Changed in production since this library last saw it: listed, nothing written.
    Conflict(RemoteRow),
}

/// An item deleted here whose production row is still live: (production id, revision last seen,
/// object key), as [`outbox::deletes`] lists them.
type PendingDelete = (Uuid, i64, Option<String>);

/// One item of a batch's plan.
struct Planned {
    item: Item,
    step: Step,
}

/// Whether production's row already says everything this one says (`b`, whose name is a proposal:
/// only its stem counts, production gives the number).
fn same_content(a: &RemoteRow, b: &RemoteRow, name: &NameParts) -> bool {
    !a.deleted
        && a.content_sha256 == b.content_sha256
        && parse_standard_name(&a.standard_name).is_some_and(|p| p.stem == name.stem && p.key == name.key)
        && a.manufacturer == b.manufacturer
        && a.system == b.system
        && a.attributes == b.attributes
        && a.object_key == b.object_key
        && a.url == b.url
        && a.encoder_id == b.encoder_id
}

/// Decide what to do with an item from what this library last pushed and production's row now.
fn classify(it: &Item, current: Option<&RemoteRow>) -> Step {
    match current {
        Some(cur) if same_content(cur, &it.row, &it.name) => Step::Unchanged(cur.clone()),
        Some(cur) if it.sync.revision.is_some_and(|r| r != cur.revision) => Step::Conflict(cur.clone()),
        // Ours from a run that stopped before recording it locally. A deleted row's object may
        // have been removed: upload again.
        Some(cur) => Step::Write {
            expected: Some(cur.revision),
            upload: cur.deleted || cur.object_key != it.key || cur.content_sha256 != it.row.content_sha256,
            replaces: (cur.object_key != it.key).then(|| cur.object_key.clone()),
        },
        None => Step::Write {
            expected: it.sync.revision,
            upload: true,
            replaces: None,
        },
    }
}

/// Whether the guarded soft-delete of a row last seen at revision `expected` goes through:
/// production still holds that revision (or deleted the row itself). Otherwise production changed
/// it since, and its version wins.
fn delete_applies(expected: i64, current: Option<&RemoteRow>) -> bool {
    current.is_some_and(|c| c.revision == expected || c.deleted)
}

fn entry(it: &Item, action: SyncAction, error: Option<String>) -> SyncItemReport {
    SyncItemReport::new(Some(it.image_id), &it.key, action, error)
}

/// Count and list an item whose step was carried out (in a dry run: would be).
fn report_done(report: &mut SyncReport, p: &Planned) {
    let it = &p.item;
    match &p.step {
        Step::Unchanged(_) => report.unchanged += 1,
        Step::Write { .. } => {
            report.rows_written += 1;
            let action = if it.sync.revision.is_some() {
                SyncAction::Update
            } else {
                SyncAction::Upload
            };
            report.items.push(entry(it, action, None));
        }
        Step::Conflict(_) => report.conflicts.push(entry(
            it,
            SyncAction::Conflict,
            Some("changed in production since this library last saw it".into()),
        )),
    }
}

/// Push the outbox, its deletes and its garbage (see the module); in a dry run, only plan them.
pub(super) fn push(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    encoder: &dyn Encoder,
    ctl: &JobControl,
    report: &mut SyncReport,
) -> Result<Outcome, Error> {
    let dry = session.opts.dry_run;
    let stamp = session.stamp.clone();
    // Embed first: storing a vector re-queues the item, so the queue is read after.
    if !dry {
        embed_stale(lib, encoder, &stamp, ctl, report)?;
    }
    let todo = queued(lib, report)?;
    let total = todo.len() as u64;
    let mut done = 0u64;
    let mut forecast = Forecast::default();
    for chunk in todo.chunks(session.opts.batch.max(1)) {
        if ctl.is_cancelled() {
            return Ok(Outcome::Cancelled);
        }
        let items = prepare(lib, session, &stamp, chunk, report)?;
        let plan = plan_batch(session, rt, items)?;
        if dry {
            for p in &plan {
                report.uploaded += matches!(p.step, Step::Write { upload: true, .. }) as usize;
                report_done(report, p);
                forecast.note(p);
            }
        } else {
            run_batch(lib, session, rt, &plan, report)?;
        }
        done += chunk.len() as u64;
        ctl.report("push", done, total);
    }
    push_deletes(lib, session, rt, &mut forecast, report)?;
    collect_garbage(lib, session, rt, &forecast, report)?;
    Ok(Outcome::Finished)
}

/// Embed the queued, labelled items that have no vector from this encoder: a row needs one.
fn embed_stale(
    lib: &mut Library,
    encoder: &dyn Encoder,
    stamp: &raiox_core::embed::ModelStamp,
    ctl: &JobControl,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let mut stale = Vec::new();
    for (id, _) in outbox::pending(lib.conn())? {
        let rec = images::get(lib.conn(), id)?;
        if rec.status != Status::Unlabelled && vectors::get(lib.conn(), stamp, id)?.is_none() {
            stale.push(id);
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    let summary = embed_ids(lib, encoder, Some(&stale), ctl)?;
    for f in summary.failures {
        report.failed.push(SyncItemReport::new(
            Some(f.id),
            "",
            SyncAction::Embed,
            Some(f.error),
        ));
    }
    Ok(())
}

/// The queue to push, oldest change first: labelled items not in conflict. Unlabelled ones wait
/// (counted in the report).
fn queued(lib: &Library, report: &mut SyncReport) -> Result<Vec<(i64, i64, ImageRecord)>, Error> {
    let mut todo = Vec::new();
    for (id, seq) in outbox::pending(lib.conn())? {
        let rec = images::get(lib.conn(), id)?;
        if rec.status == Status::Unlabelled {
            report.waiting_unlabelled += 1;
        } else if !outbox::in_conflict(lib.conn(), id)? {
            todo.push((id, seq, rec));
        }
    }
    Ok(todo)
}

/// Build the rows of a batch from the catalogue (minting production ids when not a dry run).
fn prepare(
    lib: &Library,
    session: &Session,
    stamp: &raiox_core::embed::ModelStamp,
    chunk: &[(i64, i64, ImageRecord)],
    report: &mut SyncReport,
) -> Result<Vec<Item>, Error> {
    let mut items = Vec::new();
    for (id, seq, rec) in chunk {
        let conn = lib.conn();
        let Some(name) = rec.name.as_deref().and_then(parse_standard_name) else {
            continue;
        };
        let key = outbox::object_key(&rec.standard_sha256);
        let vector = vectors::get(conn, stamp, *id)?;
        if vector.is_none() && !session.opts.dry_run {
            report.failed.push(SyncItemReport::new(
                Some(*id),
                &key,
                SyncAction::Upload,
                Some("no embedding".into()),
            ));
            continue;
        }
        let sync = if session.opts.dry_run {
            outbox::item(conn, *id)?.unwrap_or(SyncItem {
                remote_id: Uuid::nil(),
                revision: None,
                object_key: None,
                content_sha256: None,
            })
        } else {
            outbox::ensure_remote_id(conn, *id)?
        };
        let attributes = serde_json::to_value(RowAttributes {
            attributes: rec.attributes.clone(),
            status: rec.status,
        })?;
        items.push(Item {
            image_id: *id,
            seq: *seq,
            row: RemoteRow {
                id: sync.remote_id,
                content_sha256: rec.standard_sha256.clone(),
                standard_name: rec.name.clone().unwrap_or_default(),
                manufacturer: rec.manufacturer.clone().unwrap_or_default(),
                system: rec.system.clone().unwrap_or_default(),
                attributes,
                object_key: key.clone(),
                url: session.store.public_url(&key),
                encoder_id: stamp.encoder_id.clone(),
                revision: 0,
                deleted: false,
                embedding: vector,
            },
            key,
            sync,
            name,
            path: lib.standard_path(&rec.standard_sha256),
        });
    }
    Ok(items)
}

/// Read production's rows for a batch and classify each item against its row.
fn plan_batch(session: &mut Session, rt: &Runtime, items: Vec<Item>) -> Result<Vec<Planned>, Error> {
    let ids: Vec<Uuid> = items.iter().map(|i| i.row.id).collect();
    let current = rt.block_on(session.with_db("read production rows", &ids[..], |r, ids| {
        Box::pin(r.current(ids))
    }))?;
    Ok(items
        .into_iter()
        .map(|item| Planned {
            step: classify(&item, current.get(&item.row.id)),
            item,
        })
        .collect())
}

/// Carry out a batch's plan: objects first, then rows, then the local bookkeeping.
fn run_batch(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    plan: &[Planned],
    report: &mut SyncReport,
) -> Result<(), Error> {
    let failed = upload_objects(session, rt, plan, report);
    let (rows, items): (Vec<PushRow>, Vec<&Item>) = plan
        .iter()
        .enumerate()
        .filter_map(|(n, p)| match p.step {
            Step::Write { expected, .. } if !failed.contains(&n) => {
                Some((push_row(&p.item, expected), &p.item))
            }
            _ => None,
        })
        .unzip();
    let written = write_rows(session, rt, &rows, &items, report);
    record_batch(lib, plan, &written, report)
}

/// Upload the objects the plan's writes need, 8 (configurable) in flight, each retried with
/// backoff; returns the plan positions whose upload failed (reported).
fn upload_objects(
    session: &Session,
    rt: &Runtime,
    plan: &[Planned],
    report: &mut SyncReport,
) -> HashSet<usize> {
    let wanted: Vec<(usize, &Item)> = plan
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.step, Step::Write { upload: true, .. }))
        .map(|(n, p)| (n, &p.item))
        .collect();
    let store = &session.store;
    let mut results = rt.block_on(transfer_all(&session.opts, wanted, |(_, it)| async move {
        let bytes = std::fs::read(&it.path).map_err(|e| StoreError {
            transient: false,
            message: format!("{}: {e}", it.path.display()),
        })?;
        store.put_png(&it.key, &bytes).await
    }));
    results.sort_by_key(|((n, _), _)| *n);
    let mut failed = HashSet::new();
    for ((n, it), result) in results {
        match result {
            Ok(()) => report.uploaded += 1,
            Err(e) => {
                failed.insert(n);
                let why = session.cfg.redact(&e.message);
                report.failed.push(entry(it, SyncAction::Upload, Some(why)));
            }
        }
    }
    failed
}

fn push_row(it: &Item, expected: Option<i64>) -> PushRow {
    PushRow {
        row: it.row.clone(),
        expected,
        name_key: it.name.key.clone(),
        name_stem: it.name.stem.clone(),
    }
}

/// Write rows in one transaction. When production refuses it (a constraint, say a standard name it
/// already uses for another item), row by row, so one item does not hold the batch back.
fn write_rows(
    session: &mut Session,
    rt: &Runtime,
    rows: &[PushRow],
    items: &[&Item],
    report: &mut SyncReport,
) -> HashMap<Uuid, Written> {
    if rows.is_empty() {
        return HashMap::new();
    }
    if let Ok(w) = rt.block_on(session.with_db("write rows", rows, |r, rows| Box::pin(r.upsert(rows)))) {
        return w;
    }
    let mut written = HashMap::new();
    for (row, it) in rows.iter().zip(items) {
        let one = std::slice::from_ref(row);
        match rt.block_on(session.with_db("write row", one, |r, one| Box::pin(r.upsert(one)))) {
            Ok(w) => written.extend(w),
            Err(e) => report
                .failed
                .push(entry(it, SyncAction::Update, Some(e.to_string()))),
        }
    }
    written
}

/// Record locally, in one transaction, what production now holds for each item of the plan.
fn record_batch(
    lib: &mut Library,
    plan: &[Planned],
    written: &HashMap<Uuid, Written>,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let tx = lib.conn_mut().transaction()?;
    for p in plan {
        let it = &p.item;
        let unchanged;
        let w = match &p.step {
            Step::Conflict(cur) => {
                outbox::record_conflict(&tx, it.image_id, cur.revision, &serde_json::to_string(cur)?)?;
                report_done(report, p);
                continue;
            }
            Step::Unchanged(cur) => {
                unchanged = Written {
                    revision: cur.revision,
                    standard_name: cur.standard_name.clone(),
                };
                &unchanged
            }
            // Missing from `written`: its upload failed, or the revision guard refused the row
            // (production changed between our read and our write). It stays queued; the next run
            // reads production again and lists it.
            Step::Write { replaces, .. } => {
                let Some(w) = written.get(&it.row.id) else {
                    continue;
                };
                if let Some(old) = replaces {
                    outbox::queue_garbage(&tx, old)?;
                }
                w
            }
        };
        match record_written(&tx, it, w) {
            Ok(()) => report_done(report, p),
            Err(e) => report
                .failed
                .push(entry(it, SyncAction::Name, Some(e.to_string()))),
        }
    }
    tx.commit()?;
    Ok(())
}

/// Record locally what production now holds for an item: its revision, object and the standard
/// name production gave. The item leaves the outbox unless it changed again during the push.
fn record_written(tx: &rusqlite::Transaction, it: &Item, written: &Written) -> Result<(), Error> {
    let untouched = outbox::queued_seq(tx, it.image_id)? == Some(it.seq);
    let given = images::get(tx, it.image_id)?.name;
    if given.as_deref() != Some(written.standard_name.as_str()) || !images::name_given(tx, it.image_id)? {
        images::adopt_name(tx, it.image_id, &written.standard_name)?;
    }
    let item = SyncItem {
        remote_id: it.row.id,
        revision: Some(written.revision),
        object_key: Some(it.key.clone()),
        content_sha256: Some(it.row.content_sha256.clone()),
    };
    // Adopting the name re-queues the item (a catalogue trigger); it was pushed as it is.
    outbox::mark_synced(
        tx,
        it.image_id,
        if untouched { None } else { Some(it.seq) },
        &item,
    )?;
    Ok(())
}

/// Soft-delete production rows of items deleted here.
fn push_deletes(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    forecast: &mut Forecast,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let dels = outbox::deletes(lib.conn())?;
    if dels.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = dels.iter().map(|d| d.0).collect();
    let current = rt.block_on(session.with_db("read production rows", &ids[..], |r, ids| {
        Box::pin(r.current(ids))
    }))?;
    let planned: Vec<(Uuid, i64)> = dels
        .iter()
        .filter(|(id, rev, _)| delete_applies(*rev, current.get(id)))
        .map(|(id, rev, _)| (*id, *rev))
        .collect();
    let done: HashSet<Uuid> = if session.opts.dry_run {
        planned.iter().map(|p| p.0).collect()
    } else if planned.is_empty() {
        HashSet::new()
    } else {
        rt.block_on(session.with_db("delete rows", &planned[..], |r, pairs| {
            Box::pin(r.soft_delete(pairs))
        }))?
        .into_keys()
        .collect()
    };
    report_deletes(&dels, &done, report);
    if session.opts.dry_run {
        forecast.note_deletes(&dels, &done);
        return Ok(());
    }
    let tx = lib.conn_mut().transaction()?;
    for (id, _, key) in &dels {
        outbox::mark_deleted(&tx, *id, key.as_deref().filter(|_| done.contains(id)))?;
    }
    tx.commit()?;
    Ok(())
}

/// List each pending delete: done (in a dry run: to be done), or a conflict production's version
/// wins.
fn report_deletes(dels: &[PendingDelete], done: &HashSet<Uuid>, report: &mut SyncReport) {
    for (id, _, key) in dels {
        let label = key.clone().unwrap_or_else(|| id.to_string());
        if done.contains(id) {
            report.deleted += 1;
            report
                .items
                .push(SyncItemReport::new(None, label, SyncAction::Delete, None));
        } else {
            // Changed in production after this library deleted it: production's version wins and
            // comes back with the next pull.
            report.conflicts.push(SyncItemReport::new(
                None,
                label,
                SyncAction::Delete,
                Some("changed in production since; not deleted there".into()),
            ));
        }
    }
}

/// What a dry run's planned writes and deletes would do to objects, so that its plan lists the
/// objects the run would then remove (a run queues them as it goes).
#[derive(Default)]
struct Forecast {
    /// Objects the planned writes and deletes stop pointing to.
    released: BTreeSet<String>,
    /// Objects the planned items point to.
    kept: BTreeSet<String>,
    /// Local items the plan points to another object.
    moved_items: HashSet<i64>,
    /// Production rows the plan points to another object or deletes.
    moved_rows: Vec<Uuid>,
}

impl Forecast {
    /// A planned item (the real run's `mark_synced` and `queue_garbage`, ahead of time).
    fn note(&mut self, p: &Planned) {
        let it = &p.item;
        if matches!(p.step, Step::Conflict(_)) {
            return;
        }
        self.kept.insert(it.key.clone());
        if let Some(old) = it.sync.object_key.as_ref().filter(|k| **k != it.key) {
            self.released.insert(old.clone());
            self.moved_items.insert(it.image_id);
        }
        if let Step::Write {
            replaces: Some(old), ..
        } = &p.step
        {
            self.released.insert(old.clone());
            self.moved_rows.push(it.row.id);
        }
    }

    /// Planned deletes (`done`: those that go through).
    fn note_deletes(&mut self, dels: &[PendingDelete], done: &HashSet<Uuid>) {
        for (id, _, key) in dels.iter().filter(|d| done.contains(&d.0)) {
            self.moved_rows.push(*id);
            self.released.extend(key.clone());
        }
    }

    /// The objects that would be garbage after the planned push: those queued now or released by
    /// the plan, less those a local item would still point to.
    fn garbage(&self, conn: &rusqlite::Connection) -> Result<Vec<String>, Error> {
        let mut keys = Vec::new();
        for key in outbox::garbage_queued(conn)?
            .into_iter()
            .chain(self.released.iter().cloned())
        {
            if self.kept.contains(&key) || keys.contains(&key) {
                continue;
            }
            let pointing = outbox::items_pointing_to(conn, &key)?;
            if pointing.iter().all(|id| self.moved_items.contains(id)) {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}

/// Remove objects no production row points to any more (in a dry run: count those a run would).
fn collect_garbage(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    forecast: &Forecast,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let dry = session.opts.dry_run;
    let keys = if dry {
        forecast.garbage(lib.conn())?
    } else {
        outbox::garbage(lib.conn())?
    };
    // Objects are shared between curators (content-addressed): one still used by a live row of
    // anyone's stays.
    let mut free = Vec::with_capacity(keys.len());
    for key in keys {
        let query = (key.as_str(), &forecast.moved_rows[..]);
        let used = rt.block_on(session.with_db("check object use", &query, |r, (k, except)| {
            Box::pin(r.object_in_use(k, except))
        }))?;
        if !used {
            free.push(key);
        } else if !dry {
            outbox::forget_garbage(lib.conn(), &key)?;
        }
    }
    if dry {
        report.objects_removed += free.len();
        return Ok(());
    }
    let store = &session.store;
    let results = rt.block_on(transfer_all(&session.opts, free, |key: String| async move {
        store.delete(&key).await
    }));
    for (key, result) in results {
        match result {
            Ok(()) => {
                outbox::forget_garbage(lib.conn(), &key)?;
                report.objects_removed += 1;
            }
            Err(e) => report.failed.push(SyncItemReport::new(
                None,
                key,
                SyncAction::RemoveObject,
                Some(session.cfg.redact(&e.message)),
            )),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "straumann_bone-level-tapered_4.1x10_0007.png";
    const SHA: &str = "aa11";
    const NEW_SHA: &str = "bb22";

    /// Production's row for the item, at `revision`.
    fn row(sha: &str, revision: i64) -> RemoteRow {
        RemoteRow {
            id: Uuid::from_u128(1),
            content_sha256: sha.into(),
            standard_name: NAME.into(),
            manufacturer: "Straumann".into(),
            system: "Bone Level Tapered".into(),
            attributes: serde_json::json!({"status": "labelled"}),
            object_key: outbox::object_key(sha),
            url: None,
            encoder_id: "lite0".into(),
            revision,
            deleted: false,
            embedding: None,
        }
    }

    /// A queued item whose image is `sha`, last pushed (with `pushed_sha`) at `revision`.
    fn item(sha: &str, revision: Option<i64>, pushed_sha: Option<&str>) -> Item {
        Item {
            image_id: 7,
            seq: 1,
            key: outbox::object_key(sha),
            sync: SyncItem {
                remote_id: Uuid::from_u128(1),
                revision,
                object_key: pushed_sha.map(outbox::object_key),
                content_sha256: pushed_sha.map(str::to_string),
            },
            row: row(sha, 0),
            // A provisional local number: only production's counts.
            name: parse_standard_name("straumann_bone-level-tapered_4.1x10_0001.png").unwrap(),
            path: "unused.png".into(),
        }
    }

    fn reported(plan: Vec<Planned>) -> SyncReport {
        let mut report = SyncReport::default();
        for p in &plan {
            report_done(&mut report, p);
        }
        report
    }

    #[test]
    fn a_new_item_is_uploaded_and_inserted() {
        let it = item(SHA, None, None);
        let step = classify(&it, None);
        assert!(
            matches!(
                step,
                Step::Write {
                    expected: None,
                    upload: true,
                    replaces: None
                }
            ),
            "{step:?}"
        );
        let report = reported(vec![Planned { item: it, step }]);
        assert_eq!(report.rows_written, 1);
        assert_eq!(report.items[0].action, SyncAction::Upload);
    }

    #[test]
    fn an_item_production_already_holds_is_unchanged_whatever_number_it_gave() {
        let it = item(SHA, Some(5), Some(SHA));
        let cur = row(SHA, 5);
        let step = classify(&it, Some(&cur));
        assert!(matches!(&step, Step::Unchanged(r) if r.revision == 5), "{step:?}");
        let report = reported(vec![Planned { item: it, step }]);
        assert_eq!((report.unchanged, report.rows_written), (1, 0));
        assert!(report.items.is_empty() && report.conflicts.is_empty());
    }

    #[test]
    fn a_relabel_updates_the_row_without_uploading_the_object() {
        let mut it = item(SHA, Some(5), Some(SHA));
        it.row.system = "Tissue Level".into();
        let step = classify(&it, Some(&row(SHA, 5)));
        assert!(
            matches!(
                step,
                Step::Write {
                    expected: Some(5),
                    upload: false,
                    replaces: None
                }
            ),
            "{step:?}"
        );
        let report = reported(vec![Planned { item: it, step }]);
        assert_eq!(report.items[0].action, SyncAction::Update);
    }

    #[test]
    fn a_new_image_is_uploaded_and_the_old_object_released() {
        let it = item(NEW_SHA, Some(5), Some(SHA));
        let step = classify(&it, Some(&row(SHA, 5)));
        match step {
            Step::Write {
                expected: Some(5),
                upload: true,
                replaces: Some(old),
            } => assert_eq!(old, outbox::object_key(SHA)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_row_changed_in_production_since_is_a_conflict() {
        let mut it = item(SHA, Some(5), Some(SHA));
        it.row.system = "Tissue Level".into();
        let step = classify(&it, Some(&row(SHA, 9)));
        assert!(matches!(&step, Step::Conflict(r) if r.revision == 9), "{step:?}");
        let report = reported(vec![Planned { item: it, step }]);
        assert_eq!(report.rows_written, 0);
        assert_eq!(report.conflicts[0].action, SyncAction::Conflict);
        assert_eq!(report.conflicts[0].id, Some(7));
    }

    #[test]
    fn a_row_written_by_a_run_that_stopped_early_is_rewritten_at_its_revision() {
        // Production has the row (this library minted its id) but the run died before recording it.
        let mut it = item(SHA, None, None);
        it.row.system = "Tissue Level".into();
        let step = classify(&it, Some(&row(SHA, 3)));
        assert!(
            matches!(
                step,
                Step::Write {
                    expected: Some(3),
                    upload: false,
                    replaces: None
                }
            ),
            "{step:?}"
        );
        let report = reported(vec![Planned { item: it, step }]);
        assert_eq!(report.items[0].action, SyncAction::Upload);
    }

    #[test]
    fn a_row_deleted_in_production_is_written_again_with_its_object() {
        let it = item(SHA, Some(5), Some(SHA));
        let mut cur = row(SHA, 5);
        cur.deleted = true;
        let step = classify(&it, Some(&cur));
        assert!(
            matches!(
                step,
                Step::Write {
                    expected: Some(5),
                    upload: true,
                    replaces: None
                }
            ),
            "{step:?}"
        );
    }

    #[test]
    fn a_delete_goes_through_only_at_the_revision_this_library_saw() {
        assert!(delete_applies(5, Some(&row(SHA, 5))));
        assert!(!delete_applies(5, Some(&row(SHA, 6))), "changed since");
        assert!(!delete_applies(5, None), "no such row");
        let mut gone = row(SHA, 8);
        gone.deleted = true;
        assert!(delete_applies(5, Some(&gone)), "already deleted there");
    }

    #[test]
    fn the_forecast_releases_replaced_objects_and_keeps_the_new_ones() {
        let mut forecast = Forecast::default();
        let moved = item(NEW_SHA, Some(5), Some(SHA));
        forecast.note(&Planned {
            step: classify(&moved, Some(&row(SHA, 5))),
            item: moved,
        });
        let mut conflicting = item("cc33", Some(5), Some("dd44"));
        conflicting.row.system = "Tissue Level".into();
        forecast.note(&Planned {
            step: classify(&conflicting, Some(&row("dd44", 9))),
            item: conflicting,
        });
        assert_eq!(
            forecast.released.iter().collect::<Vec<_>>(),
            [&outbox::object_key(SHA)],
            "a conflict moves nothing"
        );
        assert!(forecast.kept.contains(&outbox::object_key(NEW_SHA)));
        assert_eq!(forecast.moved_items, HashSet::from([7]));
        assert_eq!(forecast.moved_rows, [Uuid::from_u128(1)]);
    }
}
