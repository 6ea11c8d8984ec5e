//! Choosing the encoder: CLIP when its weights are present, else the bundled EfficientNet-Lite0.
//!
//! Why a rule and a setting: a fresh machine has no CLIP weights and must still work offline; once a
//! library has been embedded with one encoder, queries must use that same encoder (vectors of
//! different models are never compared), so the library remembers its active encoder.

use crate::clip;
use crate::lite0::Lite0Encoder;
use raiox_core::catalogue::settings;
use raiox_core::embed::Encoder;
use raiox_core::library::Library;
use raiox_core::Error;

/// Which encoder a curator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderChoice {
    /// CLIP ViT-B/32 image tower (512-D); needs weights under models/ or in the HF cache.
    Clip,
    /// Bundled EfficientNet-Lite0 (ImageNet, 1280-D); always available.
    Lite0,
}

impl EncoderChoice {
    /// Every choice (what a front offers).
    pub const ALL: [EncoderChoice; 2] = [EncoderChoice::Clip, EncoderChoice::Lite0];

    /// The name fronts use.
    pub fn as_str(self) -> &'static str {
        match self {
            EncoderChoice::Clip => "clip",
            EncoderChoice::Lite0 => "lite0",
        }
    }
}

impl std::str::FromStr for EncoderChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        raiox_core::util::parse_choice(s, &EncoderChoice::ALL, |v| v.as_str())
    }
}

/// Load the encoder to use for `lib`: the explicit choice, else the library's active encoder, else
/// CLIP when its weights can be found, else the bundled Lite0.
pub fn choose(lib: &Library, choice: Option<EncoderChoice>) -> Result<Box<dyn Encoder>, Error> {
    let choice = match choice {
        Some(c) => c,
        None => match settings::get(lib.conn(), settings::ACTIVE_ENCODER)?.as_deref() {
            Some(id) if id.starts_with("lite0") => EncoderChoice::Lite0,
            Some(id) if id.starts_with("clip") => EncoderChoice::Clip,
            _ if clip_dir().is_some() => EncoderChoice::Clip,
            _ => EncoderChoice::Lite0,
        },
    };
    Ok(match choice {
        EncoderChoice::Lite0 => Box::new(Lite0Encoder::bundled()?),
        EncoderChoice::Clip => {
            let dir = clip_dir().unwrap_or_else(clip::default_dir);
            Box::new(clip::load_dir(&dir)?)
        }
    })
}

/// Where CLIP weights are, if anywhere: `models/clip-vit-base-patch32/` or the Hugging Face cache.
pub fn clip_dir() -> Option<std::path::PathBuf> {
    let local = clip::default_dir();
    if local.join("model.safetensors").is_file() {
        return Some(local);
    }
    clip::find_in_hf_cache()
}
