//! A curator embeds a library, browses by similarity and asks "which implant is this?".

mod common;

use std::path::Path;

use common::{json_lines, raiox};
use raiox::catalogue::vectors;
use raiox::embed::lite0::Lite0Encoder;
use raiox::library::Library;
use raiox::search::identify::Searcher;

/// A labelled, embedded synthetic library (through the CLI, as a curator would make it).
fn labelled_library(dir: &Path, per_class: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (lib, synth, _) = common::cli_labelled_library(dir, per_class, "21");
    (lib, synth)
}

/// How many learned heads a library has stored.
fn head_rows(lib: &Path) -> i64 {
    let open = Library::open(lib).unwrap();
    open.conn()
        .query_row("SELECT count(*) FROM heads", [], |r| r.get(0))
        .unwrap()
}

/// The implants of a library, as `list --json` gives them.
fn listed(lib: &Path) -> Vec<serde_json::Value> {
    json_lines(&raiox(lib, &["list", "--json"]))
}

/// Films of an import on which the finder found exactly one implant (paths), in import order.
fn one_implant_films(out: &std::process::Output) -> Vec<std::path::PathBuf> {
    json_lines(out)
        .iter()
        .filter(|i| {
            i["implants"]
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0]["box_source"] == "finder")
        })
        .map(|i| std::path::PathBuf::from(i["path"].as_str().unwrap()))
        .collect()
}

#[test]
fn import_embeds_and_embed_again_does_no_work() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = labelled_library(dir.path(), "3");
    let out = raiox(&lib, &["embed", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = &json_lines(&out)[0];
    assert_eq!(summary["encoder"], "lite0-imagenet");
    assert_eq!(
        summary["embedded"], 0,
        "import already embedded everything: {summary}"
    );
    let implants = listed(&lib);
    let n = implants.len() as u64;
    assert!(n >= 20, "{n} implants");
    assert_eq!(summary["up_to_date"], n);
    // A box change re-embeds that implant at once (as the window does): embed finds nothing to do.
    let id = implants[4]["id"].to_string();
    assert!(raiox(&lib, &["box", &id, "--set", "10,10,150,200"])
        .status
        .success());
    let summary = &json_lines(&raiox(&lib, &["embed", "--json"]))[0];
    assert_eq!(
        (summary["embedded"].as_u64(), summary["up_to_date"].as_u64()),
        (Some(0), Some(n))
    );
}

#[test]
fn similar_finds_the_image_itself_first_and_matches_sqlite_vec() {
    let dir = tempfile::tempdir().unwrap();
    let (lib_dir, _, imported) = common::cli_labelled_library(dir.path(), "3", "21");
    let file = one_implant_films(&imported)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("Tissue Level"))
        .expect("a Tissue Level film with its implant found");
    let out = raiox(
        &lib_dir,
        &["similar", file.to_str().unwrap(), "--k", "5", "--json"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found = &json_lines(&out)[0]["neighbours"];
    assert_eq!(found.as_array().unwrap().len(), 5);
    assert_eq!(found[0]["system"], "Tissue Level");
    assert!(
        found[0]["similarity"].as_f64().unwrap() > 0.999,
        "the library copy of the file comes first"
    );
    let id = found[0]["id"].as_i64().unwrap();
    let out = raiox(&lib_dir, &["similar", &id.to_string(), "--k", "4", "--json"]);
    let by_id = &json_lines(&out)[0]["neighbours"];
    assert!(
        by_id
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"].as_i64() != Some(id)),
        "a library image is not its own neighbour"
    );
    // Copies of the query's film come first (marked); the others by similarity, best first.
    let sims: Vec<f64> = by_id
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n.get("copy").is_none())
        .map(|n| n["similarity"].as_f64().unwrap())
        .collect();
    assert!(sims.windows(2).all(|w| w[0] >= w[1]), "best first: {sims:?}");

    // The fast index agrees with sqlite-vec's own exact kNN.
    let lib = Library::open(&lib_dir).unwrap();
    let encoder = Lite0Encoder::bundled().unwrap();
    let searcher = Searcher::open(&lib, &encoder).unwrap();
    let stamp = searcher.stamp().clone();
    let ids: Vec<i64> = listed(&lib_dir)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    for id in [ids[0], ids[ids.len() / 2], ids[ids.len() - 1]] {
        let q = searcher.index.vector(id).unwrap().to_vec();
        let fast: Vec<i64> = searcher
            .index
            .search(&q, 10, &|_| true)
            .iter()
            .map(|r| r.0)
            .collect();
        let sql: Vec<(i64, f32)> = vectors::knn_sql(lib.conn(), &stamp, &q, 10).unwrap();
        assert_eq!(fast, sql.iter().map(|r| r.0).collect::<Vec<_>>(), "query {id}");
        assert!((sql[0].1 - 1.0).abs() < 1e-4);
    }
}

#[test]
fn identify_answers_with_evidence_and_says_unknown_for_a_non_implant() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = labelled_library(dir.path(), "8");
    let queries = dir.path().join("queries");
    assert!(raiox(
        &lib,
        &[
            "synth",
            queries.to_str().unwrap(),
            "--per-class",
            "1",
            "--seed",
            "777",
            "--size",
            "256"
        ]
    )
    .status
    .success());
    let query = queries.join("Straumann/Tissue Level/0000.png");
    // A flat gray picture: nothing like an implant.
    let blank = dir.path().join("blank.png");
    image::GrayImage::from_fn(300, 300, |x, _| image::Luma([100 + (x % 3) as u8]))
        .save(&blank)
        .unwrap();
    let out = raiox(
        &lib,
        &[
            "identify",
            query.to_str().unwrap(),
            blank.to_str().unwrap(),
            "--k",
            "10",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answers = json_lines(&out);
    assert_eq!(answers.len(), 2);
    let a = &answers[0];
    assert_eq!(a["path"], query.to_str().unwrap());
    let candidates = a["candidates"].as_array().unwrap();
    assert!(!candidates.is_empty());
    let total: f64 = candidates.iter().map(|c| c["score"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-3, "vote shares sum to one");
    assert_eq!(a["neighbours"].as_array().unwrap().len(), 10);
    for n in a["neighbours"].as_array().unwrap() {
        for key in ["id", "name", "manufacturer", "system", "similarity"] {
            assert!(!n[key].is_null(), "neighbour field {key}: {n}");
        }
    }
    if let Some(v) = a["verdict"].as_object() {
        assert_eq!(
            (v["manufacturer"].as_str(), v["system"].as_str()),
            (Some("Straumann"), Some("Tissue Level"))
        );
    }
    assert!(
        answers[1]["verdict"].is_null(),
        "a blank picture is not confidently any implant: {}",
        answers[1]
    );
}

#[test]
fn eval_reports_leave_one_out_quality() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = labelled_library(dir.path(), "8");
    let out = raiox(&lib, &["eval", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &json_lines(&out)[0];
    let labelled = listed(&lib)
        .iter()
        .filter(|i| i["status"] != "unlabelled")
        .count() as u64;
    assert!(labelled >= 64, "every film's implant is labelled");
    assert_eq!(r["images"], labelled);
    let top1 = r["system_top1"].as_f64().unwrap();
    assert!(top1 > 0.5, "far better than chance (1/8): {top1}");
    assert!(r["system_top5"].as_f64().unwrap() >= top1);
    assert!(r["manufacturer_top1"].as_f64().unwrap() >= top1);
    assert_eq!(r["per_system_recall"].as_object().unwrap().len(), 8);
    let confusion = r["confusion"].as_object().unwrap();
    let counted: u64 = confusion
        .values()
        .flat_map(|row| row.as_object().unwrap().values())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, labelled);
    let text = String::from_utf8_lossy(&raiox(&lib, &["eval"]).stdout).into_owned();
    assert!(
        text.contains("system top-1") && text.contains("confusion"),
        "{text}"
    );
}

#[test]
fn near_duplicates_are_flagged_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _, imported) = common::cli_labelled_library(dir.path(), "2", "21");
    let found = one_implant_films(&imported);
    let original = image::open(&found[0]).unwrap().to_luma8();
    let copies = dir.path().join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    let jpeg = std::fs::File::create(copies.join("recompressed.jpg")).unwrap();
    original
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(jpeg, 85))
        .unwrap();
    image::imageops::flip_horizontal(&original)
        .save(copies.join("mirrored.png"))
        .unwrap();
    let other = image::open(&found[1]).unwrap().to_luma8();
    let mut shifted = image::GrayImage::from_pixel(other.width() + 6, other.height(), image::Luma([0]));
    image::imageops::replace(&mut shifted, &other, 6, 0);
    shifted.save(copies.join("shifted.png")).unwrap();
    let fresh = dir.path().join("fresh");
    assert!(raiox(
        &lib,
        &[
            "synth",
            fresh.to_str().unwrap(),
            "--per-class",
            "1",
            "--seed",
            "4242",
            "--size",
            "256"
        ]
    )
    .status
    .success());
    // A new film of the same system as the copied one, whose implant the finder sees.
    let system = found[0].parent().unwrap();
    let system_dir = fresh
        .join(system.parent().unwrap().file_name().unwrap())
        .join(system.file_name().unwrap());
    let different = common::files_under(&system_dir)
        .into_iter()
        .chain(common::files_under(&fresh))
        .find(|p| {
            let d = raiox::decode::decode(&std::fs::read(p).unwrap(), &Default::default());
            d.is_ok_and(|d| {
                raiox::standardise::find(&raiox::standardise::develop(&d, None).unwrap()).len() == 1
            })
        })
        .expect("a fresh film with one implant found");
    std::fs::copy(different, copies.join("different_film.png")).unwrap();
    let out = raiox(&lib, &["import", copies.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let items = json_lines(&out);
    let get = |name: &str| {
        items
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    let jpeg = get("recompressed.jpg");
    assert_eq!(jpeg["status"], "imported");
    assert_eq!(jpeg["near_duplicate"]["mirrored"], false, "{jpeg}");
    let mirrored = get("mirrored.png");
    assert_eq!(mirrored["near_duplicate"]["mirrored"], true, "{mirrored}");
    assert_eq!(jpeg["near_duplicate"]["of"], mirrored["near_duplicate"]["of"]);
    assert_eq!(get("shifted.png")["near_duplicate"]["mirrored"], false);
    assert!(
        get("different_film.png").get("near_duplicate").is_none(),
        "another film of the same system is no copy"
    );
}

#[test]
fn switching_encoder_reembeds_and_never_mixes_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _, imported) = common::cli_labelled_library(dir.path(), "2", "21");
    let n = listed(&lib).len();
    // A models folder holding the bundled Lite0 and the tiny CLIP tower of the golden fixtures.
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::os::unix::fs::symlink(
        root.join("models/efficientnet-lite0"),
        models.join("efficientnet-lite0"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        root.join("tests/fixtures/embed/clip/tiny"),
        models.join("clip-vit-base-patch32"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_raiox"))
            .arg("--library")
            .arg(&lib)
            .args(args)
            .env("RAIOX_MODELS_DIR", &models)
            .output()
            .unwrap()
    };
    let out = run(&["embed", "--encoder", "clip", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = &json_lines(&out)[0];
    assert!(
        summary["encoder"].as_str().unwrap().starts_with("clip-vit-"),
        "{summary}"
    );
    assert_eq!(summary["embedded"], n, "every implant gets a CLIP vector");
    // Queries now use CLIP (32-D tiny tower) vectors only.
    let file = one_implant_films(&imported).remove(0);
    let out = run(&["similar", file.to_str().unwrap(), "--k", "3", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found = &json_lines(&out)[0];
    assert!(found["encoder"].as_str().unwrap().starts_with("clip-vit-"));
    assert!(found["neighbours"][0]["similarity"].as_f64().unwrap() > 0.999);
    // Back to Lite0: its vectors are still current, so nothing is recomputed.
    let summary = &json_lines(&run(&["embed", "--encoder", "lite0", "--json"]))[0];
    assert_eq!(
        (summary["encoder"].as_str(), summary["embedded"].as_u64()),
        (Some("lite0-imagenet"), Some(0))
    );
    let models_list = &json_lines(&run(&["models", "list", "--json"]))[0];
    assert_eq!(models_list["active"], "lite0-imagenet");
}

#[test]
fn review_puts_a_wrong_label_first_and_suggest_offers_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = labelled_library(dir.path(), "8");
    let items = listed(&lib);
    let labelled: Vec<&serde_json::Value> = items.iter().filter(|i| i["status"] != "unlabelled").collect();
    // The implant the library's own vote identifies most surely: relabel it to another system.
    let open = Library::open(&lib).unwrap();
    let encoder = Lite0Encoder::bundled().unwrap();
    let searcher = Searcher::open(&open, &encoder).unwrap();
    let (victim, truth) = labelled
        .iter()
        .filter_map(|i| {
            let id = i["id"].as_i64().unwrap();
            let s = raiox::search::review::suggest(&searcher, id, 10)?;
            let top = s.candidates.first()?.clone();
            (top.system == i["system"].as_str().unwrap()).then_some((id, top))
        })
        .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
        .expect("some implant its neighbours agree on");
    drop((searcher, open));
    let other = labelled
        .iter()
        .find(|i| i["system"].as_str().unwrap() != truth.system)
        .unwrap();
    let (m, s) = (
        other["manufacturer"].as_str().unwrap(),
        other["system"].as_str().unwrap(),
    );
    let out = raiox(
        &lib,
        &["label", &victim.to_string(), "--manufacturer", m, "--system", s],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = raiox(&lib, &["review", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let queue: Vec<serde_json::Value> = json_lines(&out)
        .into_iter()
        .filter(|e| e["kind"] == "mislabel")
        .collect();
    // Synthetic systems also confuse the encoder now and then, so other entries may be as certain;
    // the planted mistake is among the most certain ones, with the right system suggested.
    let at = queue
        .iter()
        .position(|e| e["id"] == victim)
        .expect("the wrong label is in the queue");
    let first = &queue[at];
    assert!(at < 5 && at < queue.len(), "position {at} of {}", queue.len());
    assert_eq!(first["system"], s);
    assert_eq!(first["suggested"]["system"], truth.system.as_str());
    assert!(
        first["confidence"].as_f64().unwrap() >= 0.5,
        "half the neighbours or more: {first}"
    );
    let evidence = first["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty() && evidence.iter().all(|n| n["system"] != s));
    let shown = queue
        .iter()
        .map(|e| e["confidence"].as_f64().unwrap())
        .collect::<Vec<_>>();
    assert!(
        shown.windows(2).all(|w| w[0] >= w[1]),
        "most certain first: {shown:?}"
    );

    let out = raiox(&lib, &["suggest", &victim.to_string(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let suggestion = &json_lines(&out)[0];
    let candidates = suggestion["candidates"].as_array().unwrap();
    assert!((1..=3).contains(&candidates.len()), "{suggestion}");
    assert_eq!(candidates[0]["system"], truth.system.as_str(), "{suggestion}");
    assert_eq!(suggestion["label"][1], s, "the current (wrong) label is shown");
    let out = raiox(&lib, &["suggest", "999999", "--json"]);
    assert!(!out.status.success(), "an unknown id fails");
    assert!(json_lines(&out)[0]["error"].as_str().unwrap().contains("999999"));

    // The planted-mistake check of `eval --flip`: flips in memory only, the library is unchanged.
    let before = listed(&lib);
    let out = raiox(&lib, &["eval", "--json", "--flip", "0.1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let review = &json_lines(&out)[0]["review"];
    let flipped = review["flipped"].as_u64().unwrap();
    assert_eq!(flipped, (labelled.len() as f64 * 0.1).round() as u64, "{review}");
    assert!(review["recall_at_twice"].as_f64().unwrap() >= 0.5, "{review}");
    assert_eq!(listed(&lib), before, "eval --flip changes nothing in the library");
    assert!(!raiox(&lib, &["eval", "--flip", "1.5"]).status.success());
}

#[test]
fn review_groups_copies_remembers_checks_and_next_orders_the_unlabelled() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, synth) = labelled_library(dir.path(), "6");
    // A copy of one film under other bytes (the same pixels as a BMP): an exact copy downstream.
    let original = common::files_under(&synth)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .min()
        .unwrap();
    let copies = dir.path().join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    image::open(&original)
        .unwrap()
        .save(copies.join("copy.bmp"))
        .unwrap();
    let out = raiox(&lib, &["import", copies.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copy_ids: Vec<i64> = json_lines(&out)[0]["implants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(!copy_ids.is_empty());

    let review = |extra: &[&str]| {
        let mut args = vec!["review", "--json"];
        args.extend(extra);
        let out = raiox(&lib, &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json_lines(&out)
    };
    let queue = review(&[]);
    let group = queue
        .iter()
        .find(|e| {
            e["kind"] == "duplicate"
                && e["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["id"] == copy_ids[0])
        })
        .expect("the copy is in a duplicate group");
    assert_eq!(group["exact"], true, "{group}");
    let members: Vec<i64> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(members.len(), 2, "the film and its copy: {group}");
    let kept = members.iter().copied().find(|id| !copy_ids.contains(id)).unwrap();
    assert!(
        queue
            .iter()
            .all(|e| ["mislabel", "duplicate", "outlier"].contains(&e["kind"].as_str().unwrap())),
        "every entry says which list it is in"
    );

    // Merge: the original stays with its label, the copy goes.
    let before = listed(&lib).len();
    let merged = review(&["--merge", &kept.to_string()]);
    assert_eq!(merged[0]["kept"], kept);
    let after = listed(&lib);
    assert_eq!(after.len(), before - 1);
    assert!(after.iter().all(|i| i["id"] != copy_ids[0]));
    assert!(review(&[]).iter().all(
        |e| e["kind"] != "duplicate" || e["members"].as_array().unwrap().iter().all(|m| m["id"] != kept)
    ));
    assert!(!raiox(&lib, &["review", "--merge", "999999"]).status.success());

    // A planted mislabel: kept as it is, it leaves the queue; a new label brings it back.
    let items = listed(&lib);
    let systems: Vec<&str> = {
        let mut s: Vec<&str> = items.iter().filter_map(|i| i["system"].as_str()).collect();
        s.sort();
        s.dedup();
        s
    };
    let victim = &items[0];
    let id = victim["id"].as_i64().unwrap().to_string();
    let own = victim["system"].as_str().unwrap();
    let others: Vec<&str> = systems.iter().copied().filter(|s| *s != own).collect();
    let relabel = |system: &str| {
        let out = raiox(&lib, &["label", &id, "--system", system]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let is_listed = |q: &[serde_json::Value]| {
        q.iter()
            .any(|e| e["kind"] == "mislabel" && e["id"].as_i64() == victim["id"].as_i64())
    };
    let wrong = others
        .iter()
        .find(|s| {
            relabel(s);
            is_listed(&review(&[]))
        })
        .expect("some wrong label the review notices");
    let checked = review(&["--keep", &id]);
    assert!(checked[0]["checked"].as_u64().unwrap() >= 1, "{checked:?}");
    assert!(!is_listed(&review(&[])), "a checked entry does not come back");
    let another = others.iter().find(|s| *s != wrong).unwrap();
    relabel(another);
    relabel(wrong);
    assert!(!is_listed(&review(&[])), "checked for this very label");
    relabel(another);
    if !is_listed(&review(&[])) {
        // The other wrong system may not be one the neighbours contradict; the check is per label.
        relabel(wrong);
    }
    let not_in_queue = raiox(&lib, &["review", "--keep", "999999"]);
    assert!(!not_in_queue.status.success());

    // Label next: every unlabelled implant with a vector, each with why.
    let unlabel: Vec<String> = items[1..6].iter().map(|i| i["id"].to_string()).collect();
    let mut args = vec!["label"];
    args.extend(unlabel.iter().map(String::as_str));
    args.push("--unlabel");
    let out = raiox(&lib, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let next = json_lines(&raiox(&lib, &["next", "--json", "--limit", "100"]));
    let mut ids: Vec<String> = next.iter().map(|n| n["id"].to_string()).collect();
    ids.sort();
    let mut want: Vec<String> = listed(&lib)
        .iter()
        .filter(|i| i["status"] == "unlabelled")
        .map(|i| i["id"].to_string())
        .collect();
    want.sort();
    assert!(unlabel.iter().all(|u| want.contains(u)));
    assert_eq!(ids, want, "exactly the unlabelled implants");
    for n in &next {
        let (u, v) = (n["uncertainty"].as_f64().unwrap(), n["novelty"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v), "{n}");
        assert!(
            n["suggestion"]["system"].is_string(),
            "labelled neighbours suggest: {n}"
        );
    }
    let scores: Vec<f64> = next.iter().map(|n| n["score"].as_f64().unwrap()).collect();
    assert!(scores[0] >= *scores.last().unwrap());
}

#[test]
fn learn_trains_a_head_that_searches_use_only_when_it_is_better_and_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, synth, imported) = common::cli_labelled_library(dir.path(), "6", "21");
    // The labelled import learnt from its labels already: one head, stored with what it did.
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert!(stderr.contains("learned from"), "{stderr}");
    assert_eq!(head_rows(&lib), 1);
    let labelled = listed(&lib)
        .iter()
        .filter(|i| i["status"] != "unlabelled")
        .count();
    let vectors_before = {
        let open = Library::open(&lib).unwrap();
        let encoder = Lite0Encoder::bundled().unwrap();
        Searcher::open_frozen(&open, &encoder).unwrap().index.len()
    };
    // The same labels again: nothing new to learn from.
    let again = raiox(
        &lib,
        &["import", "--labels", synth.join("labels.csv").to_str().unwrap()],
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(head_rows(&lib), 1, "unchanged labels train no new head");
    let out = raiox(&lib, &["learn", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = &json_lines(&out)[0];
    assert_eq!(report["head"], 2, "`raiox learn` trains whenever asked");
    assert_eq!(report["systems"], 8);
    let (trained, held) = (
        report["trained_on"].as_u64().unwrap() as usize,
        report["after"]["implants"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        trained + held,
        labelled,
        "every labelled implant is trained on or held out"
    );
    assert!(held >= 8, "a quarter of each system is held out: {report}");
    let (before, after) = (
        report["before"]["system_top1"].as_f64().unwrap(),
        report["after"]["system_top1"].as_f64().unwrap(),
    );
    assert!((0.0..=1.0).contains(&before) && (0.0..=1.0).contains(&after));
    assert_eq!(
        report["active"],
        after > before,
        "used only when better: {report}"
    );

    let open = Library::open(&lib).unwrap();
    let encoder = Lite0Encoder::bundled().unwrap();
    let searcher = Searcher::open(&open, &encoder).unwrap();
    assert_eq!(searcher.head().is_some(), after > before);
    assert_eq!(
        searcher.index.len(),
        vectors_before,
        "the frozen vectors stay as they were"
    );
    assert_eq!(searcher.index.dim(), 1280, "and are never replaced by the head's");
    if let Some(head) = searcher.head() {
        assert_eq!((head.in_dim, head.out_dim), (1280, 128));
        // Similarity runs in the head's space: an implant is its own nearest neighbour there too.
        let id = searcher.labelled_ids()[0];
        let v = searcher.index.vector(id).unwrap().to_vec();
        let found = searcher.similar(&v, 1, None);
        assert_eq!(found[0].id, id);
        assert!(found[0].similarity > 0.999);
        let frozen = Searcher::open_frozen(&open, &encoder).unwrap();
        let other = searcher.labelled_ids()[1];
        let cos = |s: &Searcher| {
            s.similar(&v, 100, None)
                .iter()
                .find(|n| n.id == other)
                .map(|n| n.similarity)
        };
        assert_ne!(cos(&searcher), cos(&frozen), "the head changes the geometry");
    }
    drop((searcher, open));
    let out = raiox(&lib, &["learn", "--off", "--json"]);
    assert!(out.status.success());
    let open = Library::open(&lib).unwrap();
    assert!(Searcher::open(&open, &encoder).unwrap().head().is_none());
    drop(open);
    // Switched off, it stays off: a later labelled import does not learn behind the curator's back.
    let more = dir.path().join("more");
    common::cli_synth(&lib, &more, "1", Some("22"));
    let out = raiox(
        &lib,
        &["import", "--labels", more.join("labels.csv").to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(head_rows(&lib), 2);
    let open = Library::open(&lib).unwrap();
    assert!(Searcher::open(&open, &encoder).unwrap().head().is_none());
    // A library with one system cannot learn.
    let single = tempfile::tempdir().unwrap();
    let one = single.path().join("lib");
    let synth = single.path().join("synth");
    common::cli_synth(&one, &synth, "3", Some("4"));
    let folder = std::fs::read_dir(synth.join("Straumann"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = raiox(
        &one,
        &[
            "import",
            folder.to_str().unwrap(),
            "--manufacturer",
            "Straumann",
            "--system",
            "Bone Level Tapered",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = raiox(&one, &["learn"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least two systems"));
}

#[test]
fn map_places_every_implant_and_is_recomputed_when_the_vectors_change() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = labelled_library(dir.path(), "4");
    let items = listed(&lib);
    let out = raiox(&lib, &["map", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let points = json_lines(&out);
    assert_eq!(points.len(), items.len(), "every embedded implant is on the map");
    for (p, i) in points.iter().zip(&items) {
        assert_eq!(p["id"], i["id"]);
        assert_eq!((&p["system"], &p["status"]), (&i["system"], &i["status"]));
        for axis in ["x", "y"] {
            assert!((0.0..=1.0).contains(&p[axis].as_f64().unwrap()), "{p}");
        }
    }
    // Implants of one system lie closer together than implants of different systems.
    let (mut same, mut other) = ((0.0, 0usize), (0.0, 0usize));
    for a in &points {
        for b in &points {
            if a["id"] == b["id"] || a["system"].is_null() || b["system"].is_null() {
                continue;
            }
            let d = (a["x"].as_f64().unwrap() - b["x"].as_f64().unwrap())
                .hypot(a["y"].as_f64().unwrap() - b["y"].as_f64().unwrap());
            let bucket = if a["system"] == b["system"] {
                &mut same
            } else {
                &mut other
            };
            *bucket = (bucket.0 + d, bucket.1 + 1);
        }
    }
    let (same, other) = (same.0 / same.1 as f64, other.0 / other.1 as f64);
    // Bare synthetic implants, four per system: the encoder itself confuses some systems, so the
    // map separates them on average, not perfectly (a shuffled map gives a ratio near 1).
    assert!(
        same < 0.8 * other,
        "mean distance within systems {same:.3}, across {other:.3}"
    );

    // Cached: the same map again; a re-cropped (re-embedded) implant makes it stale.
    let cache = lib.join("cache").join("map-lite0-imagenet-fixture.json");
    let fingerprint = |p: &Path| -> String {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["fingerprint"].as_str().unwrap().to_string()
    };
    let before = fingerprint(&cache);
    assert_eq!(json_lines(&raiox(&lib, &["map", "--json"])), points);
    assert_eq!(fingerprint(&cache), before);
    let id = items[2]["id"].to_string();
    assert!(raiox(&lib, &["box", &id, "--set", "10,10,150,200"])
        .status
        .success());
    let again = json_lines(&raiox(&lib, &["map", "--json"]));
    assert_eq!(again.len(), points.len());
    assert_ne!(
        fingerprint(&cache),
        before,
        "the map was recomputed for the new vector"
    );
    // A corrupt cache file is ignored and the map recomputed.
    std::fs::write(&cache, b"{\"fingerprint\": 3").unwrap();
    let out = raiox(&lib, &["map", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_lines(&out), again);
}
