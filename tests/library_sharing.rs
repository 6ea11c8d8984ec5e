//! Two raiox processes on one library (the window and a CLI, two terminals): a check during an
//! import takes nothing of it, concurrent writers are not told "database is locked", and the
//! library is readable by its owner only.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_lines, raiox};

#[test]
fn check_in_a_loop_during_an_import_takes_nothing_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 30, 21, 192);
    // The library exists before both processes start.
    assert!(raiox(&lib, &["list", "--json"]).status.success());
    let mut import = Command::new(common::bin())
        .args([
            "--library",
            lib.to_str().unwrap(),
            "import",
            synth.to_str().unwrap(),
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain its output while it runs: a full pipe would stall the import, not the checks.
    let (mut stdout, mut stderr) = (import.stdout.take().unwrap(), import.stderr.take().unwrap());
    let drained = std::thread::spawn(move || {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        std::io::Read::read_to_end(&mut stdout, &mut out).unwrap();
        std::io::Read::read_to_end(&mut stderr, &mut err).unwrap();
        (out, err)
    });
    let start = Instant::now();
    let mut checks = 0;
    let mut skipped = 0;
    while import.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(300) {
        let out = raiox(&lib, &["check", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report = &json_lines(&out)[0];
        assert_eq!(
            report["swept"]["orphans"], 0,
            "a check swept an import's files: {report}"
        );
        assert_eq!(
            report["swept"]["temp_files"], 0,
            "a check swept an import's files: {report}"
        );
        skipped += report["swept"]["skipped_busy"].as_bool().unwrap_or(false) as usize;
        checks += 1;
    }
    let status = import.wait().unwrap();
    let (stdout, stderr) = drained.join().unwrap();
    let out = std::process::Output {
        status,
        stdout,
        stderr,
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        checks > 0 && skipped > 0,
        "{checks} checks ran, {skipped} saw the import"
    );
    let items = json_lines(&out);
    assert_eq!(items.len(), 240);
    assert!(items.iter().all(|i| i["status"] == "imported"), "{items:?}");

    // The library is whole: every record has both files, every file a record.
    let implants = common::implants_in(&items);
    let check = &json_lines(&raiox(&lib, &["check", "--json"]))[0];
    assert_eq!(check["records"], implants, "{check}");
    assert_eq!(check["damaged"].as_array().unwrap().len(), 0, "{check}");
    assert_eq!(common::files_under(&lib.join("originals")).len(), 240);
    let standards: std::collections::HashSet<String> = json_lines(&raiox(&lib, &["list", "--json"]))
        .iter()
        .map(|r| r["standard_sha256"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(common::files_under(&lib.join("standard")).len(), standards.len());
}

#[test]
fn concurrent_label_loops_never_see_database_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 1, 5, 128);
    assert!(raiox(&lib, &["import", synth.to_str().unwrap()]).status.success());
    let ids: Vec<i64> = json_lines(&raiox(&lib, &["list", "--json"]))
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 3);
    let systems = [
        ("Straumann", "BLT"),
        ("Nobel Biocare", "NobelActive"),
        ("Neodent", "Helix GM"),
    ];
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|t| {
                let lib = &lib;
                let ids = &ids;
                s.spawn(move || {
                    let mut failed = Vec::new();
                    for round in 0..15 {
                        let (m, sys) = systems[(t + round) % 3];
                        let id = ids[(t * 7 + round) % ids.len()].to_string();
                        let out = raiox(lib, &["label", &id, "--manufacturer", m, "--system", sys]);
                        if !out.status.success() {
                            failed.push(String::from_utf8_lossy(&out.stderr).to_string());
                        }
                    }
                    failed
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 45 failed: {:?}",
        failures.len(),
        failures.first()
    );
}

#[cfg(unix)]
#[test]
fn the_library_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 1, 5, 128);
    assert!(raiox(&lib, &["import", synth.to_str().unwrap()]).status.success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for d in [lib.clone(), lib.join("originals"), lib.join("standard")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert_eq!(mode(&lib.join("library.db")), 0o600);
    for f in common::files_under(&lib.join("originals")) {
        assert_eq!(mode(&f) & 0o077, 0, "{}", f.display());
        assert_eq!(mode(f.parent().unwrap()), 0o700);
    }
    // A library made by an older build (world-readable) is narrowed when opened.
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(lib.join("library.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(raiox(&lib, &["list"]).status.success());
    assert_eq!(mode(&lib), 0o700);
    assert_eq!(mode(&lib.join("library.db")), 0o600);
}
