//! Pull: production rows changed since the watermark come into the library with their images and
//! vectors, so browsing and similarity work offline over everything in production.
//!
//! Why page by page with the watermark in the same transaction: a pull cut short resumes exactly
//! where it stopped. A row whose item also has an unpushed local change is a conflict: it is listed,
//! and neither side is overwritten.

use futures_util::StreamExt;
use rusqlite::{params, OptionalExtension};
use tokio::runtime::Runtime;

use crate::catalogue::images::Status;
use crate::catalogue::naming::slug;
use crate::catalogue::systems::{add_manufacturer, add_system};
use crate::ingest::decode::Technical;
use crate::library::{sha256_hex, write_atomic, Library};
use crate::progress::{JobControl, Outcome};
use crate::search::store;
use crate::standardise::crop::Rect;
use crate::standardise::Params;
use crate::sync::outbox::{self, RowAttributes, SyncItem};
use crate::sync::remote::RemoteRow;
use crate::sync::{retry_store, Session, SyncItemReport, SyncReport};
use crate::Error;

const PAGE: i64 = 500;

/// What to do with one production row.
enum Action {
    Skip,
    Conflict(i64),
    Delete(i64),
    Apply { local: Option<i64>, download: bool },
}

pub(super) fn pull(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    ctl: &JobControl,
    report: &mut SyncReport,
) -> Result<Outcome, Error> {
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
        let mut actions = Vec::with_capacity(rows.len());
        for row in &rows {
            actions.push(classify(lib, row)?);
        }
        if session.opts.dry_run {
            for (row, a) in rows.iter().zip(&actions) {
                let (id, action) = match a {
                    Action::Skip => continue,
                    Action::Conflict(id) => (Some(*id), "conflict"),
                    Action::Delete(id) => (Some(*id), "pull-delete"),
                    Action::Apply { local, .. } => (*local, "pull"),
                };
                report.pulled += (action != "conflict") as usize;
                report.items.push(SyncItemReport {
                    id,
                    key: row.object_key.clone(),
                    action: action.into(),
                    error: None,
                });
            }
            wm = rows.last().map_or(wm, |r| r.revision);
            continue;
        }
        // Images first (verified against their hash), then one transaction for the page.
        let opts = session.opts.clone();
        let store = &session.store;
        let layout = lib.layout().clone();
        let downloads: Vec<(usize, Result<(), String>)> = rt.block_on(
            futures_util::stream::iter(rows.iter().zip(&actions).enumerate().filter_map(|(n, (row, a))| {
                matches!(a, Action::Apply { download: true, .. }).then_some((n, row))
            }))
            .map(|(n, row)| {
                let (opts, layout) = (&opts, &layout);
                async move {
                    let fetched = retry_store(opts, || store.get(&row.object_key)).await;
                    let result = match fetched {
                        Err(e) => Err(e.message),
                        Ok(bytes) if sha256_hex(&bytes) != row.content_sha256 => Err(format!(
                            "{}: content does not match its hash in production",
                            row.object_key
                        )),
                        Ok(bytes) => write_atomic(&layout.standard_path(&row.content_sha256), &bytes)
                            .map_err(|e| e.to_string()),
                    };
                    (n, result)
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect(),
        );
        // Stop the page at the first failed download so the watermark never passes it.
        let stop = downloads
            .iter()
            .filter(|d| d.1.is_err())
            .map(|d| d.0)
            .min()
            .unwrap_or(rows.len());
        for (n, r) in &downloads {
            if let Err(e) = r {
                report.failed.push(SyncItemReport {
                    id: None,
                    key: rows[*n].object_key.clone(),
                    action: "pull".into(),
                    error: Some(session.cfg.redact(e)),
                });
            }
        }
        let systems: Vec<Option<(i64, i64)>> = rows[..stop]
            .iter()
            .zip(&actions)
            .map(|(row, a)| match a {
                Action::Apply { .. } => system_ids(lib, row).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let stamp = session.stamp.clone();
        let tx = lib.conn_mut().transaction()?;
        for ((row, action), sys) in rows[..stop].iter().zip(actions).zip(systems) {
            match action {
                Action::Skip => {}
                Action::Conflict(id) => {
                    outbox::record_conflict(&tx, id, row.revision, &serde_json::to_string(row)?)?;
                    if !report.conflicts.iter().any(|c| c.id == Some(id)) {
                        report.conflicts.push(SyncItemReport {
                            id: Some(id),
                            key: row.object_key.clone(),
                            action: "conflict".into(),
                            error: Some("changed here and in production".into()),
                        });
                    }
                }
                Action::Delete(id) => {
                    tx.execute("DELETE FROM sync_items WHERE image_id = ?1", [id])?;
                    store::remove(&tx, id)?;
                    tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
                    report.pulled += 1;
                }
                Action::Apply { local, .. } => {
                    let (manufacturer_id, system_id) = sys.expect("resolved above");
                    let id = apply(&tx, row, local, manufacturer_id, system_id)?;
                    if let Some(v) = &row.embedding {
                        store::ensure_table(&tx, &stamp)?;
                        store::put(&tx, id, &row.content_sha256, &stamp, v)?;
                    }
                    let item = SyncItem {
                        remote_id: row.id,
                        revision: Some(row.revision),
                        object_key: Some(row.object_key.clone()),
                        content_sha256: Some(row.content_sha256.clone()),
                    };
                    outbox::mark_synced(&tx, id, None, &item)?;
                    report.pulled += 1;
                    report.items.push(SyncItemReport {
                        id: Some(id),
                        key: row.object_key.clone(),
                        action: "pull".into(),
                        error: None,
                    });
                }
            }
            wm = row.revision;
        }
        outbox::set_watermark(&tx, wm)?;
        if store::setting(&tx, "encoder")?.is_none() {
            store::set_setting(&tx, "encoder", &stamp.encoder_id)?;
        }
        tx.commit()?;
        seen += stop as u64;
        ctl.report("pull", seen.min(total as u64), total as u64);
        if stop < rows.len() {
            return Ok(Outcome::Finished);
        }
    }
}

fn classify(lib: &Library, row: &RemoteRow) -> Result<Action, Error> {
    let conn = lib.conn();
    let Some((id, item)) = outbox::by_remote_id(conn, row.id)? else {
        if row.deleted {
            return Ok(Action::Skip);
        }
        let have = lib.standard_path(&row.content_sha256).is_file();
        return Ok(Action::Apply {
            local: None,
            download: !have,
        });
    };
    if item.revision == Some(row.revision) {
        return Ok(Action::Skip);
    }
    if outbox::is_pending(conn, id)? || outbox::in_conflict(conn, id)? {
        return Ok(Action::Conflict(id));
    }
    if row.deleted {
        return Ok(Action::Delete(id));
    }
    let have = lib.standard_path(&row.content_sha256).is_file();
    Ok(Action::Apply {
        local: Some(id),
        download: !have,
    })
}

/// The catalogue ids of a row's manufacturer and system, adding them when this library lacks them.
fn system_ids(lib: &mut Library, row: &RemoteRow) -> Result<(i64, i64), Error> {
    let conn = lib.conn();
    let mid: Option<i64> = conn
        .query_row(
            "SELECT id FROM manufacturers WHERE slug = ?1",
            [slug(&row.manufacturer)],
            |r| r.get(0),
        )
        .optional()?;
    let mid = match mid {
        Some(m) => m,
        None => add_manufacturer(lib.conn_mut(), &row.manufacturer, &[])?,
    };
    let sid: Option<i64> = lib
        .conn()
        .query_row(
            "SELECT id FROM systems WHERE manufacturer_id = ?1 AND slug = ?2",
            params![mid, slug(&row.system)],
            |r| r.get(0),
        )
        .optional()?;
    let sid = match sid {
        Some(s) => s,
        None => add_system(lib.conn_mut(), mid, &row.system, &[])?,
    };
    Ok((mid, sid))
}

/// Write a production row into the library (a new remote-only image, or an update of one).
fn apply(
    tx: &rusqlite::Transaction,
    row: &RemoteRow,
    local: Option<i64>,
    manufacturer_id: i64,
    system_id: i64,
) -> Result<i64, Error> {
    let attrs: RowAttributes = serde_json::from_value(row.attributes.clone()).unwrap_or(RowAttributes {
        attributes: Default::default(),
        status: Status::Labelled,
    });
    let id = match local {
        Some(id) => id,
        None => {
            let size = Params::default().size;
            tx.execute(
                "INSERT INTO images (sha256, original_ext, source_name, source_format, width, height, technical,
                     params, params_version, auto_crop, inverted, standard_sha256, origin)
                 VALUES (?1, '', '', 'production', ?2, ?2, ?3, ?4, ?5, ?6, 0, ?7, 'remote')",
                params![
                    format!("remote:{}", row.id),
                    size,
                    serde_json::to_string(&Technical::default())?,
                    serde_json::to_string(&Params::default())?,
                    Params::default().version,
                    serde_json::to_string(&Rect::full(size, size))?,
                    row.content_sha256,
                ],
            )?;
            tx.last_insert_rowid()
        }
    };
    let seq: Option<u32> = row
        .standard_name
        .trim_end_matches(".png")
        .rsplit('_')
        .next()
        .and_then(|n| n.parse().ok());
    let status = if attrs.status == Status::Unlabelled {
        Status::Labelled
    } else {
        attrs.status
    };
    let a = &attrs.attributes;
    tx.execute(
        "UPDATE images SET manufacturer_id = ?2, system_id = ?3, modality = ?4, diameter_mm = ?5, length_mm = ?6,
             connection = ?7, notes = ?8, status = ?9, standard_name = ?10, name_seq = ?11, standard_sha256 = ?12,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1",
        params![
            id,
            manufacturer_id,
            system_id,
            a.modality.map(|m| m.as_str()),
            a.diameter_mm,
            a.length_mm,
            a.connection,
            a.notes,
            status.as_str(),
            row.standard_name,
            seq,
            row.content_sha256,
        ],
    )?;
    Ok(id)
}
