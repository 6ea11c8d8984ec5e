//! A curator imports folders: awkward-but-valid files go in, bad files are refused one by one,
//! patient data never reaches the catalogue, re-imports are no-ops and a killed import is harmless.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fixtures, json_lines, raiox};
use serde_json::Value;

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("MANIFEST.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Import results keyed by path relative to the fixture folder.
fn by_fixture_path(lines: &[Value]) -> HashMap<String, Value> {
    let root = fixtures();
    lines
        .iter()
        .map(|v| {
            let p = Path::new(v["path"].as_str().unwrap());
            let rel = p.strip_prefix(&root).unwrap_or(p).to_string_lossy().into_owned();
            (rel, v.clone())
        })
        .collect()
}

#[test]
fn awkward_but_valid_files_all_import() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let out = raiox(
        &lib,
        &["import", fixtures().join("awkward").to_str().unwrap(), "--json"],
    );
    let got = by_fixture_path(&json_lines(&out));
    for entry in manifest()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().starts_with("awkward/"))
    {
        let path = entry["path"].as_str().unwrap();
        let item = got.get(path).unwrap_or_else(|| panic!("{path} was not reported"));
        assert_eq!(item["status"], entry["expect"], "{path}: {item}");
        assert!(item["film_id"].as_i64().is_some(), "{path}: {item}");
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = raiox(&lib, &["check", "--json"]);
    let report = &json_lines(&check)[0];
    assert_eq!(report["integrity"], "ok");
    assert_eq!(report["damaged"].as_array().unwrap().len(), 0, "{report}");
}

#[test]
fn bad_files_are_refused_one_by_one_and_the_rest_still_imports() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let good = fixtures().join("awkward/rgba.png");
    let out = raiox(
        &lib,
        &[
            "import",
            fixtures().join("bad").to_str().unwrap(),
            good.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "any refusal gives exit 1");
    let got = by_fixture_path(&json_lines(&out));
    let bad: Vec<_> = manifest()
        .into_iter()
        .filter(|e| e["path"].as_str().unwrap().starts_with("bad/"))
        .collect();
    assert!(bad.len() >= 10);
    for entry in &bad {
        let path = entry["path"].as_str().unwrap();
        let item = got.get(path).unwrap_or_else(|| panic!("{path} was not reported"));
        assert_eq!(item["status"], "refused", "{path}: {item}");
        let error = item["error"].as_str().unwrap().to_lowercase();
        let want = entry["reason_contains"].as_str().unwrap();
        assert!(error.contains(want), "{path}: '{error}' should mention '{want}'");
    }
    assert_eq!(got["awkward/rgba.png"]["status"], "imported");
    // Human output names each refused file with its reason.
    let out = raiox(&lib, &["import", fixtures().join("bad").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    for entry in &bad {
        let name = Path::new(entry["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            text.lines()
                .any(|l| l.starts_with("refused") && l.contains(&name)),
            "{name} missing in:\n{text}"
        );
    }
    let listed = json_lines(&raiox(&lib, &["list", "--json"]));
    assert_eq!(listed.len(), 1, "only the good file is in the library");
}

#[test]
fn a_patient_name_never_reaches_the_catalogue_or_standard_images() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let out = raiox(
        &lib,
        &[
            "import",
            fixtures().join("awkward/dicom").to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Make sure everything written is in the files we scan (the WAL is scanned too).
    let show = raiox(&lib, &["show", "1", "--json"]);
    assert!(show.status.success());
    let mut scanned = 0;
    for entry in common::files_under(&lib) {
        if entry.starts_with(lib.join("originals")) {
            continue; // the untouched original is kept, by design, and never leaves the machine
        }
        let bytes = std::fs::read(&entry).unwrap();
        for secret in ["DOE^JANE", "SECRET", "PID-123456789", "JANE"] {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret} found in {}",
                entry.display()
            );
        }
        scanned += 1;
    }
    assert!(scanned >= 3, "library.db and standard images were scanned");
    let listed = json_lines(&raiox(&lib, &["list", "--json"]));
    assert!(
        listed.iter().any(|r| r["technical"]["modality"].is_string()),
        "technical fields are kept"
    );
}

#[test]
fn synthetic_set_imports_with_labels_and_reimport_is_a_noop() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, synth, out) = common::cli_labelled_library(dir.path(), "3", "5");
    let csv = synth.join("labels.csv");
    let items = json_lines(&out);
    assert_eq!(items.len(), 24, "labels.csv is not imported as an image");
    assert!(items.iter().all(|i| i["status"] == "imported"));

    let mut expected = HashMap::new();
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        expected.insert(
            synth.join(&row[0]).canonicalize().unwrap(),
            (row[1].to_string(), row[2].to_string()),
        );
    }
    for item in &items {
        let path = Path::new(item["path"].as_str().unwrap()).canonicalize().unwrap();
        let (m, s) = &expected[&path];
        // The row's box names one implant of the film: it carries the label.
        let labelled: Vec<_> = item["implants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["name"].is_string())
            .collect();
        assert_eq!(labelled.len(), 1, "{item}");
        assert_eq!(
            (
                labelled[0]["manufacturer"].as_str().unwrap(),
                labelled[0]["system"].as_str().unwrap()
            ),
            (m.as_str(), s.as_str())
        );
    }
    let implants = common::implants_in(&items);
    let listed = json_lines(&raiox(&lib, &["list", "--json"]));
    assert_eq!(listed.len(), implants);
    let mut names = std::collections::HashSet::new();
    for rec in listed.iter().filter(|r| r["status"] != "unlabelled") {
        let name = rec["name"]
            .as_str()
            .expect("labelled implants have a standard name");
        assert!(
            name.ends_with(".png") && name.is_ascii() && !name.contains(['/', '\\', ' ', '"', '\'']),
            "{name}"
        );
        assert!(names.insert(name.to_string()), "{name} is unique");
        assert_eq!(rec["status"], "labelled");
        assert!(
            rec.get("source_name").is_none(),
            "source names stay out of listings"
        );
    }

    let again = raiox(&lib, &["import", synth.to_str().unwrap(), "--json"]);
    assert_eq!(again.status.code(), Some(0));
    let again = json_lines(&again);
    assert_eq!(again.len(), 24);
    assert!(again
        .iter()
        .all(|i| i["status"] == "duplicate" && common::has_labelled_implant(i)));
    assert_eq!(json_lines(&raiox(&lib, &["list", "--json"])).len(), implants);
}

#[test]
fn labels_from_folders_and_fixed_labels() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 1, 9, 200);
    let out = raiox(
        &lib,
        &[
            "import",
            synth.join("Straumann").to_str().unwrap(),
            "--labels-from-dirs",
            "--json",
        ],
    );
    let items = json_lines(&out);
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["status"] == "imported"));
    // A label without a box names a film's only implant; a film with none or several says why.
    let labelled_as = |items: &[serde_json::Value], key: &str, value: &str| {
        let mut n = 0;
        for i in items {
            match i["implants"].as_array().unwrap().len() {
                1 => {
                    assert_eq!(i[key], value, "{i}");
                    n += 1;
                }
                0 => assert!(i["warning"].as_str().unwrap().contains("no implant"), "{i}"),
                _ => assert!(i["warning"].as_str().unwrap().contains("cannot say which"), "{i}"),
            }
        }
        n
    };
    labelled_as(&items, "manufacturer", "Straumann");
    let out = raiox(
        &lib,
        &[
            "import",
            synth.join("Neodent").to_str().unwrap(),
            "--manufacturer",
            "neodent",
            "--system",
            "helix",
            "--confirm",
            "--json",
        ],
    );
    let items = json_lines(&out);
    let confirmed = labelled_as(&items, "system", "Helix GM");
    let listed = json_lines(&raiox(&lib, &["list", "--status", "confirmed", "--json"]));
    assert_eq!(listed.len(), confirmed);
    // An unknown system in the label does not stop the images: imported unlabelled, with a warning
    // naming the label, and counted in the summary.
    let out = raiox(
        &lib,
        &[
            "import",
            synth.join("Nobel Biocare").to_str().unwrap(),
            "--system",
            "Imaginary X",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let items = json_lines(&out);
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["status"] == "imported"
        && !common::has_labelled_implant(i)
        && i["warning"]
            .as_str()
            .unwrap()
            .starts_with("unknown system \"Imaginary X\"")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Imaginary X: 2 images"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = raiox(&dir.path().join("lib"), &["import"]);
    assert_eq!(out.status.code(), Some(2));
    let out = raiox(&dir.path().join("lib"), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_killed_import_leaves_a_consistent_library() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 40, 11, 192);
    let mut child = Command::new(env!("CARGO_BIN_EXE_raiox"))
        .args([
            "--library",
            lib.to_str().unwrap(),
            "import",
            synth.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has started writing files (or finished: either way the library must be sound).
    let start = Instant::now();
    while common::files_under(&lib.join("standard")).len() < 40 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let check = json_lines(&raiox(&lib, &["check", "--json"]));
    assert_eq!(check[0]["integrity"], "ok");
    assert_eq!(check[0]["damaged"].as_array().unwrap().len(), 0, "{}", check[0]);
    let out = raiox(&lib, &["import", synth.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let items = json_lines(&out);
    assert_eq!(items.len(), 320);
    assert!(items
        .iter()
        .all(|i| i["status"] == "imported" || i["status"] == "duplicate"));
    let implants = common::implants_in(&items);
    let listed = json_lines(&raiox(&lib, &["list", "--json"]));
    assert_eq!(listed.len(), implants, "nothing lost, nothing twice");
    assert_eq!(json_lines(&raiox(&lib, &["films", "--json"])).len(), 320);
    let check = json_lines(&raiox(&lib, &["check", "--json"]));
    assert_eq!(check[0]["integrity"], "ok");
    assert_eq!(check[0]["records"], implants);
    assert_eq!(check[0]["damaged"].as_array().unwrap().len(), 0);
    assert_eq!(
        check[0]["swept"]["orphans"], 0,
        "files left by the kill were swept on re-import"
    );
    // Every file on disk belongs to a record: originals + standard images, one each.
    assert_eq!(common::files_under(&lib.join("originals")).len(), 320);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
