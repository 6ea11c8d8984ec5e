//! Which implant of a film each label names.
//!
//! Why: a film holds 0…N implants, while a label source gives labels per file. A label with a
//! box names the implant whose box overlaps it most (or lies inside it) (or, when the finder missed it, a new implant
//! drawn from that box); a label without a box names the film's only implant and is refused, with
//! the reason, when the film has none or several — never guessed.

use crate::standardise::{BoxSpec, Fixture};

/// Least overlap (IoU of the axis-aligned boxes) for a labelled box to name a found implant.
const MATCH_IOU: f32 = 0.3;
/// Or: least share of the found box inside the labelled one (a loose annotation around a tight,
/// or partly found, fixture).
const MATCH_INSIDE: f32 = 0.7;

/// Where each label goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// For each found implant (same order), the index of the label row that names it.
    pub found: Vec<Option<usize>>,
    /// Implants to add from labelled boxes the finder did not propose, with their row.
    pub added: Vec<(Fixture, usize)>,
    /// Labels that could not be applied, and why.
    pub problems: Vec<String>,
}

/// Assign label rows (by their boxes) to the found implants; `can_add` says whether boxes that
/// match nothing may become new implants (at import) or are reported (for a film already in the
/// library, whose implants are edited with `raiox box`).
pub fn assign(found: &[Fixture], rows: &[Option<BoxSpec>], can_add: bool) -> Assignment {
    let mut out = Assignment {
        found: vec![None; found.len()],
        added: Vec::new(),
        problems: Vec::new(),
    };
    // Boxed rows: best overlaps first, one implant per row.
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (r, spec) in rows.iter().enumerate() {
        if let Some(spec) = spec {
            for (f, fixture) in found.iter().enumerate() {
                let found_box = fixture.aabb();
                let iou = found_box.iou(&spec.aabb);
                if iou >= MATCH_IOU || found_box.share_inside(&spec.aabb) >= MATCH_INSIDE {
                    pairs.push((iou, r, f));
                }
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut row_done = vec![false; rows.len()];
    for (_, r, f) in pairs {
        if !row_done[r] && out.found[f].is_none() {
            out.found[f] = Some(r);
            row_done[r] = true;
        }
    }
    for (r, spec) in rows.iter().enumerate() {
        let Some(spec) = spec else { continue };
        if row_done[r] {
            continue;
        }
        let b = spec.aabb;
        if can_add {
            out.added.push((Fixture::from_aabb(b, spec.angle_deg), r));
        } else {
            out.problems.push(format!(
                "no implant of this film lies at box {},{},{},{}: add it with `raiox box --film`",
                b.x, b.y, b.w, b.h
            ));
        }
    }
    // Rows without a box name the film's only implant.
    let boxless: Vec<usize> = (0..rows.len()).filter(|&r| rows[r].is_none()).collect();
    let implants = found.len() + out.added.len();
    match (boxless.as_slice(), implants) {
        ([], _) => {}
        ([r], 1) if out.added.is_empty() && out.found[0].is_none() => out.found[0] = Some(*r),
        ([_], 0) => out
            .problems
            .push("its label was not applied: there is no implant on this film to label".into()),
        ([_], n) if n > 1 => out.problems.push(format!(
            "this film holds {n} implants: a label without a box cannot say which one, so none was labelled \
             (give x,y,w,h in the labels CSV, or label each implant on its own)"
        )),
        ([_], _) => out
            .problems
            .push("the film's only implant already has a label from a box".into()),
        (many, _) => out.problems.push(format!(
            "{} labels without a box for one film: give each one's x,y,w,h",
            many.len()
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standardise::Aabb;

    fn fixture(x: f32) -> Fixture {
        Fixture::from_aabb(
            Aabb {
                x,
                y: 100.0,
                w: 40.0,
                h: 120.0,
            },
            None,
        )
    }

    fn spec(x: f32) -> Option<BoxSpec> {
        Some(BoxSpec {
            aabb: Aabb {
                x: x + 3.0,
                y: 95.0,
                w: 44.0,
                h: 126.0,
            },
            angle_deg: None,
        })
    }

    #[test]
    fn a_boxless_label_names_the_only_implant() {
        let a = assign(&[fixture(50.0)], &[None], true);
        assert_eq!(a.found, vec![Some(0)]);
        assert!(a.problems.is_empty());
    }

    #[test]
    fn a_boxless_label_is_refused_with_several_or_no_implants() {
        let a = assign(&[fixture(50.0), fixture(200.0)], &[None], true);
        assert_eq!(a.found, vec![None, None]);
        assert!(a.problems[0].contains("holds 2 implants"), "{:?}", a.problems);
        let a = assign(&[], &[None], true);
        assert!(
            a.problems[0].contains("no implant on this film"),
            "{:?}",
            a.problems
        );
    }

    #[test]
    fn boxes_name_their_implant_and_missed_ones_are_added() {
        let a = assign(
            &[fixture(50.0), fixture(200.0)],
            &[spec(200.0), spec(50.0), spec(320.0)],
            true,
        );
        assert_eq!(a.found, vec![Some(1), Some(0)]);
        assert_eq!(a.added.len(), 1);
        assert_eq!(a.added[0].1, 2);
        let a = assign(&[fixture(50.0)], &[spec(320.0)], false);
        assert!(a.added.is_empty());
        assert!(a.problems[0].contains("raiox box --film"), "{:?}", a.problems);
    }
}
