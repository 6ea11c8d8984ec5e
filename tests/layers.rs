//! The architecture, checked on the sources: modules import only downwards (no cycle between the
//! top-level modules of a crate, nor between the files of one folder), the core's modules sit in
//! their declared layers, and SQL on the library's tables lives only in the module that owns them.
//!
//! Why a test: cargo already refuses cycles between crates, but not between modules of one crate;
//! a new `use` that points upwards should fail here, not be found by the next reader.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The core's top-level modules by layer (a module may use its own layer or those below).
const CORE_LAYERS: &[(&str, u8)] = &[
    ("util", 1),
    ("error", 1),
    ("progress", 1),
    ("decode", 2),
    ("standardise", 2),
    ("embed", 2),
    ("index", 2),
    ("synth", 2),
    ("library", 3),
    ("catalogue", 3),
    ("ingest", 4),
    ("embedding", 4),
    ("curate", 4),
    ("search", 4),
    ("export", 4),
];

/// The crates whose modules are checked for cycles.
const CRATES: &[&str] = &[
    "crates/raiox-find/src",
    "crates/raiox-core/src",
    "crates/raiox-embed/src",
    "crates/raiox-sync/src",
    "crates/raiox-bench/src",
    "src",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`, relative to it.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// A file's code without its unit tests (they sit at the end, after `#[cfg(test)]`).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The identifiers that follow `prefix` in `text` (`crate::` → `catalogue`, `Error`, …).
fn after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !ident.is_empty() {
            out.push(ident);
        }
    }
    out
}

/// A file's module path components: `catalogue/images.rs` → [catalogue, images];
/// `decode/mod.rs` → [decode]; `lib.rs`, `main.rs` → [].
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !["mod", "lib", "main"].contains(&stem) {
        parts.push(stem.to_string());
    }
    parts
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == n).unwrap();
                let mut c = path[start..].to_vec();
                c.push(n.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut state, &mut Vec::new()))
}

/// Edges between a crate's top-level modules, and between the files of each of its folders.
struct Graphs {
    top: BTreeMap<String, BTreeSet<String>>,
    folders: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

fn graphs(src: &Path) -> Graphs {
    let files = rust_files(src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut g = Graphs {
        top: BTreeMap::new(),
        folders: BTreeMap::new(),
    };
    for rel in &files {
        let me = module_of(rel);
        let Some(top) = me.first().cloned() else { continue };
        let text = code(&src.join(rel));
        // Top level: `crate::x` where x is another top-level module (`crate::Error` is `error`).
        for target in after(&text, "crate::") {
            let target = if target == "Error" {
                "error".to_string()
            } else {
                target
            };
            if target != top && modules.contains(&vec![target.clone()]) {
                g.top.entry(top.clone()).or_default().insert(target);
            }
        }
        g.top.entry(top.clone()).or_default();
        // Inside a folder: edges between the folder's own files (`mod.rs` is the folder itself).
        let is_folder_root = rel.file_name().is_some_and(|n| n == "mod.rs");
        let folder: Vec<String> = if is_folder_root {
            me.clone()
        } else {
            me[..me.len() - 1].to_vec()
        };
        if folder.is_empty() {
            continue;
        }
        let key = folder.join("/");
        let node = if is_folder_root {
            "mod".to_string()
        } else {
            me.last().unwrap().clone()
        };
        let sibling = |name: &str| {
            let mut m = folder.clone();
            m.push(name.to_string());
            modules.contains(&m)
        };
        let mut targets = Vec::new();
        let full = format!("crate::{}::", folder.join("::"));
        targets.extend(after(&text, &full));
        if is_folder_root {
            // The folder's own children named relatively (`levels::unclipped`, `pub use types::X`).
            targets.extend(
                modules
                    .iter()
                    .filter(|m| m.len() == folder.len() + 1 && m.starts_with(&folder))
                    .map(|m| m.last().unwrap().clone())
                    .filter(|c| {
                        !after(&text, &format!("{c}::")).is_empty() || text.contains(&format!("{c}::{{"))
                    }),
            );
        } else {
            targets.extend(after(&text, "super::"));
        }
        let edges = g.folders.entry(key).or_default().entry(node.clone()).or_default();
        for t in targets {
            let t = if sibling(&t) { t } else { "mod".to_string() };
            if t != node {
                edges.insert(t);
            }
        }
    }
    g
}

#[test]
fn no_cycle_between_modules_of_any_crate_nor_between_files_of_a_folder() {
    let mut problems = Vec::new();
    for krate in CRATES {
        let g = graphs(&root().join(krate));
        if let Some(c) = cycle(&g.top) {
            problems.push(format!("{krate}: modules {}", c.join(" -> ")));
        }
        for (folder, graph) in &g.folders {
            if let Some(c) = cycle(graph) {
                problems.push(format!("{krate}/{folder}: files {}", c.join(" -> ")));
            }
        }
    }
    assert!(problems.is_empty(), "import cycles:\n{}", problems.join("\n"));
}

#[test]
fn the_cores_modules_import_only_from_their_layer_or_below() {
    let layer: BTreeMap<&str, u8> = CORE_LAYERS.iter().copied().collect();
    let g = graphs(&root().join("crates/raiox-core/src"));
    let mut problems = Vec::new();
    for (from, targets) in &g.top {
        let Some(&lf) = layer.get(from.as_str()) else {
            problems.push(format!("{from}: not placed in a layer"));
            continue;
        };
        for to in targets {
            let lt = layer.get(to.as_str()).copied().unwrap_or(u8::MAX);
            if lt > lf {
                problems.push(format!("{from} (layer {lf}) uses {to} (layer {lt})"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The words that follow an SQL keyword naming a table of the local library.
fn tables_named(text: &str) -> BTreeSet<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let local = |t: &str| {
        [
            "images",
            "films",
            "manufacturers",
            "systems",
            "aliases",
            "embeddings",
            "settings",
        ]
        .contains(&t)
            || t.starts_with("sync_")
            || t.starts_with("vec_")
    };
    words
        .windows(2)
        .filter(|w| ["FROM", "INTO", "UPDATE", "JOIN", "TABLE"].contains(&w[0]) && local(w[1]))
        .map(|w| w[1].to_string())
        .collect()
}

#[test]
fn sql_on_the_librarys_tables_lives_with_the_module_that_owns_them() {
    let mut problems = Vec::new();
    for krate in CRATES {
        let src = root().join(krate);
        for rel in rust_files(&src) {
            let name = format!("{krate}/{}", rel.display());
            let tables = tables_named(&code(&src.join(&rel)));
            let allowed = |t: &String| {
                if name.starts_with("crates/raiox-core/src/catalogue/") {
                    // The catalogue owns every table; the sync bookkeeping it only creates.
                    true
                } else {
                    // Sync's bookkeeping tables belong to its outbox.
                    name == "crates/raiox-sync/src/outbox.rs" && t.starts_with("sync_")
                }
            };
            for t in tables.iter().filter(|t| !allowed(t)) {
                problems.push(format!("{name} writes SQL on `{t}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checks_see_a_cycle_and_an_upward_import() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    g.get_mut("c").unwrap().clear();
    assert_eq!(cycle(&g), None);
    assert_eq!(
        after(
            "use crate::catalogue::images; x::crate::no; crate::Error",
            "crate::"
        ),
        ["catalogue", "Error"]
    );
    assert_eq!(
        tables_named("\"SELECT id FROM images WHERE x\" // the FROM clause"),
        BTreeSet::from(["images".to_string()])
    );
}
