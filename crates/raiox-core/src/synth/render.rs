//! One film from (system, sample, seed, size, kind): pose the scene, rasterise it, develop the film.

use super::types::{FilmKind, SynthFilm, SynthSystem};
use super::{film, rng, scene};

/// Render one bare film (deterministic) — used by tests and benchmarks without touching disk.
pub fn render(system: &SynthSystem, sample: usize, seed: u64, size: u32) -> image::GrayImage {
    render_film(system, sample, seed, size, FilmKind::Bare).image
}

/// Render one film of `kind` with the truth about its implants; a pure function of its
/// arguments. `size` is the side of a bare film and the height of a restored one.
pub fn render_film(system: &SynthSystem, sample: usize, seed: u64, size: u32, kind: FilmKind) -> SynthFilm {
    let key = rng::name_key(&[system.manufacturer, system.system]);
    let mut rng = rng::Rng::for_film(seed, key, sample);
    let (scene, film, (width, height), panoramic) = match kind {
        FilmKind::Bare => {
            let scene = scene::Scene::random(system, &mut rng, size);
            (scene, film::Film::random(&mut rng), (size, size), false)
        }
        FilmKind::Restored => {
            let panoramic = rng.chance(0.125);
            let dims = if panoramic {
                (size.saturating_mul(2), size)
            } else {
                (((u64::from(size) * 340 + 205) / 410) as u32, size)
            };
            let scene = scene::Scene::restored(system, &mut rng, dims.0, dims.1, panoramic);
            (scene, film::Film::random_upright(&mut rng), dims, panoramic)
        }
    };
    let mut image = film.develop(scene.rasterise(width, height), width, height, &mut rng);
    if kind == FilmKind::Restored && !panoramic && rng.chance(0.5) {
        film::rounded_frame(&mut image, &mut rng);
    }
    SynthFilm {
        image,
        implants: scene.truth(width, height),
    }
}
