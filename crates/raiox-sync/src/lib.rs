//! The network side of Raiox Studio: one-click sync with production, and web downloads for imports.
//!
//! Sync with production: standardised images to Spaces (S3), rows and vectors to the
//! PostgreSQL + pgvector `implants` table, and production's changes pulled back into the library,
//! which is the offline cache.
//!
//! Why an outbox and revisions: a curator presses "sync" on a laptop whose network comes and goes.
//! Local changes are queued per item by catalogue triggers ([`outbox`]); each item is pushed object
//! first, row second, and dequeued only when both are in production, so any interruption leaves a
//! queue the next run finishes. Production's revision counter gives pulls a watermark and writes an
//! optimistic-concurrency guard, so an item changed on both sides becomes a listed conflict.

pub mod config;
mod history;
pub mod objects;
pub mod outbox;
pub mod postgres;
mod pull;
mod push;
pub mod remote;
pub mod validate;
pub mod web;

use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;

use raiox_core::embed::Encoder;
use raiox_core::embed::ModelStamp;
use raiox_core::library::Library;
use raiox_core::progress::{JobControl, Outcome};
use raiox_core::Error;

pub use config::RemoteConfig;
use objects::ObjectStore;
use postgres::DbTarget;
use remote::Remote;

/// What a sync run does and how hard it tries.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Only work out and report what would happen; change nothing anywhere.
    pub dry_run: bool,
    /// Push local changes.
    pub push: bool,
    /// Pull production's changes.
    pub pull: bool,
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Items per row batch (one transaction each).
    pub batch: usize,
    /// Attempts per request before an item is reported as failed.
    pub attempts: u32,
    /// First retry delay; doubles each attempt.
    pub backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            push: true,
            pull: true,
            concurrency: 8,
            batch: 500,
            attempts: 5,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a sync does (or, in a dry run, would do) to one item.
///
/// Why an enum: the same words are written by push and pull, matched by the CLI and the window,
/// and read by scripts from `--json`; one type keeps them from drifting. They serialise (and
/// display) as the lower-case words the reports have always used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SyncAction {
    /// A new item: its object uploaded (unless production holds it already) and its row inserted.
    #[serde(rename = "upload")]
    Upload,
    /// An item production already has: its row rewritten.
    #[serde(rename = "update")]
    Update,
    /// Embedding a queued item before its push (failures only).
    #[serde(rename = "embed")]
    Embed,
    /// Taking the standard name production gave (failures only).
    #[serde(rename = "name")]
    Name,
    /// Changed here and in production: listed for the curator, neither side overwritten.
    #[serde(rename = "conflict")]
    Conflict,
    /// An item deleted here: its production row soft-deleted.
    #[serde(rename = "delete")]
    Delete,
    /// An object no production row points to any more removed from the bucket (failures only).
    #[serde(rename = "remove-object")]
    RemoveObject,
    /// A production row brought into the library.
    #[serde(rename = "pull")]
    Pull,
    /// A production deletion applied to the library.
    #[serde(rename = "pull-delete")]
    PullDelete,
    /// A production row refused (bad fields, missing or wrong object).
    #[serde(rename = "quarantine")]
    Quarantine,
}

impl SyncAction {
    /// The word reports use (the same as the JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncAction::Upload => "upload",
            SyncAction::Update => "update",
            SyncAction::Embed => "embed",
            SyncAction::Name => "name",
            SyncAction::Conflict => "conflict",
            SyncAction::Delete => "delete",
            SyncAction::RemoveObject => "remove-object",
            SyncAction::Pull => "pull",
            SyncAction::PullDelete => "pull-delete",
            SyncAction::Quarantine => "quarantine",
        }
    }
}

impl std::fmt::Display for SyncAction {
    /// Padded like a string, so `{:<14}` columns line up as before.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One item in a plan or a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncItemReport {
    /// Local image id (None for production rows not in this library yet).
    pub id: Option<i64>,
    /// Object key or standard name.
    pub key: String,
    /// What happens / happened to it.
    pub action: SyncAction,
    /// Why it failed or conflicts, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SyncItemReport {
    /// One entry; push and pull build them all through here.
    pub(crate) fn new(
        id: Option<i64>,
        key: impl Into<String>,
        action: SyncAction,
        error: Option<String>,
    ) -> Self {
        SyncItemReport {
            id,
            key: key.into(),
            action,
            error,
        }
    }
}

/// The result of a run (or, for a dry run, the plan).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Objects uploaded (dry run: to upload).
    pub uploaded: usize,
    /// Rows inserted or updated.
    pub rows_written: usize,
    /// Items already identical in production (dequeued without a write).
    pub unchanged: usize,
    /// Rows soft-deleted.
    pub deleted: usize,
    /// Objects removed.
    pub objects_removed: usize,
    /// Production rows applied to the library.
    pub pulled: usize,
    /// Queued items left for later because they have no label yet.
    pub waiting_unlabelled: usize,
    /// Label-history entries appended to production (dry run: to append).
    pub history_pushed: usize,
    /// Other curators' label-history entries brought into the library.
    pub history_pulled: usize,
    /// Items changed on both sides.
    pub conflicts: Vec<SyncItemReport>,
    /// Items that failed after retries (left queued).
    pub failed: Vec<SyncItemReport>,
    /// Production rows refused (bad fields, missing or wrong object), with the reason; never
    /// applied, tried again on the next pull.
    pub quarantined: Vec<SyncItemReport>,
    /// Every item touched (or, in a dry run, to be touched).
    pub items: Vec<SyncItemReport>,
    /// Whether the run finished or was cancelled.
    pub outcome: Option<Outcome>,
}

impl SyncReport {
    /// One line of totals, the same in the CLI and the GUI.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run { "would be" } else { "were" };
        format!(
            "{} objects {verb} uploaded, {} rows written, {} unchanged, {} deleted, {} objects removed, \
             {} pulled; {} conflicts, {} failed, {} quarantined, {} waiting for a label; \
             {} history entries {verb} pushed, {} pulled",
            self.uploaded,
            self.rows_written,
            self.unchanged,
            self.deleted,
            self.objects_removed,
            self.pulled,
            self.conflicts.len(),
            self.failed.len(),
            self.quarantined.len(),
            self.waiting_unlabelled,
            self.history_pushed,
            self.history_pulled
        )
    }
}

/// A live session with production: runtime, bucket and database, checked against the encoder.
pub(crate) struct Session {
    store: ObjectStore,
    db: DbTarget,
    remote: Option<Remote>,
    stamp: ModelStamp,
    cfg: RemoteConfig,
    opts: SyncOptions,
}

impl Session {
    fn new(cfg: &RemoteConfig, encoder: &dyn Encoder, opts: &SyncOptions) -> Result<Session, Error> {
        let missing = cfg.missing();
        if !missing.is_empty() {
            return Err(Error::Invalid(format!(
                "sync is not configured: set {} (environment or `raiox remote config`)",
                missing.join(", ")
            )));
        }
        Ok(Session {
            store: ObjectStore::new(&cfg.spaces, opts.timeout)?,
            db: DbTarget::parse(&cfg.database.url, opts.timeout)?,
            remote: None,
            stamp: encoder.stamp(),
            cfg: cfg.clone(),
            opts: opts.clone(),
        })
    }

    /// Connect (or reconnect after a failure) and migrate.
    async fn remote(&mut self) -> Result<&mut Remote, Error> {
        if self.remote.as_ref().is_some_and(|r| r.client().is_closed()) {
            self.remote = None;
        }
        if self.remote.is_none() {
            let client = self.db.connect().await?;
            self.remote = Some(Remote::open(client, &self.stamp).await?);
        }
        Ok(self.remote.as_mut().expect("connected above"))
    }

    /// Run `f` against the database, reconnecting with backoff when the connection is lost; a
    /// server-side refusal (constraint, permission) is returned at once.
    async fn with_db<C: ?Sized + Sync, T, F>(&mut self, what: &str, ctx: &C, mut f: F) -> Result<T, Error>
    where
        F: for<'a> FnMut(&'a mut Remote, &'a C) -> futures_util::future::BoxFuture<'a, Result<T, Error>>,
    {
        let mut delay = self.opts.backoff;
        let mut last = None;
        for attempt in 0..self.opts.attempts.max(1) {
            if attempt > 0 {
                tracing::warn!("{what}: retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            let result = match self.remote().await {
                Ok(r) => f(r, ctx).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let lost = self.remote.as_ref().is_none_or(|r| r.client().is_closed());
                    let text = self.cfg.redact(&e.to_string());
                    if !lost && !is_transient_db(&text) {
                        return Err(Error::Remote(text));
                    }
                    self.remote = None;
                    last = Some(text);
                }
            }
        }
        Err(Error::Remote(format!(
            "{what}: {} (after {} attempts)",
            last.unwrap_or_default(),
            self.opts.attempts
        )))
    }
}

/// The async runtime network calls run on (the core's API stays synchronous for both fronts).
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Remote(format!("cannot start the network runtime: {e}")))
}

/// Server errors worth a retry: the connection or the server went away, or a serialisation failure.
fn is_transient_db(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "connection",
        "closed",
        "timed out",
        "shutting down",
        "57p01",
        "57p03",
        "40001",
        "40p01",
        "08006",
        "08001",
    ]
    .iter()
    .any(|k| t.contains(k))
}

/// Retry a transient object-store failure with exponential backoff.
async fn retry_store<T, F, Fut>(opts: &SyncOptions, mut f: F) -> Result<T, objects::StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, objects::StoreError>>,
{
    let mut delay = opts.backoff;
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if e.transient && attempt < opts.attempts => {
                tracing::warn!("{e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(mut e) => {
                if attempt > 1 {
                    e.message = format!("{} (after {attempt} attempts)", e.message);
                }
                return Err(e);
            }
        }
    }
}

/// Run `f` on every item, `opts.concurrency` at a time, each call retried with backoff while it
/// fails transiently; returns every item with its result, in completion order.
///
/// Why one helper: uploads, object removals and downloads all need the same bounded parallelism
/// and the same retry policy.
async fn transfer_all<T, R, F, Fut>(
    opts: &SyncOptions,
    items: Vec<T>,
    f: F,
) -> Vec<(T, Result<R, objects::StoreError>)>
where
    T: Clone,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<R, objects::StoreError>>,
{
    let f = &f;
    futures_util::stream::iter(items)
        .map(|item| async move {
            let result = retry_store(opts, || f(item.clone())).await;
            (item, result)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await
}

/// Sync the library with production: push the outbox, then pull what changed in production.
pub fn sync(
    lib: &mut Library,
    cfg: &RemoteConfig,
    encoder: &dyn Encoder,
    opts: &SyncOptions,
    ctl: &JobControl,
) -> Result<SyncReport, Error> {
    let mut session = Session::new(cfg, encoder, opts)?;
    let rt = runtime()?;
    let mut report = SyncReport {
        dry_run: opts.dry_run,
        ..SyncReport::default()
    };
    let mut outcome = Outcome::Finished;
    if opts.push {
        outcome = push::push(lib, &mut session, &rt, encoder, ctl, &mut report)?;
        if outcome == Outcome::Finished {
            history::push(lib, &mut session, &rt, &mut report)?;
        }
    }
    if opts.pull && outcome == Outcome::Finished {
        outcome = pull::pull(lib, &mut session, &rt, ctl, &mut report)?;
        if outcome == Outcome::Finished && !opts.dry_run {
            history::pull(lib, &mut session, &rt, &mut report)?;
        }
        if report.pulled > 0 && !opts.dry_run {
            // Production carries the context view's vectors; the fixture view is made here.
            let summary = raiox_core::embedding::embed_library(lib, encoder, ctl)?;
            report.failed.extend(
                summary
                    .failures
                    .into_iter()
                    .map(|f| SyncItemReport::new(Some(f.id), "", SyncAction::Embed, Some(f.error))),
            );
        }
    }
    for c in outbox::conflicts(lib.conn())? {
        if !report.conflicts.iter().any(|r| r.id == Some(c.0)) {
            report.conflicts.push(SyncItemReport::new(
                Some(c.0),
                "",
                SyncAction::Conflict,
                Some(format!("changed here and in production (revision {})", c.1)),
            ));
        }
    }
    report.outcome = Some(outcome);
    Ok(report)
}

/// Resolve a conflict: keep this library's version (the next push writes it over production's) or
/// take production's. Taking production's deletion of an item made here deletes it here too, its
/// original going to the trash.
pub fn resolve_conflict(lib: &mut Library, image_id: i64, keep_local: bool) -> Result<(), Error> {
    let remote_deleted = outbox::resolve(lib.conn_mut(), image_id, keep_local)?;
    if !keep_local && remote_deleted {
        raiox_core::curate::delete(lib, &[image_id])?;
    }
    Ok(())
}

/// The result of `raiox remote check`: one line per connection, `None` when it works.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Object store problem.
    pub spaces: Option<String>,
    /// Database problem.
    pub database: Option<String>,
    /// The TLS policy used for the database.
    pub database_tls: String,
    /// Production rows (live), when the database works.
    pub rows: Option<i64>,
    /// Something that works but needs attention (e.g. the vector index is missing).
    pub warning: Option<String>,
}

/// Test both connections and say exactly what is wrong (DNS, TLS, auth, missing bucket, missing
/// pgvector, encoder or dimension mismatch). Creates the schema if the database is empty.
pub fn check(cfg: &RemoteConfig, encoder: &dyn Encoder) -> Result<CheckReport, Error> {
    let opts = SyncOptions {
        attempts: 1,
        timeout: Duration::from_secs(10),
        ..SyncOptions::default()
    };
    let mut session = Session::new(cfg, encoder, &opts)?;
    let rt = runtime()?;
    let spaces = rt
        .block_on(session.store.check())
        .err()
        .map(|e| cfg.redact(&e.message));
    let policy = format!("{:?}", session.db.policy());
    let db = rt.block_on(async {
        let r = session.remote().await?;
        let row = r
            .client()
            .query_one("SELECT COUNT(*) FROM implants WHERE NOT deleted", &[])
            .await
            .map_err(|e| Error::Remote(postgres::describe(&e)))?;
        Ok::<(i64, bool), Error>((row.get(0), r.has_vector_index().await?))
    });
    let (rows, database, warning) = match db {
        Ok((n, indexed)) => (
            Some(n),
            None,
            (!indexed).then(|| {
                format!(
                    "production's implants table has no vector index, so every remote search scans all rows; \
                     recreate it with: {}",
                    remote::Remote::vector_index_sql()
                )
            }),
        ),
        Err(e) => (None, Some(cfg.redact(&e.to_string())), None),
    };
    Ok(CheckReport {
        spaces,
        database,
        database_tls: policy,
        rows,
        warning,
    })
}

/// kNN over production through pgvector's HNSW index: (row, cosine similarity), best first.
pub fn similar_remote(
    cfg: &RemoteConfig,
    encoder: &dyn Encoder,
    query: &[f32],
    k: usize,
) -> Result<Vec<(remote::RemoteRow, f32)>, Error> {
    let mut session = Session::new(cfg, encoder, &SyncOptions::default())?;
    runtime()?
        .block_on(async {
            let r = session.remote().await?;
            r.knn(query, k).await
        })
        .map_err(|e| Error::Remote(cfg.redact(&e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_serialise_and_display_as_the_words_reports_have_always_used() {
        let words = [
            (SyncAction::Upload, "upload"),
            (SyncAction::Update, "update"),
            (SyncAction::Embed, "embed"),
            (SyncAction::Name, "name"),
            (SyncAction::Conflict, "conflict"),
            (SyncAction::Delete, "delete"),
            (SyncAction::RemoveObject, "remove-object"),
            (SyncAction::Pull, "pull"),
            (SyncAction::PullDelete, "pull-delete"),
            (SyncAction::Quarantine, "quarantine"),
        ];
        for (action, word) in words {
            assert_eq!(serde_json::to_value(action).unwrap(), word);
            assert_eq!(action.to_string(), word);
        }
        // Padded like the strings they replace, so the CLI's columns do not move.
        assert_eq!(format!("{:<14}|", SyncAction::Pull), "pull          |");
        let entry = SyncItemReport::new(None, "k", SyncAction::PullDelete, None);
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"id":null,"key":"k","action":"pull-delete"}"#
        );
    }
}
