//! The machine a run was taken on, and its physical limits for context.
//!
//! Why: a throughput means little without the ceiling it runs under. Embedding is bound by the
//! CPU's floating-point peak (estimated from its FMA width, clock and cores), exact search by memory
//! bandwidth (measured with a plain copy loop on all cores). Both go into the report beside the
//! figures they bound.

use rayon::prelude::*;
use serde::Serialize;

use super::{time_runs, Stats};

/// CPU, memory and the two ceilings.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo`), or "unknown".
    pub cpu: String,
    /// CPU vendor id ("AuthenticAMD", "GenuineIntel", ...).
    pub vendor: String,
    /// Logical cores this process may use.
    pub cores: usize,
    /// Clock in MHz as the kernel reports it (nominal on most VMs).
    pub mhz: f64,
    /// Widest vector extension with FMA: "avx512", "avx2", or "none".
    pub simd: String,
    /// Total RAM in GiB.
    pub ram_gib: f64,
    /// Estimated peak f32 GFLOP/s: FMA datapath lanes × 2 FLOP × 2 FMA pipes × clock × cores.
    pub peak_gflop_per_s: f64,
    /// Copy bandwidth on all cores (bytes read + written per second), GB/s.
    pub copy_gb_per_s: Stats,
}

impl Machine {
    /// Read `/proc/cpuinfo` and `/proc/meminfo` and time the copy loop over two `bytes` buffers.
    pub fn probe(bytes: usize, repeats: usize) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let flags = field(&cpuinfo, "flags").unwrap_or_default();
        let has = |f: &str| flags.split_whitespace().any(|x| x == f);
        let simd = if has("avx512f") {
            "avx512"
        } else if has("avx2") && has("fma") {
            "avx2"
        } else {
            "none"
        };
        let vendor = field(&cpuinfo, "vendor_id").unwrap_or_else(|| "unknown".into());
        let mhz = field(&cpuinfo, "cpu MHz")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let cores = super::measure::cores();
        // AMD's Zen 4 runs AVX-512 on 256-bit datapaths; Intel's server cores have 512-bit FMAs.
        let datapath_bits = match simd {
            "avx512" if vendor != "AuthenticAMD" => 512.0,
            "avx512" | "avx2" => 256.0,
            _ => 128.0,
        };
        let flop_per_cycle = datapath_bits / 32.0 * 2.0 * 2.0;
        let ram_kib: f64 = field(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0.0);
        Machine {
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            vendor,
            cores,
            mhz,
            simd: simd.into(),
            ram_gib: ram_kib / (1024.0 * 1024.0),
            peak_gflop_per_s: flop_per_cycle * mhz * 1e-3 * cores as f64,
            copy_gb_per_s: copy_bandwidth(bytes, repeats),
        }
    }
}

/// GB/s moved by copying one `bytes` buffer into another on all cores (read + write counted).
pub fn copy_bandwidth(bytes: usize, repeats: usize) -> Stats {
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    let chunk = (bytes / (super::measure::cores() * 4)).max(1 << 16);
    let runs = time_runs(repeats, || {
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, s)| d.copy_from_slice(s));
        std::hint::black_box(&dst);
    });
    Stats::rate(&runs, 2.0 * bytes as f64 / 1e9)
}

/// This process's CPU time and resident memory (Linux `/proc/self`; zeros elsewhere), so a
/// measurement can say what it cost besides how long it took.
pub mod process {
    /// User + system CPU seconds used so far by this process (all threads).
    pub fn cpu_s() -> f64 {
        // Fields 14 and 15 of /proc/self/stat, in USER_HZ ticks (100 per second on Linux).
        std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                let after = &s[s.rfind(')')? + 2..];
                let f: Vec<&str> = after.split_whitespace().collect();
                Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
            })
            .unwrap_or(0.0)
    }

    /// Reset the peak to the current size (`clear_refs` 5) and return the current size, MB.
    pub fn reset_peak_rss() -> f64 {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        rss_mb()
    }

    /// The current resident size, MB.
    pub fn rss_mb() -> f64 {
        status_mb("VmRSS:")
    }

    /// The peak resident size since the last reset, MB.
    pub fn peak_rss_mb() -> f64 {
        status_mb("VmHWM:")
    }

    fn status_mb(name: &str) -> f64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn cpu_time_grows_with_work_and_peak_is_at_least_current() {
            let before = super::cpu_s();
            let mut x = 0u64;
            let start = std::time::Instant::now();
            while start.elapsed().as_millis() < 200 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
            if cfg!(target_os = "linux") {
                assert!(super::cpu_s() > before, "CPU time did not grow");
                let now = super::reset_peak_rss();
                assert!(now > 0.0 && super::peak_rss_mb() >= now * 0.9);
            }
        }
    }
}
