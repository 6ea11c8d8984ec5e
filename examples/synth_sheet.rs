//! A contact sheet of the synthetic generator (one bare film per system) and its throughput.
//!
//! `cargo run --release --example synth_sheet -- [OUT.png]` writes the sheet (default
//! `synth_sheet.png` in the current folder) and prints how many 400 px films per second
//! `raiox synth` writes on this machine. A picture and a figure, not a check: the generator's tests
//! are in tests/synth.rs.

use raiox::progress::JobControl;
use raiox::synth::{generate, render, systems, SynthOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "synth_sheet.png".into());
    let tile = 400u32;
    let classes = systems();
    let rows = (classes.len() as u32).div_ceil(4);
    let mut sheet = image::GrayImage::new(tile * 4, tile * rows);
    for (i, s) in classes.iter().enumerate() {
        let film = render(s, 0, 2024, tile);
        let (x, y) = ((i as u32 % 4) * tile, (i as u32 / 4) * tile);
        image::imageops::replace(&mut sheet, &film, i64::from(x), i64::from(y));
    }
    sheet.save(&out)?;
    eprintln!("wrote {out}");

    let dir = tempfile::tempdir()?;
    let opts = SynthOptions {
        per_class: 50,
        seed: 1,
        size: 400,
    };
    let start = std::time::Instant::now();
    let report = generate(dir.path(), &opts, &JobControl::new())?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "generate: {} films of 400 px in {secs:.2} s = {:.0} films/s on {} threads",
        report.written,
        report.written as f64 / secs,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    Ok(())
}
