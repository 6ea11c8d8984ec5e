//! Helpers shared by the integration tests: temporary libraries, synthetic films, the CLI binary.
#![allow(dead_code)]

pub mod prod;
pub mod servers;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use raiox::library::Library;
use raiox::progress::JobControl;
use raiox::synth::{generate, SynthOptions};

/// A fresh library in a temporary folder (kept alive by the returned guard).
pub fn temp_library() -> (tempfile::TempDir, Library) {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = Library::open(dir.path().join("lib")).expect("open library");
    (dir, lib)
}

/// Write `per_class` synthetic films per system under `dir/synth` and return that folder.
pub fn synth_set(dir: &Path, per_class: usize, seed: u64, size: u32) -> PathBuf {
    let out = dir.join("synth");
    generate(
        &out,
        &SynthOptions {
            per_class,
            seed,
            size,
        },
        &JobControl::new(),
    )
    .expect("synth");
    out
}

/// Run the `raiox` binary with the given library and arguments.
pub fn raiox(library: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--library")
        .arg(library)
        .args(args)
        .env_remove("RAIOX_LIBRARY")
        .output()
        .expect("run raiox")
}

/// The `raiox` binary under test: this build's, or `RAIOX_BIN` (to test an installed one).
pub fn bin() -> PathBuf {
    std::env::var_os("RAIOX_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_raiox")), PathBuf::from)
}

/// The JSON lines a command printed on stdout.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The fixture folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `raiox synth OUT --per-class N [--seed S] --size 256`, as a curator would run it.
pub fn cli_synth(lib: &Path, out: &Path, per_class: &str, seed: Option<&str>) {
    let mut args = vec![
        "synth",
        out.to_str().unwrap(),
        "--per-class",
        per_class,
        "--size",
        "256",
    ];
    if let Some(seed) = seed {
        args.extend(["--seed", seed]);
    }
    let done = raiox(lib, &args);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
}

/// Synthesise `per_class` films per system with the CLI and import them with their labels.csv into
/// `dir/lib`, as a curator would; returns the library, the synthetic folder and the import's output.
pub fn cli_labelled_library(dir: &Path, per_class: &str, seed: &str) -> (PathBuf, PathBuf, Output) {
    let (lib, synth) = (dir.join("lib"), dir.join("synth"));
    cli_synth(&lib, &synth, per_class, Some(seed));
    let csv = synth.join("labels.csv");
    let out = raiox(
        &lib,
        &[
            "import",
            synth.to_str().unwrap(),
            "--labels",
            csv.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (lib, synth, out)
}

/// Every file below `dir`, recursively (missing folder → none).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// How many implants an import's JSON lines report (a film holds 0…N of them).
pub fn implants_in(items: &[serde_json::Value]) -> usize {
    items
        .iter()
        .filter_map(|i| i["implants"].as_array())
        .map(Vec::len)
        .sum()
}

/// Whether an import JSON line has at least one labelled implant.
pub fn has_labelled_implant(item: &serde_json::Value) -> bool {
    item["implants"]
        .as_array()
        .is_some_and(|a| a.iter().any(|i| i["name"].is_string()))
}
