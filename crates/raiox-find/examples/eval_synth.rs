//! Sweep of synthetic films (tilts, apex up and down, with and without crown, one or two
//! implants): recall, precision, mean IoU and apex accuracy where the truth is exact.
//!
//! `cargo run --release --example eval_synth`

#[path = "../tests/common/mod.rs"]
mod common;
use common::{apex_right, film, iou, Drawn};
use raiox_find::eval::match_greedy;
use raiox_find::find_implants;

fn main() {
    let (mut truths, mut preds, mut matched, mut apex_ok) = (0usize, 0usize, 0usize, 0usize);
    let mut iou_sum = 0f32;
    let mut films = 0;
    for up in [false, true] {
        for tilt in [-35.0f32, -25.0, -15.0, -5.0, 0.0, 5.0, 15.0, 25.0, 35.0] {
            for crown in [true, false] {
                for two in [false, true] {
                    let angle = if up { 180.0 + tilt } else { tilt };
                    let py = if up { 280.0 } else { 130.0 };
                    let mk = |px: f32| Drawn {
                        px,
                        py,
                        angle_deg: angle,
                        width: 40.0,
                        length: 135.0,
                        crown,
                    };
                    let drawn: Vec<Drawn> = if two {
                        vec![mk(100.0), mk(240.0)]
                    } else {
                        vec![mk(170.0)]
                    };
                    let found = find_implants(&film(&drawn));
                    let t: Vec<_> = drawn.iter().map(|d| d.aabb()).collect();
                    let p: Vec<_> = found.iter().map(|f| f.aabb()).collect();
                    let m = match_greedy(&t, &p, 0.5);
                    films += 1;
                    truths += t.len();
                    preds += p.len();
                    matched += m.len();
                    for (i, j, v) in m {
                        iou_sum += v;
                        apex_ok += usize::from(apex_right(&found[j], &drawn[i]));
                        debug_assert!(iou(&t[i], &p[j]) >= 0.5);
                    }
                }
            }
        }
    }
    println!(
        "synthetic: films {films} fixtures {truths} predictions {preds} matched {matched} | recall {:.3} precision {:.3} mean IoU {:.3} | apex right {apex_ok}/{matched}",
        matched as f32 / truths as f32,
        matched as f32 / preds.max(1) as f32,
        iou_sum / matched.max(1) as f32
    );
}
