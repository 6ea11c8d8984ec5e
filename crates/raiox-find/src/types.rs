//! Result type and parameters of the finder.

/// One implant fixture (the threaded screw body, without crown or abutment) found on a film.
///
/// Coordinates are film pixels (x to the right, y downwards, origin at the top-left corner of
/// the top-left pixel), in the resolution of the film that was passed to the finder.
///
/// Orientation convention: the *apex direction* (unit vector from the platform/coronal end
/// towards the apex) is `(-sin a, cos a)` with `a = angle_deg` in radians. In words: `angle_deg`
/// is the angle by which "straight down" has to be turned *clockwise as seen on screen* to point
/// at the apex. `angle_deg = 0` is a lower-jaw implant standing upright with its apex down,
/// `180` an upper-jaw implant with its apex up, `90` an implant lying with its apex to the left.
/// Turning the film *counter-clockwise on screen* by `angle_deg` (see [`crate::crop_apex_down`])
/// makes the fixture vertical with the apex down. The value is in `(-180, 180]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundImplant {
    /// Centre of the oriented box, x.
    pub cx: f32,
    /// Centre of the oriented box, y.
    pub cy: f32,
    /// Extent across the long axis (fixture diameter on the film).
    pub width: f32,
    /// Extent along the long axis, platform to apex.
    pub length: f32,
    /// Tilt of the apex direction, see the type's documentation.
    pub angle_deg: f32,
    /// Confidence-like score in `[0, 1]`; higher means more fixture-like. Used for ranking only.
    pub score: f32,
}

impl FoundImplant {
    /// Unit vector from the platform end towards the apex, in film pixels; it is the one place
    /// that defines what `angle_deg` means.
    pub fn apex_dir(&self) -> (f32, f32) {
        let a = self.angle_deg.to_radians();
        (-a.sin(), a.cos())
    }

    /// Point at the middle of the apex end of the box, so callers need not redo the geometry.
    pub fn apex_point(&self) -> (f32, f32) {
        let (ax, ay) = self.apex_dir();
        (self.cx + ax * self.length * 0.5, self.cy + ay * self.length * 0.5)
    }

    /// Point at the middle of the platform (coronal, abutment) end of the box.
    pub fn platform_point(&self) -> (f32, f32) {
        let (ax, ay) = self.apex_dir();
        (self.cx - ax * self.length * 0.5, self.cy - ay * self.length * 0.5)
    }

    /// The four corners of the oriented box, starting at the platform end and going round:
    /// platform-left, platform-right, apex-right, apex-left ("left/right" as seen with the
    /// apex pointing down). Useful for drawing and for the axis-aligned hull.
    pub fn corners(&self) -> [(f32, f32); 4] {
        let (ax, ay) = self.apex_dir();
        // "Right" when the fixture is seen upright with the apex down.
        let (rx, ry) = (ay, -ax);
        let (hl, hw) = (self.length * 0.5, self.width * 0.5);
        let p = |sa: f32, sr: f32| {
            (
                self.cx + ax * hl * sa + rx * hw * sr,
                self.cy + ay * hl * sa + ry * hw * sr,
            )
        };
        [p(-1.0, -1.0), p(-1.0, 1.0), p(1.0, 1.0), p(1.0, -1.0)]
    }

    /// Axis-aligned box `(x, y, w, h)` (top-left corner and size) around the oriented box, for
    /// comparing with axis-aligned annotations and for simple crops.
    pub fn aabb(&self) -> (f32, f32, f32, f32) {
        let c = self.corners();
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (x, y) in c {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        (x0, y0, x1 - x0, y1 - y0)
    }
}

/// Tunable parameters of [`crate::find_implants_with`]. Lengths are multiples of the *expected
/// fixture width* `W` (see [`FinderParams::expected_width_periapical`]) so that the same values
/// work on periapical and panoramic films.
#[derive(Debug, Clone, PartialEq)]
pub struct FinderParams {
    /// Expected fixture width as a share of the shorter film side on periapical films. A
    /// periapical sensor (about 31 x 41 mm) shows a 3.3 to 6 mm fixture at 0.08 to 0.19 of its
    /// short side; this prior sets the scale of every other length.
    pub expected_width_periapical: f32,
    /// Expected fixture width as a share of the film *width* on panoramic films (wide films,
    /// see `panoramic_aspect`): about 5 mm on a roughly 250 mm wide image.
    pub expected_width_panoramic: f32,
    /// A second search at this multiple of the expected width (0 or 1 disables it): films taken
    /// closer, or wide implants, show fixtures wider than the first search's crown opening.
    pub larger_width: f32,
    /// Films whose width/height is at least this are treated as panoramic.
    pub panoramic_aspect: f32,
    /// The film is downscaled so that `W` is at most this many pixels: bounds the run time on
    /// big scans without losing thread detail.
    pub work_width_px: f32,
    /// Metal threshold as a fraction of the way from the film's median grey to its bright
    /// percentile: metal is the most radiopaque material, bone and dentine sit near the median.
    pub metal_level: f32,
    /// Percentile (0..1) that stands for "metal white" on the film.
    pub bright_percentile: f32,
    /// Pixels at least this fraction of the way from the median to the metal threshold join
    /// the metal if they lie within `grow_distance` of sure metal: thread edges are blurred and
    /// the hollow top of a fixture is dimmer than its body.
    pub grow_level: f32,
    /// See `grow_level`; in W.
    pub grow_distance: f32,
    /// Metal within this distance (in W) of the black frame around the exposed film is
    /// ignored: it is the film's bright rim, not metal.
    pub rim_width: f32,
    /// Enclosed dark holes up to this size (side of a square, in W) are filled.
    pub max_hole: f32,
    /// Diameter, in W, of the disk whose morphological opening marks "wide metal" (crowns,
    /// bridges, fillings). A fixture is narrower than this and is kept apart from its crown.
    pub wide_diameter: f32,
    /// A second, smaller opening diameter (in W; 0 disables) for narrow crowns that touch
    /// their neighbours; proposals of both passes are merged.
    pub wide_diameter_small: f32,
    /// Third pass: metal within this fraction of the film's median-to-white range below white
    /// counts as restoration (0 disables the pass).
    pub dense_margin: f32,
    /// The dense mask is grown by this much (in W) to swallow the crown's blurred rim.
    pub dense_grow: f32,
    /// Accepted fixture width range, in W.
    pub min_width: f32,
    /// See `min_width`.
    pub max_width: f32,
    /// Accepted fixture length range, in W.
    pub min_length: f32,
    /// See `min_length`.
    pub max_length: f32,
    /// Minimal length/width ratio: fixtures are long; fillings and crown remnants are not.
    pub min_aspect: f32,
    /// Largest accepted tilt of the long axis from the film's vertical, in degrees, apex up
    /// or down alike. Films are placed parallel to the teeth, so fixtures lying across the
    /// film are rare, while crown tops, holder bars and film edges often do.
    pub max_tilt_deg: f32,
    /// Largest share of metal along the long sides of a fixture (bands 0.1 to 0.35 W outside
    /// its edges): a fixture is surrounded by bone, a strip inside a crown is not.
    pub max_side_metal: f32,
    /// Minimal share of the box that the metal must fill: fixtures are solid, thin curved
    /// root-canal fillings and bone edges are not.
    pub min_fill: f32,
    /// Slices whose width is outside `[lo, hi]` times the component's median width are cut off
    /// (crown flare at the platform, pointed bits).
    pub slice_width_lo: f32,
    /// See `slice_width_lo`.
    pub slice_width_hi: f32,
    /// A slice belongs to the crown when its mean grey is this fraction of the way from the
    /// fixture's grey to metal white: crown alloys are denser than titanium.
    pub crown_step: f32,
    /// The dense part cut off as crown must be at least this wide relative to the part kept
    /// (mean widths): narrower bright ends are the fixture's own tapering apex.
    pub crown_min_width: f32,
    /// Predictions below this score are dropped.
    pub min_score: f32,
    /// A candidate whose contrast (mean grey relative to the metal threshold, the score's cue,
    /// 0..1) is below this and that carries no restoration (see `restoration_beyond`) is
    /// dropped: titanium is among the densest things on a film, while root-canal fillings,
    /// posts and the dim crowns of natural teeth that pass the shape tests are dimmer.
    pub min_bare_contrast: f32,
    /// Share of metal beyond one end of the box from which that end carries a crown or an
    /// abutment: a restored candidate is judged by its shape alone.
    pub restoration_beyond: f32,
}

impl Default for FinderParams {
    fn default() -> Self {
        FinderParams {
            expected_width_periapical: 0.125,
            expected_width_panoramic: 0.03,
            larger_width: 1.5,
            panoramic_aspect: 1.6,
            work_width_px: 48.0,
            metal_level: 0.72,
            bright_percentile: 0.995,
            grow_level: 0.55,
            grow_distance: 0.2,
            max_hole: 0.6,
            rim_width: 0.25,
            wide_diameter: 1.5,
            wide_diameter_small: 1.2,
            dense_margin: 0.05,
            dense_grow: 0.15,
            min_width: 0.6,
            max_width: 1.6,
            min_length: 1.4,
            max_length: 6.0,
            min_aspect: 1.8,
            min_fill: 0.6,
            max_tilt_deg: 60.0,
            max_side_metal: 0.3,
            slice_width_lo: 0.45,
            slice_width_hi: 1.35,
            crown_step: 0.7,
            crown_min_width: 0.95,
            min_score: 0.2,
            min_bare_contrast: 0.66,
            restoration_beyond: 0.3,
        }
    }
}
