//! Streaming validation of volume backups (`.tar.gz`) and of the tar streams that the Docker
//! archive endpoint returns.
//!
//! Nothing is ever extracted on the host: the archive is read once, as a stream, and turned into
//! a [`Manifest`] (path -> [`Entry`], with a SHA-256 of every regular file). Every problem found
//! is reported as a sentence for the learner; reading stops at the [`Limits`], so a gzip bomb or
//! an endless stream costs at most `max_total_bytes` of decompression.
//!
//! The tar headers are read here, block by block, rather than by the `tar` crate's reader (its
//! `Header` type parses the fields), so that nothing an entry declares is acted on before it is
//! checked: a GNU long name or a pax header is measured before it is read into memory
//! ([`MAX_NAME`]), a sparse file's real size is counted against the cap before any of it is
//! expanded, and names stay bytes (see [`Entry::path`]). Symbolic links are resolved through
//! the other links of the archive, as the kernel will resolve them once it is restored.

mod compare;
mod links;
mod names;
mod pathset;
mod pax;
mod scan;
mod sparse;
mod stream;
#[cfg(test)]
mod testkit;

use std::collections::BTreeMap;
use std::io::{BufReader, Cursor, Read};

pub use compare::compare;
use compare::sums;
use scan::scan;
use stream::{describe_start, Members};

/// Caps on what one archive may hold, counted after decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most tar entries read (extension headers such as pax or GNU long names excluded).
    pub max_entries: u64,
    /// Most bytes read out of the decompressor: tar headers, file data and padding together,
    /// a sparse file counted at its real (expanded) size.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    /// 100 000 entries and 2 GiB.
    fn default() -> Self {
        let max_total_bytes = 2 << 30;
        Limits {
            max_entries: 100_000,
            max_total_bytes,
        }
    }
}

/// Longest entry name or link target, in bytes: Linux's `PATH_MAX`. A longer GNU long name is
/// refused before it is read.
pub const MAX_NAME: usize = 4096;

/// The kind of an archive entry. Devices, fifos and other special files are refused, never listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link; `target` is the link text as stored (relative, resolving inside the
    /// root, also through the archive's other links), in the form of [`Entry::path`].
    Symlink { target: String },
    /// A hard link to an earlier regular file; `target` is that file's normalised path.
    Hardlink { target: String },
}

/// One entry of a volume or an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Normalised path: relative, no leading `./`, no trailing `/`; the root itself is `.`.
    ///
    /// Names are bytes: a name that is not UTF-8 (a Latin-1 `caf\xe9.txt`) keeps each byte
    /// that is not UTF-8 as a NUL and two hex digits. No real name holds a NUL, so two names
    /// are equal here exactly when their bytes are; messages show such a byte as `\xe9`.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Size in bytes of a regular file (for a hard link: of its target; for a sparse file: its
    /// real size); 0 otherwise.
    pub size: u64,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Owner user id.
    pub uid: u64,
    /// Owner group id.
    pub gid: u64,
    /// SHA-256 of a regular file's bytes (for a hard link: of its target); `None` otherwise.
    pub digest: Option<[u8; 32]>,
}

/// What a volume or an archive holds: normalised path -> entry (BTreeMap for stable order).
pub type Manifest = BTreeMap<String, Entry>;

/// At most this many sentences are returned; the rest are counted in one last sentence.
const MAX_SENTENCES: usize = 25;

/// Reads a gzip-compressed tar stream (a volume backup made with `tar czf ... -C /data .`) and
/// returns its manifest, or every problem found (each a sentence for a person).
///
/// Besides the checks of [`read_tar`], this refuses input that is not gzip, and an archive whose
/// entries all sit under one top-level folder (`data/...`) with no root entry: that holds the
/// folder, not its contents. The gzip members are read as one stream, as `gzip -d` (and so
/// `tar xzf`) reads them; zeros after the last member are padding; anything else after it is
/// refused as trailing data.
pub fn read_backup<R: Read>(mut reader: R, limits: &Limits) -> Result<Manifest, Vec<String>> {
    let mut head = Vec::with_capacity(512);
    if let Err(e) = reader.by_ref().take(512).read_to_end(&mut head) {
        return Err(vec![format!("reading the archive failed: {e}")]);
    }
    let problem = if head.is_empty() {
        "the file is empty (0 bytes): the backup was not written; run the `tar czf` command again \
         and check that it printed no error"
            .to_string()
    } else if !head.starts_with(&[0x1f, 0x8b]) {
        let start = describe_start(&head);
        format!(
            "the file is not gzip-compressed (it starts with {start}): create it with `tar czf`"
        )
    } else {
        let input = BufReader::with_capacity(32 << 10, Cursor::new(head).chain(reader));
        let gz = Members::new(input, limits.max_total_bytes);
        return scan(gz, None, limits, true);
    };
    Err(vec![problem])
}

/// Same for an uncompressed tar stream (the Docker archive endpoint gives those).
///
/// `strip_prefix`: a leading path component to remove from every entry, e.g. `"probe"` when the
/// endpoint returns entries as `probe/x` for `GET /containers/ID/archive?path=/probe/`; an entry
/// equal to the prefix itself becomes `.`, and an entry outside it is a problem.
pub fn read_tar<R: Read>(
    reader: R,
    strip_prefix: Option<&str>,
    limits: &Limits,
) -> Result<Manifest, Vec<String>> {
    scan(reader, strip_prefix, limits, false)
}

/// A note naming the setuid and setgid regular files of `m`, which a restore recreates with
/// those bits (by root, as the helper containers run), or `None` when there are none:
/// `note: bin/x is setuid root (mode 4755): a restore recreates it`.
pub fn special_modes(m: &Manifest) -> Option<String> {
    let files = m.values().filter(|e| e.kind == EntryKind::File);
    let special: Vec<&Entry> = files.filter(|e| e.mode & 0o6000 != 0).collect();
    let describe = |e: &Entry| {
        let (mut bits, (uid, gid)) = (Vec::new(), (e.uid, e.gid));
        let who = |id: u64, what: &str| match id {
            0 => "root".to_string(),
            _ => format!("to {what} {id}"),
        };
        if e.mode & 0o4000 != 0 {
            bits.push(format!("setuid {}", who(uid, "user")));
        }
        if e.mode & 0o2000 != 0 {
            bits.push(format!("setgid {}", who(gid, "group")));
        }
        let (s, mode) = (show(&e.path), e.mode);
        format!("{s} is {} (mode {mode:04o})", bits.join(" and "))
    };
    let mut named: Vec<String> = special.iter().take(3).map(|e| describe(e)).collect();
    let (n, them) = (
        special.len(),
        if special.len() == 1 { "it" } else { "them" },
    );
    named.extend((n > 3).then(|| format!("and {} more", n - 3)));
    (n > 0).then(|| format!("note: {}: a restore recreates {them}", named.join(", ")))
}

/// Sums for messages: number of regular files (hard links included) and their total bytes.
pub fn summary(m: &Manifest) -> (usize, u64) {
    sums(m.values())
}

/// Sentences with a cap: past [`MAX_SENTENCES`], only a count is kept.
#[derive(Default)]
struct Sentences {
    list: Vec<String>,
    more: usize,
}

impl Sentences {
    fn push(&mut self, s: String) {
        if self.list.len() < MAX_SENTENCES {
            self.list.push(s);
        } else {
            self.more += 1;
        }
    }

    fn push_if(&mut self, cond: bool, s: impl FnOnce() -> String) {
        if cond {
            self.push(s());
        }
    }

    fn finish(mut self, what: &str) -> Vec<String> {
        let n = self.more;
        let more = format!("{n} more {what} were found and not listed; fix the ones above first");
        self.list.extend((n > 0).then_some(more));
        self.list
    }
}

/// A path of a [`Manifest`] (or a link target) fit for a message, as this module's own
/// messages show it: control characters escaped, a byte that is not UTF-8 as `\xe9`, very
/// long names shortened.
pub fn display(name: &str) -> String {
    show(name)
}

/// See [`display`]: a byte that is not UTF-8 is stored as NUL and two hex digits
/// ([`Entry::path`]).
fn show(name: &str) -> String {
    let (mut out, mut chars, mut n) = (String::new(), name.chars(), 0);
    while let Some(c) = chars.next() {
        if n == 300 {
            out.push('…');
            break;
        }
        n += 1;
        match c {
            '\0' => {
                out.push_str("\\x");
                out.extend(chars.by_ref().take(2));
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use sha2::{Digest, Sha256};
    use tar::EntryType;

    #[test]
    fn good_archive_gives_the_manifest() {
        let m = read_backup(&gz(&good_tar())[..], &Limits::default()).unwrap();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                ".",
                "latest",
                "models",
                "models/copy.bin",
                "models/sub",
                "models/sub/deep.txt",
                "models/sub/up",
                "models/weights.bin",
                "notes.txt"
            ]
        );
        let digest: [u8; 32] = Sha256::digest(binary()).into();
        let w = &m["models/weights.bin"];
        assert_eq!(w.kind, EntryKind::File);
        assert_eq!(
            (w.size, w.digest, w.mode, w.uid, w.gid),
            (3000, Some(digest), 0o644, 1000, 1000)
        );
        assert_eq!(m["models"].kind, EntryKind::Dir);
        assert_eq!(m["."].kind, EntryKind::Dir);
        let target = "models/weights.bin".to_string();
        assert_eq!(
            m["latest"].kind,
            EntryKind::Symlink {
                target: target.clone()
            }
        );
        assert_eq!(m["models/copy.bin"].kind, EntryKind::Hardlink { target });
        assert_eq!(m["models/copy.bin"].digest, Some(digest));
        assert_eq!(summary(&m), (4, 3000 + 5 + 6 + 3000));
    }

    #[test]
    fn strip_prefix_for_the_engine_archive() {
        let t = tar_of(|b| {
            dir(b, "probe/");
            dir(b, "probe/sub/");
            file(b, "probe/sub/y", b"y");
            link(b, "probe/l", EntryType::Link, "probe/sub/y");
        });
        let m = read_tar(&t[..], Some("probe"), &Limits::default()).unwrap();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, [".", "l", "sub", "sub/y"]);
        let t = tar_of(|b| file(b, "other/z", b"z"));
        let p = read_tar(&t[..], Some("probe/"), &Limits::default()).unwrap_err();
        assert!(p[0].starts_with("entry other/z is outside probe/"), "{p:?}");
    }

    #[test]
    fn names_and_sizes_for_people() {
        assert_eq!(crate::ui::bytes::human(10 * MIB), "10 MiB");
        assert_eq!(crate::ui::bytes::human(1536), "1.5 KiB");
        assert_eq!(crate::ui::bytes::human(2 * 1024 * MIB), "2 GiB");
        assert_eq!(show("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn setuid_and_setgid_files_are_named() {
        let m = backup(|b| {
            dir(b, "./");
            let mut h = header(b"./bin/x", EntryType::Regular, 1);
            h.set_mode(0o4755);
            h.set_uid(0);
            h.set_cksum();
            b.append(&h, &b"x"[..]).unwrap();
            let mut h = header(b"./bin/y", EntryType::Regular, 1);
            h.set_mode(0o2755);
            h.set_cksum();
            b.append(&h, &b"y"[..]).unwrap();
            file(b, "./plain", b"p");
        })
        .unwrap();
        assert_eq!(
            special_modes(&m).as_deref(),
            Some(
                "note: bin/x is setuid root (mode 4755), bin/y is setgid to group 1000 (mode 2755): a restore recreates them"
            )
        );
        assert_eq!(special_modes(&volume()), None);
    }
}
