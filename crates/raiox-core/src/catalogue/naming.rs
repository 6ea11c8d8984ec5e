//! Slugs and standard file names.
//!
//! Why: a confirmed image's name is its identity outside the library (export folders, S3 keys,
//! production rows), so it must be plain ASCII, stable, unique, and never derived from anything
//! that came with the original (a file name may carry a patient's name).

/// Lower-case ASCII slug: letters and digits, words joined by single '-'. Accents are folded
/// ("Brånemark" → "branemark"); anything else is a word break. Never empty ("x" for no letters).
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    for ch in text.chars().flat_map(fold) {
        if ch.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(ch.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if out.is_empty() {
        out.push('x');
    }
    out
}

/// Matching key: the slug without separators, so "Bone Level Tapered", "bone-level-tapered" and
/// "BoneLevelTapered" compare equal.
pub fn key(text: &str) -> String {
    text.chars()
        .flat_map(fold)
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Fold common Latin accented letters to ASCII; other characters pass through unchanged.
fn fold(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' => "A",
        'æ' => "ae",
        'Æ' => "AE",
        'ç' | 'č' | 'ć' => "c",
        'Ç' | 'Č' | 'Ć' => "C",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ě' => "E",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'ñ' | 'ń' => "n",
        'Ñ' | 'Ń' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'º' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "O",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' => "U",
        'ß' => "ss",
        'š' | 'ś' => "s",
        'Š' | 'Ś' => "S",
        'ž' | 'ź' | 'ż' => "z",
        'Ž' | 'Ź' | 'Ż' => "Z",
        'ł' => "l",
        'Ł' => "L",
        'ý' | 'ÿ' => "y",
        _ => "",
    };
    let single = folded.is_empty().then_some(c);
    folded.chars().chain(single)
}

/// Format a millimetre size without a trailing ".0" ("4.1", "10").
fn mm(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The standard file name of an image: `<manufacturer>_<system>[_<d>x<l>]_<NNNN>.png`.
pub fn standard_name(
    manufacturer_slug: &str,
    system_slug: &str,
    diameter_mm: Option<f64>,
    length_mm: Option<f64>,
    seq: u32,
) -> String {
    let size = match (diameter_mm, length_mm) {
        (Some(d), Some(l)) if d > 0.0 && l > 0.0 => format!("_{}x{}", mm(d), mm(l)),
        _ => String::new(),
    };
    format!("{manufacturer_slug}_{system_slug}{size}_{seq:04}.png")
}

/// A standard name taken apart: what production numbers (`key`: manufacturer and system), what
/// the name says before its number (`stem`: key plus size), and the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts {
    /// `<manufacturer>_<system>`: numbers are unique per key.
    pub key: String,
    /// `<manufacturer>_<system>[_<d>x<l>]`.
    pub stem: String,
    /// The sequence number.
    pub seq: u32,
}

/// Parse a standard name; `None` for anything that does not follow the grammar exactly (so a name
/// read from production that is not a plain file name is refused, never joined onto a path).
pub fn parse_standard_name(name: &str) -> Option<NameParts> {
    if name.len() > 200 {
        return None;
    }
    let base = name.strip_suffix(".png")?;
    let (stem, seq) = base.rsplit_once('_')?;
    if seq.len() < 4 || seq.len() > 9 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = stem.split('_').collect();
    let slug_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('-')
            && !p.ends_with('-')
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let size_ok = |p: &str| {
        p.split_once('x').is_some_and(|(d, l)| {
            [d, l].iter().all(|v| {
                !v.is_empty() && v.len() <= 6 && v.parse::<f64>().is_ok_and(|x| x.is_finite() && x > 0.0)
            })
        })
    };
    match parts.as_slice() {
        [m, s] if slug_ok(m) && slug_ok(s) => {}
        [m, s, size] if slug_ok(m) && slug_ok(s) && size_ok(size) => {}
        _ => return None,
    }
    Some(NameParts {
        key: format!("{}_{}", parts[0], parts[1]),
        stem: stem.to_string(),
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_and_safe() {
        assert_eq!(slug("Bone Level Tapered"), "bone-level-tapered");
        assert_eq!(slug("Brånemark System Mk III"), "branemark-system-mk-iii");
        assert_eq!(slug("Tapered Screw-Vent"), "tapered-screw-vent");
        assert_eq!(slug("  ../\"evil\" name/\\ "), "evil-name");
        assert_eq!(slug("日本"), "x");
        for s in ["a b", "a/b", "a\"b", "a'b", "ação"] {
            let out = slug(s);
            assert!(out
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
    }

    #[test]
    fn keys_ignore_case_spacing_and_accents() {
        assert_eq!(key("BoneLevelTapered"), key("bone level tapered"));
        assert_eq!(key("NOBEL BIOCARE"), "nobelbiocare");
        assert_eq!(key("Brånemark"), "branemark");
    }

    #[test]
    fn names_parse_back_and_hostile_ones_are_refused() {
        let n = standard_name("straumann", "bone-level-tapered", Some(4.1), Some(10.0), 7);
        let p = parse_standard_name(&n).unwrap();
        assert_eq!(p.key, "straumann_bone-level-tapered");
        assert_eq!(p.stem, "straumann_bone-level-tapered_4.1x10");
        assert_eq!(p.seq, 7);
        assert_eq!(parse_standard_name("a_b_12345.png").unwrap().stem, "a_b");
        for bad in [
            "../../etc/passwd",
            "/tmp/x_y_0001.png",
            "a_b_0001.png/../../x",
            "a_b_..x.._0001.png",
            "A_b_0001.png",
            "a_b_0001.PNG",
            "a_b_1.png",
            "a_b_0001.png\0",
            "a/b_c_0001.png",
            "a_b_c_d_0001.png",
            "_b_0001.png",
            "",
        ] {
            assert_eq!(parse_standard_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn standard_names_include_size_when_known() {
        assert_eq!(
            standard_name("straumann", "bone-level-tapered", None, None, 7),
            "straumann_bone-level-tapered_0007.png"
        );
        assert_eq!(
            standard_name("straumann", "bone-level-tapered", Some(4.1), Some(10.0), 7),
            "straumann_bone-level-tapered_4.1x10_0007.png"
        );
        assert_eq!(standard_name("a", "b", Some(3.5), None, 12345), "a_b_12345.png");
    }
}
