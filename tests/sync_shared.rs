//! Production shared by several curators and not trusted, against real servers (pgserver's
//! PostgreSQL + pgvector, s3s-fs): curators never overwrite each other, hostile rows never reach
//! outside the library, and the password never goes to a server that cannot prove who it is.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::prod::*;
use common::{json_lines, raiox};
use sha2::Digest;

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

/// A library of synthetic films of every system, labelled and embedded (seed picks the films).
fn curator(dir: &Path, seed: &str) -> (PathBuf, usize) {
    std::fs::create_dir_all(dir).unwrap();
    let (lib, _, _) = common::cli_labelled_library(dir, "2", seed);
    // What a push uploads: the labelled implants.
    let n = json_lines(&raiox(&lib, &["list", "--json"]))
        .iter()
        .filter(|r| r["status"] != "unlabelled")
        .count();
    ok(&raiox(&lib, &["embed"]));
    (lib, n)
}

/// Production's live rows: object key → (standard name, content hash).
fn live_rows(prod: &Prod) -> BTreeMap<String, (String, String)> {
    let text = prod.pg.psql(
        &prod.db,
        "SELECT string_agg(id || '|' || object_key || '|' || standard_name || '|' || content_sha256, ';' ORDER BY id) \
         FROM implants WHERE NOT deleted",
    );
    let mut out = BTreeMap::new();
    for row in text.split(';').filter(|r| !r.is_empty()) {
        let f: Vec<&str> = row.split('|').collect();
        out.insert(f[0].to_string(), (f[2].to_string(), f[3].to_string()));
        assert_eq!(f.len(), 4, "{row}");
        // Every row's object holds that row's image.
        let object = prod.s3.dir.join(BUCKET).join(f[1]);
        let bytes = std::fs::read(&object).unwrap_or_else(|e| panic!("{}: {e}", object.display()));
        assert_eq!(hex(&bytes), f[3], "object {} holds another image", f[1]);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn listed_names(lib: &Path) -> BTreeSet<String> {
    names(lib).into_iter().collect()
}

#[test]
fn two_curators_sync_in_any_order_and_a_third_library_pulls_everything() {
    let dir = tempfile::tempdir().unwrap();
    let prod = Prod::start();
    // Same systems, different films: both number their items _0001, _0002 … offline.
    let (a, na) = curator(&dir.path().join("a"), "7");
    let (c, nc) = curator(&dir.path().join("c"), "8");
    let provisional_a = listed_names(&a);
    assert_eq!(
        provisional_a,
        listed_names(&c),
        "both libraries start with the same local names"
    );

    // C uploads first, A second, then both again, in an order that used to overwrite A's objects.
    for (lib, round) in [(&c, 1), (&a, 1), (&c, 2), (&a, 2), (&c, 3)] {
        let (_, report) = sync_as_planned(&prod, lib, &[]);
        assert_eq!(
            report["failed"].as_array().unwrap().len(),
            0,
            "round {round}: {report}"
        );
        assert_eq!(
            report["conflicts"].as_array().unwrap().len(),
            0,
            "round {round}: {report}"
        );
    }
    let rows = live_rows(&prod);
    assert_eq!(
        rows.len(),
        na + nc,
        "every item of both curators is in production once"
    );
    let prod_names: BTreeSet<String> = rows.values().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        prod_names.len(),
        na + nc,
        "standard names are unique across production"
    );

    // Both libraries converge on production's catalogue, names included.
    assert_eq!(listed_names(&a), prod_names);
    assert_eq!(listed_names(&c), prod_names);

    // Names are stable once given: another round changes nothing.
    let (_, report) = sync(&prod, &a, &[]);
    assert_eq!(report["rows_written"], 0, "{report}");
    assert_eq!(report["uploaded"], 0, "{report}");
    assert_eq!(live_rows(&prod), rows);

    // A third, empty library pulls everything, and similarity works over it.
    let d = dir.path().join("d");
    let (out, report) = sync(&prod, &d, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["pulled"], (na + nc) as u64, "{report}");
    assert_eq!(listed_names(&d), prod_names);
    ok(&raiox(&d, &["restandardise", "--all"]));

    // D deletes one of A's items: production soft-deletes it; A made it, so A is asked, not
    // stripped of its original.
    let a_items = json_lines(&raiox(&a, &["list", "--json"]));
    let victim_name = a_items[0]["name"].as_str().unwrap().to_string();
    let a_id = a_items[0]["id"].as_i64().unwrap();
    let d_id = json_lines(&raiox(&d, &["list", "--json"]))
        .into_iter()
        .find(|r| r["name"] == victim_name.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    ok(&raiox(&d, &["delete", &d_id.to_string()]));
    let (_, report) = sync_as_planned(&prod, &d, &[]);
    assert_eq!(
        (report["deleted"].as_u64(), report["objects_removed"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(prod.rows("deleted"), 1);
    let originals_before = common::files_under(&a.join("originals")).len();
    let (out, report) = sync(&prod, &a, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conflicts = report["conflicts"].as_array().unwrap();
    assert!(
        conflicts.iter().any(|c| c["id"] == a_id),
        "a production delete of a local item is a conflict: {report}"
    );
    assert_eq!(
        common::files_under(&a.join("originals")).len(),
        originals_before,
        "the original stays"
    );
    ok(&raiox(&a, &["check"]));
    assert_eq!(
        common::files_under(&a.join("originals")).len(),
        originals_before,
        "check keeps it too"
    );
    // The curator takes production's side: deleted here, the original goes to the trash.
    ok(&raiox(&a, &["conflicts", "take-remote", &a_id.to_string()]));
    assert_eq!(
        common::files_under(&a.join("originals")).len(),
        originals_before - 1
    );
    let trash = json_lines(&raiox(&a, &["trash", "list", "--json"]));
    assert_eq!(trash.len(), 1, "{trash:?}");
    let (out, report) = sync(&prod, &a, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["conflicts"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(listed_names(&a), listed_names(&d));
    ok(&raiox(&a, &["trash", "empty"]));
    assert!(json_lines(&raiox(&a, &["trash", "list", "--json"])).is_empty());
}

/// Copy one good row of production with some fields replaced (SQL expressions); the copy gets a
/// name of its own unless `fields` gives one.
fn plant(prod: &Prod, fields: &[(&str, String)]) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(9000);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let own_name = format!("regexp_replace(standard_name, '_[0-9]+[.]png$', '_{n}.png')");
    let cols = [
        "content_sha256",
        "standard_name",
        "manufacturer",
        "system",
        "attributes",
        "object_key",
        "encoder_id",
        "embedding",
    ];
    let values: Vec<String> = cols
        .iter()
        .map(|c| {
            fields
                .iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| {
                    if *c == "standard_name" {
                        own_name.clone()
                    } else {
                        c.to_string()
                    }
                })
        })
        .collect();
    prod.pg.psql(
        &prod.db,
        &format!(
            "INSERT INTO implants (id, {}) SELECT gen_random_uuid(), {} FROM implants WHERE NOT deleted \
             ORDER BY revision LIMIT 1",
            cols.join(", "),
            values.join(", ")
        ),
    );
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[test]
fn hostile_production_rows_are_quarantined_and_nothing_leaves_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let prod = Prod::start();
    let (a, na) = curator(&dir.path().join("a"), "7");
    let (out, _) = sync(&prod, &a, &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A victim file outside every library, and a large object in the bucket.
    let victim_dir = dir.path().join("victim");
    std::fs::create_dir_all(&victim_dir).unwrap();
    let victim = victim_dir.join("important");
    std::fs::write(&victim, b"keep me").unwrap();
    let big_key = format!("implants/ff/{}.png", "f".repeat(64));
    let big = prod.s3.dir.join(BUCKET).join(&big_key);
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    std::fs::write(&big, vec![7u8; 6 << 20]).unwrap();
    let victim_rel = "../../victim/important";

    plant(&prod, &[("content_sha256", quoted("a"))]);
    plant(&prod, &[("content_sha256", quoted(victim_rel))]);
    plant(&prod, &[("standard_name", quoted("../../evil_x_0001.png"))]);
    plant(
        &prod,
        &[(
            "standard_name",
            quoted(&format!("{}/evil_x_0001.png", victim_dir.display())),
        )],
    );
    plant(&prod, &[("manufacturer", quoted("---"))]);
    plant(
        &prod,
        &[
            ("object_key", quoted("implants/00/missing.png")),
            ("content_sha256", quoted(&"e".repeat(64))),
        ],
    );
    plant(
        &prod,
        &[
            ("object_key", quoted(&big_key)),
            ("content_sha256", quoted(&"f".repeat(64))),
        ],
    );
    plant(&prod, &[("object_key", quoted("../../victim/important"))]);
    // An object whose bytes are not the ones its row names.
    let wrong_key = format!("implants/dd/{}.png", "d".repeat(64));
    let wrong = prod.s3.dir.join(BUCKET).join(&wrong_key);
    std::fs::create_dir_all(wrong.parent().unwrap()).unwrap();
    std::fs::write(&wrong, b"not the image").unwrap();
    plant(
        &prod,
        &[
            ("object_key", quoted(&wrong_key)),
            ("content_sha256", quoted(&"d".repeat(64))),
        ],
    );
    // A valid row whose labels are spreadsheet formulas: pulled, but inert when exported.
    plant(
        &prod,
        &[
            ("manufacturer", quoted("=HYPERLINK(\"http://x\")")),
            ("system", quoted("@SUM(1)")),
            ("standard_name", quoted("hyperlink-http-x_sum-1_0001.png")),
        ],
    );
    let hostile = 9;

    // A fresh library pulls: no panic, the good rows in, the bad ones listed with reasons.
    let b = dir.path().join("b");
    let (out, report) = sync(&prod, &b, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(report["pulled"], (na + 1) as u64, "{report}");
    let quarantined = report["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), hostile, "{report}");
    let reasons: Vec<String> = quarantined
        .iter()
        .map(|q| q["error"].as_str().unwrap().to_string())
        .collect();
    for expect in [
        "content_sha256",
        "standard_name",
        "manufacturer",
        "object_key",
        "larger than",
        "HTTP 404",
        "does not match its hash",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expect)),
            "{expect} in {reasons:?}"
        );
    }
    let listed = json_lines(&raiox(&b, &["conflicts", "list", "--json"]));
    assert_eq!(
        listed.iter().filter(|l| l["quarantined"].is_string()).count(),
        hostile,
        "{listed:?}"
    );
    // Pulling again neither fails nor lets them in; the watermark moved past them.
    let (out, report) = sync(&prod, &b, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["pulled"], 0, "{report}");

    // Nothing outside the library or the export folder is read, written or deleted.
    let export = dir.path().join("export");
    ok(&raiox(
        &b,
        &[
            "export",
            "--images",
            export.to_str().unwrap(),
            "--out",
            dir.path().join("x.csv").to_str().unwrap(),
        ],
    ));
    let csv = std::fs::read_to_string(dir.path().join("x.csv")).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'@SUM(1)"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",@SUM"), "{csv}");
    assert_eq!(common::files_under(&export).len(), na + 1);
    let ids: Vec<String> = json_lines(&raiox(&b, &["list", "--json"]))
        .iter()
        .map(|r| r["id"].to_string())
        .collect();
    let mut args = vec!["delete"];
    args.extend(ids.iter().map(String::as_str));
    ok(&raiox(&b, &args));
    ok(&raiox(&b, &["check"]));
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert_eq!(common::files_under(&victim_dir), vec![victim.clone()]);
    assert!(!dir.path().join("evil_x_0001.png").exists());

    // Production fixes a row: the next pull takes it in.
    prod.pg.psql(
        &prod.db,
        "UPDATE implants SET manufacturer = 'Fixed Maker', standard_name = 'fixed-maker_' || \
         split_part(standard_name, '_', 2) || '_0001.png', revision = nextval('implants_revision_seq') \
         WHERE manufacturer = '---'",
    );
    let c = dir.path().join("c");
    let (out, _) = sync(&prod, &c, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, report) = sync(&prod, &b, &[]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(
        report["quarantined"].as_array().unwrap().len(),
        hostile - 1,
        "{report}"
    );
}

/// A fake PostgreSQL server on 127.0.0.1 that offers TLS with a self-signed certificate (or
/// declines TLS) and asks for the password in clear text; returns what it received.
fn fake_postgres(offer_tls: bool) -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut req = [0u8; 8];
        if sock.read_exact(&mut req).is_err() {
            return;
        }
        let mut received = Vec::new();
        if offer_tls {
            sock.write_all(b"S").unwrap();
            let key = rcgen::generate_simple_self_signed(vec!["db.example.test".into()]).unwrap();
            let cert = rustls::pki_types::CertificateDer::from(key.cert.der().to_vec());
            let pk = rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into());
            let cfg = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], pk)
            .unwrap();
            let mut conn = rustls::ServerConnection::new(std::sync::Arc::new(cfg)).unwrap();
            let mut tls = rustls::Stream::new(&mut conn, &mut sock);
            ask_password(&mut tls, &mut received);
        } else {
            sock.write_all(b"N").unwrap();
            ask_password(&mut sock, &mut received);
        }
        let _ = tx.send(received);
    });
    (port, rx)
}

/// Read the startup message, ask for a clear-text password, keep whatever comes back.
fn ask_password(s: &mut impl ReadWrite, received: &mut Vec<u8>) {
    let mut len = [0u8; 4];
    if s.read_exact(&mut len).is_err() {
        return;
    }
    let mut startup = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
    if s.read_exact(&mut startup).is_err() {
        return;
    }
    // AuthenticationCleartextPassword.
    if s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).is_err() || s.flush().is_err() {
        return;
    }
    let mut buf = [0u8; 256];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

#[test]
fn the_password_never_goes_to_a_server_that_cannot_prove_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    for (mode, offer_tls) in [("require", true), ("prefer", false), ("require", false)] {
        let (port, rx) = fake_postgres(offer_tls);
        // A remote host name (the address is this machine's, so the test stays on loopback).
        let url = format!(
            "postgres://curator:hunter2secret@db.example.test:{port}/prod?hostaddr=127.0.0.1&sslmode={mode}"
        );
        let out = std::process::Command::new(common::bin())
            .args(["--library", lib.to_str().unwrap(), "remote", "check", "--json"])
            .env_remove("RAIOX_LIBRARY")
            .env("RAIOX_CONFIG", dir.path().join("none.toml"))
            .env("SPACES_ACCESS_KEY", "k")
            .env("SPACES_SECRET_KEY", "s")
            .env("SPACES_ENDPOINT", "http://127.0.0.1:9")
            .env("SPACES_BUCKET", "b")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        let received = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&received).contains("hunter2secret"),
            "sslmode={mode}, tls offered {offer_tls}: the password reached the fake server"
        );
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!text.contains("hunter2secret"), "{text}");
        let report = json_lines(&out).pop().unwrap_or_default();
        assert!(report["database"].is_string(), "the connection must fail: {text}");
        if offer_tls {
            assert!(
                report["database"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("certificate"),
                "{report}"
            );
        }
    }
}
