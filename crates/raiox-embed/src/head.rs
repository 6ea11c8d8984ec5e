//! Learning a head from the curators' labels: a linear projection of one encoder's frozen vectors,
//! trained with Candle on the CPU so implants of one system gather and different systems part.
//!
//! Why a normalised-softmax (proxy) loss: with one learned centre per system, each step compares a
//! batch with every system at once, which converges in seconds where pair or triplet mining needs
//! many passes; cosine logits keep the space the one the searcher measures in. Why linear: at a
//! dozen examples per system a deeper head fits the training implants and identifies new ones
//! worse; whether even the linear one helps is measured on held-out labels before it is used.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::Serialize;

use raiox_core::catalogue::{heads, settings};
use raiox_core::embed::Encoder;
use raiox_core::library::Library;
use raiox_core::progress::JobControl;
use raiox_core::search::head::{held_out_top1, split, Head, HeldOut};
use raiox_core::search::identify::Searcher;
use raiox_core::synth::rng::mix;
use raiox_core::util::sha256_hex;
use raiox_core::Error;

/// How a head is trained (the defaults are what `raiox learn` uses).
#[derive(Debug, Clone, Serialize)]
pub struct TrainOptions {
    /// Dimension of the head's space.
    pub out_dim: usize,
    /// Passes over the training implants (at least).
    pub epochs: usize,
    /// Optimiser steps at least (small libraries take more passes).
    pub min_steps: usize,
    /// Implants per step.
    pub batch: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Cosine logit scale (the softmax's inverse temperature).
    pub scale: f64,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            out_dim: 128,
            epochs: 40,
            min_steps: 300,
            batch: 128,
            lr: 3e-3,
            weight_decay: 1e-4,
            scale: 16.0,
            seed: 17,
        }
    }
}

fn candle(e: candle_core::Error) -> Error {
    Error::Invalid(format!("training the head: {e}"))
}

/// A seeded standard normal value (Box–Muller on two SplitMix64 draws).
fn normal(seed: u64, i: u64) -> f32 {
    let u = |k: u64| {
        ((mix(seed ^ mix(i.wrapping_mul(2).wrapping_add(k))) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    ((-2.0 * u(0).ln()).sqrt() * (std::f64::consts::TAU * u(1)).cos()) as f32
}

/// Rows scaled to unit length.
fn unit_rows(t: &Tensor) -> candle_core::Result<Tensor> {
    let norm = t.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.affine(1.0, 1e-6)?;
    t.broadcast_div(&norm)
}

/// Train a head on `x` (`labels.len()` rows of `in_dim` unit vectors) with system indices
/// `labels`; returns its `in_dim × out_dim` weights, row-major.
pub fn train(
    x: &[f32],
    labels: &[u32],
    in_dim: usize,
    opts: &TrainOptions,
    ctl: &JobControl,
) -> Result<Vec<f32>, Error> {
    let n = labels.len();
    if n == 0 || x.len() != n * in_dim {
        return Err(Error::Invalid(format!(
            "training the head needs {n} vectors of {in_dim} values, got {} values",
            x.len()
        )));
    }
    let classes = labels.iter().max().map_or(0, |m| *m as usize + 1);
    let dev = Device::Cpu;
    // A scaled Gaussian projection keeps cosines roughly as they are (Johnson–Lindenstrauss), so
    // training starts from the frozen vectors' own geometry.
    let scale = 1.0 / (opts.out_dim as f32).sqrt();
    let init: Vec<f32> = (0..in_dim * opts.out_dim)
        .map(|i| normal(opts.seed, i as u64) * scale)
        .collect();
    let w = Var::from_tensor(&Tensor::from_vec(init, (in_dim, opts.out_dim), &dev).map_err(candle)?)
        .map_err(candle)?;
    let xs = Tensor::from_slice(x, (n, in_dim), &dev).map_err(candle)?;
    let ys = Tensor::from_slice(labels, n, &dev).map_err(candle)?;
    // Each system's centre starts at the mean of its training implants in the initial space.
    let z0 = unit_rows(&xs.matmul(w.as_tensor()).map_err(candle)?).map_err(candle)?;
    let z0v: Vec<Vec<f32>> = z0.to_vec2().map_err(candle)?;
    let mut centres = vec![0.0f32; classes * opts.out_dim];
    for (row, &c) in z0v.iter().zip(labels) {
        let at = c as usize * opts.out_dim;
        centres[at..at + opts.out_dim]
            .iter_mut()
            .zip(row)
            .for_each(|(a, b)| *a += b);
    }
    let p = Var::from_tensor(&Tensor::from_vec(centres, (classes, opts.out_dim), &dev).map_err(candle)?)
        .map_err(candle)?;
    let params = ParamsAdamW {
        lr: opts.lr,
        weight_decay: opts.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut opt = AdamW::new(vec![w.clone(), p.clone()], params).map_err(candle)?;
    let batch = opts.batch.max(1);
    let epochs = opts.epochs.max(opts.min_steps.div_ceil(n.div_ceil(batch)));
    for epoch in 0..epochs {
        if ctl.is_cancelled() {
            return Err(Error::Invalid("training the head was cancelled".into()));
        }
        ctl.report("learn", epoch as u64, epochs as u64);
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| mix(opts.seed ^ mix((epoch as u64) << 32 | i as u64)));
        for chunk in order.chunks(batch) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &dev).map_err(candle)?;
            let step = || -> candle_core::Result<Tensor> {
                let xb = xs.index_select(&idx, 0)?;
                let yb = ys.index_select(&idx, 0)?;
                let z = unit_rows(&xb.matmul(w.as_tensor())?)?;
                let c = unit_rows(p.as_tensor())?;
                let logits = (z.matmul(&c.t()?)? * opts.scale)?;
                candle_nn::loss::cross_entropy(&logits, &yb)
            };
            let loss = step().map_err(candle)?;
            opt.backward_step(&loss).map_err(candle)?;
        }
    }
    let weights = w
        .as_tensor()
        .to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(candle)?;
    if weights.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "training the head diverged (non-finite weights)".into(),
        ));
    }
    Ok(weights)
}

/// Share of each system's labelled implants held out to judge a head.
pub const HELD_OUT: f64 = 0.25;
/// Seed of the held-out split.
pub const SPLIT_SEED: u64 = 2024;

/// What `raiox learn` did.
#[derive(Debug, Clone, Serialize)]
pub struct LearnReport {
    /// The stored head's version.
    pub head: i64,
    /// The encoder whose vectors it projects.
    pub encoder: String,
    /// Labelled implants trained on.
    pub trained_on: usize,
    /// Systems.
    pub systems: usize,
    /// Held-out identification with the encoder's own vectors.
    pub before: HeldOut,
    /// Held-out identification with the head.
    pub after: HeldOut,
    /// Whether searches now use the head (only when it did better on the held-out implants).
    pub active: bool,
    /// Training time in seconds.
    pub seconds: f64,
    /// How it was trained.
    pub options: TrainOptions,
    /// SHA-256 of the labels it learnt from (implant, manufacturer, system), so that
    /// [`refresh`] knows whether they changed since.
    pub labels: String,
}

impl LearnReport {
    /// One line for a person, the same in the window and after a labelled import (no arrow:
    /// the window's font has none).
    pub fn summary(&self) -> String {
        format!(
            "learned from {} labelled implants of {} systems (head {}): held-out identification from {:.1} % to {:.1} % ({})",
            self.trained_on,
            self.systems,
            self.head,
            100.0 * self.before.system_top1,
            100.0 * self.after.system_top1,
            if self.active { "now in use" } else { "not better, not used" }
        )
    }
}

/// Neighbours in the vote a head is judged with, as `raiox learn` and identification default to.
pub const VOTE_K: usize = 10;

/// Library setting: `off` after `raiox learn --off`, so that [`refresh`] does not switch a head
/// back on behind the curator's back; `raiox learn` clears it.
pub const AUTO_LEARN: &str = "learn.auto";

/// The labels a head is trained on, as one hash.
fn label_fingerprint(searcher: &Searcher) -> String {
    let lines: Vec<String> = searcher
        .labelled_ids()
        .into_iter()
        .filter_map(|id| searcher.label_of(id).map(|(m, s)| format!("{id}\t{m}\t{s}\n")))
        .collect();
    sha256_hex(lines.concat().as_bytes())
}

/// Keep the library's head in step with its labels: train one (as [`learn`] does, switched on
/// only if it identifies held-out implants better) when the labelled implants changed since the
/// encoder's newest head. Nothing happens when heads were switched off, when there are too few
/// labels to judge a head, or when nothing changed.
///
/// Why automatic: identification with a head trained on the library's own labels is several
/// points better at a dozen implants per system, and a curator who imports a labelled set
/// should not need to know a command to get it.
pub fn refresh(
    lib: &mut Library,
    encoder: &dyn Encoder,
    k: usize,
    opts: &TrainOptions,
    ctl: &JobControl,
) -> Result<Option<LearnReport>, Error> {
    if settings::get(lib.conn(), AUTO_LEARN)?.as_deref() == Some("off") {
        return Ok(None);
    }
    let frozen = Searcher::open_frozen(lib, encoder)?;
    let fingerprint = label_fingerprint(&frozen);
    let same = heads::latest_report(lib.conn(), &frozen.stamp().head_key())?
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
        .is_some_and(|r| r.get("labels").and_then(|v| v.as_str()) == Some(fingerprint.as_str()));
    if same {
        return Ok(None);
    }
    match Labelled::of(&frozen) {
        Some(labelled) => learn_on(lib, frozen, labelled, encoder, k, opts, ctl).map(Some),
        None => Ok(None),
    }
}

/// The labelled implants a head learns from: the seeded split and the systems.
struct Labelled {
    train: Vec<i64>,
    held: Vec<i64>,
    systems: Vec<(String, String)>,
}

impl Labelled {
    /// The split, or `None` when the labels cannot judge a head (fewer than two systems, or no
    /// system with three implants to hold one out).
    fn of(frozen: &Searcher) -> Option<Labelled> {
        let (train, held) = split(frozen, HELD_OUT, SPLIT_SEED);
        let systems = frozen.systems();
        (systems.len() >= 2 && !held.is_empty()).then_some(Labelled { train, held, systems })
    }
}

/// Train a head on the library's labelled implants (all but a seeded quarter of each system),
/// compare identification of the held-out quarter with and without it (a `k`-vote), store it, and
/// switch it on only if it did better.
pub fn learn(
    lib: &mut Library,
    encoder: &dyn Encoder,
    k: usize,
    opts: &TrainOptions,
    ctl: &JobControl,
) -> Result<LearnReport, Error> {
    settings::set(lib.conn(), AUTO_LEARN, "on")?;
    let frozen = Searcher::open_frozen(lib, encoder)?;
    let labelled = Labelled::of(&frozen).ok_or_else(|| {
        Error::Invalid(
            "learning needs labelled implants of at least two systems, three or more of one".into(),
        )
    })?;
    learn_on(lib, frozen, labelled, encoder, k, opts, ctl)
}

/// [`learn`] on the encoder's vectors already loaded and split.
fn learn_on(
    lib: &mut Library,
    mut frozen: Searcher,
    labelled: Labelled,
    encoder: &dyn Encoder,
    k: usize,
    opts: &TrainOptions,
    ctl: &JobControl,
) -> Result<LearnReport, Error> {
    let labels = label_fingerprint(&frozen);
    let Labelled {
        train: train_ids,
        held,
        systems,
    } = labelled;
    let dim = frozen.index.dim();
    let mut x = Vec::with_capacity(train_ids.len() * dim);
    let mut y = Vec::with_capacity(train_ids.len());
    for &id in &train_ids {
        let (Some(v), Some((m, s))) = (frozen.index.vector(id), frozen.label_of(id)) else {
            continue;
        };
        let Some(c) = systems.iter().position(|t| t.0 == m && t.1 == s) else {
            continue;
        };
        x.extend_from_slice(v);
        y.push(c as u32);
    }
    let before = held_out_top1(&mut frozen, &held, k);
    let started = Instant::now();
    let weights = train(&x, &y, dim, opts, ctl)?;
    let seconds = started.elapsed().as_secs_f64();
    let head = Head {
        id: 0,
        in_dim: dim,
        out_dim: opts.out_dim,
        weights,
    };
    let head_key = frozen.stamp().head_key();
    let mut with = frozen.with_head(head.clone());
    let after = held_out_top1(&mut with, &held, k);
    let mut report = LearnReport {
        head: 0,
        encoder: encoder.id().to_string(),
        trained_on: y.len(),
        systems: systems.len(),
        before,
        after,
        active: after.system_top1 > before.system_top1,
        seconds,
        options: opts.clone(),
        labels,
    };
    let json = serde_json::to_string(&report)?;
    report.head = heads::insert(
        lib.conn_mut(),
        &head_key,
        dim,
        opts.out_dim,
        &head.weights,
        &json,
        report.active,
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors of `classes` systems whose identity lies in a few directions while a few
    /// other directions vary much more, whatever the system (as film, crown and contrast vary
    /// around implants), plus a little noise everywhere.
    fn data(classes: usize, per: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for c in 0..classes {
            for s in 0..per {
                let key = seed ^ mix((c * 1000 + s) as u64);
                let mut v: Vec<f32> = (0..dim).map(|i| 0.1 * normal(key, i as u64)).collect();
                v[c] += 1.0;
                for (i, value) in v.iter_mut().enumerate().skip(classes).take(8) {
                    *value += 2.0 * normal(key ^ 99, i as u64);
                }
                let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
                x.extend(v.iter().map(|a| a / n));
                y.push(c as u32);
            }
        }
        (x, y)
    }

    /// 1-nearest-neighbour accuracy of `test` against `train` after mapping both with `f`.
    fn nn_accuracy(
        train: &(Vec<f32>, Vec<u32>),
        test: &(Vec<f32>, Vec<u32>),
        dim: usize,
        f: &dyn Fn(&[f32]) -> Vec<f32>,
    ) -> f64 {
        let tr: Vec<Vec<f32>> = train.0.chunks(dim).map(f).collect();
        let right = test
            .0
            .chunks(dim)
            .zip(&test.1)
            .filter(|(q, label)| {
                let q = f(q);
                let best = tr
                    .iter()
                    .enumerate()
                    .max_by(|a, b| {
                        let d = |v: &Vec<f32>| v.iter().zip(&q).map(|(x, y)| x * y).sum::<f32>();
                        d(a.1).total_cmp(&d(b.1))
                    })
                    .map(|(i, _)| train.1[i]);
                best == Some(**label)
            })
            .count();
        right as f64 / test.1.len() as f64
    }

    #[test]
    fn a_trained_head_identifies_unseen_implants_better_and_is_reproducible() {
        let dim = 96;
        let train_set = data(6, 12, dim, 1);
        let test_set = data(6, 20, dim, 2);
        let opts = TrainOptions {
            out_dim: 32,
            ..TrainOptions::default()
        };
        let ctl = JobControl::new();
        let w = train(&train_set.0, &train_set.1, dim, &opts, &ctl).unwrap();
        let head = Head {
            id: 0,
            in_dim: dim,
            out_dim: 32,
            weights: w.clone(),
        };
        let before = nn_accuracy(&train_set, &test_set, dim, &|v| v.to_vec());
        let after = nn_accuracy(&train_set, &test_set, dim, &|v| head.project(v));
        assert!(
            after >= before + 0.2,
            "held-out 1-NN accuracy {before:.2} -> {after:.2}"
        );
        assert_eq!(
            train(&train_set.0, &train_set.1, dim, &opts, &ctl).unwrap(),
            w,
            "same seed, same head"
        );
        let projected = head.project(&test_set.0[..dim]);
        let norm: f32 = projected.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "projections are unit vectors");
        // Bad input is an error, not a panic.
        assert!(train(&train_set.0[1..], &train_set.1, dim, &opts, &ctl).is_err());
        assert!(train(&[], &[], dim, &opts, &ctl).is_err());
    }
}
