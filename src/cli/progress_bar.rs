//! A progress bar on stderr (only when it is a terminal) fed by a job's [`JobControl`] channel.

use std::io::IsTerminal;
use std::sync::mpsc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use raiox::progress::JobControl;

/// Run `job` with a control whose progress drives a bar and which Ctrl-C cancels; the job may
/// print through the bar.
pub fn run_with_bar<T, E>(
    what: &str,
    job: impl FnOnce(&JobControl, &ProgressBar) -> Result<T, E>,
) -> Result<T, E> {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    let (tx, rx) = mpsc::channel();
    let ctl = JobControl::with_progress(tx);
    let _ctrl_c = super::output::cancel_on_ctrl_c(&ctl);
    let result = std::thread::scope(|s| {
        let watcher = bar.clone();
        s.spawn(move || {
            for p in rx {
                watcher.set_length(p.total);
                watcher.set_position(p.done);
            }
        });
        let result = job(&ctl, &bar);
        drop(ctl);
        result
    });
    bar.finish_and_clear();
    result
}
