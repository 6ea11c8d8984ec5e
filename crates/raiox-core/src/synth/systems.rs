//! The catalogue of synthetic implant systems: display names plus the geometry that sets them apart.

use super::geometry::{Apex, CollarShape, Geometry, Thread, Vent};
use super::types::SynthSystem;

/// Defaults shared by most systems; each entry overrides what makes it recognisable.
const BASE: Geometry = Geometry {
    length: 11.5,
    core_top: 1.8,
    core_apex: 1.3,
    taper_from: 0.0,
    pitch: 0.8,
    depth: 0.3,
    thread: Thread::V,
    collar_h: 0.0,
    collar_delta: 0.0,
    collar: CollarShape::Straight,
    micro: false,
    apex: Apex::Round,
    apex_len: 1.2,
    vent: Vent::None,
    hex_h: 0.0,
    hex_r: 0.0,
    socket_depth: 2.4,
    socket_r: 0.55,
    socket_taper: 0.0,
};

pub(crate) static SYSTEMS: [SynthSystem; 8] = [
    // Strongly tapered, deep wide buttress threads, back-tapered collar, pointed apex.
    SynthSystem {
        manufacturer: "Nobel Biocare",
        system: "NobelActive",
        geometry: Geometry {
            core_top: 1.55,
            core_apex: 0.75,
            pitch: 1.2,
            depth: 0.6,
            thread: Thread::Buttress,
            collar_h: 0.9,
            collar_delta: -0.45,
            collar: CollarShape::Tapered,
            apex: Apex::Pointed,
            apex_len: 1.8,
            socket_depth: 3.2,
            socket_taper: 0.45,
            ..BASE
        },
    },
    // Tapered from the top, shallow fine threads, tall flared machined collar, flat apex with an
    // apical groove.
    SynthSystem {
        manufacturer: "Nobel Biocare",
        system: "NobelReplace",
        geometry: Geometry {
            core_top: 1.85,
            core_apex: 1.15,
            pitch: 0.75,
            depth: 0.3,
            collar_h: 1.5,
            collar_delta: 0.12,
            apex: Apex::Flat,
            apex_len: 0.8,
            vent: Vent::Chamber {
                offset: 0.0,
                half_w: 0.35,
                height: 2.2,
            },
            socket_r: 0.6,
            ..BASE
        },
    },
    // Parallel coronal half, strongly tapered apical half, deep threads up to a small bevel,
    // narrow dome apex.
    SynthSystem {
        manufacturer: "Straumann",
        system: "Bone Level Tapered",
        geometry: Geometry {
            length: 10.0,
            core_top: 1.7,
            core_apex: 0.9,
            taper_from: 0.55,
            depth: 0.45,
            collar_h: 0.35,
            collar_delta: -0.3,
            collar: CollarShape::Tapered,
            apex_len: 1.0,
            socket_depth: 2.6,
            socket_taper: 0.35,
            ..BASE
        },
    },
    // Parallel body under a tall flared transmucosal (tulip) collar, hemispherical apex.
    SynthSystem {
        manufacturer: "Straumann",
        system: "Tissue Level",
        geometry: Geometry {
            length: 12.0,
            core_top: 1.85,
            core_apex: 1.8,
            taper_from: 0.9,
            pitch: 1.0,
            depth: 0.28,
            collar_h: 2.5,
            collar_delta: 0.5,
            collar: CollarShape::Flared,
            apex_len: 1.9,
            socket_depth: 2.2,
            socket_r: 0.6,
            socket_taper: 0.3,
            ..BASE
        },
    },
    // Hybrid: parallel coronal, strongly tapered apical, very deep square threads, micro-threaded
    // narrow neck, cutting chamber at the apex.
    SynthSystem {
        manufacturer: "Neodent",
        system: "Helix GM",
        geometry: Geometry {
            core_top: 1.45,
            core_apex: 0.8,
            taper_from: 0.45,
            pitch: 0.9,
            depth: 0.65,
            thread: Thread::Square,
            collar_h: 0.8,
            collar_delta: -0.55,
            micro: true,
            apex_len: 1.2,
            vent: Vent::Chamber {
                offset: 0.45,
                half_w: 0.25,
                height: 2.5,
            },
            socket_depth: 3.0,
            socket_r: 0.5,
            socket_taper: 0.5,
            ..BASE
        },
    },
    // Parallel-walled cylinder, fine square threads to the top, flat apex.
    SynthSystem {
        manufacturer: "Neodent",
        system: "Titamax CM",
        geometry: Geometry {
            length: 11.0,
            core_top: 1.7,
            core_apex: 1.7,
            taper_from: 0.9,
            pitch: 0.6,
            depth: 0.33,
            thread: Thread::Square,
            apex: Apex::Flat,
            apex_len: 0.6,
            socket_depth: 3.0,
            socket_r: 0.5,
            socket_taper: 0.5,
            ..BASE
        },
    },
    // Tapered throughout, V threads, short machined collar, oval apical vent window.
    SynthSystem {
        manufacturer: "Zimmer Biomet",
        system: "Tapered Screw-Vent",
        geometry: Geometry {
            pitch: 0.9,
            depth: 0.33,
            collar_h: 0.6,
            collar_delta: 0.05,
            apex_len: 1.3,
            vent: Vent::Hole {
                at: 0.8,
                half_w: 0.45,
                half_h: 1.0,
            },
            socket_depth: 1.8,
            socket_r: 0.62,
            ..BASE
        },
    },
    // Near-parallel body, rounded fine threads, tall machined collar, external hex on top.
    SynthSystem {
        manufacturer: "Zimmer Biomet",
        system: "T3",
        geometry: Geometry {
            core_apex: 1.55,
            taper_from: 0.7,
            pitch: 0.7,
            thread: Thread::Round,
            collar_h: 1.2,
            apex_len: 1.0,
            hex_h: 0.7,
            hex_r: 0.75,
            socket_r: 0.3,
            ..BASE
        },
    },
];

/// Every synthetic system, in the order `generate` writes them (the order of `labels.csv`).
pub fn all() -> &'static [SynthSystem] {
    &SYSTEMS
}
