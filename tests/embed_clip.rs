//! CLIP image tower against Hugging Face transformers (golden vectors from `tools/clip/make_golden.py`:
//! images of the model's input size, and others that go through the processor's bicubic resize), plus
//! the loader's refusals: a missing tensor and a missing folder must be clear errors.

use std::path::{Path, PathBuf};

use raiox::embed::clip::{self, ClipImageEncoder, ClipVisionConfig};
use raiox::embed::Encoder;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embed/clip")
}

struct Golden {
    files: Vec<PathBuf>,
    embeddings: Vec<Vec<f64>>,
    weights_sha256: String,
    dim: usize,
    tolerance: f64,
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("expected.json parses");
    let images = v["images"].as_array().expect("images");
    assert!(images.len() >= 3, "golden set too small");
    let resized = images
        .iter()
        .filter(|i| i["resized"].as_bool() == Some(true))
        .count();
    assert!(
        resized >= 1 && resized < images.len(),
        "golden set must cover both input paths"
    );
    Golden {
        files: images
            .iter()
            .map(|i| fixtures().join(i["file"].as_str().unwrap()))
            .collect(),
        embeddings: images
            .iter()
            .map(|i| {
                i["embedding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect(),
        weights_sha256: v["weights_sha256"].as_str().unwrap().to_string(),
        dim: v["dim"].as_u64().unwrap() as usize,
        tolerance: v["tolerance_max_abs"].as_f64().unwrap(),
    }
}

fn load_gray(path: &Path) -> image::GrayImage {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        img.color(),
        image::ColorType::L8,
        "{} must be 8-bit gray",
        path.display()
    );
    img.into_luma8()
}

/// Largest |a - b| over all components of all images.
fn max_abs_diff(got: &[Vec<f32>], want: &[Vec<f64>]) -> f64 {
    assert_eq!(got.len(), want.len(), "one vector per image");
    got.iter()
        .zip(want)
        .flat_map(|(g, w)| {
            assert_eq!(g.len(), w.len(), "vector length");
            g.iter().zip(w).map(|(a, b)| (f64::from(*a) - b).abs())
        })
        .fold(0.0, f64::max)
}

fn assert_matches_golden(encoder: &ClipImageEncoder, g: &Golden) {
    let images: Vec<_> = g.files.iter().map(|p| load_gray(p)).collect();
    let got = encoder.embed(&images).expect("embed");
    let err = max_abs_diff(&got, &g.embeddings);
    eprintln!("max abs difference to transformers: {err:.3e}");
    assert!(
        err <= g.tolerance,
        "max abs difference {err:e} > {:e}",
        g.tolerance
    );
    for v in &got {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "not unit length: {norm}");
    }
}

/// Copy the tiny model into a temporary folder (to be altered by a test).
fn temp_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for f in [clip::WEIGHTS_FILE, clip::CONFIG_FILE] {
        std::fs::copy(fixtures().join("tiny").join(f), dir.path().join(f)).expect("copy");
    }
    dir
}

#[test]
fn tiny_tower_matches_transformers() {
    let g = golden();
    let encoder = clip::load_dir(&fixtures().join("tiny")).expect("load tiny model");
    assert_eq!(encoder.dim(), g.dim);
    assert_eq!(encoder.id(), "clip-vit-2x64-p8-s32-d32");
    assert_eq!(encoder.weights_sha256(), g.weights_sha256);
    assert_eq!(encoder.preprocess_version(), 1);
    assert_matches_golden(&encoder, &g);
}

#[test]
fn batch_order_and_single_images_agree() {
    let g = golden();
    let encoder = clip::load_dir(&fixtures().join("tiny")).expect("load");
    let mut images: Vec<_> = g.files.iter().map(|p| load_gray(p)).collect();
    images.reverse();
    let batch = encoder.embed(&images).expect("embed");
    for (i, img) in images.iter().enumerate() {
        let single = encoder.embed(std::slice::from_ref(img)).expect("embed one");
        let want: Vec<f64> = batch[i].iter().map(|&x| f64::from(x)).collect();
        assert!(
            max_abs_diff(&single, &[want]) < 1e-5,
            "image {i} differs alone vs in a batch"
        );
    }
    assert!(encoder.embed(&[]).expect("empty batch").is_empty());
}

#[test]
fn full_clip_model_layout_loads_the_same_tower() {
    // A full CLIPModel checkpoint: nested `vision_config`, top-level `projection_dim`, and extra
    // text-tower tensors that must be ignored.
    let g = golden();
    let dir = temp_copy();
    std::fs::copy(
        fixtures().join("full-config.json"),
        dir.path().join(clip::CONFIG_FILE),
    )
    .expect("copy");
    let weights = dir.path().join(clip::WEIGHTS_FILE);
    let dev = candle_core::Device::Cpu;
    let mut tensors = candle_core::safetensors::load(&weights, &dev).expect("load safetensors");
    tensors.insert(
        "text_model.embeddings.token_embedding.weight".into(),
        candle_core::Tensor::zeros((100, 32), candle_core::DType::F32, &dev).unwrap(),
    );
    tensors.insert(
        "logit_scale".into(),
        candle_core::Tensor::new(2.6592f32, &dev).unwrap(),
    );
    candle_core::safetensors::save(&tensors, &weights).expect("save safetensors");
    let encoder = clip::load_dir(dir.path()).expect("load full layout");
    assert_eq!(encoder.dim(), g.dim);
    assert_matches_golden(&encoder, &g);
}

#[test]
fn half_precision_weights_are_converted() {
    // Checkpoints are often stored as f16; the loader converts to f32 (agreement then ~1e-3).
    let dir = temp_copy();
    let weights = dir.path().join(clip::WEIGHTS_FILE);
    let dev = candle_core::Device::Cpu;
    let tensors = candle_core::safetensors::load(&weights, &dev).expect("load");
    let half: std::collections::HashMap<_, _> = tensors
        .into_iter()
        .map(|(k, t)| (k, t.to_dtype(candle_core::DType::F16).unwrap()))
        .collect();
    candle_core::safetensors::save(&half, &weights).expect("save");
    let g = golden();
    let encoder = clip::load_dir(dir.path()).expect("load f16");
    let images: Vec<_> = g.files.iter().map(|p| load_gray(p)).collect();
    let err = max_abs_diff(&encoder.embed(&images).unwrap(), &g.embeddings);
    eprintln!("f16 weights: max abs difference {err:.3e}");
    assert!(err < 2e-2, "f16 weights too far off: {err}");
}

#[test]
fn missing_class_embedding_is_refused_by_name() {
    let dir = temp_copy();
    let weights = dir.path().join(clip::WEIGHTS_FILE);
    let dev = candle_core::Device::Cpu;
    let mut tensors = candle_core::safetensors::load(&weights, &dev).expect("load");
    assert!(tensors
        .remove("vision_model.embeddings.class_embedding")
        .is_some());
    candle_core::safetensors::save(&tensors, &weights).expect("save");
    let err = clip::load_dir(dir.path()).expect_err("must refuse").to_string();
    eprintln!("{err}");
    assert!(err.contains("vision_model.embeddings.class_embedding"), "{err}");
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains("raiox models fetch clip"), "{err}");
}

#[test]
fn misshapen_tensor_is_refused() {
    let dir = temp_copy();
    let weights = dir.path().join(clip::WEIGHTS_FILE);
    let dev = candle_core::Device::Cpu;
    let mut tensors = candle_core::safetensors::load(&weights, &dev).expect("load");
    let name = "visual_projection.weight";
    let t = tensors[name].narrow(0, 0, 16).unwrap();
    tensors.insert(name.into(), t);
    candle_core::safetensors::save(&tensors, &weights).expect("save");
    let err = clip::load_dir(dir.path()).expect_err("must refuse").to_string();
    assert!(err.contains(name) && err.contains("shape"), "{err}");
}

#[test]
fn missing_or_malformed_files_say_how_to_get_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("nothing-here");
    let err = clip::load_dir(&absent).expect_err("missing folder").to_string();
    eprintln!("{err}");
    assert!(err.contains("raiox models fetch clip"), "{err}");
    assert!(err.contains("nothing-here"), "{err}");

    let copy = temp_copy();
    std::fs::remove_file(copy.path().join(clip::WEIGHTS_FILE)).unwrap();
    let err = clip::load_dir(copy.path())
        .expect_err("missing weights")
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("raiox models fetch clip"),
        "{err}"
    );

    let copy = temp_copy();
    std::fs::write(copy.path().join(clip::WEIGHTS_FILE), b"<html>not found</html>").unwrap();
    let err = clip::load_dir(copy.path())
        .expect_err("malformed weights")
        .to_string();
    eprintln!("{err}");
    assert!(
        err.contains("model.safetensors") && err.contains("safetensors"),
        "{err}"
    );
    assert!(err.contains("raiox models fetch clip"), "{err}");

    let copy = temp_copy();
    std::fs::write(copy.path().join(clip::CONFIG_FILE), b"{ not json").unwrap();
    let err = clip::load_dir(copy.path())
        .expect_err("malformed config")
        .to_string();
    assert!(err.contains("config.json"), "{err}");
}

#[test]
fn configs_parse_like_transformers() {
    // transformers' default CLIPConfig, as saved by transformers: the ViT-B/32 architecture.
    let text = std::fs::read_to_string(fixtures().join("vit-b32-config.json")).unwrap();
    let c = ClipVisionConfig::from_json(&text).expect("parse");
    assert_eq!(c, ClipVisionConfig::vit_b32());
    assert_eq!(c.encoder_id(), "clip-vit-b32");
    assert_eq!(c.projection_dim, 512);
    // Fields left out take transformers' defaults.
    let c = ClipVisionConfig::from_json(r#"{"model_type": "clip_vision_model"}"#).unwrap();
    assert_eq!(c.encoder_id(), "clip-vit-b32");
    // Full config: the top-level projection_dim wins over the vision section's.
    let c =
        ClipVisionConfig::from_json(r#"{"projection_dim": 256, "vision_config": {"projection_dim": 512}}"#)
            .unwrap();
    assert_eq!(c.projection_dim, 256);
    assert_ne!(c.encoder_id(), "clip-vit-b32");
    // Settings Candle cannot honour are refused, not ignored.
    assert!(ClipVisionConfig::from_json(r#"{"hidden_act": "gelu"}"#).is_err());
    assert!(ClipVisionConfig::from_json(r#"{"layer_norm_eps": 1e-6}"#).is_err());
    assert!(ClipVisionConfig::from_json(r#"{"num_attention_heads": 5}"#).is_err());
    // The real tower needs 12 layers x 16 tensors + 8 others.
    assert_eq!(ClipVisionConfig::vit_b32().required_tensors().len(), 12 * 16 + 8);
}

#[test]
fn preprocessing_is_openai_clip_normalisation() {
    let encoder = clip::load_dir(&fixtures().join("tiny")).expect("load");
    let s = encoder.config().image_size as u32;
    let img = image::GrayImage::from_fn(s, s, |x, _| image::Luma([if x == 0 { 0 } else { 255 }]));
    let t = encoder.preprocess(&[img]).unwrap();
    assert_eq!(t.dims(), &[1, 3, s as usize, s as usize]);
    let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let plane = (s * s) as usize;
    for c in 0..3 {
        let black = (0.0 - clip::CLIP_MEAN[c]) / clip::CLIP_STD[c];
        let white = (1.0 - clip::CLIP_MEAN[c]) / clip::CLIP_STD[c];
        assert!((v[c * plane] - black).abs() < 1e-6);
        assert!((v[c * plane + 1] - white).abs() < 1e-6);
    }
    // Other sizes are resized and centre-cropped to the model's input size.
    let wide = image::GrayImage::from_fn(3 * s, 2 * s, |x, y| image::Luma([((x + y) % 256) as u8]));
    assert_eq!(
        encoder.preprocess(&[wide]).unwrap().dims(),
        &[1, 3, s as usize, s as usize]
    );
}

#[test]
fn hub_cache_lookup_follows_refs_main() {
    let hub = tempfile::tempdir().unwrap();
    assert_eq!(clip::find_in_hub_cache(hub.path()), None);
    let repo = hub.path().join("models--openai--clip-vit-base-patch32");
    for snap in ["aaa", "bbb"] {
        let d = repo.join("snapshots").join(snap);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(clip::CONFIG_FILE), "{}").unwrap();
        std::fs::write(d.join(clip::WEIGHTS_FILE), "x").unwrap();
    }
    std::fs::create_dir_all(repo.join("snapshots/ccc")).unwrap(); // incomplete: skipped
    assert_eq!(
        clip::find_in_hub_cache(hub.path()),
        Some(repo.join("snapshots/bbb"))
    );
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "aaa\n").unwrap();
    assert_eq!(
        clip::find_in_hub_cache(hub.path()),
        Some(repo.join("snapshots/aaa"))
    );
}
