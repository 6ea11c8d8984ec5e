//! The finder on the annotated real films in `<repo>/../shared/data/real-films`; skipped (with a
//! message) where that folder is absent. The floors are the figures recorded in README.md minus
//! a small tolerance, so a regression fails.

use raiox_find::eval::{default_films_dir, evaluate_dir, evaluate_dir_with, summarise, Transform};
use raiox_find::FinderParams;

#[test]
fn real_periapical_films_meet_recorded_figures() {
    let dir = default_films_dir();
    if !dir.join("boxes.csv").is_file() {
        println!(
            "SKIPPED real_periapical_films_meet_recorded_figures: no films at {}",
            dir.display()
        );
        return;
    }
    let results = evaluate_dir(&dir, &FinderParams::default(), 1).expect("films readable");
    let peri: Vec<_> = results
        .iter()
        .filter(|r| r.truth.film.starts_with("periapical"))
        .collect();
    let s = summarise(&peri);
    println!("periapical: {s:?}");
    assert!(s.films >= 40);
    assert!(s.recall >= RECALL - 0.03, "recall {}", s.recall);
    assert!(s.precision >= PRECISION - 0.03, "precision {}", s.precision);
    assert!(s.mean_iou >= MEAN_IOU - 0.03, "mean IoU {}", s.mean_iou);
    assert!(s.apex_known > 0);
    let apex = s.apex_right as f64 / s.apex_known as f64;
    assert!(apex >= APEX - 0.03, "apex {apex}");
}

/// The same films upside down: upper-jaw geometry (apex up, crown below) on real images.
#[test]
fn real_films_upside_down_keep_recall_and_apex() {
    let dir = default_films_dir();
    if !dir.join("boxes.csv").is_file() {
        println!(
            "SKIPPED real_films_upside_down_keep_recall_and_apex: no films at {}",
            dir.display()
        );
        return;
    }
    let results =
        evaluate_dir_with(&dir, &FinderParams::default(), 1, Transform::FlipV).expect("films readable");
    let peri: Vec<_> = results
        .iter()
        .filter(|r| r.truth.film.starts_with("periapical"))
        .collect();
    let s = summarise(&peri);
    println!("periapical upside down: {s:?}");
    assert!(s.recall >= RECALL - 0.03, "recall {}", s.recall);
    assert!(s.apex_known > 0);
    let apex = s.apex_right as f64 / s.apex_known as f64;
    assert!(apex >= APEX - 0.03, "apex {apex}");
    // Apex up means angle_deg near 180.
    for r in &peri {
        for &(_, j, _) in &r.matches {
            let a = r.predicted[j].angle_deg.abs();
            assert!(a > 120.0, "{}: angle {a}", r.truth.film);
        }
    }
}

const RECALL: f64 = 0.978;
const PRECISION: f64 = 0.714;
const MEAN_IOU: f64 = 0.769;
const APEX: f64 = 1.0;
