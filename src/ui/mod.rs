//! What reaches the terminal: output, Markdown rendering, untrusted text made inert.

pub mod bytes;
pub mod count;
pub mod output;
pub mod render;
pub mod safe_text;
