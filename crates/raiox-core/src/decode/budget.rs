//! The decode memory budget: one allowance of bytes shared by every decoder in the process.
//!
//! Why: the per-file limits bound one image (a 16 000 × 7 400 16-bit RGBA PNG of under 1 MB still
//! needs over a gigabyte to decode), but an import decodes one file per core, so a few such files
//! at once would multiply that by the number of cores. Each decode first reserves its estimated
//! peak from this budget and waits while the budget is spent; a file larger than the whole budget
//! runs alone, so memory stays under max(budget, the largest single file).

use std::io::Cursor;
use std::sync::{Condvar, Mutex, OnceLock};

use image::ImageDecoder;

/// Default budget (bytes) when `RAIOX_DECODE_MEMORY_MB` is not set.
const DEFAULT_BUDGET: u64 = 1536 << 20;

/// A shared allowance of bytes.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes held from a [`Budget`]; given back when dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> Budget {
        Budget {
            total: total.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// The process-wide budget of the decoders (`RAIOX_DECODE_MEMORY_MB`, default 1536 MB).
    pub fn decoders() -> &'static Budget {
        static BUDGET: OnceLock<Budget> = OnceLock::new();
        BUDGET.get_or_init(|| {
            let mb = std::env::var("RAIOX_DECODE_MEMORY_MB")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&mb| mb > 0);
            Budget::new(mb.map_or(DEFAULT_BUDGET, |mb| mb << 20))
        })
    }

    /// Wait until `bytes` fit (capped at the whole budget, so an oversized request runs alone).
    pub fn reserve(&self, bytes: u64) -> Reservation<'_> {
        let bytes = bytes.min(self.total);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used + bytes > self.total {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += bytes;
        Reservation { budget: self, bytes }
    }

    /// Bytes reserved right now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The budget's size.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|p| p.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// Estimated peak memory to decode and standardise these file bytes, read from the header only:
/// the decoder's own buffer plus the gray and floating-point working copies.
pub fn footprint(bytes: &[u8]) -> u64 {
    if super::dicom::looks_like_dicom(bytes) {
        // Dental DICOM is mostly uncompressed 16-bit: the pixels are about the file's size.
        return bytes.len() as u64 * 8 + (16 << 20);
    }
    let decoder = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_decoder().ok());
    match decoder {
        Some(d) => {
            let (w, h) = d.dimensions();
            let pixels = u64::from(w) * u64::from(h);
            pixels * (u64::from(d.color_type().bytes_per_pixel()) + 10)
        }
        None => bytes.len() as u64 * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn concurrent_reservations_never_exceed_the_budget_and_big_ones_run_alone() {
        let budget = Budget::new(1000);
        let peak = AtomicU64::new(0);
        let alone_ok = AtomicU64::new(1);
        std::thread::scope(|s| {
            for i in 0..8u64 {
                let (budget, peak, alone_ok) = (&budget, &peak, &alone_ok);
                s.spawn(move || {
                    for j in 0..20u64 {
                        let want = if (i + j) % 7 == 0 { 5000 } else { 300 };
                        let r = budget.reserve(want);
                        let now = budget.in_use();
                        peak.fetch_max(now, Ordering::SeqCst);
                        if want > 1000 && now != 1000 {
                            alone_ok.store(0, Ordering::SeqCst);
                        }
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        drop(r);
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 1000);
        assert_eq!(
            alone_ok.load(Ordering::SeqCst),
            1,
            "an oversized decode shared the budget"
        );
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn footprint_reads_the_header_of_a_huge_sparse_png() {
        // 16 000 × 7 400 16-bit RGBA: tiny file, over a gigabyte to decode.
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, 16_000, 7_400);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Sixteen);
            let mut w = enc.write_header().unwrap();
            let row = vec![0u8; 16_000 * 8];
            let mut stream = w.stream_writer().unwrap();
            for _ in 0..7_400 {
                std::io::Write::write_all(&mut stream, &row).unwrap();
            }
            stream.finish().unwrap();
        }
        assert!(png.len() < 4 << 20, "{}", png.len());
        assert!(footprint(&png) > 1 << 30, "{}", footprint(&png));
    }
}
