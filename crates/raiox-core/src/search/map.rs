//! The embedding map: every implant of one encoder placed on a 2-D plane so that implants the
//! encoder finds similar lie close together, and a query placed among them.
//!
//! How: PCA to [`MapParams::pca_dims`] dimensions (subspace iteration on a spread-out sample, so
//! the cost is linear in the library), the exact k-nearest-neighbour graph on those vectors, UMAP's
//! fuzzy weights on it, then a UMAP-style SGD layout with negative sampling (Cauchy kernel,
//! `a = b = 1`), started from the first two principal components.
//!
//! Why hand-written rather than a crate: the maintained Rust UMAP/t-SNE crates pull in ndarray and
//! BLAS stacks or are not deterministic when run in parallel. Here every epoch moves each point
//! from the previous epoch's positions only, with random numbers keyed by (seed, epoch, point), so
//! the layout is the same for a seed whatever the thread count, and rayon parallelises the points.
//!
//! Maps are cached under the library's cache folder, keyed by a fingerprint of the vectors
//! themselves (ids, bits, encoder stamp, parameters): a stale or corrupt cache is never used.

use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::embed::ModelStamp;
use crate::index::{dot_f32, Index};
use crate::library::Layout;
use crate::progress::JobControl;
use crate::synth::rng::mix;
use crate::Error;

/// Bumped whenever the algorithm changes, so older caches are recomputed.
const ALGORITHM_VERSION: u32 = 1;
/// Rows the principal axes are learnt from at most (evenly spread over the library).
const PCA_SAMPLE: usize = 4000;
/// Subspace iterations for the principal axes.
const PCA_ITERATIONS: usize = 4;
/// Extra axes iterated beyond those kept (they make the kept ones converge faster).
const PCA_OVERSAMPLE: usize = 10;
/// Negative samples per sampled edge.
const NEGATIVES: usize = 5;
/// Largest step of one gradient update (UMAP's clip).
const CLIP: f32 = 4.0;
/// Extent of the starting layout (UMAP scales its initialisation to this).
const INIT_EXTENT: f32 = 10.0;

/// One implant on the map; coordinates lie in `0..=1` (the longer side of the map spans it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    /// Image id.
    pub id: i64,
    /// Horizontal position, 0..=1.
    pub x: f32,
    /// Vertical position, 0..=1.
    pub y: f32,
}

/// How a map is computed; part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapParams {
    /// Seed of every random choice: the same vectors and seed give the same map.
    pub seed: u64,
    /// Neighbours each implant is linked to (UMAP's `n_neighbors`).
    pub neighbours: usize,
    /// Dimensions PCA keeps before the neighbour search.
    pub pca_dims: usize,
    /// SGD epochs; 0 chooses by size (500 up to 5 000 implants, 200 above).
    pub epochs: usize,
}

impl Default for MapParams {
    fn default() -> Self {
        MapParams {
            seed: 42,
            neighbours: 15,
            pca_dims: 50,
            epochs: 0,
        }
    }
}

/// A computed map with the fingerprint of the vectors it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingMap {
    /// What the map was computed from (see [`fingerprint`]).
    pub fingerprint: String,
    /// One point per vector, in the index's order.
    pub points: Vec<MapPoint>,
}

impl EmbeddingMap {
    /// Where a query vector (an identify query) falls on this map: the similarity-weighted mean of
    /// its `k` nearest mapped neighbours' positions. `None` when the index or the map is empty.
    pub fn place(&self, index: &Index, query: &[f32], k: usize) -> Option<[f32; 2]> {
        if query.len() != index.dim() {
            return None;
        }
        place(&self.points, &index.search(query, k, &|_| true))
    }
}

/// The position of a query among mapped points given its neighbours `(id, cosine similarity)`:
/// their weighted mean, weights falling off e-fold every 0.02 of similarity below the nearest.
///
/// Why weighted: the nearest neighbour says most about where the query belongs, but one neighbour
/// alone would put a query on top of it even when it sits between two groups.
pub fn place(points: &[MapPoint], neighbours: &[(i64, f32)]) -> Option<[f32; 2]> {
    let best = neighbours.iter().map(|n| n.1).fold(f32::NEG_INFINITY, f32::max);
    let (mut x, mut y, mut total) = (0.0f64, 0.0f64, 0.0f64);
    for &(id, sim) in neighbours {
        // Points are in id order when they come from an index built in id order; fall back to a scan.
        let p = match points.binary_search_by_key(&id, |p| p.id) {
            Ok(i) => points[i],
            Err(_) => match points.iter().find(|p| p.id == id) {
                Some(p) => *p,
                None => continue,
            },
        };
        let w = f64::from(((sim - best) / 0.02).exp());
        x += w * f64::from(p.x);
        y += w * f64::from(p.y);
        total += w;
    }
    (total > 0.0).then(|| [(x / total) as f32, (y / total) as f32])
}

/// A key that changes whenever the vectors change: encoder stamp, count, and a hash of every id and
/// every vector's bits (a re-cropped, re-embedded implant keeps its id but not its vector), plus the
/// parameters.
pub fn fingerprint(stamp: &ModelStamp, index: &Index, params: &MapParams) -> String {
    let (ids, flat) = index.contents();
    let per_row = |i: usize| {
        let row = &flat[i * index.dim()..(i + 1) * index.dim()];
        let h = row
            .iter()
            .fold(mix(ids[i] as u64), |h, v| mix(h ^ u64::from(v.to_bits())));
        mix(h ^ i as u64)
    };
    let hash = (0..ids.len())
        .into_par_iter()
        .map(per_row)
        .reduce(|| 0, |a, b| a ^ b);
    format!(
        "map{ALGORITHM_VERSION}|{}|{}|{}|{}|{}|{hash:016x}|{}|{}|{}|{}",
        stamp.encoder_id,
        stamp.weights_sha256,
        stamp.preprocess_version,
        index.dim(),
        ids.len(),
        params.seed,
        params.neighbours,
        params.pca_dims,
        params.epochs
    )
}

/// The cache file of one encoder's map.
fn cache_path(layout: &Layout, encoder_id: &str) -> PathBuf {
    let name: String = encoder_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    layout.cache_dir().join(format!("map-{name}.json"))
}

/// The cached map of `encoder_id` if it was computed from vectors with this `fingerprint`; a
/// missing, stale, unreadable or malformed file is `None` (it is simply recomputed).
pub fn load_cached(layout: &Layout, encoder_id: &str, fingerprint: &str) -> Option<EmbeddingMap> {
    let path = cache_path(layout, encoder_id);
    let bytes = std::fs::read(&path).ok()?;
    let map: EmbeddingMap = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("ignoring the unreadable map cache {}: {e}", path.display());
            return None;
        }
    };
    let count_ok = fingerprint
        .split('|')
        .nth(5)
        .and_then(|n| n.parse::<usize>().ok())
        == Some(map.points.len());
    let sane = map
        .points
        .iter()
        .all(|p| (0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y));
    (map.fingerprint == fingerprint && count_ok && sane).then_some(map)
}

/// The map of `index`'s vectors (of the encoder `stamp` describes), from the cache under the
/// library folder when the vectors have not changed since, otherwise computed and cached.
/// `Ok(None)` when `ctl` was cancelled.
///
/// Why `Layout` and not `Library`: the projection takes seconds, so fronts run it on a worker
/// thread, and the layout (unlike the connection) can go there.
pub fn cached_map(
    layout: &Layout,
    stamp: &ModelStamp,
    index: &Index,
    params: &MapParams,
    ctl: &JobControl,
) -> Result<Option<EmbeddingMap>, Error> {
    let fp = fingerprint(stamp, index, params);
    if let Some(map) = load_cached(layout, &stamp.encoder_id, &fp) {
        return Ok(Some(map));
    }
    let (ids, flat) = index.contents();
    let Some(points) = project(ids, flat, index.dim(), params, ctl)? else {
        return Ok(None);
    };
    let map = EmbeddingMap {
        fingerprint: fp,
        points,
    };
    let path = cache_path(layout, &stamp.encoder_id);
    // A cache that cannot be written (a read-only library) costs time, not correctness.
    if let Err(e) = crate::util::replace_atomic(&path, &serde_json::to_vec(&map)?) {
        tracing::warn!("map not cached: {e}");
    }
    Ok(Some(map))
}

/// Project `ids.len()` vectors of `dim` floats (`flat`, row after row) to 2-D points in `0..=1`.
/// `Ok(None)` when `ctl` was cancelled. Deterministic for `params.seed`.
pub fn project(
    ids: &[i64],
    flat: &[f32],
    dim: usize,
    params: &MapParams,
    ctl: &JobControl,
) -> Result<Option<Vec<MapPoint>>, Error> {
    let n = ids.len();
    if flat.len() != n * dim {
        return Err(Error::Invalid(format!(
            "map: {} floats for {n} vectors of {dim}",
            flat.len()
        )));
    }
    if n == 0 {
        return Ok(Some(Vec::new()));
    }
    ctl.report("map", 0, 100);
    let p = params.pca_dims.clamp(2, dim.max(2));
    let reduced = pca(flat, n, dim, p, params.seed);
    if ctl.is_cancelled() {
        return Ok(None);
    }
    ctl.report("map", 5, 100);
    let k = params.neighbours.clamp(1, 100).min(n - 1);
    let pos = if k == 0 {
        vec![[0.0f32; 2]; n]
    } else {
        let knn = exact_knn(&reduced, n, p, k);
        if ctl.is_cancelled() {
            return Ok(None);
        }
        ctl.report("map", 20, 100);
        let graph = fuzzy_graph(&knn, n, k);
        let epochs = match params.epochs {
            0 if n <= 5000 => 500,
            0 => 200,
            e => e,
        };
        let init = initial_layout(&reduced, n, p, params.seed);
        match layout(init, &graph, epochs, params.seed, ctl) {
            Some(pos) => pos,
            None => return Ok(None),
        }
    };
    ctl.report("map", 100, 100);
    Ok(Some(normalise(ids, &pos)))
}

/// Centre the rows and project them on their top `p` principal axes (`n × p`, strongest first).
fn pca(flat: &[f32], n: usize, dim: usize, p: usize, seed: u64) -> Vec<f32> {
    let mean: Vec<f32> = {
        let sum = flat
            .par_chunks(dim * 256)
            .map(|block| {
                let mut s = vec![0.0f64; dim];
                for row in block.chunks_exact(dim) {
                    s.iter_mut().zip(row).for_each(|(a, b)| *a += f64::from(*b));
                }
                s
            })
            .reduce(
                || vec![0.0; dim],
                |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
            );
        sum.iter().map(|s| (s / n as f64) as f32).collect()
    };
    let l = (p + PCA_OVERSAMPLE).min(dim);
    // Basis rows (l × dim), random to start.
    let mut basis: Vec<f32> = (0..l * dim)
        .map(|i| gauss(mix(seed ^ mix(0x9CA ^ i as u64))))
        .collect();
    orthonormalise(&mut basis, dim);
    let step = n.div_ceil(PCA_SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let row = |i: usize| &flat[i * dim..(i + 1) * dim];
    // Rows are centred implicitly: (x - mean)·b = x·b - mean·b, with mean·b computed once per axis.
    let mean_along =
        |basis: &[f32]| -> Vec<f32> { basis.chunks_exact(dim).map(|b| dot_f32(&mean, b)).collect() };
    let project_row = |r: &[f32], basis: &[f32], mb: &[f32], out: &mut [f32]| {
        for (c, o) in out.iter_mut().enumerate() {
            *o = dot_f32(r, &basis[c * dim..(c + 1) * dim]) - mb[c];
        }
    };
    for _ in 0..PCA_ITERATIONS {
        // basis ← orth((Xᵀ X) basisᵀ) over the centred sample.
        let mb = mean_along(&basis);
        let grown = sample
            .par_chunks(64)
            .map(|chunk| {
                let mut acc = vec![0.0f32; l * dim];
                let mut y = vec![0.0f32; l];
                for &i in chunk {
                    project_row(row(i), &basis, &mb, &mut y);
                    for (c, &yc) in y.iter().enumerate() {
                        let a = &mut acc[c * dim..(c + 1) * dim];
                        a.iter_mut()
                            .zip(row(i).iter().zip(&mean))
                            .for_each(|(a, (x, m))| *a += yc * (x - m));
                    }
                }
                acc
            })
            .reduce(
                || vec![0.0; l * dim],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        basis = grown;
        orthonormalise(&mut basis, dim);
    }
    let mb = mean_along(&basis);
    let mut z = vec![0.0f32; n * l];
    z.par_chunks_mut(l)
        .enumerate()
        .for_each(|(i, out)| project_row(row(i), &basis, &mb, out));
    // Rotate within the subspace to the principal axes, strongest first.
    let mut cov = vec![0.0f64; l * l];
    for r in z.chunks_exact(l) {
        for a in 0..l {
            for b in a..l {
                cov[a * l + b] += f64::from(r[a]) * f64::from(r[b]);
            }
        }
    }
    for a in 0..l {
        for b in 0..a {
            cov[a * l + b] = cov[b * l + a];
        }
    }
    let (values, vectors) = jacobi_eigen(cov, l);
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let keep = p.min(l);
    let mut out = vec![0.0f32; n * p];
    out.par_chunks_mut(p).zip(z.par_chunks(l)).for_each(|(o, r)| {
        for (c, &axis) in order.iter().take(keep).enumerate() {
            o[c] = (0..l).map(|a| r[a] * vectors[a * l + axis] as f32).sum();
        }
    });
    out
}

/// Modified Gram–Schmidt on the rows of `m` (each `dim` long); a row that vanishes stays zero.
fn orthonormalise(m: &mut [f32], dim: usize) {
    let rows = m.len() / dim;
    for r in 0..rows {
        let (done, rest) = m.split_at_mut(r * dim);
        let v = &mut rest[..dim];
        for q in done.chunks_exact(dim) {
            let d = dot_f32(v, q);
            v.iter_mut().zip(q).for_each(|(a, b)| *a -= d * b);
        }
        let norm = dot_f32(v, v).sqrt();
        let scale = if norm > 1e-20 { 1.0 / norm } else { 0.0 };
        v.iter_mut().for_each(|a| *a *= scale);
    }
}

/// Eigen-decomposition of a symmetric `l × l` matrix by cyclic Jacobi rotations: (values,
/// vectors as columns of a row-major matrix).
fn jacobi_eigen(mut a: Vec<f64>, l: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0f64; l * l];
    (0..l).for_each(|i| v[i * l + i] = 1.0);
    for _sweep in 0..50 {
        let off: f64 = (0..l)
            .flat_map(|i| (0..l).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * l + j] * a[i * l + j])
            .sum();
        let diag: f64 = (0..l).map(|i| a[i * l + i] * a[i * l + i]).sum();
        if off <= 1e-22 * diag.max(1e-300) {
            break;
        }
        for p in 0..l {
            for q in p + 1..l {
                let apq = a[p * l + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * l + q] - a[p * l + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..l {
                    let (akp, akq) = (a[k * l + p], a[k * l + q]);
                    a[k * l + p] = c * akp - s * akq;
                    a[k * l + q] = s * akp + c * akq;
                }
                for k in 0..l {
                    let (apk, aqk) = (a[p * l + k], a[q * l + k]);
                    a[p * l + k] = c * apk - s * aqk;
                    a[q * l + k] = s * apk + c * aqk;
                }
                for k in 0..l {
                    let (vkp, vkq) = (v[k * l + p], v[k * l + q]);
                    v[k * l + p] = c * vkp - s * vkq;
                    v[k * l + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..l).map(|i| a[i * l + i]).collect(), v)
}

/// The `k` nearest rows of every row (itself excluded): `n × k` (index, Euclidean distance),
/// nearest first, ties broken by index so the graph does not depend on the thread count.
fn exact_knn(z: &[f32], n: usize, p: usize, k: usize) -> Vec<(u32, f32)> {
    let norms: Vec<f32> = z.chunks_exact(p).map(|r| dot_f32(r, r)).collect();
    let mut out = vec![(0u32, 0.0f32); n * k];
    out.par_chunks_mut(k).enumerate().for_each(|(i, best)| {
        let zi = &z[i * p..(i + 1) * p];
        let mut found: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
        let mut worst = f32::INFINITY;
        for j in 0..n {
            if j == i {
                continue;
            }
            let d = (norms[i] + norms[j] - 2.0 * dot_f32(zi, &z[j * p..(j + 1) * p])).max(0.0);
            if found.len() == k && d >= worst {
                continue;
            }
            let at = found.partition_point(|&(fd, fj)| (fd, fj) < (d, j as u32));
            found.insert(at, (d, j as u32));
            found.truncate(k);
            if found.len() == k {
                worst = found[k - 1].0;
            }
        }
        for (slot, (d, j)) in best.iter_mut().zip(found) {
            *slot = (j, d.sqrt());
        }
    });
    out
}

/// The symmetric fuzzy neighbour graph in CSR form: `offsets` (n + 1), `targets`, `weights`.
struct Graph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f32>,
}

/// UMAP's membership strengths: each point's neighbours weigh `exp(-(d - ρ) / σ)` with ρ its
/// nearest distance and σ chosen so the weights sum to log₂ k; then `a + b - ab` symmetrises.
fn fuzzy_graph(knn: &[(u32, f32)], n: usize, k: usize) -> Graph {
    let target = (k as f32).log2().max(1e-3);
    let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(2 * n * k);
    for i in 0..n {
        let row = &knn[i * k..(i + 1) * k];
        let rho = row.iter().map(|r| r.1).find(|&d| d > 0.0).unwrap_or(0.0);
        let total = |sigma: f32| -> f32 { row.iter().map(|r| (-(r.1 - rho).max(0.0) / sigma).exp()).sum() };
        let (mut lo, mut hi, mut sigma) = (0.0f32, f32::INFINITY, 1.0f32);
        for _ in 0..64 {
            let s = total(sigma);
            if (s - target).abs() < 1e-5 {
                break;
            }
            if s > target {
                hi = sigma;
                sigma = (lo + hi) / 2.0;
            } else {
                lo = sigma;
                sigma = if hi.is_finite() {
                    (lo + hi) / 2.0
                } else {
                    sigma * 2.0
                };
            }
        }
        let sigma = sigma
            .max(1e-3 * row.iter().map(|r| r.1).sum::<f32>() / k as f32)
            .max(1e-12);
        for &(j, d) in row {
            let w = (-(d - rho).max(0.0) / sigma).exp();
            edges.push((i as u32, j, w));
            edges.push((j, i as u32, w));
        }
    }
    edges.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    let mut offsets = vec![0usize; n + 1];
    let (mut targets, mut weights) = (Vec::new(), Vec::new());
    let mut e = 0;
    while e < edges.len() {
        let (i, j, a) = edges[e];
        let mut w = a;
        if edges.get(e + 1).is_some_and(|x| x.0 == i && x.1 == j) {
            let b = edges[e + 1].2;
            w = a + b - a * b;
            e += 1;
        }
        e += 1;
        targets.push(j);
        weights.push(w);
        offsets[i as usize + 1] = targets.len();
    }
    for i in 1..=n {
        offsets[i] = offsets[i].max(offsets[i - 1]);
    }
    Graph {
        offsets,
        targets,
        weights,
    }
}

/// The first two principal components scaled to ±[`INIT_EXTENT`], with a tiny jitter so that
/// identical vectors can separate.
fn initial_layout(z: &[f32], n: usize, p: usize, seed: u64) -> Vec<[f32; 2]> {
    let max = z
        .chunks_exact(p)
        .fold(0.0f32, |m, r| m.max(r[0].abs()).max(r[1].abs()));
    let scale = if max > 0.0 { INIT_EXTENT / max } else { 0.0 };
    (0..n)
        .map(|i| {
            let h = mix(seed ^ mix(0x1A17 ^ i as u64));
            let jitter = |bits: u64| ((bits & 0xFFFF) as f32 / 65536.0 - 0.5) * 1e-3 * INIT_EXTENT;
            [
                z[i * p] * scale + jitter(h),
                z[i * p + 1] * scale + jitter(h >> 16),
            ]
        })
        .collect()
}

/// UMAP-style SGD with negative sampling on the Cauchy kernel `1 / (1 + d²)`. Edge `e` is sampled
/// every `w_max / w_e` epochs (stateless: whenever that period's multiple is crossed). `None` when
/// cancelled.
fn layout(
    mut pos: Vec<[f32; 2]>,
    g: &Graph,
    epochs: usize,
    seed: u64,
    ctl: &JobControl,
) -> Option<Vec<[f32; 2]>> {
    let n = pos.len();
    let w_max = g.weights.iter().copied().fold(0.0f32, f32::max);
    if w_max <= 0.0 || n < 2 {
        return Some(pos);
    }
    // Edges too weak to be sampled even once are dropped, as UMAP does.
    let period: Vec<f32> = g
        .weights
        .iter()
        .map(|&w| {
            if w * epochs as f32 >= w_max {
                w_max / w
            } else {
                f32::INFINITY
            }
        })
        .collect();
    let mut next = pos.clone();
    for epoch in 0..epochs {
        if epoch % 10 == 0 {
            if ctl.is_cancelled() {
                return None;
            }
            ctl.report("map", 20 + (80 * epoch / epochs) as u64, 100);
        }
        let alpha = 1.0 - epoch as f32 / epochs as f32;
        let (t0, t1) = (epoch as f32, epoch as f32 + 1.0);
        next.par_iter_mut().enumerate().for_each(|(i, out)| {
            let mut p = pos[i];
            for e in g.offsets[i]..g.offsets[i + 1] {
                let per = period[e];
                if (t1 / per).floor() <= (t0 / per).floor() {
                    continue;
                }
                let q = pos[g.targets[e] as usize];
                let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
                let d2 = dx * dx + dy * dy;
                let coef = -2.0 / (1.0 + d2);
                p[0] += (coef * dx).clamp(-CLIP, CLIP) * alpha;
                p[1] += (coef * dy).clamp(-CLIP, CLIP) * alpha;
                let mut h = mix(seed ^ mix((epoch as u64) << 32 ^ e as u64));
                for _ in 0..NEGATIVES {
                    h = mix(h);
                    let j = (((h >> 32) * n as u64) >> 32) as usize;
                    if j == i {
                        continue;
                    }
                    let q = pos[j];
                    let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
                    let d2 = dx * dx + dy * dy;
                    if d2 <= 0.0 {
                        continue;
                    }
                    let coef = 2.0 / ((0.001 + d2) * (1.0 + d2));
                    p[0] += (coef * dx).clamp(-CLIP, CLIP) * alpha;
                    p[1] += (coef * dy).clamp(-CLIP, CLIP) * alpha;
                }
            }
            *out = p;
        });
        std::mem::swap(&mut pos, &mut next);
    }
    Some(pos)
}

/// Scale and centre the layout into `0..=1`, keeping its aspect ratio (the longer side spans it).
fn normalise(ids: &[i64], pos: &[[f32; 2]]) -> Vec<MapPoint> {
    let finite = |v: f32| if v.is_finite() { v } else { 0.0 };
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in pos {
        for a in 0..2 {
            lo[a] = lo[a].min(finite(p[a]));
            hi[a] = hi[a].max(finite(p[a]));
        }
    }
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let scale = if extent > 0.0 { 1.0 / extent } else { 0.0 };
    let offset = [
        0.5 - (hi[0] - lo[0]) * scale / 2.0,
        0.5 - (hi[1] - lo[1]) * scale / 2.0,
    ];
    ids.iter()
        .zip(pos)
        .map(|(&id, p)| MapPoint {
            id,
            x: ((finite(p[0]) - lo[0]) * scale + offset[0]).clamp(0.0, 1.0),
            y: ((finite(p[1]) - lo[1]) * scale + offset[1]).clamp(0.0, 1.0),
        })
        .collect()
}

/// A standard-normal-ish number from 64 random bits (Box–Muller on two 32-bit halves).
fn gauss(bits: u64) -> f32 {
    let u1 = ((bits >> 32) as f64 + 1.0) / 4_294_967_297.0;
    let u2 = (bits & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
