//! The built-in list of implant manufacturers and systems, with the aliases curators actually type.
//!
//! Why a data file: a fresh library must resolve "nobel" or "Straumann BLT" with no setup and no
//! network, and curators and reviewers should be able to read and extend the list without reading
//! Rust. `assets/catalogue.toml` is compiled into the binary; curators add their own entries on top
//! (stored in the library database).

use serde::Deserialize;

use crate::Error;

/// The catalogue file as shipped.
const CATALOGUE_TOML: &str = include_str!("../../../../assets/catalogue.toml");

/// A built-in manufacturer: canonical name, aliases and its systems.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinManufacturer {
    /// Canonical display name.
    pub name: String,
    /// Other names curators use for it.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its systems.
    #[serde(default, rename = "system")]
    pub systems: Vec<BuiltinSystem>,
}

/// A built-in system: canonical name and aliases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSystem {
    /// Canonical display name.
    pub name: String,
    /// Other names curators use for it.
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    manufacturer: Vec<BuiltinManufacturer>,
}

/// Manufacturers and systems known out of the box, read from `assets/catalogue.toml`.
pub fn builtin() -> Result<Vec<BuiltinManufacturer>, Error> {
    parse(CATALOGUE_TOML)
}

fn parse(text: &str) -> Result<Vec<BuiltinManufacturer>, Error> {
    toml::from_str::<CatalogueFile>(text)
        .map(|f| f.manufacturer)
        .map_err(|e| Error::Invalid(format!("assets/catalogue.toml: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::naming::key;
    use std::collections::HashSet;

    #[test]
    fn the_shipped_catalogue_parses_and_names_are_unique() {
        let all = builtin().unwrap();
        assert!(all.len() >= 10, "{} manufacturers", all.len());
        let mut makers = HashSet::new();
        for m in &all {
            assert!(makers.insert(key(&m.name)), "{} twice", m.name);
            assert!(!m.systems.is_empty(), "{} has no system", m.name);
            let mut systems = HashSet::new();
            for s in &m.systems {
                assert!(systems.insert(key(&s.name)), "{} / {} twice", m.name, s.name);
            }
        }
        assert!(
            all.iter()
                .any(|m| m.name == "Straumann"
                    && m.systems.iter().any(|s| s.aliases.iter().any(|a| a == "BLT")))
        );
    }

    #[test]
    fn a_misspelt_field_is_refused_with_the_file_name() {
        let err = parse("[[manufacturer]]\nname = \"A\"\nalias = [\"b\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("assets/catalogue.toml") && err.contains("alias"),
            "{err}"
        );
    }
}
