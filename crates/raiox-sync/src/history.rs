//! The label history in production: this library's entries appended to `implant_history`, and
//! every other curator's entries brought back, attributed to them.
//!
//! Why a feed of its own and not with the rows: an entry may reach production before or after the
//! row of its implant (an implant's first entries are pushed once its row gave it a production
//! id), so a puller reads the history feed by its own watermark, after the rows, and keeps every
//! valid entry with its implant's production id; an entry whose implant this library does not hold
//! yet is attached when that implant is pulled ([`raiox_core::catalogue::history::attach`]). Both
//! steps are idempotent (entries are keyed by their UUID) and commit with their watermark, so a
//! sync stopped anywhere is finished by the next.
//!
//! Production is not trusted: each entry passes [`crate::validate::check_history`] first. One that
//! does not is reported as quarantined with the reason and skipped; the feed goes on past it (an
//! entry is never changed in production, so trying it again could not help).

use tokio::runtime::Runtime;
use uuid::Uuid;

use crate::outbox;
use crate::remote::HistoryEntry;
use crate::validate::check_history;
use crate::{Session, SyncAction, SyncItemReport, SyncReport};
use raiox_core::catalogue::history;
use raiox_core::library::Library;
use raiox_core::Error;

/// Entries per request and per local transaction.
const PAGE: usize = 500;

/// Append the entries production does not hold yet (those of implants it knows) and mark them.
pub(crate) fn push(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    report: &mut SyncReport,
) -> Result<(), Error> {
    loop {
        let pending = history::unpushed(lib.conn(), PAGE)?;
        if pending.is_empty() {
            return Ok(());
        }
        let mut entries = Vec::with_capacity(pending.len());
        for p in &pending {
            entries.push(to_remote(p)?);
        }
        if session.opts.dry_run {
            report.history_pushed += entries.len();
            return Ok(());
        }
        rt.block_on(session.with_db("write history", &entries[..], |r, e| {
            Box::pin(r.append_history(e))
        }))?;
        let ids: Vec<String> = pending.into_iter().map(|p| p.change.entry_id).collect();
        let tx = lib.conn_mut().transaction()?;
        history::mark_pushed(&tx, &ids)?;
        tx.commit()?;
        report.history_pushed += ids.len();
    }
}

/// A local entry in production's shape.
fn to_remote(p: &history::Pending) -> Result<HistoryEntry, Error> {
    let c = &p.change;
    let bad = |what: &str| Error::Invalid(format!("history entry {}: {what} is malformed", c.entry_id));
    Ok(HistoryEntry {
        implant_id: Uuid::parse_str(&p.remote_id).map_err(|_| bad("its implant's production id"))?,
        entry_id: Uuid::parse_str(&c.entry_id).map_err(|_| bad("its id"))?,
        seq: 0,
        at: chrono::DateTime::parse_from_rfc3339(&c.at)
            .map_err(|_| bad("its time"))?
            .with_timezone(&chrono::Utc),
        curator: c.curator.clone(),
        kind: c.kind.as_str().into(),
        from: c.from.clone(),
        to: c.to.clone(),
        longest: 0,
    })
}

/// Read production's history feed past this library's watermark and keep every valid entry.
pub(crate) fn pull(
    lib: &mut Library,
    session: &mut Session,
    rt: &Runtime,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let mut wm = outbox::history_watermark(lib.conn())?;
    loop {
        let entries = rt.block_on(session.with_db("read production history", &wm, |r, wm| {
            Box::pin(r.history_since(*wm, PAGE as i64))
        }))?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            return Ok(());
        };
        let now = chrono::Utc::now();
        let tx = lib.conn_mut().transaction()?;
        for e in &entries {
            match check_history(e, now) {
                Ok(entry) => {
                    let local = outbox::by_remote_id(&tx, e.implant_id)?.map(|(id, _)| id);
                    if history::insert_pulled(&tx, local, &e.implant_id.to_string(), &entry)? {
                        report.history_pulled += 1;
                    }
                }
                Err(why) => report.quarantined.push(SyncItemReport::new(
                    None,
                    format!("history entry {} of {}", e.entry_id, e.implant_id),
                    SyncAction::Quarantine,
                    Some(why),
                )),
            }
        }
        outbox::set_history_watermark(&tx, last)?;
        tx.commit()?;
        wm = last;
        if entries.len() < PAGE {
            return Ok(());
        }
    }
}
