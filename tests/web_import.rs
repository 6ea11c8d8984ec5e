//! Images from the web: `raiox import URL...` and `raiox import --urls FILE` against a local server
//! that answers each way a real one can go wrong. Good images come in (labelled when the list says
//! so); every bad case is refused by name; a rerun downloads nothing twice; URLs are local
//! provenance only and never carry credentials.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::web::{Answer, WebServer};
use common::{json_lines, raiox, synth_set};
use serde_json::Value;

/// Three synthetic films as PNG bytes.
fn films(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let synth = synth_set(dir, 1, 11, 256);
    let mut files: Vec<_> = walk(&synth);
    files.sort();
    files
        .into_iter()
        .take(3)
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "png") {
            out.push(p);
        }
    }
    out
}

fn by_url(lines: &[Value], server: &WebServer) -> HashMap<String, Value> {
    lines
        .iter()
        .map(|v| {
            let path = v["path"].as_str().unwrap();
            (path.trim_start_matches(&server.base).to_string(), v.clone())
        })
        .collect()
}

fn server(films: &[Vec<u8>]) -> WebServer {
    let mut html = b"<!DOCTYPE html><html><body>".to_vec();
    html.resize(400, b' ');
    let mut big = films[0].clone();
    big.resize(2 * 1024 * 1024, 0);
    let mut png_start = films[1].clone();
    png_start.truncate(600);
    WebServer::start(HashMap::from([
        ("/a.png", Answer::Body("image/png", films[0].clone())),
        (
            "/b.png",
            Answer::Body("application/octet-stream", films[1].clone()),
        ),
        ("/same-as-a.png", Answer::Body("image/png", films[0].clone())),
        ("/flaky.png", Answer::FlakyThen(1, films[2].clone())),
        ("/page.png", Answer::Body("image/png", html)),
        ("/big.png", Answer::Unsized("image/png", big.clone())),
        ("/big-declared.png", Answer::Body("image/png", big)),
        ("/slow.png", Answer::Stall(Duration::from_secs(30))),
        ("/loop-1", Answer::Redirect("/loop-2")),
        ("/loop-2", Answer::Redirect("/loop-1")),
        ("/dropped.png", Answer::DropAfter(50_000, png_start)),
    ]))
}

const FAST: &[&str] = &[
    "--no-embed",
    "--json",
    "--timeout",
    "1",
    "--max-size",
    "1",
    "--attempts",
    "2",
];

#[test]
fn a_url_list_imports_good_images_and_refuses_each_bad_case_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let films = films(dir.path());
    let server = server(&films);
    let list = dir.path().join("list.txt");
    let mut text = String::from("url,manufacturer,system\n");
    text += &format!("{},Straumann,BLT\n", server.url("/a.png"));
    for path in [
        "/b.png",
        "/same-as-a.png",
        "/flaky.png",
        "/missing.png",
        "/page.png",
        "/big.png",
        "/big-declared.png",
        "/slow.png",
        "/loop-1",
        "/dropped.png",
    ] {
        text += &format!("{}\n", server.url(path));
    }
    std::fs::write(&list, text).unwrap();
    let lib = dir.path().join("lib");
    let mut args = vec!["import", "--urls", list.to_str().unwrap()];
    args.extend_from_slice(FAST);
    let out = raiox(&lib, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let got = by_url(&json_lines(&out), &server);
    assert_eq!(got.len(), 11, "one line per URL: {got:#?}\n{stderr}");
    let status = |p: &str| got[p]["status"].as_str().unwrap().to_string();
    let error = |p: &str| got[p]["error"].as_str().unwrap_or("").to_string();
    // `/a.png` and `/same-as-a.png` serve the same bytes and download side by side: whichever
    // arrives first is imported, the other is its duplicate, and the list's label is used.
    let mut pair = [status("/a.png"), status("/same-as-a.png")];
    pair.sort();
    assert_eq!(pair, ["duplicate", "imported"], "{:?}", got["/a.png"]);
    assert_eq!(
        got["/a.png"]["system"], "Bone Level Tapered",
        "the list's label is used"
    );
    assert_eq!(status("/b.png"), "imported", "sniffed, whatever the Content-Type");
    assert_eq!(
        status("/flaky.png"),
        "imported",
        "a 503 is retried: {}",
        error("/flaky.png")
    );
    assert_eq!(server.hits("/flaky.png"), 2);
    for (path, reason) in [
        ("/missing.png", "HTTP 404"),
        ("/page.png", "an HTML page, not an image"),
        ("/big.png", "larger than the 1 MiB download cap"),
        ("/big-declared.png", "larger than the 1 MiB download cap"),
        ("/slow.png", "timed out after 1 s"),
        ("/loop-1", "a redirect loop"),
        ("/dropped.png", "dropped mid-download"),
    ] {
        assert_eq!(status(path), "refused", "{path}: {:?}", got[path]);
        assert!(
            error(path).contains(reason),
            "{path}: {:?} should say {reason}",
            error(path)
        );
    }
    assert_eq!(server.hits("/missing.png"), 1, "a 404 is not retried");
    assert_eq!(server.hits("/slow.png"), 2, "a timeout is retried (--attempts 2)");
    assert_eq!(out.status.code(), Some(1), "refusals give exit 1");

    // A rerun (an interrupted run resumed) downloads nothing already imported.
    let out = raiox(&lib, &args);
    let again = by_url(&json_lines(&out), &server);
    assert_eq!(again["/a.png"]["status"], "duplicate");
    assert_eq!(again["/b.png"]["status"], "duplicate");
    // Of the identical pair, the URL whose download was imported is the film's provenance and is
    // not fetched again; the other one's bytes were a duplicate, so only the film's URL is kept.
    let imported = if status("/a.png") == "imported" {
        "/a.png"
    } else {
        "/same-as-a.png"
    };
    assert_eq!(server.hits(imported), 1, "{imported} not downloaded again");
    assert_eq!(server.hits("/b.png"), 1, "not downloaded again");
}

#[test]
fn urls_on_the_command_line_are_local_provenance_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let films = films(dir.path());
    let server = server(&films);
    let lib = dir.path().join("lib");
    let secret_url = server.url("/b.png").replace("http://", "http://ana:hunter2@");
    let mut args = vec!["import", secret_url.as_str()];
    args.extend_from_slice(FAST);
    let out = raiox(&lib, &args);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        !all.contains("hunter2"),
        "a password in a URL is never printed: {all}"
    );
    let item = &json_lines(&out)[0];
    assert_eq!(item["status"], "imported");
    let id = item["id"].as_i64().unwrap().to_string();
    let show = raiox(&lib, &["show", &id, "--json"]);
    let rec = &json_lines(&show)[0];
    assert_eq!(
        rec["source_name"],
        server.url("/b.png"),
        "the URL is kept as provenance"
    );
    assert!(!String::from_utf8_lossy(&show.stdout).contains("hunter2"));
    for format in ["csv", "json"] {
        let export = raiox(&lib, &["export", "--format", format]);
        let text = String::from_utf8_lossy(&export.stdout);
        assert!(export.status.success());
        assert!(
            !text.contains("127.0.0.1"),
            "exports never carry the source URL: {text}"
        );
    }
}

#[test]
fn a_file_that_is_not_a_url_list_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "films/a.png\n").unwrap();
    let out = raiox(
        &dir.path().join("lib"),
        &["import", "--urls", list.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("list.txt line 1: 'films/a.png' is not an http(s) URL"),
        "{stderr}"
    );
}
