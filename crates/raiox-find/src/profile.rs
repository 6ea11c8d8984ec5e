//! Geometry of one metal component: principal axis, width profile along it, and the run of
//! slices that looks like a fixture body.

/// Principal axis of a pixel set: centroid and unit direction of largest spread.
pub(crate) fn axis(w: usize, px: &[usize]) -> (f32, f32, f32, f32) {
    let n = px.len().max(1) as f64;
    let (mut sx, mut sy) = (0f64, 0f64);
    for &i in px {
        sx += (i % w) as f64 + 0.5;
        sy += (i / w) as f64 + 0.5;
    }
    let (mx, my) = (sx / n, sy / n);
    let (mut cxx, mut cyy, mut cxy) = (0f64, 0f64, 0f64);
    for &i in px {
        let dx = (i % w) as f64 + 0.5 - mx;
        let dy = (i / w) as f64 + 0.5 - my;
        cxx += dx * dx;
        cyy += dy * dy;
        cxy += dx * dy;
    }
    let th = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    (mx as f32, my as f32, th.cos() as f32, th.sin() as f32)
}

/// Width profile of a pixel set along an axis: per 1-px slice, the lowest and highest
/// across-axis coordinate and the pixel count.
pub(crate) struct Profile {
    /// Along-axis coordinate of slice 0 (relative to the centroid).
    pub(crate) t0: f32,
    /// Per slice, lowest across-axis coordinate.
    pub(crate) smin: Vec<f32>,
    /// Per slice, highest across-axis coordinate.
    pub(crate) smax: Vec<f32>,
    /// Per slice, number of pixels.
    pub(crate) count: Vec<u32>,
    /// Per slice, sum of grey levels (for the density cut).
    pub(crate) grey: Vec<f32>,
}

impl Profile {
    /// Profile of the pixels `px` (indices into a `w`-wide image) along the unit axis
    /// `(ux, uy)` through `(mx, my)`.
    pub(crate) fn new(w: usize, img: &[f32], px: &[usize], mx: f32, my: f32, ux: f32, uy: f32) -> Profile {
        let proj = |i: usize| {
            let dx = (i % w) as f32 + 0.5 - mx;
            let dy = (i / w) as f32 + 0.5 - my;
            (dx * ux + dy * uy, -dx * uy + dy * ux)
        };
        let mut t0 = f32::MAX;
        let mut t1 = f32::MIN;
        for &i in px {
            let (t, _) = proj(i);
            t0 = t0.min(t);
            t1 = t1.max(t);
        }
        let n = ((t1 - t0).floor() as usize + 1).min(100_000);
        let mut prof = Profile {
            t0,
            smin: vec![f32::MAX; n],
            smax: vec![f32::MIN; n],
            count: vec![0; n],
            grey: vec![0.0; n],
        };
        for &i in px {
            let (t, s) = proj(i);
            let b = ((t - t0) as usize).min(n - 1);
            prof.smin[b] = prof.smin[b].min(s);
            prof.smax[b] = prof.smax[b].max(s);
            prof.count[b] += 1;
            prof.grey[b] += img[i];
        }
        prof
    }

    /// Extent across the axis of slice `b`, 0 when the slice is empty.
    pub(crate) fn width(&self, b: usize) -> f32 {
        if self.count[b] == 0 {
            0.0
        } else {
            self.smax[b] - self.smin[b] + 1.0
        }
    }
}

/// Value at quantile `q` of `v` (sorts `v`); 0 for an empty slice.
pub(crate) fn quantile(v: &mut [f32], q: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f32 * q).round() as usize]
}

/// Longest run of slices whose width is within `[lo, hi]` of the median, bridging short gaps.
pub(crate) fn best_run(prof: &Profile, lo: f32, hi: f32, gap: usize) -> Option<(usize, usize)> {
    let n = prof.count.len();
    let mut ws: Vec<f32> = (0..n).map(|b| prof.width(b)).filter(|&x| x > 0.0).collect();
    let m = quantile(&mut ws, 0.5);
    if m <= 0.0 {
        return None;
    }
    let good: Vec<bool> = (0..n)
        .map(|b| {
            let x = prof.width(b);
            x >= lo * m && x <= hi * m
        })
        .collect();
    let mut best: Option<(usize, usize)> = None;
    let mut start: Option<usize> = None;
    let mut last_good = 0usize;
    for b in 0..=n {
        let g = good.get(b).copied().unwrap_or(false);
        if g {
            if start.is_none() {
                start = Some(b);
            }
            last_good = b;
        } else if let Some(s) = start {
            if b < n && b - last_good <= gap {
                continue;
            }
            let len = last_good + 1 - s;
            if best.is_none_or(|(bs, be)| be - bs < len) {
                best = Some((s, last_good + 1));
            }
            start = None;
        }
    }
    best
}

/// Roughness of the two edges over the slice range, in [0, 1]: mean absolute deviation of the
/// edge from its running mean over ~0.4 W, relative to 0.04 W. Threads give a saw-tooth edge.
pub(crate) fn edge_roughness(prof: &Profile, a: usize, b: usize, ew: f32) -> f32 {
    let r = ((0.2 * ew) as usize).max(2);
    let mut total = 0f32;
    let mut n = 0u32;
    for edge in [&prof.smin, &prof.smax] {
        for k in a + r..b.saturating_sub(r) {
            let (mut s, mut c) = (0f32, 0f32);
            for (e, &cnt) in edge[k - r..=k + r].iter().zip(&prof.count[k - r..=k + r]) {
                if cnt > 0 {
                    s += e;
                    c += 1.0;
                }
            }
            if prof.count[k] > 0 && c > 0.0 {
                total += (edge[k] - s / c).abs();
                n += 1;
            }
        }
    }
    if n == 0 {
        return 0.0;
    }
    ((total / n as f32) / (0.04 * ew)).min(1.0)
}
