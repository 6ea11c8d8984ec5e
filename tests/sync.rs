//! Sync against real servers: PostgreSQL 16 + pgvector (pgserver's binaries) and an S3-protocol
//! server (s3s-fs) in-process; the `raiox` binary is configured only through the seed's environment
//! variables. Each fault drill ends with a sync that completes with nothing lost or duplicated.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::json_lines;
use common::prod::*;
use common::servers::{S3Opts, SECRET};

#[test]
fn push_is_idempotent_relabel_syncs_one_item_and_pull_reproduces_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path());
    let prod = Prod::start();

    // Each push is planned first: the plan writes nothing and is what the push then does.
    let (_, first) = sync_as_planned(&prod, &lib, &[]);
    assert_eq!(
        (first["uploaded"].as_u64(), first["rows_written"].as_u64()),
        (Some(n as u64), Some(n as u64))
    );
    assert_eq!(first["items"].as_array().unwrap().len(), n, "{first}");
    assert!(first["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["action"] == "upload"));
    assert_complete(&prod, n);
    // Content-addressed keys: implants/<sha[..2]>/<sha>.png.
    for k in prod.keys() {
        let parts: Vec<&str> = k.split('/').collect();
        assert!(
            parts.len() == 3
                && parts[0] == "implants"
                && parts[2].starts_with(parts[1])
                && k.ends_with(".png"),
            "{k}"
        );
    }
    assert_eq!(
        prod.pg
            .psql(&prod.db, "SELECT DISTINCT vector_dims(embedding) FROM implants"),
        "1280"
    );

    let (_, again) = sync_as_planned(&prod, &lib, &[]);
    assert_eq!(
        (
            again["uploaded"].as_u64(),
            again["rows_written"].as_u64(),
            again["pulled"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{again}"
    );
    let revisions = prod.pg.psql(&prod.db, "SELECT MAX(revision) FROM implants");

    // Relabel one item: exactly that item's row is written; its image (same content, same key) stays.
    let list = json_lines(&common::raiox(&lib, &["list", "--json"]));
    let item = list.iter().find(|r| r["manufacturer"] != "Straumann").unwrap();
    let id = item["id"].as_i64().unwrap().to_string();
    let blt = prod.rows("system = 'Bone Level Tapered'");
    let out = common::raiox(&lib, &["label", &id, "--system", "Straumann BLT", "--confirm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, relabel) = sync_as_planned(&prod, &lib, &[]);
    assert_eq!(relabel["items"][0]["action"], "update", "{relabel}");
    assert_eq!(
        (
            relabel["uploaded"].as_u64(),
            relabel["rows_written"].as_u64(),
            relabel["objects_removed"].as_u64()
        ),
        (Some(0), Some(1), Some(0)),
        "{relabel}"
    );
    assert_complete(&prod, n);
    assert_eq!(prod.rows(&format!("revision > {revisions}")), 1);
    assert_eq!(prod.rows("system = 'Bone Level Tapered'"), blt + 1);

    // A second, empty library pulls production: same catalogue, same similarity results.
    let lib2 = dir.path().join("lib2");
    let (out, pulled) = sync(&prod, &lib2, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(pulled["pulled"].as_u64(), Some(n as u64), "{pulled}");
    assert_eq!(names(&lib2), names(&lib));
    let out = common::raiox(&lib2, &["check", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let similar = |library: &Path, name: &str| -> Vec<String> {
        let list = json_lines(&common::raiox(library, &["list", "--json"]));
        let id = list.iter().find(|r| r["name"] == name).unwrap()["id"]
            .as_i64()
            .unwrap()
            .to_string();
        let out = common::raiox(library, &["similar", &id, "--k", "5", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        json_lines(&out)[0]["neighbours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect()
    };
    let probe = names(&lib)[3].clone();
    assert_eq!(similar(&lib, &probe), similar(&lib2, &probe));

    // Production's kNN through the HNSW index agrees with the local cache.
    let list = json_lines(&common::raiox(&lib, &["list", "--json"]));
    let id = list.iter().find(|r| r["name"] == probe.as_str()).unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let out = raiox_env(
        &prod,
        &lib,
        &["similar", &id, "--remote", "--k", "5", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let remote: Vec<String> = json_lines(&out)[0]["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(remote, similar(&lib, &probe));

    // Nothing identifying left the machine: no source file names in production.
    let dump = prod.pg.psql(
        &prod.db,
        "SELECT string_agg(attributes::text || standard_name, ' ') FROM implants",
    );
    assert!(!dump.contains("synth") && !dump.contains(".tif"), "{dump}");
}

#[test]
fn deletes_and_conflicts_between_two_libraries() {
    let dir = tempfile::tempdir().unwrap();
    let (lib_a, n) = library(dir.path());
    let prod = Prod::start();
    assert!(sync(&prod, &lib_a, &[]).0.status.success());
    let lib_b = dir.path().join("lib-b");
    assert!(sync(&prod, &lib_b, &[]).0.status.success());

    // Delete in A: soft-deleted in production, object removed, gone from B at its next pull.
    let list_a = json_lines(&common::raiox(&lib_a, &["list", "--json"]));
    let gone = list_a[0]["name"].as_str().unwrap().to_string();
    let out = common::raiox(
        &lib_a,
        &["delete", &list_a[0]["id"].as_i64().unwrap().to_string()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, r) = sync_as_planned(&prod, &lib_a, &[]);
    assert_eq!(
        (r["deleted"].as_u64(), r["objects_removed"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(prod.rows("deleted"), 1);
    assert_eq!(prod.keys().len(), n - 1);
    let (_, r) = sync(&prod, &lib_b, &[]);
    assert_eq!(r["pulled"].as_u64(), Some(1), "{r}");
    assert!(!names(&lib_b).contains(&gone));

    // The same item relabelled in both libraries: B syncs first; A's change is a conflict, and
    // production keeps B's label until the curator decides.
    let name = json_lines(&common::raiox(&lib_a, &["list", "--json"]))
        .iter()
        .find(|r| r["manufacturer"] != "Straumann" && r["manufacturer"] != "Nobel Biocare")
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let blt = prod.rows("system = 'Bone Level Tapered' AND NOT deleted");
    let id_of = |lib: &Path| {
        json_lines(&common::raiox(lib, &["list", "--json"]))
            .iter()
            .find(|r| r["name"] == name.as_str())
            .unwrap()["id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let (ida, idb) = (id_of(&lib_a), id_of(&lib_b));
    assert!(
        common::raiox(&lib_b, &["label", &idb, "--system", "Straumann BLT"])
            .status
            .success()
    );
    assert!(sync(&prod, &lib_b, &[]).0.status.success());
    assert!(
        common::raiox(&lib_a, &["label", &ida, "--system", "Nobel Biocare NobelActive"])
            .status
            .success()
    );
    let (_, r) = sync_as_planned(&prod, &lib_a, &[]);
    assert_eq!(r["conflicts"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        prod.rows("system = 'Bone Level Tapered' AND NOT deleted"),
        blt + 1
    );
    let listed = json_lines(&common::raiox(&lib_a, &["conflicts", "list", "--json"]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"].as_i64().unwrap().to_string(), ida);

    // Keep A's version: the next sync writes it.
    let active = prod.rows("system = 'NobelActive' AND NOT deleted");
    assert!(common::raiox(&lib_a, &["conflicts", "keep-local", &ida])
        .status
        .success());
    let (_, r) = sync_as_planned(&prod, &lib_a, &[]);
    assert_eq!(r["rows_written"].as_u64(), Some(1), "{r}");
    assert_eq!(prod.rows("system = 'NobelActive' AND NOT deleted"), active + 1);
    assert_complete(&prod, n - 1);
}

#[test]
fn drill_s3_server_stops_mid_push() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path());
    let mut prod = Prod::start();
    // The same bucket folder, served by a server that goes away after 5 uploads.
    prod.s3.restart(S3Opts {
        stop_after_puts: Some(5),
        ..S3Opts::default()
    });
    let (out, r) = sync(&prod, &lib, &["--attempts", "2"]);
    assert!(!out.status.success(), "the sync must fail while S3 is down: {r}");
    assert!(
        !r["failed"].as_array().is_none_or(|f| f.is_empty()),
        "{r} {}",
        stderr(&out)
    );
    let rows = prod.rows("true");
    assert!(rows <= 5, "rows only for uploaded objects: {rows}");
    prod.s3.restart(S3Opts::default());
    let (out, r) = sync(&prod, &lib, &[]);
    assert!(out.status.success(), "{} {r}", stderr(&out));
    assert_complete(&prod, n);
}

#[test]
fn drill_sync_killed_mid_push_and_postgres_restarted_mid_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path());
    let mut prod = Prod::start();
    prod.s3.restart(S3Opts {
        put_delay: Duration::from_millis(100),
        ..S3Opts::default()
    });

    // kill -9 while uploads are in flight (one at a time, 100 ms each).
    let mut child = command(&prod, &lib, &["sync", "--json", "--concurrency", "1"], &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while prod.keys().len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(prod.keys().len() < n, "killed mid-push");
    assert_eq!(prod.rows("true"), 0, "rows are written after their objects");

    // Postgres restarted while uploads are in flight: the run reconnects (or fails), and the next
    // run completes.
    let mut child = command(
        &prod,
        &lib,
        &["sync", "--json", "--concurrency", "1", "--attempts", "8"],
        &[],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let start = prod.s3.puts.load(std::sync::atomic::Ordering::SeqCst);
    while prod.s3.puts.load(std::sync::atomic::Ordering::SeqCst) < start + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    prod.pg.restart();
    child.wait().unwrap();
    let (out, r) = sync(&prod, &lib, &[]);
    assert!(out.status.success(), "{} {r}", stderr(&out));
    assert_complete(&prod, n);
    let (_, r) = sync(&prod, &lib, &[]);
    assert_eq!(
        (r["uploaded"].as_u64(), r["rows_written"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
}

#[test]
fn drill_wrong_credentials_timeouts_and_dimension_mismatch_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path());
    let prod = Prod::start();

    // Wrong secret: refused, the message says what to fix and never shows a secret.
    let wrong = "definitely-wrong-secret";
    let out = raiox_env(
        &prod,
        &lib,
        &["sync", "--attempts", "1"],
        &[("SPACES_SECRET_KEY", wrong)],
    );
    assert!(!out.status.success());
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains("access denied"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    let out = raiox_env(&prod, &lib, &["remote", "check"], &[("SPACES_SECRET_KEY", wrong)]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !out.status.success() && text.contains("spaces:   FAILED") && text.contains("database: ok"),
        "{text}"
    );
    assert!(!text.contains("warning:"), "{text}");
    // A production table that lost its vector index works, slowly: check says so and how to fix it.
    prod.pg.psql(&prod.db, "DROP INDEX implants_embedding_live_hnsw");
    let out = raiox_env(&prod, &lib, &["remote", "check"], &[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success()
            && text.contains("no vector index")
            && text.contains("CREATE INDEX CONCURRENTLY implants_embedding_live_hnsw"),
        "{text}"
    );
    prod.pg
        .psql(&prod.db, &raiox::sync::remote::Remote::vector_index_sql());
    let out = raiox_env(&prod, &lib, &["remote", "check", "--json"], &[]);
    let report = common::json_lines(&out).pop().unwrap();
    assert!(report["warning"].is_null(), "{report}");
    let out = raiox_env(
        &prod,
        &lib,
        &["remote", "check"],
        &[("DATABASE_URL", "postgres://nobody:pw-xyz@127.0.0.1:1/x")],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("database: FAILED") && !text.contains("pw-xyz"),
        "{text}"
    );

    // A server that accepts and never answers: each request times out, the run says so.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", hole.local_addr().unwrap());
    let out = raiox_env(
        &prod,
        &lib,
        &[
            "sync",
            "--json",
            "--timeout",
            "1",
            "--attempts",
            "2",
            "--push-only",
        ],
        &[("SPACES_ENDPOINT", &endpoint)],
    );
    assert!(!out.status.success());
    let r = json_lines(&out).pop().unwrap();
    assert!(
        r["failed"][0]["error"].as_str().unwrap().contains("timed out"),
        "{r}"
    );
    drop(hole);
    let (out, r) = sync(&prod, &lib, &[]);
    assert!(out.status.success(), "{} {r}", stderr(&out));
    assert_complete(&prod, n);

    // An existing table made for 512-D vectors: refused before anything is written.
    let url = prod.pg.fresh_db("mismatch");
    prod.pg.psql(
        "mismatch",
        "CREATE EXTENSION vector; CREATE TABLE implants (id uuid PRIMARY KEY, embedding vector(512))",
    );
    let out2 = raiox_env(
        &prod,
        &lib,
        &["sync", "--attempts", "1"],
        &[("DATABASE_URL", &url)],
    );
    assert!(!out2.status.success());
    let text = stderr(&out2);
    assert!(text.contains("512") && text.contains("1280"), "{text}");
    assert_eq!(prod.pg.psql("mismatch", "SELECT COUNT(*) FROM implants"), "0");
}

#[test]
fn tls_endpoint_works_whatever_the_ca_variables_say() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, n) = library(dir.path());
    let mut prod = Prod::start();
    prod.s3.restart(S3Opts {
        tls: true,
        ..S3Opts::default()
    });
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, prod.s3.ca_pem.as_ref().unwrap()).unwrap();
    // Without our CA the certificate is refused (and the error says TLS).
    let out = raiox_env(
        &prod,
        &lib,
        &["sync", "--json", "--attempts", "1", "--push-only"],
        &[("SSL_CERT_FILE", "/nonexistent.pem")],
    );
    assert!(!out.status.success());
    let r = json_lines(&out).pop().unwrap();
    assert!(r["failed"][0]["error"].as_str().unwrap().contains("TLS"), "{r}");
    // With it (SSL_CERT_FILE, as any rustls/OpenSSL client), and AWS_CA_BUNDLE pointing elsewhere.
    let out = raiox_env(
        &prod,
        &lib,
        &["sync", "--json"],
        &[
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
            ("AWS_CA_BUNDLE", "/nonexistent.pem"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_complete(&prod, n);
}

/// Remote kNN must give k live rows even when the rows nearest the query were just soft-deleted
/// and not vacuumed: an HNSW scan stops after its beam, and dead rows fill it. The planner is made
/// to take the index on this small table, and the beam is the narrowest, as at 100 000 rows.
#[test]
fn remote_knn_gives_k_live_rows_when_the_nearest_rows_are_deleted() {
    use raiox::embed::ModelStamp;
    use raiox::sync::config::Secret;
    use raiox::sync::postgres::DbTarget;
    use raiox::sync::remote::{PushRow, Remote, RemoteRow};

    let pg = common::servers::Postgres::start();
    let url = pg.fresh_db("prod");
    pg.psql("prod", "ALTER DATABASE prod SET enable_seqscan = off");
    let stamp = ModelStamp {
        encoder_id: "test-8d".into(),
        weights_sha256: "0".repeat(64),
        preprocess_version: 1,
        dim: 8,
    };
    // 300 rows around the query's direction, 100 around the opposite one (each a little apart).
    let vector = |i: usize| -> Vec<f32> {
        let sign = if i < 300 { 1.0 } else { -1.0 };
        let mut v = vec![0.0f32; 8];
        v[0] = sign;
        v[1 + i % 7] = 0.05 + (i as f32) * 1e-3;
        v
    };
    let rows: Vec<PushRow> = (0..400)
        .map(|i| PushRow {
            row: RemoteRow {
                id: uuid_of(i),
                content_sha256: format!("{i:064x}"),
                standard_name: String::new(),
                manufacturer: "Acme".into(),
                system: "Alpha".into(),
                attributes: serde_json::json!({}),
                object_key: format!("implants/{i:064x}.png"),
                url: None,
                encoder_id: stamp.encoder_id.clone(),
                revision: 0,
                deleted: false,
                embedding: Some(vector(i)),
            },
            expected: None,
            name_key: "acme_alpha".into(),
            name_stem: "acme_alpha".into(),
        })
        .collect();
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    };
    let query = {
        let mut q = vec![0.0f32; 8];
        q[0] = 1.0;
        q[1] = 0.3;
        q
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = DbTarget::parse(&Secret::new(url), Duration::from_secs(10)).unwrap();
        let mut remote = Remote::open(db.connect().await.unwrap(), &stamp).await.unwrap();
        remote
            .client()
            .batch_execute("ALTER TABLE implants SET (autovacuum_enabled = false)")
            .await
            .unwrap();
        assert_eq!(remote.upsert(&rows).await.unwrap().len(), 400);
        remote.set_ef_search(1);
        let hits = remote.knn(&query, 10).await.unwrap();
        assert_eq!(hits.len(), 10);
        assert!(
            hits.iter().all(|(r, _)| r.id < uuid_of(300)),
            "the near rows come first"
        );

        let near: Vec<_> = (0..300).map(uuid_of).collect();
        let current = remote.current(&near).await.unwrap();
        let items: Vec<_> = near.iter().map(|id| (*id, current[id].revision)).collect();
        assert_eq!(remote.soft_delete(&items).await.unwrap().len(), 300);

        let hits = remote.knn(&query, 10).await.unwrap();
        let mut live: Vec<usize> = (300..400).collect();
        live.sort_by(|&a, &b| cosine(&query, &vector(b)).total_cmp(&cosine(&query, &vector(a))));
        let expected: Vec<_> = live[..10].iter().map(|&i| uuid_of(i)).collect();
        let got: Vec<_> = hits.iter().map(|(r, _)| r.id).collect();
        assert_eq!(got, expected, "the 10 nearest live rows, in order");
    });
}

fn uuid_of(i: usize) -> raiox::sync::remote::Uuid {
    raiox::sync::remote::Uuid::from_u128(i as u128 + 1)
}
