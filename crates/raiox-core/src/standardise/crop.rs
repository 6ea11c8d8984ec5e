//! Whole-pixel rectangles of an image: the regions the resampler reads.

use serde::{Deserialize, Serialize};

/// A crop rectangle in the original image's pixel coordinates (after EXIF orientation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Rect {
    /// The whole image.
    pub fn full(width: u32, height: u32) -> Self {
        Rect {
            x: 0,
            y: 0,
            w: width,
            h: height,
        }
    }

    /// Clip to an image of the given size; `None` when nothing of at least 8×8 pixels remains.
    pub fn clamp_to(self, width: u32, height: u32) -> Option<Rect> {
        let x = self.x.min(width);
        let y = self.y.min(height);
        let w = self.w.min(width - x);
        let h = self.h.min(height - y);
        (w >= 8 && h >= 8).then_some(Rect { x, y, w, h })
    }
}

impl std::str::FromStr for Rect {
    type Err = String;

    /// Parse `x,y,w,h`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("crop '{s}' is not x,y,w,h in whole pixels"))?;
        match parts[..] {
            [x, y, w, h] => Ok(Rect { x, y, w, h }),
            _ => Err(format!("crop '{s}' is not x,y,w,h in whole pixels")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_clamps() {
        let r: Rect = "10, 20,300,400".parse().unwrap();
        assert_eq!(
            r.clamp_to(200, 200),
            Some(Rect {
                x: 10,
                y: 20,
                w: 190,
                h: 180
            })
        );
        assert_eq!(r.clamp_to(12, 500), None);
        assert!("1,2,3".parse::<Rect>().is_err());
    }
}
