//! Thumbnails: decoded off the UI thread, kept in a bounded least-recently-used texture cache.
//!
//! Why this shape: the grid asks each frame for the thumbnails it shows. Missing ones replace the
//! loader's wish list (so rows scrolled past are never decoded), two loader threads decode and
//! shrink the standard PNGs, and the UI thread only uploads the small results as textures, at most
//! [`UPLOADS_PER_FRAME`] per frame. The cache holds at most [`CAPACITY`] textures, so memory stays
//! flat however large the library is.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

use egui::{ColorImage, TextureHandle, TextureOptions};

use crate::gui::worker::{fit, gray_image};

/// Thumbnail side in pixels.
pub const SIDE: u32 = 112;
/// Textures kept at most.
pub const CAPACITY: usize = 1_500;
/// Textures uploaded per frame at most, so a fast scroll never stalls a frame.
const UPLOADS_PER_FRAME: usize = 48;
/// Loader threads.
const LOADERS: usize = 2;

/// Wanted thumbnails, newest request list first; shared with the loader threads.
#[derive(Default)]
struct Wishes {
    queue: Vec<(i64, PathBuf)>,
    closed: bool,
}

/// The cache and its loaders.
pub struct Thumbs {
    textures: HashMap<i64, (TextureHandle, u64)>,
    in_flight: HashSet<i64>,
    failed: HashSet<i64>,
    wishes: Arc<(Mutex<Wishes>, Condvar)>,
    done: Receiver<(i64, Option<ColorImage>)>,
    frame: u64,
    wanted_now: Vec<(i64, PathBuf)>,
    missing_now: HashSet<i64>,
}

impl Thumbs {
    /// Start the loader threads; `ctx` is woken when thumbnails are ready.
    pub fn new(ctx: &egui::Context) -> Thumbs {
        let wishes: Arc<(Mutex<Wishes>, Condvar)> = Arc::default();
        let (tx, done) = mpsc::channel();
        for n in 0..LOADERS {
            let (wishes, tx, ctx) = (Arc::clone(&wishes), tx.clone(), ctx.clone());
            std::thread::Builder::new()
                .name(format!("raiox-thumbs-{n}"))
                .spawn(move || load_loop(&wishes, &tx, &ctx))
                .expect("spawn thumbnail loader");
        }
        Thumbs {
            textures: HashMap::new(),
            in_flight: HashSet::new(),
            failed: HashSet::new(),
            wishes,
            done,
            frame: 0,
            wanted_now: Vec::new(),
            missing_now: HashSet::new(),
        }
    }

    /// The texture of image `id` if loaded; otherwise it is wished for this frame.
    pub fn get(&mut self, id: i64, path: impl FnOnce() -> PathBuf) -> Option<&TextureHandle> {
        let frame = self.frame;
        match self.textures.get_mut(&id) {
            Some((tex, used)) => {
                *used = frame;
                Some(tex)
            }
            None => {
                self.missing_now.insert(id);
                if !self.in_flight.contains(&id) && !self.failed.contains(&id) {
                    self.wanted_now.push((id, path()));
                }
                None
            }
        }
    }

    /// Once per frame, before drawing: upload what the loaders finished.
    pub fn begin_frame(&mut self, ctx: &egui::Context) {
        self.frame += 1;
        for _ in 0..UPLOADS_PER_FRAME {
            let Ok((id, image)) = self.done.try_recv() else {
                break;
            };
            self.in_flight.remove(&id);
            match image {
                Some(image) => {
                    let tex = ctx.load_texture(format!("thumb-{id}"), image, TextureOptions::LINEAR);
                    self.textures.insert(id, (tex, self.frame));
                }
                None => {
                    self.failed.insert(id);
                }
            }
        }
        if !self.in_flight.is_empty() {
            ctx.request_repaint();
        }
    }

    /// Once per frame, after drawing: hand this frame's wishes to the loaders and evict the least
    /// recently used textures beyond [`CAPACITY`].
    pub fn end_frame(&mut self) {
        let mut wanted = std::mem::take(&mut self.wanted_now);
        let missing = std::mem::take(&mut self.missing_now);
        {
            let (lock, cvar) = &*self.wishes;
            let mut w = lock.lock().expect("thumbnail wishes");
            // Requests not picked up yet and no longer on screen are dropped; the rest keep their turn.
            let mut kept = Vec::new();
            for (id, path) in w.queue.drain(..).rev() {
                if missing.contains(&id) {
                    kept.push((id, path));
                } else {
                    self.in_flight.remove(&id);
                }
            }
            self.in_flight.extend(wanted.iter().map(|(id, _)| *id));
            kept.append(&mut wanted);
            kept.reverse();
            w.queue = kept;
            cvar.notify_all();
        }
        if self.textures.len() > CAPACITY {
            let mut by_age: Vec<(u64, i64)> =
                self.textures.iter().map(|(id, (_, used))| (*used, *id)).collect();
            by_age.sort_unstable();
            let excess = self.textures.len() - CAPACITY;
            for (_, id) in by_age.into_iter().take(excess) {
                self.textures.remove(&id);
            }
        }
    }

    /// Forget everything (another library, or a re-derived standard image of `only`).
    pub fn forget(&mut self, only: Option<i64>) {
        match only {
            Some(id) => {
                self.textures.remove(&id);
                self.failed.remove(&id);
            }
            None => {
                self.textures.clear();
                self.failed.clear();
            }
        }
    }

    /// Textures held now.
    pub fn len(&self) -> usize {
        self.textures.len()
    }

    /// Whether no texture is held.
    pub fn is_empty(&self) -> bool {
        self.textures.is_empty()
    }

    /// Whether thumbnails are still being decoded.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }
}

impl Drop for Thumbs {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.wishes;
        if let Ok(mut w) = lock.lock() {
            w.closed = true;
        }
        cvar.notify_all();
    }
}

fn load_loop(wishes: &(Mutex<Wishes>, Condvar), tx: &Sender<(i64, Option<ColorImage>)>, ctx: &egui::Context) {
    let (lock, cvar) = wishes;
    loop {
        let (id, path) = {
            let mut w = lock.lock().expect("thumbnail wishes");
            loop {
                if w.closed {
                    return;
                }
                if let Some(next) = w.queue.pop() {
                    break next;
                }
                w = cvar.wait(w).expect("thumbnail wishes");
            }
        };
        let image = image::open(&path)
            .ok()
            .map(|img| gray_image(&fit(&img.to_luma8(), SIDE)));
        if tx.send((id, image)).is_err() {
            return;
        }
        ctx.request_repaint();
    }
}
