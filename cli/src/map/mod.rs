//! `verify --map`: a log drawn as a strip of blocks coloured by state. The
//! [`model`] paints every byte from the reader's events; the [`render`]er
//! draws the cells, with their text, into SVG or PNG.

pub mod model;
pub mod render;

pub use model::FileMap;
pub use render::draw;
