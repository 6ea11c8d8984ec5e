//! Standardisation as a curator relies on it: deterministic 224×224 inputs without metadata, film
//! polarity handled, the fixture turned apex-down, and a box change that re-derives only the
//! implant it concerns.

mod common;

use std::io::Cursor;

use common::{fixtures, json_lines, raiox};
use raiox::decode::{decode, DecodeLimits, Decoded, Gray};
use raiox::standardise::{develop, encode_png, standardise_implant, Fixture, Params, Standardised};
use raiox::synth::{render, systems};

fn decoded(img: image::GrayImage) -> Decoded {
    let png = encode_png(&img).unwrap();
    decode(&png, &DecodeLimits::default()).unwrap()
}

/// A box over the middle of a film (standardisation does not depend on the finder here).
fn middle(side: u32) -> Fixture {
    let s = side as f32;
    Fixture {
        cx: s / 2.0,
        cy: s / 2.0,
        width: s * 0.2,
        length: s * 0.5,
        angle_deg: 0.0,
    }
}

/// Develop a film and standardise its middle; also says whether the film was taken as inverted.
fn standardise_middle(d: &Decoded, side: u32) -> (Standardised, bool) {
    let film = develop(d, None).unwrap();
    (
        standardise_implant(&film, &middle(side), &Params::default()).unwrap(),
        film.inverted,
    )
}

/// Mean absolute difference of two images of the same size, in gray levels.
fn mean_abs_diff(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.len() as f64
}

/// PNG chunk types in order.
fn chunks(png: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 8;
    while i + 8 <= png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        out.push(String::from_utf8_lossy(&png[i + 4..i + 8]).into_owned());
        i += 12 + len;
    }
    out
}

#[test]
fn output_is_a_bare_224_gray_png_and_deterministic() {
    let film = decoded(render(&systems()[0], 3, 42, 400));
    let (a, _) = standardise_middle(&film, 400);
    let (b, _) = standardise_middle(&film, 400);
    assert_eq!(a.png, b.png, "same input and parameters give the same bytes");
    let img = image::load(Cursor::new(&a.png), image::ImageFormat::Png).unwrap();
    assert_eq!(
        (img.width(), img.height(), img.color()),
        (224, 224, image::ColorType::L8)
    );
    assert_eq!(chunks(&a.png), ["IHDR", "IDAT", "IEND"], "no metadata chunks");
}

#[test]
fn an_inverted_film_is_detected_and_gives_the_same_model_input() {
    let mut differences = Vec::new();
    for (i, system) in systems().iter().enumerate() {
        let film = render(system, i, 7, 320);
        let mut negative = film.clone();
        image::imageops::invert(&mut negative);
        let (normal, normal_inverted) = standardise_middle(&decoded(film), 320);
        let (inverted, inverted_inverted) = standardise_middle(&decoded(negative), 320);
        // The generator makes some films inverted itself: whichever way a film comes, its negative
        // must be judged the other way round and give the same model input.
        assert_ne!(
            normal_inverted, inverted_inverted,
            "{}: polarity of film vs negative",
            system.system
        );
        differences.push(mean_abs_diff(&normal.image, &inverted.image));
    }
    assert!(
        differences.iter().all(|d| *d < 12.0),
        "mean abs differences {differences:?}"
    );
}

#[test]
fn dicom_monochrome1_comes_out_with_metal_bright() {
    // A MONOCHROME1 raster stores metal as low values: after standardisation it must be bright.
    let film = render(&systems()[2], 1, 3, 256);
    let stored = image::ImageBuffer::from_fn(256, 256, |x, y| {
        image::Luma([(255 - film.get_pixel(x, y).0[0]) as u16 * 16])
    });
    let mono1 = Decoded {
        gray: Gray::U16(stored),
        format: "dicom",
        monochrome1: true,
        technical: Default::default(),
    };
    let (direct, _) = standardise_middle(&decoded(film), 256);
    let (out, out_inverted) = standardise_middle(&mono1, 256);
    assert!(
        !out_inverted,
        "the photometric interpretation already fixed the polarity"
    );
    let diff = mean_abs_diff(&direct.image, &out.image);
    assert!(diff < 12.0, "mean abs difference {diff}");
}

#[test]
fn exif_orientation_and_16_bit_tiff_are_honoured() {
    let bytes = std::fs::read(fixtures().join("awkward/exif_orientation_6.jpg")).unwrap();
    let raw = image::load_from_memory(&bytes).unwrap();
    let d = decode(&bytes, &DecodeLimits::default()).unwrap();
    assert_eq!(
        d.gray.dimensions(),
        (raw.height(), raw.width()),
        "orientation 6 turns the stored image"
    );
    let bytes = std::fs::read(fixtures().join("awkward/gray16.tif")).unwrap();
    assert!(matches!(
        decode(&bytes, &DecodeLimits::default()).unwrap().gray,
        Gray::U16(_)
    ));
}

#[test]
fn an_upper_jaw_implant_comes_out_apex_down_like_a_lower_jaw_one() {
    // The same film turned upside down: its implant points apex-up; with the box's angle turned
    // too, the model input is the same picture (up to resampling).
    let film = render(&systems()[1], 2, 5, 320);
    let upside_down = image::imageops::rotate180(&film);
    let lower = middle(320);
    let upper = Fixture {
        angle_deg: 180.0,
        ..lower
    };
    let a = standardise_implant(
        &develop(&decoded(film), Some(false)).unwrap(),
        &lower,
        &Params::default(),
    )
    .unwrap();
    let b = standardise_implant(
        &develop(&decoded(upside_down), Some(false)).unwrap(),
        &upper,
        &Params::default(),
    )
    .unwrap();
    let diff = mean_abs_diff(&a.image, &b.image);
    assert!(diff < 3.0, "mean abs difference {diff}");
    // And a box outside the film is refused with a reason, never a panic.
    let off = Fixture { cx: 5000.0, ..lower };
    let film = develop(&decoded(render(&systems()[1], 2, 5, 320)), None).unwrap();
    let err = standardise_implant(&film, &off, &Params::default()).unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
}

#[test]
fn changing_one_box_rederives_only_that_implant() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 1, 2, 300);
    assert!(raiox(&lib, &["import", synth.to_str().unwrap()]).status.success());
    let before = json_lines(&raiox(&lib, &["list", "--json"]));
    let target = before
        .iter()
        .find(|r| r["box_source"] == "finder")
        .expect("the finder found implants on synthetic films");
    let id = target["id"].as_i64().unwrap().to_string();
    // The curator nudges the box: 6 px right, 4 px longer at the bottom.
    let b = &target["box"];
    let f = |k: &str| b[k].as_f64().unwrap();
    let nudged = format!("{},{},{},{}", f("x") + 6.0, f("y"), f("w"), f("h") + 4.0);
    let out = raiox(&lib, &["box", &id, "--set", &nudged, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = json_lines(&raiox(&lib, &["list", "--json"]));
    for (b, a) in before.iter().zip(&after) {
        if a["id"] == target["id"] {
            assert_ne!(a["standard_sha256"], b["standard_sha256"]);
            let got: Vec<f64> = ["x", "y", "w", "h"]
                .iter()
                .map(|k| a["box"][k].as_f64().unwrap())
                .collect();
            let want: Vec<f64> = nudged.split(',').map(|v| v.parse().unwrap()).collect();
            // The apex keeps its side; the box is the rectangle asked for (to 0.1 px).
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 0.15, "{got:?} vs {want:?}");
            }
            assert_eq!(a["box_source"], "manual");
            assert_eq!(a["film_sha256"], b["film_sha256"]);
        } else {
            assert_eq!(
                a["standard_sha256"], b["standard_sha256"],
                "implant {} untouched",
                a["id"]
            );
            assert_eq!(a["updated_at"], b["updated_at"]);
        }
    }
    // Back to the finder's box gives the original bytes again; the stale file is gone.
    assert!(raiox(&lib, &["box", &id, "--find"]).status.success());
    let back = json_lines(&raiox(&lib, &["show", &id, "--json"]));
    assert_eq!(back[0]["standard_sha256"], target["standard_sha256"]);
    assert_eq!(back[0]["box_source"], "finder");
    let check = json_lines(&raiox(&lib, &["check", "--json"]));
    assert_eq!(check[0]["damaged"].as_array().unwrap().len(), 0);
    assert_eq!(
        check[0]["swept"]["orphans"], 0,
        "the old standard image was removed, not left behind"
    );
    // A box outside the film is refused with a reason.
    let out = raiox(&lib, &["box", &id, "--set", "5000,5000,10,10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside"));
}

#[test]
fn the_same_file_gives_the_same_standard_images_in_any_library() {
    let dir = tempfile::tempdir().unwrap();
    let synth = common::synth_set(dir.path(), 1, 1, 300);
    let shas = |lib: &str| {
        let lib = dir.path().join(lib);
        assert!(raiox(&lib, &["import", synth.to_str().unwrap(), "--no-embed"])
            .status
            .success());
        json_lines(&raiox(&lib, &["list", "--json"]))
            .iter()
            .map(|r| r["standard_sha256"].clone())
            .collect::<Vec<_>>()
    };
    let a = shas("a");
    assert!(!a.is_empty());
    assert_eq!(a, shas("b"));
}

#[test]
fn restandardise_rederives_only_stale_images_unless_asked_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let synth = common::synth_set(dir.path(), 1, 6, 200);
    assert!(raiox(&lib, &["import", synth.to_str().unwrap(), "--no-embed"])
        .status
        .success());
    let before = json_lines(&raiox(&lib, &["list", "--json"]));
    let out = json_lines(&raiox(&lib, &["restandardise", "--json"]));
    assert_eq!(
        out[0]["restandardised"], 0,
        "images made by this pipeline version are current"
    );
    let out = json_lines(&raiox(&lib, &["restandardise", "--all", "--json"]));
    assert_eq!(out[0]["restandardised"], before.len());
    let after = json_lines(&raiox(&lib, &["list", "--json"]));
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            a["standard_sha256"], b["standard_sha256"],
            "deterministic re-derivation"
        );
    }
}
