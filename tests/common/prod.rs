//! Production for the sync tests: a PostgreSQL + pgvector database and an S3 bucket on real
//! servers started here, and the `raiox` binary configured only through the seed's environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::servers::{Postgres, ACCESS, S3, SECRET};
use super::{cli_labelled_library, json_lines};

pub const BUCKET: &str = "raiox-test";

/// Production for one test: a database on its own server, a bucket on its own S3 server.
pub struct Prod {
    /// The PostgreSQL server.
    pub pg: Postgres,
    /// The S3 server.
    pub s3: S3,
    /// Database name.
    pub db: String,
    /// DATABASE_URL.
    pub url: String,
}

impl Prod {
    pub fn start() -> Prod {
        let pg = Postgres::start();
        let url = pg.fresh_db("prod");
        Prod {
            pg,
            s3: S3::start(BUCKET),
            db: "prod".into(),
            url,
        }
    }

    pub fn rows(&self, filter: &str) -> i64 {
        self.pg
            .psql(&self.db, &format!("SELECT COUNT(*) FROM implants WHERE {filter}"))
            .parse()
            .unwrap()
    }

    pub fn keys(&self) -> Vec<String> {
        self.s3.keys(BUCKET)
    }
}

/// `raiox` with the seed's variables pointing at `prod` (plus `extra` overrides).
pub fn raiox_env(prod: &Prod, library: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut cmd = command(prod, library, args, extra);
    cmd.output().expect("run raiox")
}

pub fn command(prod: &Prod, library: &Path, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(super::bin());
    cmd.arg("--library")
        .arg(library)
        .args(args)
        .env_remove("RAIOX_LIBRARY")
        .env("RAIOX_CONFIG", library.with_extension("no-config.toml"))
        .env("SPACES_ACCESS_KEY", ACCESS)
        .env("SPACES_SECRET_KEY", SECRET)
        .env("SPACES_ENDPOINT", &prod.s3.endpoint)
        .env("SPACES_BUCKET", BUCKET)
        .env("DATABASE_URL", &prod.url);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

pub fn sync(prod: &Prod, library: &Path, extra_args: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["sync", "--json"];
    if !extra_args.contains(&"--attempts") {
        args.extend(["--attempts", "3"]);
    }
    args.extend_from_slice(extra_args);
    let out = raiox_env(prod, library, &args, &[]);
    let report = json_lines(&out).pop().unwrap_or_default();
    (out, report)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A labelled, embedded library of synthetic films (2 per system) and how many of its implants
/// are labelled (what a push uploads; an implant the finder proposed beyond the labels' boxes
/// stays unlabelled and waits).
pub fn library(dir: &Path) -> (PathBuf, usize) {
    let (lib, _, _) = cli_labelled_library(dir, "2", "7");
    let n = json_lines(&super::raiox(&lib, &["list", "--json"]))
        .iter()
        .filter(|r| r["status"] != "unlabelled")
        .count();
    assert!(n >= 10, "{n}");
    (lib, n)
}

/// Zero loss, zero duplicates: one live row and one object per library item, and every row's
/// object exists.
pub fn assert_complete(prod: &Prod, n: usize) {
    assert_eq!(prod.rows("NOT deleted"), n as i64);
    let keys = prod.keys();
    assert_eq!(keys.len(), n, "{keys:?}");
    let row_keys = prod.pg.psql(
        &prod.db,
        "SELECT string_agg(object_key, ',' ORDER BY object_key) FROM implants WHERE NOT deleted",
    );
    assert_eq!(row_keys.split(',').map(String::from).collect::<Vec<_>>(), keys);
}

/// The standard names of a library's labelled implants, sorted.
pub fn names(library: &Path) -> Vec<String> {
    let mut v: Vec<String> = json_lines(&super::raiox(library, &["list", "--json"]))
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// Everything a sync may change, as it stands: production's rows (every column), its revision and
/// name counters, the bucket's objects and uploads, the library's files and each table of its
/// catalogue (digested).
pub fn snapshot(prod: &Prod, library: &Path) -> Vec<String> {
    let q = |sql: &str| prod.pg.psql(&prod.db, sql);
    // A database a dry run found empty gets the schema (`Remote::open`): no table reads as no rows.
    let schema = q("SELECT to_regclass('implants') IS NOT NULL") == "t";
    let mut out = vec![
        if schema {
            q("SELECT coalesce(md5(string_agg(t::text, ';' ORDER BY id)), '') FROM implants t")
        } else {
            String::new()
        },
        if schema {
            q("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM implants_revision_seq")
        } else {
            "0".into()
        },
        if schema {
            q("SELECT coalesce(string_agg(name_key || '=' || last_seq, ';' ORDER BY name_key), '') FROM raiox_names")
        } else {
            String::new()
        },
        format!("puts {}", prod.s3.puts.load(std::sync::atomic::Ordering::SeqCst)),
    ];
    out.extend(prod.keys());
    let mut files: Vec<String> = super::files_under(library)
        .iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("library.db"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    out.extend(files);
    out.extend(catalogue_digest(library));
    out
}

/// Each table of a library's catalogue with a digest of its rows (virtual tables are read through
/// their shadow tables).
fn catalogue_digest(library: &Path) -> Vec<String> {
    use sha2::Digest;
    let conn = rusqlite::Connection::open_with_flags(
        library.join("library.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|table| {
            // Opening a library adds the built-in aliases again (a catalogue matter, not sync's):
            // those are compared as a set.
            let sql = if table == "aliases" {
                "SELECT DISTINCT manufacturer_id, system_id, alias, key FROM aliases ORDER BY 1, 2, 3, 4"
                    .into()
            } else {
                format!("SELECT * FROM \"{table}\"")
            };
            let mut stmt = conn.prepare(&sql).unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            let mut hash = sha2::Sha256::new();
            while let Some(row) = rows.next().unwrap() {
                for i in 0..columns {
                    hash.update(format!("{:?}|", row.get::<_, rusqlite::types::Value>(i).unwrap()));
                }
                hash.update("\n");
            }
            format!("{table} {:x}", hash.finalize())
        })
        .collect()
}

/// A dry run, then the same sync for real: the dry run must change nothing anywhere (production,
/// the bucket, the library) and plan exactly what the run then does — the same counts, the same
/// pushed items and conflicts. Returns the real run.
pub fn sync_as_planned(prod: &Prod, library: &Path, extra_args: &[&str]) -> (Output, serde_json::Value) {
    let before = snapshot(prod, library);
    let mut args = vec!["--dry-run"];
    args.extend_from_slice(extra_args);
    let (out, plan) = sync(prod, library, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(plan["dry_run"], true, "{plan}");
    assert_eq!(
        snapshot(prod, library),
        before,
        "a dry run changes nothing: {plan}"
    );
    let (out, done) = sync(prod, library, extra_args);
    assert!(out.status.success(), "{}", stderr(&out));
    for count in [
        "uploaded",
        "rows_written",
        "unchanged",
        "deleted",
        "objects_removed",
        "pulled",
        "waiting_unlabelled",
    ] {
        assert_eq!(plan[count], done[count], "{count}: planned {plan}\ndone {done}");
    }
    assert_eq!(pushed(&plan), pushed(&done), "planned {plan}\ndone {done}");
    assert_eq!(
        plan["conflicts"], done["conflicts"],
        "planned {plan}\ndone {done}"
    );
    assert_eq!(plan["failed"], serde_json::json!([]), "{plan}");
    (out, done)
}

/// A report's pushed items, in a stable order. A pull's items are left out: a dry run names
/// production's rows by id (their objects are not fetched), a run by object key.
fn pushed(report: &serde_json::Value) -> Vec<String> {
    let pull = ["pull", "pull-delete", "quarantine", "conflict"];
    let mut items: Vec<String> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !pull.contains(&i["action"].as_str().unwrap()))
        .map(|i| i.to_string())
        .collect();
    items.sort();
    items
}
