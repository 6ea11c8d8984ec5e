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
