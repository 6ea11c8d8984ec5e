//! The label history in a shared production (real PostgreSQL + pgvector and S3 servers): a
//! curator's changes reach the other curators attributed to them, a re-sync duplicates nothing,
//! and hostile history rows never reach a library.

mod common;

use std::path::Path;
use std::process::Output;

use common::prod::*;
use common::{json_lines, raiox};

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
    out
}

fn synced(prod: &Prod, lib: &Path) -> serde_json::Value {
    let (out, report) = sync(prod, lib, &[]);
    ok(&out);
    report
}

/// The local id of the implant with this standard name.
fn id_named(lib: &Path, name: &str) -> String {
    json_lines(&raiox(lib, &["list", "--json"]))
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no implant named {name}"))["id"]
        .to_string()
}

fn history(lib: &Path, id: &str) -> Vec<serde_json::Value> {
    json_lines(ok(&raiox(lib, &["history", id, "--json"])))
}

#[test]
fn a_curators_changes_reach_the_others_attributed_to_them_and_hostile_entries_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let prod = Prod::start();
    let (a, _) = library(&dir.path().join("a"));
    ok(&raiox(&a, &["curator", "Ana"]));
    let x = json_lines(&raiox(&a, &["list", "--json"]))
        .into_iter()
        .find(|r| r["status"] == "labelled")
        .expect("a labelled implant");
    let xa = x["id"].to_string();
    ok(&raiox(&a, &["label", &xa, "--confirm"]));
    let report = synced(&prod, &a);
    assert!(report["history_pushed"].as_u64().unwrap() > 0, "{report}");
    // Production says who confirmed it.
    let name = json_lines(&raiox(&a, &["show", &xa, "--json"]))[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let remote_id = prod.pg.psql(
        &prod.db,
        &format!("SELECT id FROM implants WHERE standard_name = '{name}' AND NOT deleted"),
    );
    let who = prod.pg.psql(
        &prod.db,
        &format!(
            "SELECT curator FROM implant_history WHERE implant_id = '{remote_id}' AND kind = 'label' \
             ORDER BY at DESC LIMIT 1"
        ),
    );
    assert_eq!(who, "Ana");
    // A re-sync appends nothing.
    let again = synced(&prod, &a);
    assert_eq!(again["history_pushed"], 0, "{again}");
    let entries = |filter: &str| -> i64 {
        prod.pg
            .psql(
                &prod.db,
                &format!("SELECT COUNT(*) FROM implant_history WHERE {filter}"),
            )
            .parse()
            .unwrap()
    };
    let in_production = entries("true");

    // Curator B pulls the library and sees A's change, attributed to A.
    let b = dir.path().join("b");
    ok(&raiox(&b, &["curator", "Bruno"]));
    let report = synced(&prod, &b);
    assert!(report["history_pulled"].as_u64().unwrap() > 0, "{report}");
    let xb = id_named(&b, &name);
    let seen = history(&b, &xb);
    let confirm = seen
        .iter()
        .find(|c| c["curator"] == "Ana")
        .unwrap_or_else(|| panic!("Ana's change is in B's history: {seen:#?}"));
    assert_eq!(confirm["kind"], "label");
    assert_eq!(confirm["in_production"], true);
    let to: serde_json::Value = serde_json::from_str(confirm["to"].as_str().unwrap()).unwrap();
    assert_eq!(to["status"], "confirmed");
    assert!(
        seen.iter().all(|c| c["curator"] != "Bruno"),
        "a pull is not B's change: {seen:#?}"
    );

    // B relabels it; A gets B's entry, attributed to B, and nothing twice.
    ok(&raiox(
        &b,
        &["label", &xb, "--manufacturer", "nobel", "--system", "active"],
    ));
    synced(&prod, &b);
    synced(&prod, &a);
    let seen = history(&a, &xa);
    assert!(
        seen.iter()
            .any(|c| c["curator"] == "Bruno" && c["kind"] == "label"),
        "{seen:#?}"
    );
    let mut ids: Vec<&str> = seen.iter().map(|c| c["entry_id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no entry twice: {seen:#?}");
    assert!(entries("true") > in_production);

    // Hostile history rows for that implant, and one sound one.
    let plant = |curator: &str, kind: &str, at: &str, from: &str| {
        prod.pg.psql(
            &prod.db,
            &format!(
                "INSERT INTO implant_history (implant_id, entry_id, at, curator, kind, from_value, to_value) \
                 VALUES ('{remote_id}', gen_random_uuid(), {at}, {curator}, '{kind}', {from}, NULL)"
            ),
        );
    };
    let status = "'{\"status\":\"labelled\"}'";
    plant("'Mallory'", "label", "now()", "repeat('x', 10485760)");
    plant("E'Mal\\x1b[2Jlory'", "label", "now()", status);
    plant("'Mallory'", "drop", "now()", status);
    plant("'Mallory'", "label", "now() + interval '1 year'", status);
    plant("'Mallory'", "label", "now()", "E'{\"a\":\"\\x07\"}'");
    plant("'Carla'", "label", "now()", status);
    let (out, report) = sync(&prod, &b, &[]);
    ok(&out);
    let refused: Vec<&serde_json::Value> = report["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["key"].as_str().unwrap().starts_with("history entry"))
        .collect();
    assert_eq!(refused.len(), 5, "{report}");
    let seen = history(&b, &xb);
    assert!(seen.iter().any(|c| c["curator"] == "Carla"), "{seen:#?}");
    assert!(
        seen.iter()
            .all(|c| !c["curator"].as_str().unwrap().contains("Mal")),
        "{seen:#?}"
    );
    let conn = rusqlite::Connection::open_with_flags(
        b.join("library.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (longest, strange): (i64, i64) = conn
        .query_row(
            "SELECT MAX(MAX(length(from_value)), MAX(length(to_value))),
                    SUM(curator LIKE '%Mal%' OR from_value LIKE '%' || char(7) || '%')
             FROM history",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(longest < 4096, "{longest}");
    assert_eq!(strange, 0);
    // They are not read again; the sync goes on as before.
    let (out, report) = sync(&prod, &b, &[]);
    ok(&out);
    assert_eq!(report["quarantined"].as_array().unwrap().len(), 0, "{report}");
}
