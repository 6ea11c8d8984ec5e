//! Push: the outbox, batch by batch — upload objects, then write rows, then dequeue locally.
//!
//! Why this order: a production row must never point to a missing object, and an item leaves the
//! outbox only once both are in production; every step is safe to repeat, so a crash anywhere is
//! finished by the next run.

use std::collections::HashMap;

use futures_util::StreamExt;
use tokio::runtime::Runtime;

use crate::outbox::{self, RowAttributes, SyncItem};
use crate::remote::{PushRow, RemoteRow, Written};
use crate::{retry_store, Session, SyncItemReport, SyncReport};
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

fn report_item(id: i64, key: &str, action: &str, error: Option<String>) -> SyncItemReport {
    SyncItemReport {
        id: Some(id),
        key: key.to_string(),
        action: action.to_string(),
        error,
    }
}

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
        let mut stale = Vec::new();
        for (id, _) in outbox::pending(lib.conn())? {
            let rec = images::get(lib.conn(), id)?;
            if rec.status != Status::Unlabelled && vectors::get(lib.conn(), &stamp, id)?.is_none() {
                stale.push(id);
            }
        }
        if !stale.is_empty() {
            let summary = embed_ids(lib, encoder, Some(&stale), ctl)?;
            for f in summary.failures {
                report.failed.push(report_item(f.id, "", "embed", Some(f.error)));
            }
        }
    }
    let mut todo = Vec::new();
    for (id, seq) in outbox::pending(lib.conn())? {
        let rec = images::get(lib.conn(), id)?;
        if rec.status == Status::Unlabelled {
            report.waiting_unlabelled += 1;
        } else if !outbox::in_conflict(lib.conn(), id)? {
            todo.push((id, seq, rec));
        }
    }
    let total = todo.len() as u64;
    let mut done = 0u64;
    for chunk in todo.chunks(session.opts.batch.max(1)) {
        if ctl.is_cancelled() {
            return Ok(Outcome::Cancelled);
        }
        let items = prepare(lib, session, &stamp, chunk, report)?;
        if dry {
            for it in &items {
                let upload = it.sync.content_sha256.as_deref() != Some(it.row.content_sha256.as_str())
                    || it.sync.object_key.as_deref() != Some(it.key.as_str());
                report.uploaded += upload as usize;
                let action = match (&it.sync.revision, upload) {
                    (None, _) => "upload",
                    (Some(_), true) => "upload+update",
                    (Some(_), false) => "update",
                };
                report.items.push(report_item(it.image_id, &it.key, action, None));
            }
        } else {
            push_batch(lib, session, rt, items, report)?;
        }
        done += chunk.len() as u64;
        ctl.report("push", done, total);
    }
    push_deletes(lib, session, rt, report)?;
    collect_garbage(lib, session, rt, report)?;
    Ok(Outcome::Finished)
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
            report
                .failed
                .push(report_item(*id, &key, "upload", Some("no embedding".into())));
            continue;
        }
        let sync = if session.opts.dry_run {
            outbox::item(conn, *id)?.unwrap_or(SyncItem {
                remote_id: uuid::Uuid::nil(),
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

fn push_batch(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    items: Vec<Item>,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let ids: Vec<uuid::Uuid> = items.iter().map(|i| i.row.id).collect();
    let current = rt.block_on(session.with_db("read production rows", &ids[..], |r, ids| {
        Box::pin(r.current(ids))
    }))?;
    let mut unchanged = Vec::new();
    let mut write = Vec::new();
    let mut conflicts = Vec::new();
    for it in items {
        match current.get(&it.row.id) {
            Some(cur) if same_content(cur, &it.row, &it.name) => unchanged.push((it, cur.clone())),
            Some(cur) if it.sync.revision.is_some_and(|r| r != cur.revision) => {
                conflicts.push((it, cur.clone()))
            }
            // Ours from a run that stopped before recording it locally. A deleted row's object may
            // have been removed: upload again.
            Some(cur) => write.push((
                Some(cur.revision),
                !cur.deleted && cur.object_key == it.key && cur.content_sha256 == it.row.content_sha256,
                it,
            )),
            None => write.push((None, false, it)),
        }
    }
    // Objects first, 8 (configurable) in flight, each retried with backoff.
    let opts = session.opts.clone();
    let store = &session.store;
    let uploads: Vec<(usize, Result<(), String>)> = rt.block_on(
        futures_util::stream::iter(write.iter().enumerate().filter(|(_, w)| !w.1))
            .map(|(n, (_, _, it))| {
                let opts = &opts;
                async move {
                    let bytes = match std::fs::read(&it.path) {
                        Ok(b) => b,
                        Err(e) => return (n, Err(format!("{}: {e}", it.path.display()))),
                    };
                    let r = retry_store(opts, || store.put_png(&it.key, &bytes)).await;
                    (n, r.map_err(|e| e.message))
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect(),
    );
    let mut upload_failed: HashMap<usize, String> = HashMap::new();
    for (n, r) in uploads {
        match r {
            Ok(()) => report.uploaded += 1,
            Err(e) => {
                upload_failed.insert(n, session.cfg.redact(&e));
            }
        }
    }
    let mut rows = Vec::new();
    let mut ready = Vec::new();
    for (n, (expected, _, it)) in write.into_iter().enumerate() {
        if let Some(e) = upload_failed.remove(&n) {
            report
                .failed
                .push(report_item(it.image_id, &it.key, "upload", Some(e)));
            continue;
        }
        rows.push(PushRow {
            row: it.row.clone(),
            expected: expected.or(it.sync.revision),
            name_key: it.name.key.clone(),
            name_stem: it.name.stem.clone(),
        });
        ready.push(it);
    }
    let written = if rows.is_empty() {
        HashMap::new()
    } else {
        match rt.block_on(session.with_db("write rows", &rows[..], |r, rows| Box::pin(r.upsert(rows)))) {
            Ok(w) => w,
            // A constraint (say, a standard name production already uses for another item): find
            // the culprit row by row, so one item does not hold the batch back.
            Err(_) => {
                let mut w = HashMap::new();
                for (row, it) in rows.iter().zip(&ready) {
                    let one = std::slice::from_ref(row);
                    match rt.block_on(session.with_db("write row", one, |r, one| Box::pin(r.upsert(one)))) {
                        Ok(x) => w.extend(x),
                        Err(e) => report.failed.push(report_item(
                            it.image_id,
                            &it.key,
                            "update",
                            Some(e.to_string()),
                        )),
                    }
                }
                w
            }
        }
    };
    let tx = lib.conn_mut().transaction()?;
    let synced = |it: &Item, revision: i64| SyncItem {
        remote_id: it.row.id,
        revision: Some(revision),
        object_key: Some(it.key.clone()),
        content_sha256: Some(it.row.content_sha256.clone()),
    };
    for (it, cur) in &unchanged {
        let w = Written {
            revision: cur.revision,
            standard_name: cur.standard_name.clone(),
        };
        if let Err(e) = record_written(&tx, it, &w, &synced(it, cur.revision)) {
            report
                .failed
                .push(report_item(it.image_id, &it.key, "name", Some(e.to_string())));
            continue;
        }
        report.unchanged += 1;
    }
    // A row missing from `written` was refused by the revision guard: production changed between
    // our read and our write. It stays queued; the next run reads production again and lists it.
    for it in &ready {
        let Some(w) = written.get(&it.row.id) else {
            continue;
        };
        if let Some(old) = current.get(&it.row.id).filter(|c| c.object_key != it.key) {
            outbox::queue_garbage(&tx, &old.object_key)?;
        }
        if let Err(e) = record_written(&tx, it, w, &synced(it, w.revision)) {
            report
                .failed
                .push(report_item(it.image_id, &it.key, "name", Some(e.to_string())));
            continue;
        }
        report.rows_written += 1;
        let action = if it.sync.revision.is_some() {
            "update"
        } else {
            "upload"
        };
        report.items.push(report_item(it.image_id, &it.key, action, None));
    }
    for (it, cur) in &conflicts {
        let json = serde_json::to_string(cur)?;
        outbox::record_conflict(&tx, it.image_id, cur.revision, &json)?;
        report.conflicts.push(report_item(
            it.image_id,
            &it.key,
            "conflict",
            Some("changed in production since this library last saw it".into()),
        ));
    }
    tx.commit()?;
    Ok(())
}

/// Record locally what production now holds for an item: its revision, object and the standard
/// name production gave. The item leaves the outbox unless it changed again during the push.
fn record_written(
    tx: &rusqlite::Transaction,
    it: &Item,
    written: &Written,
    item: &SyncItem,
) -> Result<(), Error> {
    let untouched = outbox::queued_seq(tx, it.image_id)? == Some(it.seq);
    let given = images::get(tx, it.image_id)?.name;
    if given.as_deref() != Some(written.standard_name.as_str()) || !images::name_given(tx, it.image_id)? {
        images::adopt_name(tx, it.image_id, &written.standard_name)?;
    }
    // Adopting the name re-queues the item (a catalogue trigger); it was pushed as it is.
    outbox::mark_synced(tx, it.image_id, if untouched { None } else { Some(it.seq) }, item)?;
    Ok(())
}

/// Soft-delete production rows of items deleted here.
fn push_deletes(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let dels = outbox::deletes(lib.conn())?;
    if dels.is_empty() {
        return Ok(());
    }
    if session.opts.dry_run {
        for (id, _, key) in &dels {
            report.items.push(SyncItemReport {
                id: None,
                key: key.clone().unwrap_or_else(|| id.to_string()),
                action: "delete".into(),
                error: None,
            });
        }
        return Ok(());
    }
    let pairs: Vec<(uuid::Uuid, i64)> = dels.iter().map(|d| (d.0, d.1)).collect();
    let done = rt.block_on(session.with_db("delete rows", &pairs[..], |r, pairs| {
        Box::pin(r.soft_delete(pairs))
    }))?;
    let tx = lib.conn_mut().transaction()?;
    for (id, _, key) in &dels {
        let label = key.clone().unwrap_or_else(|| id.to_string());
        if done.contains_key(id) {
            report.deleted += 1;
            report.items.push(SyncItemReport {
                id: None,
                key: label,
                action: "delete".into(),
                error: None,
            });
        } else {
            // Changed in production after this library deleted it: production's version wins and
            // comes back with the next pull.
            report.conflicts.push(SyncItemReport {
                id: None,
                key: label,
                action: "delete".into(),
                error: Some("changed in production since; not deleted there".into()),
            });
        }
        outbox::mark_deleted(
            &tx,
            *id,
            if done.contains_key(id) {
                key.as_deref()
            } else {
                None
            },
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Remove objects no production row points to any more.
fn collect_garbage(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let keys = outbox::garbage(lib.conn())?;
    if session.opts.dry_run {
        report.objects_removed += keys.len();
        return Ok(());
    }
    // Objects are shared between curators (content-addressed): one still used by a live row of
    // anyone's stays.
    let mut free = Vec::with_capacity(keys.len());
    for key in keys {
        let used = rt.block_on(session.with_db("check object use", key.as_str(), |r, k| {
            Box::pin(r.object_in_use(k))
        }))?;
        if used {
            outbox::forget_garbage(lib.conn(), &key)?;
        } else {
            free.push(key);
        }
    }
    let keys = free;
    let opts = session.opts.clone();
    let store = &session.store;
    let results: Vec<(String, Result<(), String>)> = rt.block_on(
        futures_util::stream::iter(keys)
            .map(|key| {
                let opts = &opts;
                async move {
                    let r = retry_store(opts, || store.delete(&key))
                        .await
                        .map_err(|e| e.message);
                    (key, r)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect(),
    );
    for (key, r) in results {
        match r {
            Ok(()) => {
                outbox::forget_garbage(lib.conn(), &key)?;
                report.objects_removed += 1;
            }
            Err(e) => report.failed.push(SyncItemReport {
                id: None,
                key,
                action: "remove-object".into(),
                error: Some(session.cfg.redact(&e)),
            }),
        }
    }
    Ok(())
}
