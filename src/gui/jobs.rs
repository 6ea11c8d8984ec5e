//! Long jobs as the window sees them: a name, the latest progress, and a cancel flag.
//!
//! Why separate from the worker: the worker runs a job; the window only needs to draw a progress
//! bar with a Cancel button and to list what is running in the status bar. Each job owns the
//! receiving end of its [`JobControl`]'s progress channel, drained once per frame.

use std::sync::mpsc::{self, Receiver};

use crate::gui::worker::Place;
use crate::progress::{JobControl, Progress};

/// One running job.
pub struct Job {
    /// Where it belongs (import, embed).
    pub place: Place,
    /// Shown in the status bar.
    pub title: String,
    /// Cancel flag and progress sender handed to the worker.
    pub ctl: JobControl,
    progress: Receiver<Progress>,
    /// The latest report.
    pub latest: Option<Progress>,
    /// Cancel was pressed.
    pub cancelling: bool,
}

impl Job {
    /// Fraction done, when the total is known.
    pub fn fraction(&self) -> Option<f32> {
        let p = self.latest.as_ref()?;
        (p.total > 0).then(|| p.done as f32 / p.total as f32)
    }

    /// "import 12/40".
    pub fn describe(&self) -> String {
        match &self.latest {
            Some(p) if p.total > 0 => format!("{} {}/{}", p.stage, p.done, p.total),
            Some(p) => format!("{} {}", p.stage, p.done),
            None => format!("{}: starting", self.title),
        }
    }

    /// Ask the worker to stop at its next safe point.
    pub fn cancel(&mut self) {
        self.ctl.cancel();
        self.cancelling = true;
    }
}

/// The running jobs.
#[derive(Default)]
pub struct Jobs {
    /// Oldest first.
    pub running: Vec<Job>,
}

impl Jobs {
    /// Register a job and return the control to hand to the worker.
    pub fn start(&mut self, place: Place, title: &str) -> JobControl {
        let (tx, progress) = mpsc::channel();
        let ctl = JobControl::with_progress(tx);
        self.running.push(Job {
            place,
            title: title.to_string(),
            ctl: ctl.clone(),
            progress,
            latest: None,
            cancelling: false,
        });
        ctl
    }

    /// Drain progress reports (once per frame).
    pub fn poll(&mut self) {
        for job in &mut self.running {
            while let Ok(p) = job.progress.try_recv() {
                job.latest = Some(p);
            }
        }
    }

    /// The oldest running job of `place`, if any.
    pub fn of(&mut self, place: Place) -> Option<&mut Job> {
        self.running.iter_mut().find(|j| j.place == place)
    }

    /// The oldest job of `place` ended.
    pub fn finish(&mut self, place: Place) {
        if let Some(i) = self.running.iter().position(|j| j.place == place) {
            self.running.remove(i);
        }
    }

    /// Cancel everything (closing the window or switching library).
    pub fn cancel_all(&mut self) {
        self.running.iter_mut().for_each(Job::cancel);
    }
}
