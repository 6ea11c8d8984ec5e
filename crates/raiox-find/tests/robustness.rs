//! Determinism and degenerate inputs.

mod common;
use image::{GrayImage, Luma};
use raiox_find::{crop_apex_down, find_implants, FoundImplant};

#[test]
fn same_result_twice() {
    let d = common::Drawn {
        px: 150.0,
        py: 140.0,
        angle_deg: 17.0,
        width: 40.0,
        length: 130.0,
        crown: true,
    };
    let f = common::film(&[d]);
    let a = find_implants(&f);
    let b = find_implants(&f);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn degenerate_images_do_not_panic() {
    let imgs = [
        GrayImage::new(0, 0),
        GrayImage::new(1, 1),
        GrayImage::new(1, 500),
        GrayImage::new(500, 1),
        GrayImage::new(17, 17),
        GrayImage::from_pixel(340, 410, Luma([0])),
        GrayImage::from_pixel(340, 410, Luma([255])),
        GrayImage::from_fn(340, 410, |x, _| Luma([if x % 2 == 0 { 0 } else { 255 }])),
        GrayImage::from_fn(3000, 1400, |x, y| Luma([((x * 7 + y * 13) % 256) as u8])),
        GrayImage::from_pixel(4000, 4000, Luma([128])),
        GrayImage::from_fn(20000, 20, |x, y| Luma([((x / 7 + y) % 3 * 120) as u8])),
        GrayImage::from_fn(20, 9000, |x, y| Luma([((x + y / 5) % 2 * 250) as u8])),
        GrayImage::from_fn(2000, 2400, |x, y| {
            Luma([if (x / 40 + y / 300) % 2 == 0 { 250 } else { 60 }])
        }),
    ];
    for img in &imgs {
        let found = find_implants(img);
        for f in &found {
            assert!(f.cx.is_finite() && f.cy.is_finite() && f.length > 0.0);
            let _ = crop_apex_down(img, f, 0.1, 32);
        }
    }
    assert!(find_implants(&imgs[5]).is_empty());
    assert!(find_implants(&imgs[6]).is_empty());
}

#[test]
fn crop_handles_odd_boxes() {
    let film = GrayImage::from_pixel(50, 50, Luma([100]));
    let odd = [
        FoundImplant {
            cx: f32::NAN,
            cy: 1.0,
            width: 1.0,
            length: 1.0,
            angle_deg: 0.0,
            score: 0.0,
        },
        FoundImplant {
            cx: 1e9,
            cy: -1e9,
            width: 0.0,
            length: 0.0,
            angle_deg: 1e9,
            score: 0.0,
        },
        FoundImplant {
            cx: 25.0,
            cy: 25.0,
            width: 10.0,
            length: f32::INFINITY,
            angle_deg: 0.0,
            score: 0.0,
        },
    ];
    for f in &odd {
        let c = crop_apex_down(&film, f, f32::NAN, 16);
        assert_eq!(c.dimensions(), (16, 16));
    }
    assert_eq!(
        crop_apex_down(&GrayImage::new(0, 0), &odd[2], 0.1, 8).dimensions(),
        (8, 8)
    );
    assert_eq!(crop_apex_down(&film, &odd[2], 0.1, 0).dimensions(), (0, 0));
}

#[test]
fn box_geometry_follows_the_convention() {
    let f = FoundImplant {
        cx: 100.0,
        cy: 100.0,
        width: 20.0,
        length: 60.0,
        angle_deg: 0.0,
        score: 1.0,
    };
    assert_eq!(f.apex_point(), (100.0, 130.0));
    let (x, y, w, h) = f.aabb();
    assert!((x - 90.0).abs() < 1e-3 && (y - 70.0).abs() < 1e-3);
    assert!((w - 20.0).abs() < 1e-3 && (h - 60.0).abs() < 1e-3);
    let up = FoundImplant {
        angle_deg: 180.0,
        ..f
    };
    let (ax, ay) = up.apex_point();
    assert!((ax - 100.0).abs() < 1e-3 && (ay - 70.0).abs() < 1e-3);
    let left = FoundImplant { angle_deg: 90.0, ..f };
    let (ax, ay) = left.apex_point();
    assert!((ax - 70.0).abs() < 1e-3 && (ay - 100.0).abs() < 1e-3);
    let (_, _, w, h) = left.aabb();
    assert!((w - 60.0).abs() < 1e-3 && (h - 20.0).abs() < 1e-3);
}
