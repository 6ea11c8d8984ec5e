//! `raiox bench` end to end at a tiny scale: a real run (synthetic library, standardisation,
//! both encoders, kNN, catalogue) whose JSON report must hold every measurement with sane values.
//! No timing thresholds: only that each figure exists and is physically possible.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::servers::{Postgres, ACCESS, S3, SECRET};

fn stats_ok(v: &serde_json::Value, what: &str) {
    let get = |k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("{what}.{k} missing in {v}"))
    };
    let (median, min, max) = (get("median"), get("min"), get("max"));
    assert!(min > 0.0 && min.is_finite(), "{what}: min {min}");
    assert!(
        min <= median && median <= max,
        "{what}: {min} <= {median} <= {max}"
    );
    assert!(v["runs"].as_u64().unwrap_or(0) >= 1, "{what}: runs");
}

/// `raiox bench --scale tiny --data DATA EXTRA...`, with production unconfigured whatever the
/// developer's environment holds.
fn bench(tmp: &Path, data: &Path, extra: &[&str]) -> Output {
    let unset = [
        "SPACES_ACCESS_KEY",
        "SPACES_SECRET_KEY",
        "SPACES_ENDPOINT",
        "SPACES_BUCKET",
        "DATABASE_URL",
    ];
    Command::new(env!("CARGO_BIN_EXE_raiox"))
        .args(["bench", "--scale", "tiny", "--data"])
        .arg(data)
        .args(extra)
        .env("RAIOX_CONFIG", tmp.join("no-remote.toml"))
        .env_remove("RAIOX_BENCH_DATA")
        .envs(unset.map(|k| (k, "")))
        .output()
        .expect("run raiox bench")
}

#[test]
fn bench_tiny_reports_every_measurement() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench-data");
    let out = bench(dir.path(), &data, &["--json"]);
    assert!(
        out.status.success(),
        "raiox bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");

    assert_eq!(r["scale"], "tiny");
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
    stats_ok(&r["machine"]["copy_gb_per_s"], "copy bandwidth");

    let std_rows = r["standardise"].as_array().unwrap();
    assert!(!std_rows.is_empty());
    for s in std_rows {
        stats_ok(&s["images_per_s"], "standardise");
        assert_eq!(s["files"], 16);
    }

    let encoders: Vec<&str> = r["embed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["encoder"].as_str().unwrap())
        .collect();
    assert!(encoders.contains(&"lite0-imagenet"), "{encoders:?}");
    assert!(encoders.iter().any(|e| e.starts_with("clip")), "{encoders:?}");
    for e in r["embed"].as_array().unwrap() {
        stats_ok(&e["images_per_s"], "embed");
    }

    // The import job end to end, once per encoder, on the standardisation films.
    let imports = r["import"].as_array().unwrap();
    assert_eq!(imports.len(), encoders.len(), "{imports:?}");
    for i in imports {
        assert_eq!(i["films"], 16, "{i}");
        assert!(
            i["implants"].as_u64().unwrap() >= 16,
            "every film has an implant: {i}"
        );
        stats_ok(&i["films_per_s"], "import films");
        stats_ok(&i["implants_per_s"], "import implants");
    }
    assert!(
        !data.join("import-runs").exists(),
        "scratch libraries are removed"
    );

    let knn = &r["knn_local"][0];
    assert_eq!(knn["vectors"], 2000);
    stats_ok(&knn["p50_ms"], "knn p50");
    stats_ok(&knn["p95_ms"], "knn p95");
    assert!(knn["p50_ms"]["median"].as_f64() <= knn["p95_ms"]["median"].as_f64());
    let recall = knn["recall_at_10"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&recall) && recall > 0.5, "recall {recall}");

    let map = &r["map"][0];
    assert_eq!(
        (map["vectors"].as_u64(), map["dim"].as_u64()),
        (Some(300), Some(1280))
    );
    stats_ok(&map["seconds"], "map projection");

    let cat = &r["catalogue"];
    assert_eq!(cat["items"], 48);
    for k in ["open_ms", "list_ms", "filter_ms"] {
        stats_ok(&cat[k], k);
    }
    assert_eq!(
        cat["filtered"], 12,
        "one manufacturer of four, 2 systems × 6 films"
    );

    assert!(
        r["remote"]["status"]
            .as_str()
            .unwrap()
            .starts_with("not configured"),
        "{}",
        r["remote"]
    );
    assert!(r["remote"]["knn"].is_null() && r["remote"]["push"].is_null());

    // The anchors' inputs are where the report says, and results.json is the same report.
    let inputs = data.join("inputs");
    assert!(inputs.join("knn/queries.f32").is_file());
    assert_eq!(
        std::fs::metadata(inputs.join("knn/vectors_2000.f32"))
            .unwrap()
            .len(),
        2000 * 512 * 4
    );
    assert_eq!(std::fs::read_dir(inputs.join("embed")).unwrap().count(), 2);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("results.json")).unwrap()).unwrap();
    assert_eq!(saved["knn_local"], r["knn_local"]);

    // A second run reuses the cached library.
    let again = bench(dir.path(), &data, &[]);
    assert!(again.status.success());
    let table = String::from_utf8_lossy(&again.stdout);
    assert!(
        table.contains("local kNN 2000") && table.contains("not configured"),
        "{table}"
    );
}

/// With production configured (a real PostgreSQL + pgvector and an S3 server) and `--remote`, the
/// report holds a real push of fresh items and HNSW kNN over them, with the anchors' inputs.
#[test]
fn bench_remote_measures_push_and_hnsw_against_real_servers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench-data");
    let pg = Postgres::start();
    let url = pg.fresh_db("prod");
    let s3 = S3::start("raiox-bench");
    let out = Command::new(env!("CARGO_BIN_EXE_raiox"))
        .args(["bench", "--scale", "tiny", "--remote", "--json", "--data"])
        .arg(&data)
        .env("RAIOX_CONFIG", dir.path().join("no-config.toml"))
        .env("SPACES_ACCESS_KEY", ACCESS)
        .env("SPACES_SECRET_KEY", SECRET)
        .env("SPACES_ENDPOINT", &s3.endpoint)
        .env("SPACES_BUCKET", "raiox-bench")
        .env("DATABASE_URL", &url)
        .output()
        .expect("run raiox bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let remote = &r["remote"];
    assert_eq!(remote["status"], "measured", "{remote}");
    let push = &remote["push"];
    // 16 labelled films (the seed comes from the clock, so production has never seen them); the
    // finder may propose a second, unlabelled implant in one, which waits for its label.
    let pushed = push["uploaded"].as_u64().unwrap();
    assert_eq!(pushed, 16, "{push}");
    assert_eq!(push["rows_written"], 16, "{push}");
    assert!(push["items"].as_u64().unwrap() >= pushed, "{push}");
    assert_eq!(push["failed"], 0, "{push}");
    stats_ok(&push["items_per_s"], "push items/s");
    stats_ok(&push["rows_per_s"], "push rows/s");
    let knn = &remote["knn"];
    assert_eq!(knn["vectors"], 16, "{knn}");
    stats_ok(&knn["p50_ms"], "remote p50");
    stats_ok(&knn["p95_ms"], "remote p95");
    let recall = knn["recall_at_10"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&recall), "recall {recall}");
    assert!(push["mb_per_s"].as_f64().unwrap() > 0.0, "{push}");
    assert!(push["cpu_s"].as_f64().unwrap() > 0.0, "{push}");

    // The scale study: 300 rows through the upsert in a scratch schema, an HNSW grid point with
    // two beams, kNN with soft-deleted rows, and a pull of every row into an empty library.
    let scale = &remote["scale"];
    assert_eq!(scale["base_vectors"], 16, "{scale}");
    let fills = scale["fill"].as_array().unwrap();
    assert_eq!(fills.len(), 2, "{scale}");
    assert_eq!(
        (fills[0]["rows"].as_u64(), fills[0]["dim"].as_u64()),
        (Some(300), Some(1280))
    );
    assert_eq!(fills[1]["dim"], 512);
    let grid = scale["hnsw"].as_array().unwrap();
    assert_eq!(grid.len(), 2, "{scale}");
    for h in grid {
        assert_eq!(h["rows"], 300, "{h}");
        assert!(
            h["build_s"].as_f64().unwrap() > 0.0 && h["index_mb"].as_f64().unwrap() > 0.0,
            "{h}"
        );
        let wide = h["search"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(wide["ef_search"], 40);
        assert!(wide["recall_at_10"].as_f64().unwrap() >= 0.9, "{h}");
        stats_ok(&wide["p95_ms"], "scale p95");
    }
    let deleted = &scale["deleted"];
    assert!(deleted["deleted"].as_u64().unwrap() >= 300 / 8, "{deleted}");
    assert_eq!(deleted["short_results"], 0, "{deleted}");
    assert!(deleted["recall_at_10"].as_f64().unwrap() >= 0.9, "{deleted}");
    let pull = &scale["pull"];
    assert_eq!(pull["rows"], 300, "{pull}");
    assert!(pull["peak_rss_mb"].as_f64().unwrap() > 0.0, "{pull}");
    assert_eq!(scale["pulled_catalogue"]["items"], 300, "{scale}");
    assert_eq!(scale["pulled_knn"]["vectors"], 300, "{scale}");
    // Production's own index is untouched (the study's DDL names its scratch schema), and the
    // scratch schemas are gone again.
    assert_eq!(
        pg.psql(
            "prod",
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'implants_embedding_live_hnsw'"
        ),
        "1"
    );
    assert_eq!(
        pg.psql(
            "prod",
            "SELECT COUNT(*) FROM pg_namespace WHERE nspname LIKE 'raiox_bench%'"
        ),
        "0"
    );
    // The bench leaves production as it was: its rows soft-deleted, its objects removed.
    assert!(s3.keys("raiox-bench").is_empty(), "{:?}", s3.keys("raiox-bench"));
    assert_eq!(
        pg.psql("prod", "SELECT COUNT(*) FROM implants WHERE NOT deleted"),
        "0"
    );
    assert!(
        remote["errors"].as_array().is_none_or(|e| e.is_empty()),
        "{remote}"
    );
    let rows = std::fs::read_to_string(data.join("inputs/sync/rows.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 16);
    assert_eq!(
        std::fs::read_dir(data.join("inputs/sync/png")).unwrap().count(),
        16
    );
}
