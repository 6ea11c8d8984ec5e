//! A curator's view of the implant-system catalogue: forgiving lookups, additions, standard names.

mod common;

use raiox::catalogue::images::{self, Attributes, Status};
use raiox::catalogue::systems::{add_manufacturer, add_system, Catalogue};
use raiox::curate::{label, LabelChange};
use raiox::ingest::import::{import, ImportOptions};
use raiox::progress::JobControl;

#[test]
fn forgiving_names_resolve_to_the_canonical_entry() {
    let (_dir, lib) = common::temp_library();
    let cat = Catalogue::load(lib.conn()).unwrap();
    for q in ["nobel", "NOBEL BIOCARE", "Nobel Biocare", "nobel-biocare"] {
        assert_eq!(cat.resolve_manufacturer(q).unwrap().name, "Nobel Biocare", "{q}");
    }
    let blt = |m: Option<&str>, s: &str| {
        let (m, s) = cat.resolve_system(m, s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (m.name.clone(), s.name.clone())
    };
    let want = ("Straumann".to_string(), "Bone Level Tapered".to_string());
    assert_eq!(blt(None, "Straumann BLT"), want);
    assert_eq!(blt(None, "BoneLevelTapered"), want);
    assert_eq!(blt(Some("straumann"), "blt"), want);
    assert_eq!(blt(Some("STRAUMANN"), "bone level tapered"), want);
    assert_eq!(blt(Some("zimmer"), "TSV").1, "Tapered Screw-Vent");
    assert_eq!(blt(Some("Neodent"), "Titamax CM").1, "Titamax CM");
    assert_eq!(blt(None, "NobelActive").0, "Nobel Biocare");
    for m in [
        "Nobel Biocare",
        "Straumann",
        "Neodent",
        "Zimmer Biomet",
        "Dentsply Sirona",
        "BioHorizons",
        "Osstem",
        "MIS",
        "Megagen",
        "Bicon",
    ] {
        let found = cat.resolve_manufacturer(m).unwrap();
        assert!(
            cat.systems
                .iter()
                .filter(|s| s.manufacturer_id == found.id)
                .count()
                >= 2,
            "{m} has systems"
        );
    }
}

#[test]
fn unknown_and_ambiguous_names_say_what_went_wrong() {
    let (_dir, lib) = common::temp_library();
    let cat = Catalogue::load(lib.conn()).unwrap();
    let err = cat
        .resolve_system(Some("Straumann"), "Nonexistent 9000")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown system 'Nonexistent 9000'"), "{err}");
    let err = cat
        .resolve_system(Some("Neodent"), "titamax")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ambiguous") && err.contains("Titamax CM") && err.contains("Titamax EX"),
        "{err}"
    );
    let err = cat.resolve_manufacturer("Acme Implants").unwrap_err().to_string();
    assert!(err.contains("unknown manufacturer"), "{err}");
}

#[test]
fn curators_add_manufacturers_systems_and_aliases() {
    let (_dir, mut lib) = common::temp_library();
    let mid = add_manufacturer(lib.conn_mut(), "Acme Dental", &["Acme".into()]).unwrap();
    add_system(lib.conn_mut(), mid, "Spiral Ø4", &["SP4".into()]).unwrap();
    // Adding again is idempotent.
    assert_eq!(add_manufacturer(lib.conn_mut(), "Acme Dental", &[]).unwrap(), mid);
    let cat = Catalogue::load(lib.conn()).unwrap();
    let (m, s) = cat.resolve_system(Some("acme"), "sp4").unwrap();
    assert_eq!(
        (m.name.as_str(), s.name.as_str(), s.slug.as_str()),
        ("Acme Dental", "Spiral Ø4", "spiral-o4")
    );
    assert!(!s.builtin);
}

#[test]
fn standard_names_are_unique_stable_and_follow_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let synth = common::synth_set(dir.path(), 2, 3, 200);
    let mut lib = raiox::library::Library::open(dir.path().join("lib")).unwrap();
    import(
        &mut lib,
        &[synth],
        &ImportOptions::default(),
        &JobControl::new(),
        &mut |_| {},
    )
    .unwrap();
    let ids: Vec<i64> = images::list(lib.conn(), None)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert!(ids.len() >= 8, "{} implants found on 16 films", ids.len());
    let change = LabelChange {
        manufacturer: Some("Straumann".into()),
        system: Some("BLT".into()),
        ..Default::default()
    };
    let recs = label(&mut lib, &ids[..3], &change).unwrap();
    let names: Vec<_> = recs.iter().map(|r| r.name.clone().unwrap()).collect();
    assert_eq!(
        names,
        [
            "straumann_bone-level-tapered_0001.png",
            "straumann_bone-level-tapered_0002.png",
            "straumann_bone-level-tapered_0003.png"
        ]
    );
    assert!(recs.iter().all(|r| r.status == Status::Labelled));
    // Confirming with a size keeps the sequence number and adds the size.
    let confirm = LabelChange {
        confirm: true,
        attributes: Attributes {
            diameter_mm: Some(4.1),
            length_mm: Some(10.0),
            ..Default::default()
        },
        ..Default::default()
    };
    let rec = &label(&mut lib, &ids[1..2], &confirm).unwrap()[0];
    assert_eq!(
        rec.name.as_deref(),
        Some("straumann_bone-level-tapered_4.1x10_0002.png")
    );
    assert_eq!(rec.status, Status::Confirmed);
    // Moving to another system draws a new number there; unlabelling clears the name.
    let other = LabelChange {
        manufacturer: Some("nobel".into()),
        system: Some("active".into()),
        ..Default::default()
    };
    let rec = &label(&mut lib, &ids[..1], &other).unwrap()[0];
    assert_eq!(rec.name.as_deref(), Some("nobel-biocare_nobelactive_0001.png"));
    let rec = &label(
        &mut lib,
        &ids[2..3],
        &LabelChange {
            unlabel: true,
            ..Default::default()
        },
    )
    .unwrap()[0];
    assert_eq!((rec.name.as_deref(), rec.status), (None, Status::Unlabelled));
    // A new image in BLT continues after the highest number in use.
    let rec = &label(&mut lib, &ids[5..6], &change).unwrap()[0];
    assert_eq!(rec.name.as_deref(), Some("straumann_bone-level-tapered_0003.png"));
    // Confirming an unlabelled image is refused with a reason.
    let err = label(
        &mut lib,
        &ids[2..3],
        &LabelChange {
            confirm: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("no label to confirm"), "{err}");
}
