//! Progress reporting and cancellation shared by every long core operation.
//!
//! Why: the GUI and the CLI both need a progress bar and a cancel button for import, standardise,
//! embed and sync. Every long core function takes a `&JobControl`; the fronts decide how to show the
//! reports (an indicatif bar, an egui progress bar) and when to cancel. The core never spawns UI.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// One progress report: `done` of `total` units of `stage` finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Short name of the running stage ("import", "synth", ...).
    pub stage: &'static str,
    /// Units finished so far.
    pub done: u64,
    /// Units in all (0 when unknown).
    pub total: u64,
}

/// Cancellation flag plus an optional progress channel, cheap to clone and share across threads.
#[derive(Clone, Default)]
pub struct JobControl {
    cancel: Arc<AtomicBool>,
    progress: Option<Sender<Progress>>,
}

impl JobControl {
    /// A control that nobody watches: never cancelled unless [`JobControl::cancel`] is called.
    pub fn new() -> Self {
        Self::default()
    }

    /// A control whose reports go to `tx` (the receiver may be dropped at any time).
    pub fn with_progress(tx: Sender<Progress>) -> Self {
        Self {
            cancel: Arc::default(),
            progress: Some(tx),
        }
    }

    /// Ask the running job to stop at its next safe point.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for; jobs check this between units of work.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The shared flag, for fronts that cancel from another thread (Ctrl-C, a GUI button).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Send a report; a front that stopped listening is not an error.
    pub fn report(&self, stage: &'static str, done: u64, total: u64) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(Progress { stage, done, total });
        }
    }
}

/// How a long job ended: all work done, or stopped early by a cancel request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every unit was processed.
    Finished,
    /// The job stopped at a safe point after a cancel request; finished units are kept.
    Cancelled,
}
