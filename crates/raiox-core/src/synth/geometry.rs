//! Implant geometry: per-system shape parameters and the analytic silhouette evaluated per pixel.
//!
//! Coordinates are millimetres in the implant frame: `u` across the axis, `v` along it, `v = 0` at
//! the platform (top of the collar) and `v = length` at the apex tip; an external hex sits at v < 0.

/// Thread cross-section as seen in silhouette: what makes systems differ at the edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Thread {
    /// Symmetric triangular thread.
    V,
    /// Steep coronal face, long apical flank.
    Buttress,
    /// Trapezoid with a flat crest (square / reverse-buttress family).
    Square,
    /// Smoothed triangular thread.
    Round,
}

impl Thread {
    /// Thread height in [0, 1] at phase `p` in [0, 1) of one pitch.
    fn profile(self, p: f32) -> f32 {
        match self {
            Thread::V => 1.0 - (2.0 * p - 1.0).abs(),
            Thread::Buttress if p < 0.15 => p / 0.15,
            Thread::Buttress => (1.0 - p) / 0.85,
            Thread::Square => ((0.5 - (p - 0.5).abs()) * 8.0 - 1.0).clamp(0.0, 1.0),
            Thread::Round => {
                let t = 1.0 - (2.0 * p - 1.0).abs();
                t * t * (3.0 - 2.0 * t)
            }
        }
    }
}

/// How the collar radius changes from its bottom (body) to its top (platform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollarShape {
    /// Constant offset from the body radius (machined collar).
    Straight,
    /// Quadratic flare to a wide shoulder (transmucosal tulip collar).
    Flared,
    /// Linear change, narrowing towards the platform when the offset is negative.
    Tapered,
}

/// Apex (tip) outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Apex {
    /// Hemispherical dome.
    Round,
    /// Flat tip with small rounded corners.
    Flat,
    /// Cone with a small rounded point.
    Pointed,
}

/// Radiolucent windows cut through or into the body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Vent {
    /// None.
    None,
    /// Through-hole (oval window) centred at `at` × length, half-sizes in mm.
    Hole { at: f32, half_w: f32, half_h: f32 },
    /// Open cutting chamber from the tip upwards (partial density), `offset` off the axis as a
    /// fraction of the apex core radius.
    Chamber { offset: f32, half_w: f32, height: f32 },
}

/// Shape parameters of one implant system (mm unless noted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Geometry {
    /// Nominal length from the platform to the apex tip.
    pub length: f32,
    /// Core (root-of-thread) radius at the top of the threaded body.
    pub core_top: f32,
    /// Core radius where the apex begins.
    pub core_apex: f32,
    /// Fraction of the threaded body that is parallel before the taper starts.
    pub taper_from: f32,
    /// Thread pitch and depth.
    pub pitch: f32,
    pub depth: f32,
    pub thread: Thread,
    /// Collar height, radius offset at its top relative to the body's outer radius, and outline.
    pub collar_h: f32,
    pub collar_delta: f32,
    pub collar: CollarShape,
    /// Micro-threads on the collar (pitch / 3, shallow).
    pub micro: bool,
    pub apex: Apex,
    pub apex_len: f32,
    pub vent: Vent,
    /// External hex height and radius as a fraction of `core_top` (0 height: none).
    pub hex_h: f32,
    pub hex_r: f32,
    /// Internal connection: depth, radius as a fraction of `core_top`, and conicity (0 = parallel).
    pub socket_depth: f32,
    pub socket_r: f32,
    pub socket_taper: f32,
}

impl Geometry {
    /// Depth below the platform where the bone crest sits: the foot of a transmucosal (flared)
    /// collar for tissue-level systems, just below the platform for bone-level ones.
    pub(crate) fn bone_level(&self) -> f32 {
        if self.collar == CollarShape::Flared {
            self.collar_h
        } else {
            0.3
        }
    }
}

/// Attenuation of solid titanium along a full diameter, in film units (saturates the film).
const TITANIUM: f32 = 3.3;

/// One implant instance: a system's geometry scaled to this film's length and diameter.
pub(crate) struct Implant {
    g: Geometry,
    length: f32,
    core_top: f32,
    core_apex: f32,
    apex_start: f32,
    /// Highest point (negative: external hex) and widest half-width, for bounding boxes.
    pub top: f32,
    pub half_width: f32,
}

impl Implant {
    /// Scale the nominal geometry: length changes the threaded body, radius the cores.
    pub(crate) fn new(g: &Geometry, length_scale: f32, radius_scale: f32) -> Self {
        let length = g.length * length_scale;
        let (core_top, core_apex) = (g.core_top * radius_scale, g.core_apex * radius_scale);
        let body_outer = core_top + g.depth;
        let half_width = body_outer.max(body_outer + g.collar_delta) + 0.1;
        Implant {
            g: *g,
            length,
            core_top,
            core_apex,
            apex_start: length - g.apex_len,
            top: -g.hex_h,
            half_width,
        }
    }

    /// Platform-to-tip length in mm.
    pub(crate) fn length(&self) -> f32 {
        self.length
    }

    /// Points on the outline of the fixture body (platform to apex, both sides, without an
    /// external hex) in the implant frame, every `step` mm along the axis: what the truth box of
    /// a film is fitted to, so it hugs the threads rather than the bounding half-width.
    pub(crate) fn body_outline(&self, step: f32) -> impl Iterator<Item = (f32, f32)> + '_ {
        let n = (self.length / step).ceil() as usize;
        (0..=n).flat_map(move |k| {
            let v = (k as f32 * step).min(self.length);
            [(-self.radius(v, 0.5), v), (self.radius(v, 0.0), v)]
        })
    }

    /// Outer radius at the top of the threaded body (where abutments and crowns sit).
    pub(crate) fn platform_radius(&self) -> f32 {
        self.core_top + self.g.depth + self.g.collar_delta.max(0.0)
    }

    /// Core radius of the threaded body at depth `v`.
    fn core(&self, v: f32) -> f32 {
        let body = (self.apex_start - self.g.collar_h).max(1e-3);
        let t = ((v - self.g.collar_h) / body).clamp(0.0, 1.0);
        let k = ((t - self.g.taper_from) / (1.0 - self.g.taper_from)).max(0.0);
        self.core_top + (self.core_apex - self.core_top) * k
    }

    /// Outer radius at depth `v` on the side whose helix phase is `phase` (0 or 0.5).
    fn radius(&self, v: f32, phase: f32) -> f32 {
        let g = &self.g;
        if v < 0.0 {
            return g.hex_r * self.core_top;
        }
        let thread = |pitch: f32, depth: f32| {
            let p = (v - g.collar_h) / pitch + phase;
            depth * g.thread.profile(p - p.floor())
        };
        if v < g.collar_h {
            let s = 1.0 - v / g.collar_h;
            let shape = match g.collar {
                CollarShape::Straight => 1.0,
                CollarShape::Flared => s * s,
                CollarShape::Tapered => s,
            };
            let micro = if g.micro { thread(g.pitch / 3.0, 0.09) } else { 0.0 };
            return self.core_top + g.depth + g.collar_delta * shape + micro;
        }
        // Threads run in over half a turn below the collar.
        let run_in = ((v - g.collar_h) / (0.5 * g.pitch)).min(1.0);
        if v < self.apex_start {
            return self.core(v) + thread(g.pitch, g.depth * run_in);
        }
        let s = ((v - self.apex_start) / g.apex_len).min(1.0);
        let end = self.core_apex;
        let (core, fade) = match g.apex {
            Apex::Round => (end * (1.0 - s * s).sqrt(), (1.0 - s) * (1.0 - s)),
            Apex::Pointed => (end * (1.0 - 0.8 * s) * (1.0 - s.powi(8)).sqrt(), 1.0 - 0.6 * s),
            Apex::Flat => {
                let c = (0.3 * end).min(0.45);
                let d = self.length - v;
                let core = if d < c {
                    end - c + (c * c - (c - d) * (c - d)).max(0.0).sqrt()
                } else {
                    end
                };
                (core, 1.0 - s)
            }
        };
        core + thread(g.pitch, g.depth * run_in * fade)
    }

    /// Attenuation at (u, v): anti-aliased silhouette × titanium thickness, minus socket and vents.
    #[inline]
    pub(crate) fn attenuation(&self, u: f32, v: f32, px_per_mm: f32) -> f32 {
        if v < self.top || v > self.length {
            return 0.0;
        }
        let g = &self.g;
        let au = u.abs();
        let r = self.radius(v, if u < 0.0 { 0.5 } else { 0.0 });
        let edge = (r - au).min(v - self.top).min(self.length - v);
        let cover = (edge * px_per_mm + 0.5).clamp(0.0, 1.0);
        if cover <= 0.0 {
            return 0.0;
        }
        let q = au / r.max(1e-3);
        let mut density = TITANIUM * (0.5 + 0.5 * (1.0 - q * q).max(0.0).sqrt());
        if v >= 0.0 && v < g.socket_depth {
            let socket = g.socket_r * self.core_top * (1.0 - g.socket_taper * v / g.socket_depth);
            if au < socket {
                density *= 0.25;
            }
        }
        match g.vent {
            Vent::None => {}
            Vent::Hole { at, half_w, half_h } => {
                let (du, dv) = (u / half_w, (v - at * self.length) / half_h);
                if du * du + dv * dv < 1.0 {
                    density *= 0.06;
                }
            }
            Vent::Chamber {
                offset,
                half_w,
                height,
            } => {
                if (u - offset * self.core_apex).abs() < half_w && v > self.length - height {
                    density *= 0.4;
                }
            }
        }
        cover * density
    }
}
