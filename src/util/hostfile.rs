//! Files of the exercise folder on the host, opened for the checks that read them
//! (`backup-archive`, `volume-matches-archive`, `host-file`, `volume-created-after`): one way
//! in, so that no check can be pointed outside the folder or made to hang.
//!
//! [`open`] resolves the path inside the exercise folder (links followed: a link whose target
//! stays inside is fine, one leading outside is refused, and nothing of that file is read);
//! refuses anything that is not a regular file (a FIFO would block the open or the read until
//! someone writes to it, and Ctrl-C cannot interrupt a grading blocked there; a device or a
//! socket could be anything) before opening it; opens with `O_NONBLOCK | O_NOCTTY |
//! O_NOFOLLOW`, so the open itself can neither block nor take a terminal; and checks with
//! `fstat` that what was opened is the regular file it checked.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// Why a host file was not opened.
#[derive(Debug)]
pub enum Refusal {
    /// Nothing is at that path (a link to nothing included).
    Missing,
    /// The path leads outside the exercise folder (through a link, or `..`), to `target`.
    Outside { target: PathBuf },
    /// Something other than a regular file: `what` is "a named pipe (FIFO)", "a folder", ...
    NotRegular { what: &'static str },
    /// What was opened is not the file that was checked: it was replaced meanwhile.
    Changed,
    /// The system refused (permissions, I/O).
    Io(io::Error),
}

impl Refusal {
    /// What was found at `path` (as the exercise names it), for a verdict's "found".
    pub fn found(&self, path: &str, exercise_dir: &Path) -> String {
        let dir = exercise_dir.display();
        match self {
            Refusal::Missing => format!("{path} does not exist in {dir}"),
            Refusal::Outside { target } => format!(
                "{path} leads outside the exercise folder {dir} (to {}): the workbook reads only \
                 files inside it",
                target.display()
            ),
            Refusal::NotRegular { what } => format!("{path} is {what}, not a regular file"),
            Refusal::Changed => format!("{path} was replaced while the workbook opened it"),
            Refusal::Io(e) => format!("{path} cannot be opened: {e}"),
        }
    }

    /// How to fix it.
    pub fn fix(&self) -> &'static str {
        match self {
            Refusal::Missing => "create the file as the task says",
            Refusal::Outside { .. } => {
                "put the file itself in the exercise folder (not a link to a file elsewhere)"
            }
            Refusal::NotRegular { .. } => "remove it, then write a regular file at that path",
            Refusal::Changed | Refusal::Io(_) => "check the file, then run the check again",
        }
    }
}

/// A regular file of the exercise folder, open for reading, and its metadata (of the open file).
#[derive(Debug)]
pub struct HostFile {
    pub file: File,
    pub metadata: Metadata,
}

/// Opens `relative` (a path inside `exercise_dir`) as described in the module documentation.
pub fn open(exercise_dir: &Path, relative: &str) -> Result<HostFile, Refusal> {
    let missing_or = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Refusal::Missing,
        _ => Refusal::Io(e),
    };
    let root = std::fs::canonicalize(exercise_dir).map_err(missing_or)?;
    let real = std::fs::canonicalize(root.join(relative)).map_err(missing_or)?;
    if !real.starts_with(&root) {
        return Err(Refusal::Outside { target: real });
    }
    let checked = std::fs::metadata(&real).map_err(missing_or)?;
    if !checked.is_file() {
        let what = kind(&checked);
        return Err(Refusal::NotRegular { what });
    }
    let file = options().open(&real).map_err(missing_or)?;
    let opened = file.metadata().map_err(Refusal::Io)?;
    if !opened.is_file() || !same_file(&checked, &opened) {
        return Err(Refusal::Changed);
    }
    Ok(HostFile {
        file,
        metadata: opened,
    })
}

#[cfg(unix)]
fn options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    // O_NONBLOCK changes nothing for a regular file's reads; it makes the open of a FIFO that
    // was swapped in after the check return at once instead of waiting for a writer.
    let flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW;
    options.read(true).custom_flags(flags);
    options
}

#[cfg(not(unix))]
fn options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    options
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    true
}

/// What a non-regular file is, for a sentence.
fn kind(m: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        } else if t.is_socket() {
            return "a socket";
        } else if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        }
    }
    match m.is_dir() {
        true => "a folder",
        false => "not a regular file",
    }
}

/// Makes a FIFO at `path` (std has no mkfifo), for tests.
#[cfg(all(test, unix))]
pub(crate) fn make_fifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// Runs `f` on a thread and waits at most 10 s for it, for tests: a check that blocks fails
/// the test instead of hanging the suite (the thread is left behind).
#[cfg(test)]
pub(crate) fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || drop(tx.send(f())));
    let wait = std::time::Duration::from_secs(10);
    rx.recv_timeout(wait).expect("it blocked for 10 s")
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let ex = dir.path().join("exercise");
        std::fs::create_dir(&ex).unwrap();
        std::fs::write(dir.path().join("secret"), "SECRET\n").unwrap();
        (dir, ex)
    }

    #[test]
    fn regular_files_and_links_that_stay_inside_open() {
        let (_dir, ex) = folder();
        std::fs::create_dir(ex.join("sub")).unwrap();
        std::fs::write(ex.join("sub/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("sub/a.txt", ex.join("link")).unwrap();
        for path in ["sub/a.txt", "link", "./sub/../sub/a.txt"] {
            let f = open(&ex, path).unwrap();
            assert_eq!(f.metadata.len(), 1, "{path}");
        }
    }

    #[test]
    fn links_and_paths_leading_outside_are_refused() {
        let (dir, ex) = folder();
        std::os::unix::fs::symlink(dir.path().join("secret"), ex.join("abs")).unwrap();
        std::os::unix::fs::symlink("../secret", ex.join("rel")).unwrap();
        for path in ["abs", "rel", "../secret"] {
            let refusal = open(&ex, path).unwrap_err();
            assert!(
                matches!(refusal, Refusal::Outside { .. }),
                "{path}: {refusal:?}"
            );
            let found = refusal.found(path, &ex);
            assert!(
                found.contains("leads outside the exercise folder"),
                "{found}"
            );
            assert!(!found.contains("SECRET"), "{found}");
        }
    }

    #[test]
    fn fifos_folders_and_devices_are_refused_before_opening() {
        let (_dir, ex) = folder();
        make_fifo(&ex.join("pipe"));
        std::fs::create_dir(ex.join("dir")).unwrap();
        std::os::unix::fs::symlink("/dev/null", ex.join("null")).unwrap();
        let ex2 = ex.clone();
        let refusal = within_10s(move || open(&ex2, "pipe")).unwrap_err();
        assert!(
            matches!(
                refusal,
                Refusal::NotRegular {
                    what: "a named pipe (FIFO)"
                }
            ),
            "{refusal:?}"
        );
        assert_eq!(
            refusal.found("pipe", &ex),
            "pipe is a named pipe (FIFO), not a regular file"
        );
        let refusal = open(&ex, "dir").unwrap_err();
        assert!(
            matches!(refusal, Refusal::NotRegular { what: "a folder" }),
            "{refusal:?}"
        );
        // /dev/null is outside the folder: that is said first.
        let refusal = open(&ex, "null").unwrap_err();
        assert!(matches!(refusal, Refusal::Outside { .. }), "{refusal:?}");
    }

    #[test]
    fn missing_files_and_dangling_links_are_missing() {
        let (_dir, ex) = folder();
        std::os::unix::fs::symlink("nowhere", ex.join("dangling")).unwrap();
        for path in ["nope", "dangling", "sub/nope"] {
            assert!(matches!(open(&ex, path), Err(Refusal::Missing)), "{path}");
        }
        assert!(matches!(
            open(&ex.join("no-such-folder"), "x"),
            Err(Refusal::Missing)
        ));
    }
}
