//! Small raster helpers (percentiles, box mean, distance transform, connected components),
//! written out here so the crate needs nothing beyond `image`.

/// Grey level at quantile `q` (0..1) of `px`: percentiles make thresholds independent of the
/// film's exposure and contrast.
pub fn percentile(px: &[u8], q: f32) -> f32 {
    if px.is_empty() {
        return 0.0;
    }
    let mut hist = [0usize; 256];
    for &p in px {
        hist[p as usize] += 1;
    }
    let target = ((px.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    let mut acc = 0usize;
    for (v, &n) in hist.iter().enumerate() {
        acc += n;
        if acc > target {
            return v as f32;
        }
    }
    255.0
}

/// Mean over a `(2r+1)^2` window clipped at the borders, via an integral image: the local
/// background a bright object must stand out from. O(pixels) whatever the radius.
pub fn box_mean(px: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut integ = vec![0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0f64;
        for x in 0..w {
            row += f64::from(px[y * w + x]);
            integ[(y + 1) * (w + 1) + x + 1] = integ[y * (w + 1) + x + 1] + row;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(r);
        let y1 = (y + r + 1).min(h);
        for x in 0..w {
            let x0 = x.saturating_sub(r);
            let x1 = (x + r + 1).min(w);
            let s = integ[y1 * (w + 1) + x1] - integ[y0 * (w + 1) + x1] - integ[y1 * (w + 1) + x0]
                + integ[y0 * (w + 1) + x0];
            let n = ((y1 - y0) * (x1 - x0)).max(1) as f64;
            out[y * w + x] = (s / n) as f32;
        }
    }
    out
}

const INF: f32 = 1e20;

/// 1-D squared distance transform of a sampled function (Felzenszwalb & Huttenlocher).
fn dt1(f: &[f32], d: &mut [f32], v: &mut [usize], z: &mut [f32]) {
    let n = f.len();
    if n == 0 {
        return;
    }
    let mut k = 0usize;
    v[0] = 0;
    z[0] = -INF;
    z[1] = INF;
    for q in 1..n {
        loop {
            let p = v[k];
            let s = ((f[q] + (q * q) as f32) - (f[p] + (p * p) as f32)) / (2.0 * (q as f32 - p as f32));
            if s <= z[k] && k > 0 {
                k -= 1;
            } else {
                k += 1;
                v[k] = q;
                z[k] = s;
                z[k + 1] = INF;
                break;
            }
        }
    }
    k = 0;
    for (q, dq) in d.iter_mut().enumerate().take(n) {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k];
        let dx = q as f32 - p as f32;
        *dq = dx * dx + f[p];
    }
}

/// Exact squared Euclidean distance from every pixel to the nearest pixel where `seed` is true
/// (0 on seeds). Used for erosion/dilation by a disk of any radius in O(pixels).
pub fn sq_dist_to(seed: &[bool], w: usize, h: usize) -> Vec<f32> {
    let mut g: Vec<f32> = seed.iter().map(|&s| if s { 0.0 } else { INF }).collect();
    let n = w.max(h);
    let mut f = vec![0f32; n];
    let mut d = vec![0f32; n];
    let mut v = vec![0usize; n];
    let mut z = vec![0f32; n + 1];
    for x in 0..w {
        for y in 0..h {
            f[y] = g[y * w + x];
        }
        dt1(&f[..h], &mut d[..h], &mut v, &mut z);
        for y in 0..h {
            g[y * w + x] = d[y];
        }
    }
    for y in 0..h {
        f[..w].copy_from_slice(&g[y * w..(y + 1) * w]);
        dt1(&f[..w], &mut d[..w], &mut v, &mut z);
        g[y * w..(y + 1) * w].copy_from_slice(&d[..w]);
    }
    g
}

/// Morphological opening of `mask` by a disk of radius `r`: keeps the parts of the metal that a
/// disk of that size fits into (crowns, bridges) and removes narrower parts (fixtures).
/// `d_bg` is `sq_dist_to(!mask)`, passed in so several radii can share it.
pub fn open_disk(mask: &[bool], d_bg: &[f32], w: usize, h: usize, r: f32) -> Vec<bool> {
    let r2 = r * r;
    // Pixels outside the image count as background too.
    let eroded: Vec<bool> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let border = x.min(y).min(w as f32 - 1.0 - x).min(h as f32 - 1.0 - y) + 1.0;
            mask[i] && d_bg[i] > r2 && border * border > r2
        })
        .collect();
    let d_er = sq_dist_to(&eroded, w, h);
    d_er.iter().zip(mask).map(|(&d, &m)| m && d <= r2).collect()
}

/// 8-connected components of `mask`, each as its list of pixel indices (`y * w + x`), in
/// raster order of their first pixel so that results are deterministic.
pub fn components(mask: &[bool], w: usize, h: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut comp = Vec::new();
        while let Some(i) = stack.pop() {
            comp.push(i);
            let (x, y) = (i % w, i / w);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(comp);
    }
    out
}

/// Pixels within about `r` of a seed: dilation by the square of the same area as the disk of
/// radius `r`, done as two running-count passes (rows, then a sliding window of rows), so the
/// cost does not depend on `r`. For the small radii where a disk is not needed.
pub fn near(seed: &[bool], w: usize, h: usize, r: f32) -> Vec<bool> {
    let r = (0.886 * r.max(0.0)).round() as usize;
    let mut rows = vec![false; w * h];
    for y in 0..h {
        let line = &seed[y * w..(y + 1) * w];
        let out = &mut rows[y * w..(y + 1) * w];
        let mut count = 0usize;
        // Window [x - r, x + r]; prime with [0, r - 1].
        for &s in line.iter().take(r.min(w)) {
            count += usize::from(s);
        }
        for x in 0..w {
            if x + r < w {
                count += usize::from(line[x + r]);
            }
            if x > r {
                count -= usize::from(line[x - r - 1]);
            }
            out[x] = count > 0;
        }
    }
    let mut out = vec![false; w * h];
    let mut col = vec![0u32; w];
    for y in 0..r.min(h) {
        for (c, &v) in col.iter_mut().zip(&rows[y * w..(y + 1) * w]) {
            *c += u32::from(v);
        }
    }
    for y in 0..h {
        if y + r < h {
            for (c, &v) in col.iter_mut().zip(&rows[(y + r) * w..(y + r + 1) * w]) {
                *c += u32::from(v);
            }
        }
        if y > r {
            for (c, &v) in col.iter_mut().zip(&rows[(y - r - 1) * w..(y - r) * w]) {
                *c -= u32::from(v);
            }
        }
        for (o, &c) in out[y * w..(y + 1) * w].iter_mut().zip(&col) {
            *o = c > 0;
        }
    }
    out
}

/// Fill holes in `mask` (background regions not 4-connected to the image border) of at most
/// `max_area` pixels: the dark internal connection of a fixture must not make it look like two
/// thin walls. One flood fill from the border, then labelling of the few enclosed pixels.
pub fn fill_holes(mask: &mut [bool], w: usize, h: usize, max_area: usize) {
    let mut outside = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    for x in 0..w {
        stack.push(x);
        stack.push((h - 1) * w + x);
    }
    for y in 0..h {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    while let Some(i) = stack.pop() {
        if outside[i] || mask[i] {
            continue;
        }
        outside[i] = true;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
    let enclosed: Vec<bool> = (0..w * h).map(|i| !mask[i] && !outside[i]).collect();
    for c in components(&enclosed, w, h) {
        if c.len() <= max_area {
            for i in c {
                mask[i] = true;
            }
        }
    }
}

/// Openings of `mask` by disks of each radius in `radii`, computed on a half-resolution grid
/// (a 2x2 block counts as set when at least two of its pixels are) and mapped back onto the
/// mask: crowns are large, so a 2-pixel grid loses nothing that matters and costs a quarter.
pub fn open_disks_coarse(mask: &[bool], w: usize, h: usize, radii: &[f32]) -> Vec<Vec<bool>> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut count = vec![0u8; cw * ch];
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] {
                count[(y / 2) * cw + x / 2] += 1;
            }
        }
    }
    let coarse: Vec<bool> = count.iter().map(|&c| c >= 2).collect();
    let not_coarse: Vec<bool> = coarse.iter().map(|&c| !c).collect();
    let d_bg = sq_dist_to(&not_coarse, cw, ch);
    radii
        .iter()
        .map(|&r| {
            let opened = open_disk(&coarse, &d_bg, cw, ch, 0.5 * r);
            (0..w * h)
                .map(|i| mask[i] && opened[((i / w) / 2) * cw + (i % w) / 2])
                .collect()
        })
        .collect()
}
