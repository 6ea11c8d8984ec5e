//! A curator's label history: every label, box and crop change of an implant is recorded with
//! when, by whom, from and to, and `raiox history` shows it newest first.

mod common;

use std::process::Output;

use common::{json_lines, raiox};

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(v: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(v.as_str().unwrap()).unwrap()
}

#[test]
fn label_relabel_and_a_moved_box_are_recorded_with_curator_from_and_to() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 1, 2, 300);
    ok(&raiox(&lib, &["import", synth.to_str().unwrap()]));
    ok(&raiox(&lib, &["curator", "Ana Souza"]));
    let list = json_lines(&raiox(&lib, &["list", "--json"]));
    let target = list
        .iter()
        .find(|r| r["box_source"] == "finder")
        .expect("the finder found implants");
    let id = target["id"].as_i64().unwrap().to_string();
    ok(&raiox(
        &lib,
        &["label", &id, "--manufacturer", "Straumann", "--system", "BLT"],
    ));
    ok(&raiox(
        &lib,
        &["label", &id, "--manufacturer", "nobel", "--system", "active"],
    ));
    let b = &target["box"];
    let f = |k: &str| b[k].as_f64().unwrap();
    let moved = format!("{},{},{},{}", f("x") + 6.0, f("y"), f("w"), f("h"));
    ok(&raiox(&lib, &["box", &id, "--set", &moved]));

    let changes = json_lines(ok(&raiox(&lib, &["history", &id, "--json"])));
    let kinds: Vec<&str> = changes.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["box", "label", "label", "added"], "{changes:#?}");
    for c in &changes[..3] {
        assert_eq!(c["curator"], "Ana Souza");
        assert_eq!(c["implant_id"].as_i64(), Some(id.parse().unwrap()));
        assert_eq!(c["in_production"], false);
    }
    // Newest first, every time an ISO 8601 UTC instant.
    let times: Vec<&str> = changes.iter().map(|c| c["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(
        times.iter().all(|t| t.ends_with('Z') && t.len() == 24),
        "{times:?}"
    );
    let (first, second) = (&changes[2], &changes[1]);
    assert_eq!(json(&first["from"])["status"], "unlabelled");
    assert_eq!(json(&first["to"])["manufacturer"], "Straumann");
    assert_eq!(json(&first["to"])["system"], "Bone Level Tapered");
    assert_eq!(json(&second["from"])["system"], "Bone Level Tapered");
    assert_eq!(json(&second["to"])["manufacturer"], "Nobel Biocare");
    assert_eq!(json(&second["to"])["status"], "labelled");
    let (from, to) = (json(&changes[0]["from"]), json(&changes[0]["to"]));
    let dx = to["cx"].as_f64().unwrap() - from["cx"].as_f64().unwrap();
    assert!((dx - 6.0).abs() < 0.2, "the box moved 6 px right: {from} → {to}");
    // The text form says the same in words.
    let text = String::from_utf8_lossy(&ok(&raiox(&lib, &["history", &id])).stdout).to_string();
    assert!(
        text.contains("label by Ana Souza: Straumann Bone Level Tapered (labelled) → Nobel Biocare"),
        "{text}"
    );

    // The other implants only have their import.
    for r in list.iter().filter(|r| r["id"] != target["id"]) {
        let other = json_lines(&raiox(&lib, &["history", &r["id"].to_string(), "--json"]));
        assert_eq!(other.len(), 1, "{other:?}");
        assert_eq!(other[0]["kind"], "added");
    }
    // A removal is recorded too, and the history stays readable.
    ok(&raiox(&lib, &["delete", &id]));
    let after = json_lines(ok(&raiox(&lib, &["history", &id, "--json"])));
    assert_eq!(after.len(), 5);
    assert_eq!(after[0]["kind"], "removed");
    assert_eq!(json(&after[0]["from"])["manufacturer"], "Nobel Biocare");
    // An id the library never held is an error naming it.
    let out = raiox(&lib, &["history", "99999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("99999"));
}

#[test]
fn the_curator_defaults_to_the_os_user_and_only_plain_names_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let run = |args: &[&str]| {
        std::process::Command::new(common::bin())
            .arg("--library")
            .arg(&lib)
            .args(args)
            .env_remove("RAIOX_LIBRARY")
            .env("USER", "dr-lima")
            .env("USERNAME", "dr-lima")
            .output()
            .unwrap()
    };
    let shown = json_lines(ok(&run(&["curator", "--json"])));
    assert_eq!(shown[0]["curator"], "dr-lima");
    assert_eq!(
        String::from_utf8_lossy(&ok(&run(&["curator", "  Bob Reis "])).stdout).trim(),
        "Bob Reis"
    );
    let long = "x".repeat(65);
    for (bad, why) in [
        ("a\nb", "control characters"),
        ("   ", "empty"),
        (long.as_str(), "longer than 64"),
    ] {
        let out = run(&["curator", bad]);
        assert!(!out.status.success(), "{bad:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("curator name") && err.contains(why),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(
        json_lines(ok(&run(&["curator", "--json"])))[0]["curator"],
        "Bob Reis"
    );
}
