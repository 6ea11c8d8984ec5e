//! A new curator's first day: `raiox import --labels CSV` with no paths, a labels file naming a
//! system the catalogue lacks (imported unlabelled with a suggestion; `--add-unknown` labels it),
//! `raiox list | head` (no panic on the closed pipe) and Ctrl-C during an import (the current
//! items finish, the summary is printed, exit 130).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{bin, json_lines, raiox, synth_set};
use serde_json::Value;

/// `raiox import --labels CSV --no-embed` with no paths, plus `extra` flags.
fn import_labels(lib: &std::path::Path, labels: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", "--labels", labels.to_str().unwrap(), "--no-embed"];
    args.extend_from_slice(extra);
    raiox(lib, &args)
}

#[test]
fn labels_csv_alone_imports_and_labels_the_files_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = dir.path().join("out");
    common::cli_synth(&lib, &synth, "2", None);
    let labels = synth.join("labels.csv");
    let out = import_labels(&lib, &labels, &["--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items = json_lines(&out);
    assert_eq!(items.len(), 16, "8 systems x 2 films");
    for item in &items {
        assert_eq!(item["status"], "imported", "{item}");
        assert!(common::has_labelled_implant(item), "labelled: {item}");
    }
}

/// The synth set's labels with Zimmer Biomet's "T3" written as "T3Parallel".
fn misspelt_labels(synth: &std::path::Path) -> std::path::PathBuf {
    let labels = synth.join("labels.csv");
    let text = std::fs::read_to_string(&labels).unwrap();
    let changed = text.replace(",Zimmer Biomet,T3,", ",Zimmer Biomet,T3Parallel,");
    assert_ne!(text, changed, "the synth set has Zimmer Biomet T3 rows");
    let out = synth.join("labels-misspelt.csv");
    std::fs::write(&out, changed).unwrap();
    out
}

#[test]
fn an_unknown_system_imports_unlabelled_with_a_suggestion_and_add_unknown_labels_it() {
    let dir = tempfile::tempdir().unwrap();
    let synth = synth_set(dir.path(), 2, 4, 256);
    let labels = misspelt_labels(&synth);
    let lib = dir.path().join("lib");
    let out = import_labels(&lib, &labels, &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing is refused: {stdout}\n{stderr}"
    );
    assert!(stderr.contains("16 imported, 0 duplicate, 0 refused"), "{stderr}");
    assert!(
        stdout.contains("unknown system \"T3Parallel\" of Zimmer Biomet (did you mean Zimmer Biomet T3?) — imported unlabelled"),
        "{stdout}"
    );
    assert!(
        stderr.contains("Zimmer Biomet / T3Parallel: 2 images — did you mean Zimmer Biomet T3?"),
        "summary of unknown names: {stderr}"
    );
    // The two T3 films' implants, plus any the finder proposed beyond the labelled boxes.
    let unlabelled = json_lines(&raiox(&lib, &["list", "--status", "unlabelled", "--json"]));
    assert!(unlabelled.len() >= 2, "{unlabelled:?}");

    // Rerun with --add-unknown: the catalogue gains the system and the two films are labelled.
    let out = import_labels(&lib, &labels, &["--add-unknown", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("added to the catalogue: Zimmer Biomet / T3Parallel"),
        "{stderr}"
    );
    let relabelled: Vec<Value> = json_lines(&out)
        .into_iter()
        .filter(|i| {
            i["implants"]
                .as_array()
                .is_some_and(|a| a.iter().any(|m| m["system"] == "T3Parallel"))
        })
        .collect();
    assert_eq!(
        relabelled.len(),
        2,
        "the unlabelled duplicates take the new label"
    );
    assert_eq!(
        json_lines(&raiox(&lib, &["list", "--status", "unlabelled", "--json"])).len(),
        unlabelled.len() - 2,
        "only the implants no label names stay unlabelled"
    );
    let catalogue = String::from_utf8_lossy(&raiox(&lib, &["catalogue", "list"]).stdout).into_owned();
    assert!(catalogue.contains("T3Parallel"), "{catalogue}");

    // A fresh library with --add-unknown labels at once.
    let lib2 = dir.path().join("lib2");
    let out = import_labels(&lib2, &labels, &["--add-unknown", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(json_lines(&out).iter().all(common::has_labelled_implant));
}

#[test]
fn an_unknown_manufacturer_is_named_with_the_closest_ones() {
    let dir = tempfile::tempdir().unwrap();
    let synth = synth_set(dir.path(), 1, 5, 256);
    let labels = synth.join("labels.csv");
    let text = std::fs::read_to_string(&labels)
        .unwrap()
        .replace(",Straumann,", ",Straumman,");
    std::fs::write(&labels, text).unwrap();
    let out = import_labels(&dir.path().join("lib"), &labels, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.contains("unknown manufacturer \"Straumman\" (did you mean Straumann?)"),
        "{stdout}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let synth = synth_set(dir.path(), 1, 6, 256);
    let lib = dir.path().join("lib");
    let out = raiox(&lib, &["import", synth.to_str().unwrap(), "--no-embed"]);
    assert!(out.status.success());
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["catalogue", "list"],
        vec!["export"],
        vec!["import", synth.to_str().unwrap(), "--no-embed"],
    ] {
        // A pipe whose reader is already gone: the first write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(bin())
            .arg("--library")
            .arg(&lib)
            .args(&args)
            .env_remove("RAIOX_LIBRARY")
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_finishes_the_current_items_prints_the_summary_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let synth = synth_set(dir.path(), 40, 7, 400);
    let lib = dir.path().join("lib");
    let mut child = Command::new(bin())
        .arg("--library")
        .arg(&lib)
        .args(["import", synth.to_str().unwrap(), "--no-embed"])
        .env_remove("RAIOX_LIBRARY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first imported file, then interrupt.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    assert!(first.starts_with("imported"), "{first}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // One line per file (a warning about a file goes on its own line after it).
    let printed = 1 + lines
        .map_while(Result::ok)
        .filter(|l| {
            ["imported", "duplicate", "refused"]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .count();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("(cancelled)"), "the summary is printed: {stderr}");
    assert!(printed < 320, "the import stopped early ({printed} of 320 files)");
    let films = json_lines(&raiox(&lib, &["films", "--json"])).len();
    assert_eq!(
        films, printed,
        "every reported file is in the library, nothing more"
    );
    let check = raiox(&lib, &["check", "--json"]);
    assert_eq!(json_lines(&check)[0]["integrity"], "ok");
}
