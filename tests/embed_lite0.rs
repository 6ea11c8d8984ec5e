//! The bundled EfficientNet-Lite0 encoder against golden vectors from the PyTorch reference
//! (`tools/lite0/make_golden.py`), plus the refusal of damaged weights files.

use std::path::{Path, PathBuf};

use raiox::embed::lite0::{self, Lite0Encoder};
use raiox::embed::Encoder;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embed/lite0")
}

fn weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/efficientnet-lite0/model.safetensors")
}

struct Golden {
    weights_sha256: String,
    images: Vec<(image::GrayImage, Vec<f32>, String)>,
}

fn golden() -> Golden {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let images = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let file = e["file"].as_str().unwrap().to_string();
            let img = image::open(fixture_dir().join(&file)).unwrap().to_luma8();
            let v = e["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (img, v, file)
        })
        .collect::<Vec<_>>();
    assert_eq!(images.len(), 4);
    Golden {
        weights_sha256: doc["weights_sha256"].as_str().unwrap().to_string(),
        images,
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn bundled_encoder_matches_pytorch_reference() {
    let enc = Lite0Encoder::bundled().unwrap();
    let g = golden();
    assert_eq!(enc.id(), "lite0-imagenet");
    assert_eq!(enc.dim(), 1280);
    assert_eq!(enc.preprocess_version(), 1);
    assert_eq!(
        enc.weights_sha256(),
        g.weights_sha256,
        "fixtures were made with other weights"
    );

    let imgs: Vec<_> = g.images.iter().map(|(i, _, _)| i.clone()).collect();
    let got = enc.embed(&imgs).unwrap();
    assert_eq!(got.len(), imgs.len());
    for ((_, want, file), v) in g.images.iter().zip(&got) {
        assert_eq!(v.len(), 1280, "{file}");
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{file}: norm {norm}");
        let max_diff = v
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff <= 1e-4, "{file}: max |diff| {max_diff}");
        assert!(cosine(v, want) >= 0.99999, "{file}: cosine {}", cosine(v, want));
    }

    // One image alone gives the same vector as inside a batch.
    let single = enc.embed(&imgs[1..2]).unwrap();
    let d = single[0]
        .iter()
        .zip(&got[1])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(d < 1e-5, "batch vs single: {d}");

    // Different images, different vectors.
    for i in 0..got.len() {
        for j in i + 1..got.len() {
            let c = cosine(&got[i], &got[j]);
            assert!(c < 0.999, "{} vs {}: cosine {c}", g.images[i].2, g.images[j].2);
        }
    }
}

#[test]
fn config_json_matches_the_built_in_architecture() {
    let text = std::fs::read_to_string(weights().with_file_name("config.json")).unwrap();
    let cfg: lite0::Config = serde_json::from_str(&text).unwrap();
    assert_eq!(cfg, lite0::Config::default());
}

#[test]
fn wrong_image_size_is_refused() {
    let enc = Lite0Encoder::bundled().unwrap();
    let err = enc
        .embed(&[image::GrayImage::new(100, 224)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("224") && err.contains("100"), "{err}");
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn truncated_weights_file_is_refused_with_the_fix() {
    let bytes = std::fs::read(weights()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Lite0Encoder::from_file(&path)
        .err()
        .expect("a truncated file must be refused")
        .to_string();
    assert!(err.contains("safetensors"), "{err}");
    assert!(err.contains("tools/lite0/convert.py"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn missing_or_misshapen_tensor_is_named() {
    let device = candle_core::Device::Cpu;
    let mut tensors = candle_core::safetensors::load(weights(), &device).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let running_var = tensors.remove("_blocks.7._bn1.running_var").unwrap();
    let path = dir.path().join("missing.safetensors");
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let err = Lite0Encoder::from_file(&path)
        .err()
        .expect("a missing tensor must be refused")
        .to_string();
    assert!(err.contains("`_blocks.7._bn1.running_var` is missing"), "{err}");
    assert!(err.contains("tools/lite0/convert.py"), "{err}");

    let wrong = candle_core::Tensor::zeros((1280, 321, 1, 1), candle_core::DType::F32, &device).unwrap();
    tensors.insert("_blocks.7._bn1.running_var".into(), running_var);
    tensors.insert("_conv_head.weight".into(), wrong);
    let path = dir.path().join("shape.safetensors");
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let err = Lite0Encoder::from_file(&path)
        .err()
        .expect("a misshapen tensor must be refused")
        .to_string();
    assert!(
        err.contains("`_conv_head.weight` has shape [1280, 321, 1, 1], expected [1280, 320, 1, 1]"),
        "{err}"
    );

    let err = Lite0Encoder::from_file(&dir.path().join("absent.safetensors"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("absent.safetensors"), "{err}");
}
