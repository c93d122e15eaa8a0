//! What the log map and the chart share: the image formats, the bundled
//! font, drawing a picture into an SVG or PNG file, plotting errors.
//!
//! Text is drawn with Liberation Sans (SIL Open Font License 1.1; see
//! `assets/LICENSE-LiberationSans.txt`), compiled into the binary and
//! registered with plotters' `ab_glyph` support: a PNG shows the same text
//! as an SVG, whatever fonts the system has (none are needed).

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;

use crate::error::CliError;

/// The font family every text uses (the bundled font is registered under it).
pub const FONT: &str = "sans-serif";

static REGULAR: &[u8] = include_bytes!("../assets/LiberationSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../assets/LiberationSans-Bold.ttf");

/// PNG images taller than this are refused (the bitmap is held in memory:
/// at most about 110 MB); an SVG has no such limit.
pub const PNG_MAX_HEIGHT: u32 = 32_768;

/// What an image file is written as, from its name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// SVG (text as text).
    Svg,
    /// PNG (text rasterised from the bundled font).
    Png,
}

impl ImageFormat {
    /// The format for `path`: `.svg` or `.png`, else a usage error.
    pub fn of(path: &Path) -> Result<ImageFormat, CliError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("svg") => Ok(ImageFormat::Svg),
            Some(e) if e.eq_ignore_ascii_case("png") => Ok(ImageFormat::Png),
            _ => Err(CliError::usage(format!(
                "cannot draw {}: the file name must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

/// A drawing failure on a backend `DB`.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Something drawn into an image: its size, and how to paint it on any
/// plotters backend.
pub trait Picture {
    /// What it is, for errors: `map`, `chart`.
    const NOUN: &'static str;
    /// What to do when a PNG would be too tall: `map fewer files`.
    const FEWER: &'static str;

    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Paints the picture on `root`, which is `size()` large.
    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Draws `picture` into `path`, SVG or PNG by the file name's extension.
pub fn render<P: Picture>(path: &Path, picture: &P) -> Result<ImageFormat, CliError> {
    let format = ImageFormat::of(path)?;
    register_fonts()?;
    let size = picture.size();
    match format {
        ImageFormat::Svg => present(
            SVGBackend::new(path, size).into_drawing_area(),
            path,
            picture,
        )?,
        ImageFormat::Png => {
            if size.1 > PNG_MAX_HEIGHT {
                return Err(CliError::usage(format!(
                    "cannot draw {}: a PNG {} of these files would be {} pixels tall \
                     (at most {PNG_MAX_HEIGHT}); write FILE.svg, or {}",
                    path.display(),
                    P::NOUN,
                    size.1,
                    P::FEWER
                )));
            }
            present(
                BitMapBackend::new(path, size).into_drawing_area(),
                path,
                picture,
            )?
        }
    }
    Ok(format)
}

fn present<DB: DrawingBackend, P: Picture>(
    root: DrawingArea<DB, Shift>,
    path: &Path,
    picture: &P,
) -> Result<(), CliError> {
    picture.paint(&root).map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))?;
    Ok(())
}

/// Registers the bundled font (regular and bold) as [`FONT`], once.
fn register_fonts() -> Result<(), CliError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, REGULAR).is_ok()
            && register_font(FONT, FontStyle::Bold, BOLD).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(
            "cannot draw: the bundled font (Liberation Sans) does not load",
        ))
    }
}

/// A plotting failure as a one-line error.
pub fn plot_error<E: std::fmt::Debug>(path: &Path, e: E) -> CliError {
    CliError::usage(format!("cannot write {}: {e:?}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(
            ImageFormat::of(Path::new("a.SVG")).unwrap(),
            ImageFormat::Svg
        );
        assert_eq!(
            ImageFormat::of(Path::new("a.png")).unwrap(),
            ImageFormat::Png
        );
        for bad in ["a.gif", "a", "svg"] {
            let e = ImageFormat::of(Path::new(bad)).unwrap_err();
            assert!(e.message.contains(".svg or .png"), "{e}");
        }
    }

    #[test]
    fn the_bundled_font_draws_text_into_a_bitmap() {
        register_fonts().unwrap();
        let (w, h) = (120u32, 40u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.draw(&Text::new("blocklog", (4, 8), (FONT, 20).into_font()))
                .unwrap();
            root.draw(&Text::new(
                "bold",
                (80, 8),
                (FONT, 20).into_font().style(FontStyle::Bold),
            ))
            .unwrap();
            root.present().unwrap();
        }
        let dark = buf.chunks(3).filter(|p| p.iter().all(|&c| c < 128)).count();
        assert!(dark > 100, "only {dark} dark pixels: no text was drawn");
    }
}
