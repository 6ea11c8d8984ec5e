//! The built-in list of implant manufacturers and systems, with the aliases curators actually type.
//!
//! Why a table in code: a fresh library must resolve "nobel" or "Straumann BLT" with no setup and no
//! network; curators add their own entries on top (stored in the library database).

/// A built-in manufacturer: canonical name, aliases and its systems (each with aliases).
pub struct BuiltinManufacturer {
    /// Canonical display name.
    pub name: &'static str,
    /// Other names curators use for it.
    pub aliases: &'static [&'static str],
    /// Systems: (canonical name, aliases).
    pub systems: &'static [(&'static str, &'static [&'static str])],
}

/// Manufacturers and systems known out of the box.
pub const BUILTIN: &[BuiltinManufacturer] = &[
    BuiltinManufacturer {
        name: "Nobel Biocare",
        aliases: &["Nobel", "NobelBiocare", "NB"],
        systems: &[
            ("NobelActive", &["Active", "Nobel Active", "NA"]),
            (
                "NobelReplace",
                &["Replace", "NobelReplace Tapered", "Replace Select"],
            ),
            (
                "NobelReplace Conical Connection",
                &["NobelReplace CC", "Replace CC"],
            ),
            ("NobelParallel CC", &["NobelParallel", "Parallel CC"]),
            ("NobelSpeedy", &["Speedy", "NobelSpeedy Groovy"]),
            (
                "Brånemark System Mk III",
                &["Branemark", "Brånemark", "Mk III", "MkIII"],
            ),
        ],
    },
    BuiltinManufacturer {
        name: "Straumann",
        aliases: &["Straumann Group", "ITI"],
        systems: &[
            ("Bone Level Tapered", &["BLT", "BL Tapered"]),
            ("Bone Level", &["BL"]),
            (
                "Tissue Level",
                &["TL", "Standard Plus", "SP", "Standard", "Tapered Effect"],
            ),
            ("BLX", &[]),
            ("TLX", &[]),
        ],
    },
    BuiltinManufacturer {
        name: "Neodent",
        aliases: &["Straumann Neodent"],
        systems: &[
            ("Helix GM", &["Helix", "GM Helix", "Grand Morse Helix"]),
            ("Drive GM", &["Drive", "GM Drive"]),
            (
                "Titamax CM",
                &["Titamax Cone Morse", "Titamax CM Cortical", "CM Titamax"],
            ),
            ("Titamax EX", &["Titamax External Hexagon", "Titamax HE"]),
            ("Alvim CM", &["Alvim", "Alvim Cone Morse"]),
            ("Titamax WS", &["Titamax Wide"]),
        ],
    },
    BuiltinManufacturer {
        name: "Zimmer Biomet",
        aliases: &["Zimmer", "Zimmer Dental", "Biomet 3i", "3i", "ZB"],
        systems: &[
            (
                "Tapered Screw-Vent",
                &["TSV", "Screw-Vent", "Screw Vent", "Tapered Screw Vent"],
            ),
            ("T3", &["T3 Tapered", "Biomet 3i T3", "3i T3"]),
            ("Trabecular Metal", &["TM", "Trabecular"]),
            ("OSSEOTITE", &["Osseotite", "Osseotite Certain"]),
            ("TSX", &[]),
            ("Eztetic", &[]),
        ],
    },
    BuiltinManufacturer {
        name: "Dentsply Sirona",
        aliases: &["Dentsply", "Sirona", "Astra Tech", "Astra"],
        systems: &[
            (
                "Astra Tech EV",
                &["Astra EV", "OsseoSpeed EV", "Astra Tech Implant System EV"],
            ),
            ("Astra Tech OsseoSpeed TX", &["OsseoSpeed TX", "Astra TX"]),
            ("Ankylos", &["Ankylos C/X"]),
            ("Xive", &["XiVE", "Xive S"]),
        ],
    },
    BuiltinManufacturer {
        name: "BioHorizons",
        aliases: &["Bio Horizons", "BH"],
        systems: &[
            ("Tapered Internal", &["TI", "Tapered Internal Laser-Lok"]),
            ("Tapered Pro", &["TaperedPro"]),
            ("Tapered Plus", &["TaperedPlus"]),
            ("External", &["BioHorizons External"]),
        ],
    },
    BuiltinManufacturer {
        name: "Osstem",
        aliases: &["Osstem Implant", "Hiossen"],
        systems: &[
            ("TSIII", &["TS III", "TS3", "TSIII SA"]),
            ("SSIII", &["SS III", "SS3"]),
            ("USII", &["US II", "US2"]),
            ("KSIII", &["KS III"]),
        ],
    },
    BuiltinManufacturer {
        name: "MIS",
        aliases: &["MIS Implants"],
        systems: &[
            ("C1", &["MIS C1"]),
            ("V3", &["MIS V3"]),
            ("Seven", &["7", "MIS Seven"]),
            ("M4", &[]),
        ],
    },
    BuiltinManufacturer {
        name: "Megagen",
        aliases: &["MegaGen", "Mega Gen"],
        systems: &[
            ("AnyRidge", &["Any Ridge"]),
            ("AnyOne", &["Any One"]),
            ("BlueDiamond", &["Blue Diamond"]),
            ("ST", &["Megagen ST"]),
        ],
    },
    BuiltinManufacturer {
        name: "Bicon",
        aliases: &["Bicon Dental"],
        systems: &[
            ("Bicon SHORT", &["Short", "SHORT Implant"]),
            ("Integra-CP", &["Integra CP", "IntegraCP"]),
        ],
    },
];
