//! Standard output that survives `| head`, and Ctrl-C that ends a long job with its summary.
//!
//! Why: `println!` panics when the reader of a pipe goes away (`raiox list | head`), and a plain
//! SIGINT kills a long import without telling the curator what was done. Output goes through
//! [`line`] (via `outln!`), which ends the process quietly on a closed pipe; the first Ctrl-C sets
//! the running job's cancel flag, so it finishes the current items and prints its summary, and the
//! process then exits with 130; a second Ctrl-C stops at once.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

use anyhow::Result;
use serde::Serialize;

use raiox::catalogue::images::ImageRecord;
use raiox::library::Library;
use raiox::progress::JobControl;

/// Set by the first Ctrl-C; the process then exits with 130.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The cancel flag of the job running now, if any.
static CURRENT: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// Print one line on standard output; a reader that went away ends the process quietly.
pub fn line(args: fmt::Arguments) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        stdout_failed(&e);
    }
}

/// Standard output failed: a closed pipe is a normal end (exit 0, or 130 after Ctrl-C); anything
/// else is reported.
pub fn stdout_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(exit_status(0));
    }
    eprintln!("error: writing standard output: {e}");
    std::process::exit(exit_status(1));
}

fn exit_status(otherwise: i32) -> i32 {
    if INTERRUPTED.load(Ordering::SeqCst) {
        130
    } else {
        otherwise
    }
}

/// Whether an error is standard output's reader going away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}

/// Backstop for output written with `println!`: its broken-pipe panic ends the process quietly.
pub fn quiet_broken_pipe_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(exit_status(0));
        }
        default(info);
    }));
}

/// While the returned guard lives, Ctrl-C cancels `ctl`'s job instead of killing the process.
pub fn cancel_on_ctrl_c(ctl: &JobControl) -> CtrlCGuard {
    static LISTENER: Once = Once::new();
    LISTENER.call_once(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("ctrl-c".into()).spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                let _ = ready_tx.send(());
                return;
            };
            // Registering the handler replaces SIGINT's default action from here on.
            #[cfg(unix)]
            let signal = {
                let _enter = rt.enter();
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            };
            let _ = ready_tx.send(());
            #[cfg(unix)]
            if let Ok(mut signal) = signal {
                rt.block_on(async {
                    while signal.recv().await.is_some() {
                        interrupted();
                    }
                });
            }
            #[cfg(not(unix))]
            rt.block_on(async {
                while tokio::signal::ctrl_c().await.is_ok() {
                    interrupted();
                }
            });
        });
        if spawned.is_ok() {
            let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(2));
        }
    });
    if let Ok(mut current) = CURRENT.lock() {
        *current = Some(ctl.cancel_flag());
    }
    // A command made of several jobs (`raiox demo`) starts no new one after Ctrl-C.
    if INTERRUPTED.load(Ordering::SeqCst) {
        ctl.cancel();
    }
    CtrlCGuard(())
}

fn interrupted() {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        eprintln!("\ninterrupted again: stopping now");
        std::process::exit(130);
    }
    eprintln!("\ninterrupted: finishing the current items (Ctrl-C again to stop at once)");
    if let Ok(current) = CURRENT.lock() {
        if let Some(flag) = current.as_ref() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

/// Ends Ctrl-C's hold on a job (see [`cancel_on_ctrl_c`]).
pub struct CtrlCGuard(());

impl Drop for CtrlCGuard {
    fn drop(&mut self) {
        if let Ok(mut current) = CURRENT.lock() {
            *current = None;
        }
    }
}

/// Print one value as a JSON line.
pub(super) fn json_line<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub(super) fn print_record(lib: &Library, rec: &ImageRecord, json: bool) -> Result<()> {
    let original = rec.original().map(|(sha, ext)| lib.original_path(sha, ext));
    let standard = lib.standard_path(&rec.standard_sha256);
    if json {
        let mut value = serde_json::to_value(rec)?;
        value["source_name"] = rec.source_name.clone().into();
        value["original_path"] = original.map(|p| p.display().to_string()).into();
        value["standard_path"] = standard.display().to_string().into();
        return json_line(&value);
    }
    outln!("{}", summary_line(rec));
    if let Some(source) = &rec.source_name {
        outln!("  source (local only): {source}");
    }
    if let Some(original) = &original {
        outln!("  original:  {}", original.display());
    }
    outln!("  standard:  {}", standard.display());
    outln!("  technical: {}", serde_json::to_string(&rec.technical)?);
    if let Some(f) = &rec.fixture {
        outln!(
            "  fixture ({}): centre {:.1},{:.1}, width {:.1}, length {:.1}, apex angle {:.1}°; inverted: {}",
            rec.box_source.as_str(),
            f.cx,
            f.cy,
            f.width,
            f.length,
            f.angle_deg,
            rec.inverted
        );
    }
    outln!("  attributes: {}", serde_json::to_string(&rec.attributes)?);
    outln!("  added {}, changed {}", rec.created_at, rec.updated_at);
    Ok(())
}

pub(super) fn summary_line(rec: &ImageRecord) -> String {
    let label = match (&rec.manufacturer, &rec.system) {
        (Some(m), Some(s)) => format!("{m} / {s}"),
        _ => "-".into(),
    };
    let place = match (rec.film_id, rec.aabb) {
        (Some(film), Some(b)) => format!("film {film} at {:.0},{:.0},{:.0},{:.0}", b.x, b.y, b.w, b.h),
        _ => "from production".to_string(),
    };
    format!(
        "#{:<6} {:<10} {:<48} {:<36} {}",
        rec.id,
        rec.status.as_str(),
        rec.name.as_deref().unwrap_or("(unlabelled)"),
        label,
        place
    )
}
