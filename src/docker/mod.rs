//! The Docker Engine API: endpoint, client, bounded transport, exec, labels, lab images, image bundles.

pub mod bundle;
pub mod endpoint;
pub mod engine;
pub mod exec;
pub mod helpers;
pub mod images;
pub mod labels;
pub mod logs;
pub mod transport;
