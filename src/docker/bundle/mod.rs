//! Offline image bundles: `workbook setup --save FILE` writes every lab image into one archive
//! through the Engine API's image export endpoint, and `workbook setup --load FILE` loads it on
//! a machine with no network.
//!
//! A bundle is the daemon's own export format (`docker save`), gzip-compressed unless FILE ends
//! in `.tar`; `docker load -i FILE` reads it too. Saving writes a temporary file beside FILE and
//! renames it, so FILE is never half written. Loading checks the whole archive before the daemon
//! sees a byte of it (a truncated copy or a foreign archive changes nothing), streams it to the
//! daemon, then verifies that the lab images are there, are the workbook's
//! (`workbook.lab-image=true`) and are up to date.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

mod inspect;
mod load;
mod save;
#[cfg(test)]
mod testkit;

pub use inspect::{check_archive, Contents};
pub use load::load;
pub use save::{save, save_with};

/// The first bytes of every gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Exporting or loading a large bundle may take long before the daemon answers.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);
/// Archive entries up to this size are kept while checking (manifests and image configs).
const KEEP_ENTRY: u64 = 1 << 20;
/// At most this much is kept in memory while checking an archive.
const KEEP_TOTAL: u64 = 64 << 20;
const CHUNK: usize = 256 * 1024;

/// How a bundle is stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gzip,
    Tar,
}

/// Which way a bundle went: written by `save`, or loaded and verified by `load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Saved,
    Loaded,
}

/// What `save` wrote, or what `load` loaded and verified.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(skip)]
    pub direction: Direction,
    pub path: PathBuf,
    /// The image tags in the bundle (after `load`: the lab images, all present and up to date).
    pub images: Vec<String>,
    /// The size of FILE.
    pub bytes: u64,
    /// The size of the uncompressed archive the daemon sent (`save`) or was sent (`load`).
    pub tar_bytes: u64,
    pub format: Format,
    pub seconds: f64,
}

impl Report {
    /// A report on the lab images `tags` ([`crate::docker::images::ALL`] and the extra ones moved), timed
    /// from `started`.
    fn lab_images(
        direction: Direction,
        path: &Path,
        tags: &[&str],
        (bytes, tar_bytes): (u64, u64),
        format: Format,
        started: Instant,
    ) -> Self {
        Report {
            direction,
            path: path.to_path_buf(),
            images: tags.iter().map(|s| s.to_string()).collect(),
            bytes,
            tar_bytes,
            format,
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// "saved 3 images (5.8 MiB) to FILE in 1.2 s", or
    /// "loaded 3 images (5.8 MiB) from FILE in 0.9 s: ... present and up to date".
    pub fn summary(&self) -> String {
        let (n, size) = (self.images.len(), human_size(self.bytes));
        let (path, seconds) = (self.path.display(), self.seconds);
        match self.direction {
            Direction::Saved => format!("saved {n} images ({size}) to {path} in {seconds:.1} s"),
            Direction::Loaded => format!(
                "loaded {n} images ({size}) from {path} in {seconds:.1} s: {} present and up to \
                 date",
                self.images.join(", ")
            ),
        }
    }
}

/// The sizes of `setup --save` / `--load` reports: [`crate::ui::bytes`] figures kept to three
/// digits, always with one decimal, and "B" ("512 B", "3.4 KiB", "5.8 MiB", "1.2 GiB"; never
/// "1018.4 KiB": "1.0 MiB"), as `sizes_for_people` holds them.
pub fn human_size(bytes: u64) -> String {
    match crate::ui::bytes::scaled(bytes, 1000.0) {
        (_, None) => format!("{bytes} B"),
        (figure, Some(unit)) => format!("{figure:.1} {unit}"),
    }
}

/// The format `save` writes for a file name: plain tar for `*.tar`, gzip otherwise.
pub fn format_for_path(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("tar") => Format::Tar,
        _ => Format::Gzip,
    }
}

/// The format of an archive from its first bytes (at least 262 for a tar), by content only.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(&GZIP_MAGIC) {
        Some(Format::Gzip)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Format::Tar)
    } else {
        None
    }
}

fn interactive() -> bool {
    io::stderr().is_terminal()
}

/// A byte-progress bar on stderr; hidden when stderr is not a terminal.
fn bar(total: Option<u64>, msg: &str) -> ProgressBar {
    if !interactive() {
        return ProgressBar::hidden();
    }
    let (pb, template) = match total {
        Some(t) => (
            ProgressBar::new(t),
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {elapsed}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {msg} {bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    pb.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn say(line: &str) {
    if interactive() {
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1023), "1.0 KiB");
        assert_eq!(human_size(1_042_842), "1.0 MiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(6_081_740), "5.8 MiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }

    #[test]
    fn format_follows_the_file_name_and_the_magic_bytes() {
        assert_eq!(format_for_path(Path::new("x.tar")), Format::Tar);
        assert_eq!(format_for_path(Path::new("x.TAR")), Format::Tar);
        assert_eq!(format_for_path(Path::new("x.tar.gz")), Format::Gzip);
        assert_eq!(format_for_path(Path::new("bundle")), Format::Gzip);
        let tar = fake_archive(true);
        assert_eq!(sniff(&tar), Some(Format::Tar));
        assert_eq!(sniff(&gzip(&tar)), Some(Format::Gzip));
        assert_eq!(sniff(b"hello world"), None);
    }

    #[test]
    fn both_reports_read_as_before() {
        let report = |direction| Report {
            direction,
            path: PathBuf::from("b.tar.gz"),
            images: vec!["a:1".into(), "b:1".into()],
            bytes: 6_081_740,
            tar_bytes: 9_000_000,
            format: Format::Gzip,
            seconds: 1.24,
        };
        assert_eq!(
            report(Direction::Saved).summary(),
            "saved 2 images (5.8 MiB) to b.tar.gz in 1.2 s"
        );
        assert_eq!(
            report(Direction::Loaded).summary(),
            "loaded 2 images (5.8 MiB) from b.tar.gz in 1.2 s: a:1, b:1 present and up to date"
        );
    }
}
