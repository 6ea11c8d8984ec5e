//! The finder: metal mask, fixture/restoration separation (by width and by density),
//! per-component axis and width profile, oriented box and apex end.

use crate::profile::{axis, best_run, edge_roughness, quantile, Profile};
use crate::raster::{box_mean, components, fill_holes, near, open_disks_coarse, percentile};
use crate::types::{FinderParams, FoundImplant};
use image::GrayImage;

/// Find every implant fixture on `film` with the default parameters. Deterministic; sorted by
/// `cx` (left to right). Returns an empty list for films too small or without contrast.
pub fn find_implants(film: &GrayImage) -> Vec<FoundImplant> {
    find_implants_with(film, &FinderParams::default())
}

/// Working state shared by the per-component analysis, in working-resolution pixels.
struct Work {
    w: usize,
    h: usize,
    /// Smoothed grey levels.
    img: Vec<f32>,
    /// All radiopaque metal.
    metal: Vec<bool>,
    /// Metal taken for restoration in the current pass (crowns, bridges): what a disk of the
    /// pass's diameter fits into, or the densest metal.
    wide: Vec<bool>,
    /// Expected fixture width in working pixels.
    ew: f32,
    /// Metal threshold and film median, for the contrast part of the score.
    thr: f32,
    med: f32,
    /// Bright percentile ("metal white").
    top: f32,
    /// Grey below which a pixel is the unexposed frame around the film, not anatomy.
    exterior: f32,
}

/// [`find_implants`] with explicit parameters.
///
/// The film is searched at the expected fixture width and, when `p.larger_width` is set, again
/// at that multiple of it (a film taken closer, a wider implant): a fixture wider than the first
/// scale's opening would be taken for a crown there. Proposals of both scales are merged, the
/// better score winning where they overlap or one lies inside the other.
pub fn find_implants_with(film: &GrayImage, p: &FinderParams) -> Vec<FoundImplant> {
    let (fw, fh) = film.dimensions();
    if fw < 16 || fh < 16 {
        return Vec::new();
    }
    let (fwf, fhf) = (fw as f32, fh as f32);
    let ew_film = if fwf / fhf >= p.panoramic_aspect {
        fwf * p.expected_width_panoramic
    } else {
        fwf.min(fhf) * p.expected_width_periapical
    };
    if !(ew_film.is_finite() && ew_film > 0.0) {
        return Vec::new();
    }
    let mut found = find_at(film, p, ew_film);
    if p.larger_width.is_finite() && p.larger_width > 1.0 {
        found.extend(find_at(film, p, ew_film * p.larger_width));
    }
    found.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.cx.total_cmp(&b.cx))
            .then(a.cy.total_cmp(&b.cy))
    });
    let mut kept: Vec<FoundImplant> = Vec::new();
    for f in found {
        let fb = f.aabb();
        let clash = kept.iter().position(|k| {
            let kb = k.aabb();
            aabb_iou(&kb, &fb) >= 0.3
                || inside_share(&fb, &kb) >= 0.6
                || inside_share(&kb, &fb) >= 0.6
                || stacked(k, &f)
        });
        match clash {
            None => kept.push(f),
            // Two parts of one implant on one axis (the abutment on the fixture): the fixture is
            // the longer part.
            Some(i) if stacked(&kept[i], &f) && f.length > kept[i].length => kept[i] = f,
            Some(_) => {}
        }
    }
    kept.sort_by(|a, b| a.cx.total_cmp(&b.cx).then(a.cy.total_cmp(&b.cy)));
    kept
}

/// Whether two proposals lie end to end on one axis (same direction, one's axis through the
/// other's centre, their ends meeting): the fixture and its abutment, or a fixture split in two.
fn stacked(a: &FoundImplant, b: &FoundImplant) -> bool {
    let turn = (a.angle_deg - b.angle_deg).rem_euclid(180.0);
    if turn.min(180.0 - turn) > 25.0 {
        return false;
    }
    let (ux, uy) = a.apex_dir();
    let (dx, dy) = (b.cx - a.cx, b.cy - a.cy);
    let along = dx * ux + dy * uy;
    let across = (dx * uy - dy * ux).abs();
    let gap = along.abs() - 0.5 * (a.length + b.length);
    across < 0.75 * a.width.max(b.width) && gap < 0.25 * a.width.max(b.width)
}

/// Share of box `a` that lies inside box `b` (0 when `a` is empty); with [`aabb_iou`], how
/// overlapping boxes are judged.
pub fn inside_share(a: &(f32, f32, f32, f32), b: &(f32, f32, f32, f32)) -> f32 {
    let ix = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let iy = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    let area = a.2 * a.3;
    if ix <= 0.0 || iy <= 0.0 || area <= 0.0 {
        return 0.0;
    }
    ix * iy / area
}

/// The finder at one expected fixture width `ew_film` (film pixels).
fn find_at(film: &GrayImage, p: &FinderParams, ew_film: f32) -> Vec<FoundImplant> {
    let (fw, fh) = film.dimensions();
    let (fwf, fhf) = (fw as f32, fh as f32);
    let scale = (p.work_width_px / ew_film).min(1.0);
    let (w, h) = (
        ((fwf * scale).round() as u32).max(1),
        ((fhf * scale).round() as u32).max(1),
    );
    let small;
    let src = if w != fw || h != fh {
        small = image::imageops::resize(film, w, h, image::imageops::FilterType::Triangle);
        &small
    } else {
        film
    };
    let (w, h) = (w as usize, h as usize);
    let scale_x = w as f32 / fwf;
    let scale_y = h as f32 / fhf;
    let ew = ew_film * scale_x;
    if ew < 6.0 {
        return Vec::new();
    }

    let raw: Vec<f32> = src.as_raw().iter().map(|&v| f32::from(v)).collect();
    let img = box_mean(&raw, w, h, 1);
    let med = percentile(src.as_raw(), 0.5);
    let top = percentile(src.as_raw(), p.bright_percentile);
    if top - med < 24.0 {
        return Vec::new();
    }
    let thr = med + p.metal_level * (top - med);
    // Seeds are surely metal; the mask then grows into slightly dimmer pixels close to them
    // (blurred thread edges, the hollow top of a fixture) but not into bone far away.
    let seeds: Vec<bool> = img.iter().map(|&v| v >= thr).collect();
    let close = near(&seeds, w, h, p.grow_distance * ew);
    let lo = med + p.grow_level * (thr - med);
    let mut metal: Vec<bool> = img.iter().zip(&close).map(|(&v, &c)| c && v >= lo).collect();
    fill_holes(&mut metal, w, h, (p.max_hole * ew).powi(2) as usize);
    // The edge of the exposed film is often a thin bright rim next to the black frame; it would
    // join everything that reaches the film edge into one component.
    let exterior = 0.25 * med;
    let frame: Vec<bool> = img.iter().map(|&v| v < exterior).collect();
    let rim = near(&frame, w, h, p.rim_width * ew);
    for (m, &r) in metal.iter_mut().zip(&rim) {
        if r {
            *m = false;
        }
    }
    let mut work = Work {
        w,
        h,
        img,
        metal,
        wide: Vec::new(),
        ew,
        thr,
        med,
        top,
        exterior,
    };

    // Passes 0 and 1, two opening sizes: the larger separates fixtures from ordinary crowns; the
    // smaller also from narrow crowns (premolars, incisors) that touch their neighbours, which
    // the larger one leaves joined to both fixtures.
    let min_area = (0.5 * p.min_length * p.min_width * ew * ew) as usize;
    let mut found: Vec<(usize, FoundImplant)> = Vec::new();
    // Pass 2 treats the densest metal (crown alloys, at the film's white level) as the
    // restoration, whatever its shape: on panoramic films crowns are no wider than the fixture
    // and join the whole dental arch, but titanium is less dense than crown alloys.
    let dense_level = top - p.dense_margin * (top - med);
    let diameters = [p.wide_diameter, p.wide_diameter_small];
    let radii: Vec<f32> = diameters.iter().map(|d| d.max(0.0) * ew * 0.5).collect();
    let mut openings = open_disks_coarse(&work.metal, w, h, &radii).into_iter();
    for (pass, diameter) in diameters.iter().chain(&[0.0]).enumerate() {
        if pass < 2 {
            let opened = openings.next();
            if diameter.is_nan() || *diameter <= 0.0 {
                continue;
            }
            work.wide = opened.unwrap_or_default();
        } else {
            if p.dense_margin.is_nan() || p.dense_margin <= 0.0 {
                continue;
            }
            // Grown a little: the blurred rim of a crown is dimmer than its body.
            let dense: Vec<bool> = work
                .img
                .iter()
                .zip(&work.metal)
                .map(|(&v, &m)| m && v >= dense_level)
                .collect();
            work.wide = near(&dense, w, h, p.dense_grow * ew)
                .iter()
                .zip(&work.metal)
                .map(|(&d, &m)| d && m)
                .collect();
        }
        let narrow: Vec<bool> = work
            .metal
            .iter()
            .zip(&work.wide)
            .map(|(&m, &d)| m && !d)
            .collect();
        found.extend(
            components(&narrow, w, h)
                .into_iter()
                .filter(|c| c.len() >= min_area)
                .filter_map(|c| analyse(&work, &c, p))
                .filter(|f| f.score >= p.min_score)
                .map(|f| (pass, f)),
        );
    }

    // Overlapping proposals (several passes, a fixture split in two): keep one.
    // Earlier passes are the more conservative separations, so they win over later ones.
    found.sort_by(|(pa, a), (pb, b)| {
        pa.cmp(pb)
            .then(b.score.total_cmp(&a.score))
            .then(a.cx.total_cmp(&b.cx))
            .then(a.cy.total_cmp(&b.cy))
    });
    let mut kept: Vec<FoundImplant> = Vec::new();
    for (_, f) in found {
        if kept.iter().all(|k| aabb_iou(&k.aabb(), &f.aabb()) < 0.3) {
            kept.push(f);
        }
    }
    // Back to film pixels.
    let mut out: Vec<FoundImplant> = kept.into_iter().map(|f| to_film(&f, scale_x, scale_y)).collect();
    out.sort_by(|a, b| a.cx.total_cmp(&b.cx).then(a.cy.total_cmp(&b.cy)));
    out
}

/// Map a box from working pixels to film pixels (the two scales differ only by rounding).
fn to_film(f: &FoundImplant, sx: f32, sy: f32) -> FoundImplant {
    let s = 0.5 * (sx + sy);
    FoundImplant {
        cx: f.cx / sx,
        cy: f.cy / sy,
        width: f.width / s,
        length: f.length / s,
        ..*f
    }
}

/// IoU of two `(x, y, w, h)` boxes; used for suppression of duplicates and by the evaluation.
pub fn aabb_iou(a: &(f32, f32, f32, f32), b: &(f32, f32, f32, f32)) -> f32 {
    let ix = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let iy = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    let uni = a.2 * a.3 + b.2 * b.3 - inter;
    if uni <= 0.0 {
        0.0
    } else {
        inter / uni
    }
}

/// Analyse one narrow-metal component; returns a fixture box in working pixels if it looks
/// like one.
fn analyse(wk: &Work, comp: &[usize], p: &FinderParams) -> Option<FoundImplant> {
    let w = wk.w;
    let ew = wk.ew;
    let mut px: Vec<usize> = comp.to_vec();
    let gap = ((0.08 * ew) as usize).max(2);
    let mut geo = None;
    // Two passes: the crown remnants cut off in the first pass no longer tilt the axis.
    for _ in 0..2 {
        let (mx, my, ux, uy) = axis(w, &px);
        let prof = Profile::new(w, &wk.img, &px, mx, my, ux, uy);
        let (a, b) = best_run(&prof, p.slice_width_lo, p.slice_width_hi, gap)?;
        let ta = prof.t0 + a as f32;
        let tb = prof.t0 + b as f32;
        px.retain(|&i| {
            let dx = (i % w) as f32 + 0.5 - mx;
            let dy = (i / w) as f32 + 0.5 - my;
            let t = dx * ux + dy * uy;
            t >= ta && t < tb
        });
        if px.is_empty() {
            return None;
        }
        geo = Some((mx, my, ux, uy, prof, a, b));
    }
    let (mx, my, ux, uy, prof, a, b) = geo?;
    let (a, b) = crown_cut(wk, &prof, a, b, p);
    let len = (b - a) as f32;
    let mut ws: Vec<f32> = (a..b).map(|k| prof.width(k)).collect();
    let width = quantile(&mut ws, 0.9);
    let mut mids: Vec<f32> = (a..b)
        .filter(|&k| prof.count[k] > 0)
        .map(|k| 0.5 * (prof.smin[k] + prof.smax[k]))
        .collect();
    let sc = quantile(&mut mids, 0.5);
    let tc = prof.t0 + 0.5 * (a + b) as f32;
    let cx = mx + tc * ux - sc * uy;
    let cy = my + tc * uy + sc * ux;
    let filled: u32 = prof.count[a..b].iter().sum();
    let fill = filled as f32 / (len * width).max(1.0);

    if width < p.min_width * ew
        || width > p.max_width * ew
        || len < p.min_length * ew
        || len > p.max_length * ew
        || len < p.min_aspect * width
        || fill < p.min_fill
    {
        return None;
    }

    // Thread cue: the edges of a fixture are serrated; a smooth abutment or root is not.
    let rough = edge_roughness(&prof, a, b, ew);
    // Contrast cue: mean grey of the box relative to the metal threshold.
    let mean_grey = mean_inside(wk, &px);
    let contrast = ((mean_grey - wk.med) / (wk.thr - wk.med).max(1.0)).clamp(0.0, 1.5) / 1.5;

    // Apex end: the platform end carries the crown/abutment (metal beyond the end), the apex
    // ends in bone; failing that, the apex is the narrower (tapering) end.
    let beyond = |sign: f32| metal_beyond(wk, cx, cy, ux, uy, sign, len, width);
    let (m_neg, w_neg, o_neg) = beyond(-1.0);
    let (m_pos, w_pos, o_pos) = beyond(1.0);
    let q = ((b - a) / 4).max(1);
    let mean_w = |r: std::ops::Range<usize>| {
        let n = r.len().max(1) as f32;
        r.map(|k| prof.width(k)).sum::<f32>() / n
    };
    let taper = mean_w(b - q..b) - mean_w(a..a + q); // > 0: wider at +t end
                                                     // > 0: the platform is at the +t end (more metal or crown there, or the -t end runs off
                                                     // the film, where only a cut-off apex can be).
    let cue = (m_pos - m_neg) + 2.0 * (w_pos - w_neg) + 1.5 * (o_neg - o_pos) + taper / ew;
    let (ax, ay) = if cue > 0.0 { (-ux, -uy) } else { (ux, uy) };
    let angle_deg = normalise_deg((-ax).atan2(ay).to_degrees());

    // A fixture stands in bone: metal along both long sides means a strip inside a crown or
    // bridge (left over by the density pass), not a fixture.
    if side_metal(wk, cx, cy, ux, uy, len, width) > p.max_side_metal {
        return None;
    }
    // A dim candidate with nothing on either end is a root filling, a post or a natural crown.
    if contrast < p.min_bare_contrast && m_neg.max(m_pos) < p.restoration_beyond {
        return None;
    }
    let tilt = angle_deg.abs().min(180.0 - angle_deg.abs());
    if tilt > p.max_tilt_deg {
        return None;
    }
    let aspect_ok = ((len / width) / 3.0).min(1.0);
    let score = (0.3 * fill.min(1.0) + 0.2 * aspect_ok + 0.25 * rough + 0.25 * contrast).clamp(0.0, 1.0);
    Some(FoundImplant {
        cx,
        cy,
        width,
        length: len,
        angle_deg,
        score,
    })
}

fn normalise_deg(a: f32) -> f32 {
    let mut a = a % 360.0;
    if a <= -180.0 {
        a += 360.0;
    }
    if a > 180.0 {
        a -= 360.0;
    }
    a
}

/// Mean grey level of a pixel set.
fn mean_inside(wk: &Work, px: &[usize]) -> f32 {
    if px.is_empty() {
        return 0.0;
    }
    px.iter().map(|&i| wk.img[i]).sum::<f32>() / px.len() as f32
}

/// Share of metal, of wide metal and of off-film pixels (outside the image or in the black
/// frame around the exposed film) in a band just beyond one end of the box (`sign` = +1 for
/// the +t end), twice as wide as the box and 1.2 W deep: the crown sits beyond the platform
/// end, bone beyond the apex, and a fixture cut by the film edge is cut at its apex side.
#[allow(clippy::too_many_arguments)]
fn metal_beyond(
    wk: &Work,
    cx: f32,
    cy: f32,
    ux: f32,
    uy: f32,
    sign: f32,
    len: f32,
    width: f32,
) -> (f32, f32, f32) {
    let depth = (1.2 * wk.ew).max(2.0) as i32;
    // Off-film counts only right at the end: a fixture cut by the film's edge meets it there,
    // while a platform meets its abutment or crown first, and dark air only beyond those.
    let near = (0.4 * wk.ew).max(2.0) as i32 + 1;
    let half = width.max(1.0) as i32;
    let (mut n, mut m, mut wd, mut out, mut n_near) = (0u32, 0u32, 0u32, 0u32, 0u32);
    for d in 2..=depth + 1 {
        let at_end = d <= near;
        let t = sign * (0.5 * len + d as f32);
        for s in -half..=half {
            let x = cx + t * ux - s as f32 * uy;
            let y = cy + t * uy + s as f32 * ux;
            n += 1;
            n_near += u32::from(at_end);
            let inside = x >= 0.0 && y >= 0.0 && (x as usize) < wk.w && (y as usize) < wk.h;
            if !inside {
                out += u32::from(at_end);
                continue;
            }
            let i = y as usize * wk.w + x as usize;
            out += u32::from(at_end && wk.img[i] < wk.exterior);
            m += u32::from(wk.metal[i]);
            wd += u32::from(wk.wide[i]);
        }
    }
    let (n, n_near) = (n.max(1) as f32, n_near.max(1) as f32);
    (m as f32 / n, wd as f32 / n, out as f32 / n_near)
}

/// Cut a crown off one end of the slice run `[a, b)`: crown alloys are more radiopaque than a
/// titanium fixture, so where the slice mean grey rises well above the fixture's own level
/// for a while, the restoration begins. The fixture level is taken from the end that stays
/// dimmer; only one end is cut, and never below `min_length`.
fn crown_cut(wk: &Work, prof: &Profile, a: usize, b: usize, p: &FinderParams) -> (usize, usize) {
    let n = b.saturating_sub(a);
    if n < 8 {
        return (a, b);
    }
    let g: Vec<f32> = (a..b)
        .map(|k| {
            if prof.count[k] == 0 {
                0.0
            } else {
                prof.grey[k] / prof.count[k] as f32
            }
        })
        .collect();
    let q = n / 3;
    let mut lo_end: Vec<f32> = g[..q].to_vec();
    let mut hi_end: Vec<f32> = g[n - q..].to_vec();
    let m_lo = quantile(&mut lo_end, 0.5);
    let m_hi = quantile(&mut hi_end, 0.5);
    // Fixture level from the dimmer third; the crown, if any, is at the other end.
    let (level, from_start) = if m_lo <= m_hi { (m_lo, true) } else { (m_hi, false) };
    if wk.top - level < 8.0 {
        return (a, b);
    }
    let cut = level + p.crown_step * (wk.top - level);
    let run = ((0.15 * wk.ew) as usize).max(3);
    let min_keep = (p.min_length * wk.ew) as usize;
    let mut streak = 0usize;
    for i in 0..n {
        let k = if from_start { i } else { n - 1 - i };
        streak = if g[k] > cut { streak + 1 } else { 0 };
        if streak >= run {
            let kept = i + 1 - run;
            if kept < min_keep {
                return (a, b);
            }
            let (keep, cut_off) = if from_start {
                (a..a + kept, a + kept..b)
            } else {
                (b - kept..b, a..b - kept)
            };
            // A crown is at least as wide as the fixture; a bright part narrower than the rest
            // is the fixture's own tapering apex (a dense fixture, a saturated film).
            let mean_width = |r: std::ops::Range<usize>| {
                let n = r.len().max(1) as f32;
                r.map(|k| prof.width(k)).sum::<f32>() / n
            };
            if mean_width(cut_off.clone()) < p.crown_min_width * mean_width(keep.clone()) {
                return (a, b);
            }
            // A dense part longer than the rest is not a crown on a fixture (a crown is about as
            // tall as two fixture widths) but a saturated fixture under a dimmer abutment.
            if cut_off.len() > keep.len() {
                return (cut_off.start, cut_off.end);
            }
            return (keep.start, keep.end);
        }
    }
    (a, b)
}

/// Share of metal in two bands along the long sides of a box, 0.1 to 0.35 W outside its edges.
fn side_metal(wk: &Work, cx: f32, cy: f32, ux: f32, uy: f32, len: f32, width: f32) -> f32 {
    let (mut n, mut m) = (0u32, 0u32);
    let d0 = (0.1 * wk.ew).max(1.0) as i32;
    let d1 = (0.35 * wk.ew).max(2.0) as i32;
    let half = (0.5 * len) as i32;
    for t in (-half..=half).step_by(2) {
        for side in [-1.0f32, 1.0] {
            for d in d0..=d1 {
                let sv = side * (0.5 * width + d as f32);
                let x = cx + t as f32 * ux - sv * uy;
                let y = cy + t as f32 * uy + sv * ux;
                if x < 0.0 || y < 0.0 || x >= wk.w as f32 || y >= wk.h as f32 {
                    continue;
                }
                n += 1;
                m += u32::from(wk.metal[y as usize * wk.w + x as usize]);
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        m as f32 / n as f32
    }
}
