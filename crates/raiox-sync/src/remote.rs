//! Production's `implants` table (PostgreSQL + pgvector): schema migrations, batched upserts, soft
//! deletes, the revision feed that pulls read, and kNN through the HNSW index.
//!
//! Why revisions: every write takes the next value of one sequence under a transaction-level advisory
//! lock, so revision order is commit order and "everything after revision N" is a complete change
//! feed for any number of curators' libraries. Writes are guarded by the revision the writer last
//! saw, so a change made elsewhere is never overwritten silently: it comes back as a conflict.
//!
//! Why production gives the names: several curators label offline, each numbering its own items;
//! only production sees them all. A row is written with the *stem* of its name
//! (`maker_system[_size]`) and production draws the number from a per-`maker_system` counter under
//! the same lock, keeping a row's name while its stem stays the same.

use std::collections::HashMap;

use pgvector::Vector;
use serde::Serialize;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::Client;
/// Row ids are UUIDs (re-exported so callers build rows without naming the crate).
pub use uuid::Uuid;

use crate::postgres::describe;
use raiox_core::embed::ModelStamp;
use raiox_core::Error;

/// Schema version this build writes; a newer one in production is refused.
const SCHEMA_VERSION: i32 = 2;
/// Key of the advisory lock that serialises writers (and migrations).
const WRITE_LOCK: i64 = 0x7261_696f_785f_7379; // "raiox_sy"
/// HNSW build parameters (see docs/BENCHMARKS.md for the recall/latency trade-off).
pub const HNSW_M: u32 = 16;
/// HNSW construction beam.
pub const HNSW_EF_CONSTRUCTION: u32 = 128;
/// HNSW search beam used by [`Remote::knn`].
pub const HNSW_EF_SEARCH: u32 = 100;

/// One row as production holds it.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteRow {
    /// Stable id of the item across every library.
    pub id: Uuid,
    /// SHA-256 of the standardised PNG.
    pub content_sha256: String,
    /// Standard file name.
    pub standard_name: String,
    /// Manufacturer name.
    pub manufacturer: String,
    /// System name.
    pub system: String,
    /// Optional attributes (modality, sizes, connection, notes) as JSON.
    pub attributes: serde_json::Value,
    /// Object key in the bucket.
    pub object_key: String,
    /// Public URL, when objects are public.
    pub url: Option<String>,
    /// Encoder that made the vector.
    pub encoder_id: String,
    /// Revision of this row's last change.
    pub revision: i64,
    /// Soft-deleted.
    pub deleted: bool,
    /// The vector (left out of listings that do not need it).
    #[serde(skip)]
    pub embedding: Option<Vec<f32>>,
}

/// What one library wants production to hold for one item.
#[derive(Debug, Clone)]
pub struct PushRow {
    /// The row itself (revision and deleted are ignored; its standard name is only a proposal).
    pub row: RemoteRow,
    /// The revision this library last saw (None: the row is new).
    pub expected: Option<i64>,
    /// What production numbers: `<manufacturer>_<system>`.
    pub name_key: String,
    /// The name without its number: `<manufacturer>_<system>[_<d>x<l>]`.
    pub name_stem: String,
}

/// Longest text of a history entry read from production (characters); longer ones are cut in the
/// query and refused by validation.
pub const HISTORY_TEXT_CAP: usize = 4096;

/// One label-history entry as production holds it (see [`Remote::append_history`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The implant's production id.
    pub implant_id: Uuid,
    /// The entry's own id (made where the change was).
    pub entry_id: Uuid,
    /// Production's append order (0 for an entry not read from production).
    pub seq: i64,
    /// When the change was made.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who made it.
    pub curator: String,
    /// What kind of change.
    pub kind: String,
    /// Before (JSON text).
    pub from: Option<String>,
    /// After (JSON text).
    pub to: Option<String>,
    /// Length of the longest text field in production (characters), before any cut.
    pub longest: usize,
}

/// A row production accepted: its new revision and the standard name it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Revision of the write.
    pub revision: i64,
    /// The name production gave (or kept).
    pub standard_name: String,
}

/// A connected, migrated production database.
pub struct Remote {
    client: Client,
    /// HNSW search beam for [`Remote::knn`] (at least twice `k`).
    ef_search: u32,
    /// The server's pgvector version (`extversion`), e.g. "0.6.2".
    pgvector: String,
}

/// Largest `hnsw.ef_search` pgvector accepts.
const MAX_EF_SEARCH: u32 = 1000;

const COLUMNS: &str =
    "id, content_sha256, standard_name, manufacturer, system, attributes, object_key, url, \
     encoder_id, revision, deleted";

fn pg(e: tokio_postgres::Error) -> Error {
    Error::Remote(format!("PostgreSQL: {}", describe(&e)))
}

fn row_of(r: &tokio_postgres::Row, with_vector: bool) -> RemoteRow {
    RemoteRow {
        id: r.get(0),
        content_sha256: r.get(1),
        standard_name: r.get(2),
        manufacturer: r.get(3),
        system: r.get(4),
        attributes: r.get(5),
        object_key: r.get(6),
        url: r.get(7),
        encoder_id: r.get(8),
        revision: r.get(9),
        deleted: r.get(10),
        embedding: with_vector.then(|| r.get::<_, Vector>(11).to_vec()),
    }
}

impl Remote {
    /// Wrap a connection and bring the schema up to date for vectors of `stamp`; an existing table
    /// made for another encoder or dimension is an error naming both.
    pub async fn open(client: Client, stamp: &ModelStamp) -> Result<Remote, Error> {
        let mut remote = Remote {
            client,
            ef_search: HNSW_EF_SEARCH,
            pgvector: String::new(),
        };
        remote.migrate(stamp).await?;
        remote.pgvector = remote
            .client
            .query_opt(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
                &[],
            )
            .await
            .map_err(pg)?
            .map(|r| r.get(0))
            .unwrap_or_default();
        Ok(remote)
    }

    /// Whether the table has its HNSW vector index: without it every kNN scans all rows, which
    /// nothing else would reveal (the answers stay right, only slower).
    pub async fn has_vector_index(&self) -> Result<bool, Error> {
        let row = self
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema()
                     AND tablename = 'implants' AND indexdef ILIKE '%USING hnsw%')",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok(row.get(0))
    }

    /// The statement that recreates the vector index as the migrations made it (for messages).
    pub fn vector_index_sql() -> String {
        format!(
            "CREATE INDEX CONCURRENTLY implants_embedding_live_hnsw ON implants USING hnsw \
             (embedding vector_cosine_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) \
             WHERE NOT deleted"
        )
    }

    /// Search with this HNSW beam instead of [`HNSW_EF_SEARCH`] (benchmarks sweep it).
    pub fn set_ef_search(&mut self, ef_search: u32) {
        self.ef_search = ef_search.clamp(1, MAX_EF_SEARCH);
    }

    /// The server's pgvector version, e.g. "0.6.2".
    pub fn pgvector_version(&self) -> &str {
        &self.pgvector
    }

    /// Whether the server's pgvector is at least `(major, minor)` (features depend on it).
    pub fn pgvector_at_least(&self, min: (u32, u32)) -> bool {
        parse_version(&self.pgvector).is_some_and(|v| v >= min)
    }

    /// Whether the server continues an index scan past its beam (pgvector ≥ 0.8).
    pub fn iterative_scan(&self) -> bool {
        self.pgvector_at_least((0, 8))
    }

    /// The raw client (for checks and benchmarks).
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn migrate(&self, stamp: &ModelStamp) -> Result<(), Error> {
        let c = &self.client;
        let available = c
            .query_opt("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'", &[])
            .await
            .map_err(pg)?;
        if available.is_none() {
            return Err(Error::Remote(
                "PostgreSQL: the pgvector extension is not installed on this server (CREATE EXTENSION vector \
                 needs it; DigitalOcean and most managed Postgres offer it)"
                    .into(),
            ));
        }
        c.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7382947101);")
            .await
            .map_err(pg)?;
        let result = self.migrate_locked(stamp).await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        c.batch_execute(end).await.map_err(pg)?;
        result
    }

    async fn migrate_locked(&self, stamp: &ModelStamp) -> Result<(), Error> {
        let c = &self.client;
        c.batch_execute(
            "CREATE EXTENSION IF NOT EXISTS vector;
             CREATE TABLE IF NOT EXISTS raiox_meta (key text PRIMARY KEY, value text NOT NULL);",
        )
        .await
        .map_err(pg)?;
        let meta: HashMap<String, String> = c
            .query("SELECT key, value FROM raiox_meta", &[])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let version: i32 = meta
            .get("schema_version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(Error::Remote(format!(
                "production schema is version {version}; this raiox knows {SCHEMA_VERSION}: update raiox"
            )));
        }
        // A table from the seed scripts (or another tool): only its vector column can be checked.
        let existing_dim: Option<i32> = c
            .query_opt(
                "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
                 WHERE t.relname = 'implants' AND a.attname = 'embedding' AND t.relkind = 'r'
                   AND t.relnamespace = current_schema()::regnamespace",
                &[],
            )
            .await
            .map_err(pg)?
            .map(|r| r.get(0));
        let table_encoder = meta.get("encoder_id").cloned();
        if let Some(dim) = existing_dim {
            if dim as usize != stamp.dim || table_encoder.as_deref().is_some_and(|e| e != stamp.encoder_id) {
                return Err(Error::Remote(format!(
                    "production table implants holds {dim}-D vectors from encoder {}; this library embeds with \
                     {} ({}-D). Vectors of different models are never mixed: use the same encoder \
                     (`raiox embed --encoder ...`) or another database",
                    table_encoder.as_deref().unwrap_or("unknown"),
                    stamp.encoder_id,
                    stamp.dim
                )));
            }
        }
        if let (Some(w), Some(p)) = (meta.get("weights_sha256"), meta.get("preprocess_version")) {
            if *w != stamp.weights_sha256 || *p != stamp.preprocess_version.to_string() {
                return Err(Error::Remote(format!(
                    "production vectors of {} were made with other weights or preprocessing \
                     (weights {}…, preprocessing v{p}); this library has weights {}…, v{}",
                    stamp.encoder_id,
                    &w[..w.len().min(12)],
                    &stamp.weights_sha256[..stamp.weights_sha256.len().min(12)],
                    stamp.preprocess_version
                )));
            }
        }
        if version < 1 {
            if existing_dim.is_some() {
                return Err(Error::Remote(
                    "production already has an implants table that raiox did not create (no raiox_meta); rename \
                     it or use an empty database"
                        .into(),
                ));
            }
            c.batch_execute(&format!(
                "CREATE SEQUENCE IF NOT EXISTS implants_revision_seq;
                 CREATE TABLE implants (
                     id              uuid PRIMARY KEY,
                     content_sha256  text NOT NULL UNIQUE,
                     standard_name   text NOT NULL UNIQUE,
                     manufacturer    text NOT NULL,
                     system          text NOT NULL,
                     attributes      jsonb NOT NULL DEFAULT '{{}}',
                     object_key      text NOT NULL,
                     url             text,
                     encoder_id      text NOT NULL,
                     embedding       vector({dim}) NOT NULL,
                     revision        bigint NOT NULL DEFAULT nextval('implants_revision_seq'),
                     updated_at      timestamptz NOT NULL DEFAULT now(),
                     deleted         boolean NOT NULL DEFAULT false
                 );
                 CREATE INDEX implants_revision ON implants (revision);",
                dim = stamp.dim
            ))
            .await
            .map_err(pg)?;
            for (k, v) in [
                ("encoder_id", stamp.encoder_id.clone()),
                ("dim", stamp.dim.to_string()),
                ("weights_sha256", stamp.weights_sha256.clone()),
                ("preprocess_version", stamp.preprocess_version.to_string()),
            ] {
                c.execute(
                    "INSERT INTO raiox_meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&k, &v],
                )
                .await
                .map_err(pg)?;
            }
        }
        if version < 2 {
            // Two curators may import the same film: content is no longer unique, objects are
            // content-addressed and shared. Names are numbered by production. kNN searches live
            // rows only, through a partial HNSW index.
            c.batch_execute(&format!(
                "ALTER TABLE implants DROP CONSTRAINT IF EXISTS implants_content_sha256_key;
                 CREATE INDEX IF NOT EXISTS implants_content ON implants (content_sha256);
                 CREATE INDEX IF NOT EXISTS implants_object_key ON implants (object_key);
                 CREATE TABLE IF NOT EXISTS raiox_names (name_key text PRIMARY KEY, last_seq bigint NOT NULL);
                 DROP INDEX IF EXISTS implants_embedding_hnsw;
                 CREATE INDEX IF NOT EXISTS implants_embedding_live_hnsw ON implants
                     USING hnsw (embedding vector_cosine_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})
                     WHERE NOT deleted;"
            ))
            .await
            .map_err(pg)?;
            c.execute(
                "INSERT INTO raiox_meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&SCHEMA_VERSION.to_string()],
            )
            .await
            .map_err(pg)?;
        }
        // The label history (pushed and pulled by the sync). Additive and ignored by older builds, so it does
        // not raise the schema version: a curator who has not upgraded yet can still sync.
        // Append-only, keyed by (implant, entry): a re-push is a no-op and no curator's entry
        // can replace another's. `seq` is drawn under the write lock, so its order is commit
        // order and "after seq N" is a complete feed.
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS implant_history (
                 implant_id uuid NOT NULL,
                 entry_id   uuid NOT NULL,
                 seq        bigserial NOT NULL,
                 at         timestamptz NOT NULL,
                 curator    text NOT NULL,
                 kind       text NOT NULL,
                 from_value text,
                 to_value   text,
                 PRIMARY KEY (implant_id, entry_id)
             );
             CREATE INDEX IF NOT EXISTS implant_history_seq ON implant_history (seq);",
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    /// Append label-history entries (one transaction, under the write lock); entries production
    /// already holds are left as they are. Returns how many were new.
    pub async fn append_history(&mut self, entries: &[HistoryEntry]) -> Result<u64, Error> {
        let tx = self.client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(pg)?;
        let col = |f: fn(&HistoryEntry) -> Option<String>| entries.iter().map(f).collect::<Vec<_>>();
        let n = tx
            .execute(
                "INSERT INTO implant_history (implant_id, entry_id, at, curator, kind, from_value, to_value)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[],
                     $6::text[], $7::text[])
                 ON CONFLICT (implant_id, entry_id) DO NOTHING",
                &[
                    &entries.iter().map(|e| e.implant_id).collect::<Vec<_>>(),
                    &entries.iter().map(|e| e.entry_id).collect::<Vec<_>>(),
                    &entries.iter().map(|e| e.at).collect::<Vec<_>>(),
                    &col(|e| Some(e.curator.clone())),
                    &col(|e| Some(e.kind.clone())),
                    &col(|e| e.from.clone()),
                    &col(|e| e.to.clone()),
                ],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(n)
    }

    /// Label-history entries appended after `after` (their `seq`), oldest first, at most `limit`.
    /// Text fields come cut to [`HISTORY_TEXT_CAP`] characters with their full length, so a
    /// hostile entry of megabytes is refused without being downloaded.
    pub async fn history_since(&self, after: i64, limit: i64) -> Result<Vec<HistoryEntry>, Error> {
        let rows = self
            .client
            .query(
                "SELECT implant_id, entry_id, seq, at, left(curator, $3), left(kind, $3), left(from_value, $3),
                     left(to_value, $3),
                     GREATEST(char_length(curator), char_length(kind), COALESCE(char_length(from_value), 0),
                              COALESCE(char_length(to_value), 0))
                 FROM implant_history WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit, &(HISTORY_TEXT_CAP as i32)],
            )
            .await
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|r| HistoryEntry {
                implant_id: r.get(0),
                entry_id: r.get(1),
                seq: r.get(2),
                at: r.get(3),
                curator: r.get(4),
                kind: r.get(5),
                from: r.get(6),
                to: r.get(7),
                longest: r.get::<_, i32>(8) as usize,
            })
            .collect())
    }

    /// Whether any live row but those in `except` points to this object (checked before an object
    /// is removed; a dry run leaves out the rows its plan would move or delete).
    pub async fn object_in_use(&self, key: &str, except: &[Uuid]) -> Result<bool, Error> {
        Ok(self
            .client
            .query_opt(
                "SELECT 1 FROM implants WHERE object_key = $1 AND NOT deleted AND NOT (id = ANY($2)) LIMIT 1",
                &[&key, &except],
            )
            .await
            .map_err(pg)?
            .is_some())
    }

    /// Production's current rows for these ids (without vectors).
    pub async fn current(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, RemoteRow>, Error> {
        let rows = self
            .client
            .query(
                &format!("SELECT {COLUMNS} FROM implants WHERE id = ANY($1)"),
                &[&ids],
            )
            .await
            .map_err(pg)?;
        Ok(rows.iter().map(|r| row_of(r, false)).map(|r| (r.id, r)).collect())
    }

    /// Write new and changed rows in one transaction, giving each its standard name. Returns what
    /// was written per row; a row left out was changed in production since `expected` (a
    /// conflict). Fails as a whole on a constraint violation (the caller then retries rows one by
    /// one to find the culprit).
    ///
    /// Why COPY: the batch goes to a staging table in PostgreSQL's binary COPY format (vectors as
    /// raw f32, no text to parse, one stream), then one `INSERT … ON CONFLICT` for the new rows and
    /// one guarded `UPDATE` for the changed ones. The staging table is dropped at commit, so this
    /// also works behind a transaction-mode connection pooler.
    pub async fn upsert(&mut self, rows: &[PushRow]) -> Result<HashMap<Uuid, Written>, Error> {
        let tx = self.client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(pg)?;
        let names = allocate_names(&tx, rows).await?;
        tx.batch_execute(
            "CREATE TEMP TABLE raiox_stage (id uuid, c text, n text, m text, s text, a jsonb, k text, u text,
                 e text, v vector, expected bigint) ON COMMIT DROP",
        )
        .await
        .map_err(pg)?;
        let vector_type = tx
            .prepare("SELECT $1::vector")
            .await
            .map_err(pg)?
            .params()
            .first()
            .cloned()
            .ok_or_else(|| Error::Remote("PostgreSQL: no type for vector".into()))?;
        let types = [
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::JSONB,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            vector_type,
            Type::INT8,
        ];
        let sink = tx
            .copy_in("COPY raiox_stage FROM STDIN (FORMAT binary)")
            .await
            .map_err(pg)?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
        for r in rows {
            let x = &r.row;
            let name = names.get(&x.id).cloned().unwrap_or_default();
            let vector = Vector::from(x.embedding.clone().unwrap_or_default());
            writer
                .as_mut()
                .write(&[
                    &x.id,
                    &x.content_sha256,
                    &name,
                    &x.manufacturer,
                    &x.system,
                    &x.attributes,
                    &x.object_key,
                    &x.url,
                    &x.encoder_id,
                    &vector,
                    &r.expected,
                ])
                .await
                .map_err(pg)?;
        }
        writer.as_mut().finish().await.map_err(pg)?;
        let mut written = HashMap::new();
        for sql in [
            "INSERT INTO implants (id, content_sha256, standard_name, manufacturer, system, attributes,
                 object_key, url, encoder_id, embedding)
             SELECT id, c, n, m, s, a, k, u, e, v FROM raiox_stage WHERE expected IS NULL
             ON CONFLICT (id) DO NOTHING
             RETURNING id, revision, standard_name",
            "UPDATE implants t SET content_sha256 = x.c, standard_name = x.n, manufacturer = x.m, system = x.s,
                 attributes = x.a, object_key = x.k, url = x.u, encoder_id = x.e, embedding = x.v,
                 deleted = false, revision = nextval('implants_revision_seq'), updated_at = now()
             FROM raiox_stage x
             WHERE x.expected IS NOT NULL AND t.id = x.id AND t.revision = x.expected
             RETURNING t.id, t.revision, t.standard_name",
        ] {
            let out = tx.query(sql, &[]).await.map_err(pg)?;
            written.extend(out.iter().map(|r| {
                (
                    r.get::<_, Uuid>(0),
                    Written {
                        revision: r.get(1),
                        standard_name: r.get(2),
                    },
                )
            }));
        }
        tx.commit().await.map_err(pg)?;
        Ok(written)
    }

    /// Soft-delete rows last seen at `expected`; returns the new revisions of those deleted (a row
    /// changed in production since is left alone and missing from the result: a conflict).
    pub async fn soft_delete(&mut self, items: &[(Uuid, i64)]) -> Result<HashMap<Uuid, i64>, Error> {
        let ids: Vec<Uuid> = items.iter().map(|i| i.0).collect();
        let expected: Vec<i64> = items.iter().map(|i| i.1).collect();
        let tx = self.client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(pg)?;
        let out = tx
            .query(
                "UPDATE implants t SET deleted = true, revision = nextval('implants_revision_seq'), updated_at = now()
                 FROM UNNEST($1::uuid[], $2::bigint[]) AS x(id, expected)
                 WHERE t.id = x.id AND (t.revision = x.expected OR t.deleted)
                 RETURNING t.id, t.revision",
                &[&ids, &expected],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(out.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Rows changed after revision `after`, oldest first, with their vectors (at most `limit`).
    pub async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<RemoteRow>, Error> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS}, embedding FROM implants WHERE revision > $1 ORDER BY revision LIMIT $2"
                ),
                &[&after, &limit],
            )
            .await
            .map_err(pg)?;
        Ok(rows.iter().map(|r| row_of(r, true)).collect())
    }

    /// These rows as production holds them now, with their vectors (absent ids are left out).
    pub async fn rows_by_id(&self, ids: &[Uuid]) -> Result<Vec<RemoteRow>, Error> {
        let rows = self
            .client
            .query(
                &format!("SELECT {COLUMNS}, embedding FROM implants WHERE id = ANY($1) ORDER BY revision"),
                &[&ids],
            )
            .await
            .map_err(pg)?;
        Ok(rows.iter().map(|r| row_of(r, true)).collect())
    }

    /// How many live rows production has after revision `after` (for dry runs and progress).
    pub async fn count_since(&self, after: i64) -> Result<i64, Error> {
        let r = self
            .client
            .query_one("SELECT COUNT(*) FROM implants WHERE revision > $1", &[&after])
            .await
            .map_err(pg)?;
        Ok(r.get(0))
    }

    /// The `k` live rows nearest to `query` by cosine, through the HNSW index: (row, similarity).
    ///
    /// Why the retries: the ORDER BY is the bare distance so the planner uses the index, and the
    /// index covers live rows only (a partial index), but an HNSW scan stops after `ef_search`
    /// candidates, and rows deleted since the last VACUUM are still among them and are dropped
    /// afterwards. Where that leaves fewer than `k` rows, the search is repeated with a wider
    /// beam (pgvector ≥ 0.8 does this itself: iterative scan), and as a last resort as an exact
    /// scan, so a caller always gets `k` rows when production holds `k` live ones.
    pub async fn knn(&self, query: &[f32], k: usize) -> Result<Vec<(RemoteRow, f32)>, Error> {
        let query = Vector::from(query.to_vec());
        let mut ef = self.ef_search.max(k as u32 * 2).min(MAX_EF_SEARCH);
        let rows = loop {
            let rows = self.search(&query, k, Some(ef)).await?;
            if rows.len() >= k || self.iterative_scan() {
                break rows;
            }
            if ef < MAX_EF_SEARCH {
                ef = (ef * 4).min(MAX_EF_SEARCH);
                continue;
            }
            break self.search(&query, k, None).await?;
        };
        Ok(rows
            .iter()
            .map(|r| (row_of(r, false), 1.0 - r.get::<_, f64>(11) as f32))
            .collect())
    }

    /// One kNN query in its own transaction, its settings `SET LOCAL` (so they hold behind a
    /// transaction-mode connection pooler and end with it): through the index with beam `ef`, or
    /// an exact scan for `None`.
    async fn search(
        &self,
        query: &Vector,
        k: usize,
        ef: Option<u32>,
    ) -> Result<Vec<tokio_postgres::Row>, Error> {
        let settings = match ef {
            Some(ef) if self.iterative_scan() => format!(
                "BEGIN; SET LOCAL hnsw.ef_search = {ef}; SET LOCAL hnsw.iterative_scan = strict_order"
            ),
            Some(ef) => format!("BEGIN; SET LOCAL hnsw.ef_search = {ef}"),
            None => "BEGIN; SET LOCAL enable_indexscan = off".into(),
        };
        self.client.batch_execute(&settings).await.map_err(pg)?;
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS}, embedding <=> $1 AS distance FROM implants WHERE NOT deleted
                     ORDER BY embedding <=> $1 LIMIT $2"
                ),
                &[query, &(k as i64)],
            )
            .await;
        let end = if rows.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.client.batch_execute(end).await.map_err(pg)?;
        rows.map_err(pg)
    }
}

/// "0.8.0" → (0, 8): pgvector's major and minor version.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// Decide the standard name of every row of a write, inside its transaction (under the write lock):
/// an existing row keeps its name while the stem is unchanged; every other row gets the next free
/// number of its key.
async fn allocate_names(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[PushRow],
) -> Result<HashMap<Uuid, String>, Error> {
    use raiox_core::catalogue::naming::parse_standard_name;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.row.id).collect();
    let current: HashMap<Uuid, String> = tx
        .query(
            "SELECT id, standard_name FROM implants WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut names = HashMap::new();
    let mut wanted: std::collections::BTreeMap<&str, Vec<&PushRow>> = Default::default();
    for r in rows {
        let keep = current
            .get(&r.row.id)
            .filter(|n| parse_standard_name(n).is_some_and(|p| p.stem == r.name_stem && p.key == r.name_key));
        match keep {
            Some(name) => {
                names.insert(r.row.id, name.clone());
            }
            None => wanted.entry(r.name_key.as_str()).or_default().push(r),
        }
    }
    for (key, want) in wanted {
        let known = tx
            .query_opt("SELECT last_seq FROM raiox_names WHERE name_key = $1", &[&key])
            .await
            .map_err(pg)?;
        if known.is_none() {
            // First number drawn for this key: start past every name production already holds
            // (rows written before production numbered them, or by other tools).
            let prefix = format!("{key}_");
            let highest = tx
                .query(
                    "SELECT standard_name FROM implants WHERE starts_with(standard_name, $1)",
                    &[&prefix],
                )
                .await
                .map_err(pg)?
                .iter()
                .filter_map(|r| parse_standard_name(r.get(0)))
                .filter(|p| p.key == key)
                .map(|p| i64::from(p.seq))
                .max()
                .unwrap_or(0);
            tx.execute(
                "INSERT INTO raiox_names (name_key, last_seq) VALUES ($1, $2) ON CONFLICT (name_key) DO NOTHING",
                &[&key, &highest],
            )
            .await
            .map_err(pg)?;
        }
        let mut pending: Vec<&PushRow> = want;
        // A name some row already holds (written by another tool) is skipped, never reused.
        while !pending.is_empty() {
            let n = pending.len() as i64;
            let last: i64 = tx
                .query_one(
                    "UPDATE raiox_names SET last_seq = last_seq + $2 WHERE name_key = $1 RETURNING last_seq",
                    &[&key, &n],
                )
                .await
                .map_err(pg)?
                .get(0);
            let proposed: Vec<String> = pending
                .iter()
                .enumerate()
                .map(|(i, r)| format!("{}_{:04}.png", r.name_stem, last - n + 1 + i as i64))
                .collect();
            let taken: std::collections::HashSet<String> = tx
                .query(
                    "SELECT standard_name FROM implants WHERE standard_name = ANY($1)",
                    &[&proposed],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut again = Vec::new();
            for (r, name) in pending.into_iter().zip(proposed) {
                if taken.contains(&name) {
                    again.push(r);
                } else {
                    names.insert(r.row.id, name);
                }
            }
            pending = again;
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn pgvector_versions_parse() {
        assert_eq!(parse_version("0.6.2"), Some((0, 6)));
        assert_eq!(parse_version("0.8.0"), Some((0, 8)));
        assert_eq!(parse_version("1.0"), Some((1, 0)));
        assert_eq!(parse_version("x"), None);
    }
}
