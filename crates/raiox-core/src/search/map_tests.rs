//! Tests of the embedding map: cluster separation, neighbourhood trust, determinism, tiny inputs,
//! placement of queries and the cache's invalidation.

use super::*;
use crate::embed::l2_normalise;
use crate::library::Library;

/// `clusters × per` unit vectors of `dim` floats around random centres (noise `spread` per axis
/// against centres of unit scale per axis), with each vector's cluster.
fn gaussian_clusters(
    clusters: usize,
    per: usize,
    dim: usize,
    spread: f32,
    seed: u64,
) -> (Vec<f32>, Vec<usize>) {
    let centres: Vec<f32> = (0..clusters * dim)
        .map(|i| gauss(mix(seed ^ mix(i as u64))))
        .collect();
    let mut flat = Vec::with_capacity(clusters * per * dim);
    let mut label = Vec::new();
    for i in 0..clusters * per {
        let c = i % clusters;
        let mut v: Vec<f32> = (0..dim)
            .map(|a| centres[c * dim + a] + spread * gauss(mix(seed ^ 0xC0FFEE ^ mix((i * dim + a) as u64))))
            .collect();
        l2_normalise(&mut v);
        flat.extend_from_slice(&v);
        label.push(c);
    }
    (flat, label)
}

fn run(flat: &[f32], dim: usize, params: &MapParams) -> Vec<MapPoint> {
    let ids: Vec<i64> = (0..(flat.len() / dim) as i64).map(|i| i * 3 + 1).collect();
    project(&ids, flat, dim, params, &JobControl::new())
        .expect("project")
        .expect("not cancelled")
}

/// The `k` nearest other rows of row `i` by squared Euclidean distance.
fn nearest(rows: &[Vec<f32>], i: usize, k: usize) -> Vec<usize> {
    let d = |j: usize| -> f32 { rows[i].iter().zip(&rows[j]).map(|(a, b)| (a - b) * (a - b)).sum() };
    let mut order: Vec<usize> = (0..rows.len()).filter(|&j| j != i).collect();
    order.sort_by(|&a, &b| d(a).total_cmp(&d(b)).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// Share of each point's `k` nearest 2-D neighbours that share its cluster.
fn purity(points: &[MapPoint], label: &[usize], k: usize) -> f64 {
    let rows: Vec<Vec<f32>> = points.iter().map(|p| vec![p.x, p.y]).collect();
    let same: usize = (0..rows.len())
        .map(|i| {
            nearest(&rows, i, k)
                .iter()
                .filter(|&&j| label[j] == label[i])
                .count()
        })
        .sum();
    same as f64 / (rows.len() * k) as f64
}

/// Trustworthiness (Venna & Kaski): 1 when every 2-D neighbour is also a high-D neighbour.
fn trustworthiness(flat: &[f32], dim: usize, points: &[MapPoint], k: usize) -> f64 {
    let high: Vec<Vec<f32>> = flat.chunks_exact(dim).map(<[f32]>::to_vec).collect();
    let low: Vec<Vec<f32>> = points.iter().map(|p| vec![p.x, p.y]).collect();
    let n = high.len();
    let mut penalty = 0.0;
    for i in 0..n {
        let rank_of: Vec<usize> = {
            let order = nearest(&high, i, n - 1);
            let mut r = vec![0; n];
            order.iter().enumerate().for_each(|(rank, &j)| r[j] = rank + 1);
            r
        };
        for j in nearest(&low, i, k) {
            penalty += rank_of[j].saturating_sub(k) as f64;
        }
    }
    1.0 - 2.0 / (n as f64 * k as f64 * (2.0 * n as f64 - 3.0 * k as f64 - 1.0)) * penalty
}

#[test]
fn map_keeps_gaussian_clusters_apart() {
    let (flat, label) = gaussian_clusters(10, 50, 128, 1.0, 7);
    let points = run(&flat, 128, &MapParams::default());
    assert_eq!(points.len(), label.len());
    let p = purity(&points, &label, 10);
    let t = trustworthiness(&flat, 128, &points, 10);
    // The same points scattered at random: what a map that ignores the vectors scores.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| mix(i as u64));
    let shuffled: Vec<MapPoint> = order.iter().map(|&i| points[i]).collect();
    let (p0, t0) = (
        purity(&shuffled, &label, 10),
        trustworthiness(&flat, 128, &shuffled, 10),
    );
    eprintln!("purity {p:.3} (shuffled {p0:.3}), trustworthiness {t:.3} (shuffled {t0:.3})");
    assert!(p >= 0.98, "2-D neighbours from the same cluster: {p:.3}");
    // Measured: purity 1.000, trustworthiness 0.976 (a shuffled map: 0.10 and 0.50).
    assert!(t >= 0.93, "trustworthiness {t:.3}");
    assert!(p0 < 0.5 && t0 < 0.7, "the measures must tell a random map apart");
}

#[test]
fn map_is_deterministic_for_a_seed_and_normalised() {
    let (flat, _) = gaussian_clusters(4, 30, 64, 0.5, 3);
    let a = run(&flat, 64, &MapParams::default());
    let b = run(&flat, 64, &MapParams::default());
    assert_eq!(a, b);
    let c = run(
        &flat,
        64,
        &MapParams {
            seed: 9,
            ..MapParams::default()
        },
    );
    assert_ne!(a, c, "another seed gives another layout");
    for p in &a {
        assert!((0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y), "{p:?}");
    }
    let span = |f: fn(&MapPoint) -> f32| {
        let v: Vec<f32> = a.iter().map(f).collect();
        v.iter().copied().fold(0.0f32, f32::max) - v.iter().copied().fold(1.0f32, f32::min)
    };
    assert!(
        (span(|p| p.x).max(span(|p| p.y)) - 1.0).abs() < 1e-5,
        "the longer side spans 0..1"
    );
}

#[test]
fn tiny_inputs_do_not_panic() {
    for n in 0..=3 {
        let flat: Vec<f32> = (0..n * 16).map(|i| gauss(mix(i as u64))).collect();
        let points = run(&flat, 16, &MapParams::default());
        assert_eq!(points.len(), n);
        assert!(points.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    }
    // Identical vectors, and a dimension smaller than the PCA target.
    let same = vec![0.5f32; 5 * 4];
    assert_eq!(run(&same, 4, &MapParams::default()).len(), 5);
    let err = project(&[1, 2], &[0.0; 3], 2, &MapParams::default(), &JobControl::new());
    assert!(matches!(err, Err(Error::Invalid(_))));
}

#[test]
fn cancelled_projection_returns_none() {
    let (flat, _) = gaussian_clusters(2, 20, 16, 0.5, 1);
    let ctl = JobControl::new();
    ctl.cancel();
    let ids: Vec<i64> = (0..40).collect();
    assert!(project(&ids, &flat, 16, &MapParams::default(), &ctl)
        .expect("project")
        .is_none());
}

#[test]
fn a_query_lands_in_its_cluster() {
    let (flat, label) = gaussian_clusters(5, 40, 64, 0.5, 11);
    let items: Vec<(i64, Vec<f32>)> = flat
        .chunks_exact(64)
        .enumerate()
        .map(|(i, v)| (i as i64, v.to_vec()))
        .collect();
    let index = Index::build(items, 64);
    let (ids, flat) = index.contents();
    let points = project(ids, flat, 64, &MapParams::default(), &JobControl::new())
        .expect("project")
        .expect("not cancelled");
    let map = EmbeddingMap {
        fingerprint: String::new(),
        points,
    };
    for c in 0..5 {
        // A fresh member of cluster c: its mates' mean.
        let mut q = vec![0.0f32; 64];
        for (i, v) in flat.chunks_exact(64).enumerate().filter(|(i, _)| label[*i] == c) {
            debug_assert_eq!(label[i], c);
            q.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        l2_normalise(&mut q);
        let at = map.place(&index, &q, 10).expect("placed");
        let nearest_point = map
            .points
            .iter()
            .min_by(|a, b| {
                let d = |p: &MapPoint| (p.x - at[0]).powi(2) + (p.y - at[1]).powi(2);
                d(a).total_cmp(&d(b))
            })
            .expect("points");
        assert_eq!(
            label[nearest_point.id as usize], c,
            "query of cluster {c} placed at {at:?}"
        );
    }
    assert_eq!(place(&map.points, &[]), None);
    assert_eq!(
        place(&map.points, &[(10_000, 0.9)]),
        None,
        "unmapped neighbours place nothing"
    );
    assert_eq!(map.place(&index, &[1.0; 3], 10), None, "wrong dimension");
}

fn stamp() -> ModelStamp {
    ModelStamp {
        encoder_id: "lite0".into(),
        weights_sha256: "ab".repeat(32),
        preprocess_version: 1,
        dim: 16,
    }
}

#[test]
fn cache_is_used_until_the_vectors_change_and_survives_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = Library::open(dir.path().join("lib")).expect("library");
    let layout = lib.layout();
    let (flat, _) = gaussian_clusters(3, 10, 16, 0.5, 5);
    let items = |flat: &[f32]| -> Vec<(i64, Vec<f32>)> {
        flat.chunks_exact(16)
            .enumerate()
            .map(|(i, v)| (i as i64 + 1, v.to_vec()))
            .collect()
    };
    let params = MapParams::default();
    let ctl = JobControl::new();
    let index = Index::build(items(&flat), 16);
    let fp = fingerprint(&stamp(), &index, &params);
    assert!(load_cached(layout, "lite0", &fp).is_none(), "nothing cached yet");
    let first = cached_map(layout, &stamp(), &index, &params, &ctl)
        .expect("map")
        .expect("not cancelled");
    assert_eq!(load_cached(layout, "lite0", &fp), Some(first.clone()));
    // A planted cache entry with the right fingerprint is what the next call returns.
    let mut planted = first.clone();
    planted.points[0].x = 0.123;
    let path = cache_path(layout, "lite0");
    std::fs::write(&path, serde_json::to_vec(&planted).expect("json")).expect("write");
    let again = cached_map(layout, &stamp(), &index, &params, &ctl)
        .expect("map")
        .expect("done");
    assert_eq!(again, planted, "served from the cache");

    // One vector changes (a re-cropped implant, same id): the cache is stale.
    let mut changed = flat.clone();
    changed[0] += 0.01;
    let index2 = Index::build(items(&changed), 16);
    let fp2 = fingerprint(&stamp(), &index2, &params);
    assert_ne!(fp, fp2);
    assert!(load_cached(layout, "lite0", &fp2).is_none());
    let recomputed = cached_map(layout, &stamp(), &index2, &params, &ctl)
        .expect("map")
        .expect("done");
    assert_eq!(recomputed.fingerprint, fp2);
    assert_ne!(recomputed.points[0].x, 0.123);
    // One implant more, another encoder stamp, other parameters: other fingerprints.
    let mut more = items(&flat);
    more.push((99, flat[..16].to_vec()));
    assert_ne!(fingerprint(&stamp(), &Index::build(more, 16), &params), fp);
    let other = ModelStamp {
        weights_sha256: "cd".repeat(32),
        ..stamp()
    };
    assert_ne!(fingerprint(&other, &index, &params), fp);
    assert_ne!(
        fingerprint(&stamp(), &index, &MapParams { seed: 1, ..params }),
        fp
    );

    // Corrupt, truncated and out-of-range files are ignored and the map recomputed.
    let good = serde_json::to_vec(&recomputed).expect("json");
    let mut out_of_range = recomputed.clone();
    out_of_range.points[1].y = 7.0;
    for bad in [
        b"\x00\xffnot json".to_vec(),
        good[..good.len() / 2].to_vec(),
        serde_json::to_vec(&out_of_range).expect("json"),
    ] {
        std::fs::write(&path, &bad).expect("write");
        assert!(load_cached(layout, "lite0", &fp2).is_none());
        let map = cached_map(layout, &stamp(), &index2, &params, &ctl)
            .expect("map")
            .expect("done");
        assert_eq!(map, recomputed);
    }
}
