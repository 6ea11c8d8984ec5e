//! A library written before films held several implants (catalogue schema 4) opens in this raiox
//! with nothing lost: every image becomes a film with one implant whose box is the crop it had;
//! labels, names, vectors and sync state stay with the same ids.

mod common;

use common::{json_lines, raiox};
use raiox::catalogue::db;
use raiox::catalogue::history;
use raiox::catalogue::images::{self, BoxSource, Status};
use raiox::catalogue::vectors;
use raiox::embed::ModelStamp;
use raiox::library::Library;
use raiox::standardise::encode_png;
use raiox::synth::{render, systems};
use raiox::util::sha256_hex;
use rusqlite::params;

/// Write `bytes` where a library keeps a content-addressed file.
fn put_file(root: &std::path::Path, top: &str, bytes: &[u8], ext: &str) -> String {
    let sha = sha256_hex(bytes);
    let dir = root.join(top).join(&sha[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{sha}.{ext}")), bytes).unwrap();
    sha
}

/// The implants waiting in the sync outbox.
fn queued(conn: &rusqlite::Connection) -> Vec<i64> {
    conn.prepare("SELECT image_id FROM sync_outbox ORDER BY image_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn stamp() -> ModelStamp {
    ModelStamp {
        encoder_id: "lite0-imagenet".into(),
        weights_sha256: "ab".repeat(32),
        preprocess_version: 1,
        dim: 4,
    }
}

#[test]
fn a_schema_4_library_migrates_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    std::fs::create_dir_all(&root).unwrap();
    let film_a = encode_png(&render(&systems()[0], 1, 9, 300)).unwrap();
    let film_b = encode_png(&render(&systems()[3], 2, 9, 300)).unwrap();
    let std_a = encode_png(&image::GrayImage::from_pixel(224, 224, image::Luma([90]))).unwrap();
    let std_b = encode_png(&image::GrayImage::from_pixel(224, 224, image::Luma([120]))).unwrap();
    let std_r = encode_png(&image::GrayImage::from_pixel(224, 224, image::Luma([150]))).unwrap();
    let (sha_a, sha_b) = (
        put_file(&root, "originals", &film_a, "png"),
        put_file(&root, "originals", &film_b, "png"),
    );
    let (ssha_a, ssha_b, ssha_r) = (
        put_file(&root, "standard", &std_a, "png"),
        put_file(&root, "standard", &std_b, "png"),
        put_file(&root, "standard", &std_r, "png"),
    );
    let (system_id, outbox_before) = {
        let mut conn = db::create_at_version(&root.join("library.db"), 4).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 4);
        let (sid, mid): (i64, i64) = conn
            .query_row(
                "SELECT id, manufacturer_id FROM systems ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let tx = conn.transaction().unwrap();
        let insert = "INSERT INTO images (id, sha256, original_ext, source_name, source_format, width, height,
                technical, params, params_version, auto_crop, inverted, standard_sha256, manufacturer_id,
                system_id, status, standard_name, name_seq, name_given, origin)
             VALUES (?1, ?2, 'png', ?3, 'png', 300, 300, '{}', ?4, 2, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
        // A labelled image with a manual crop, pushed (production gave its name).
        tx.execute(
            insert,
            params![
                1,
                sha_a,
                "/home/curator/patient-films/a.png",
                r#"{"version":2,"crop":{"x":100,"y":40,"w":60,"h":180},"invert":null,"clahe_clip":2.0,"clahe_grid":8,"size":224}"#,
                r#"{"x":90,"y":30,"w":90,"h":200}"#,
                false,
                ssha_a,
                mid,
                sid,
                "confirmed",
                "acme_one_0007.png",
                7,
                1,
                "local"
            ],
        )
        .unwrap();
        // An unlabelled image with the automatic crop, on an inverted film.
        tx.execute(
            insert,
            params![
                2,
                sha_b,
                "b.png",
                r#"{"version":2,"invert":null,"clahe_clip":2.0,"clahe_grid":8,"size":224}"#,
                r#"{"x":10,"y":20,"w":50,"h":150}"#,
                true,
                ssha_b,
                None::<i64>,
                None::<i64>,
                "unlabelled",
                None::<String>,
                None::<i64>,
                0,
                "local"
            ],
        )
        .unwrap();
        // An item pulled from production (no original here).
        tx.execute(
            insert,
            params![
                3,
                "remote:8d2b7f7e-0000-4000-8000-000000000003",
                "",
                r#"{"version":2,"invert":null,"clahe_clip":2.0,"clahe_grid":8,"size":224}"#,
                r#"{"x":0,"y":0,"w":224,"h":224}"#,
                false,
                ssha_r,
                mid,
                sid,
                "labelled",
                "acme_one_0003.png",
                3,
                1,
                "remote"
            ],
        )
        .unwrap();
        vectors::ensure_table(&tx, &stamp()).unwrap();
        for (id, ssha) in [(1, &ssha_a), (2, &ssha_b), (3, &ssha_r)] {
            vectors::put(&tx, id, ssha, &stamp(), &[id as f32, 0.5, 0.25, 0.125]).unwrap();
        }
        tx.execute(
            "INSERT INTO sync_items (image_id, remote_id, revision, object_key, content_sha256)
             VALUES (1, '8d2b7f7e-0000-4000-8000-000000000001', 4, 'implants/aa/x.png', ?1),
                    (3, '8d2b7f7e-0000-4000-8000-000000000003', 2, 'implants/bb/y.png', ?2)",
            params![ssha_a, ssha_r],
        )
        .unwrap();
        // Pushed and pulled items are not waiting for the next push; the new one is.
        tx.execute("DELETE FROM sync_outbox WHERE image_id IN (1, 3)", [])
            .unwrap();
        tx.commit().unwrap();
        let outbox = queued(&conn);
        (sid, outbox)
    };

    let lib = Library::open(&root).expect("the old library opens");
    let conn = lib.conn();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert!(version >= 5);
    let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 1, "foreign keys are on again after the migration");

    let a = images::get(conn, 1).unwrap();
    assert_eq!(a.film_sha256.as_deref(), Some(sha_a.as_str()));
    assert_eq!(
        a.source_name.as_deref(),
        Some("/home/curator/patient-films/a.png")
    );
    assert_eq!((a.status, a.system_id), (Status::Confirmed, Some(system_id)));
    assert_eq!(a.name.as_deref(), Some("acme_one_0007.png"));
    assert!(
        images::name_given(conn, 1).unwrap(),
        "the production-given name stays given"
    );
    assert_eq!(a.box_source, BoxSource::Manual, "its manual crop is its box");
    let b = a.aabb.unwrap();
    assert_eq!((b.x, b.y, b.w, b.h), (100.0, 40.0, 60.0, 180.0));
    assert_eq!(a.angle_deg, Some(0.0));
    assert_eq!(
        a.standard_sha256, ssha_a,
        "the standard image is kept until re-derived"
    );

    let b_rec = images::get(conn, 2).unwrap();
    assert_eq!(b_rec.box_source, BoxSource::Migrated);
    let bb = b_rec.aabb.unwrap();
    assert_eq!((bb.x, bb.y, bb.w, bb.h), (10.0, 20.0, 50.0, 150.0));
    assert!(b_rec.inverted, "the film keeps its polarity");
    assert_ne!(a.film_id, b_rec.film_id);

    let r = images::get(conn, 3).unwrap();
    assert_eq!(
        (r.film_id, r.aabb, r.box_source),
        (None, None, BoxSource::Production)
    );
    assert_eq!(r.name.as_deref(), Some("acme_one_0003.png"));
    assert_eq!(r.system_id, Some(system_id));

    for id in [1, 2, 3] {
        assert_eq!(
            vectors::get(conn, &stamp(), id).unwrap(),
            Some(vec![id as f32, 0.5, 0.25, 0.125]),
            "implant {id} keeps its vector"
        );
    }
    let outbox_after = queued(conn);
    assert_eq!(
        outbox_after, outbox_before,
        "the migration queues nothing for production"
    );
    let remote: String = conn
        .query_row("SELECT remote_id FROM sync_items WHERE image_id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(remote, "8d2b7f7e-0000-4000-8000-000000000001");
    for id in [1, 2, 3] {
        assert_eq!(
            history::for_implant(conn, id).unwrap(),
            vec![],
            "the migration invents no history for implant {id}"
        );
    }
    drop(lib);

    // The fronts read the migrated library.
    let films = json_lines(&raiox(&root, &["films", "--json"]));
    assert_eq!(films.len(), 2, "{films:?}");
    assert!(films.iter().all(|f| f["implant_count"] == 1));
    let list = json_lines(&raiox(&root, &["list", "--json"]));
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["film_sha256"], sha_a.as_str());
    assert_eq!(list[0]["box"]["h"], 180.0);
    assert!(list[0].get("source_name").is_none(), "provenance stays local");
    let check = json_lines(&raiox(&root, &["check", "--json"]));
    assert_eq!(check[0]["damaged"].as_array().unwrap().len(), 0, "{}", check[0]);
    // Re-deriving a migrated implant cuts its box apex-down with today's pipeline.
    let out = raiox(&root, &["restandardise", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        json_lines(&out)[0]["restandardised"],
        2,
        "both local implants were stale"
    );
    // From now on every change is recorded: the re-derivations are in the history.
    for id in ["1", "2"] {
        let changes = json_lines(&raiox(&root, &["history", id, "--json"]));
        assert_eq!(changes.len(), 1, "implant {id}: {changes:?}");
        assert!(
            changes[0]["kind"] == "crop" || changes[0]["kind"] == "box",
            "{changes:?}"
        );
    }
}
