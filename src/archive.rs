//! Streaming validation of volume backups (`.tar.gz`) and of the tar streams that the Docker
//! archive endpoint returns.
//!
//! Nothing is ever extracted on the host: the archive is read once, as a stream, and turned into
//! a [`Manifest`] (path -> [`Entry`], with a SHA-256 of every regular file). Every problem found
//! is reported as a sentence for the learner; reading stops at the [`Limits`], so a gzip bomb or
//! an endless stream costs at most `max_total_bytes` of decompression.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

/// Caps on what one archive may hold, counted after decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most tar entries read (extension headers such as pax or GNU long names excluded).
    pub max_entries: u64,
    /// Most bytes read out of the decompressor: tar headers, file data and padding together.
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

/// The kind of an archive entry. Devices, fifos and other special files are refused, never listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link; `target` is the link text as stored (relative, resolving inside the root).
    Symlink { target: String },
    /// A hard link to an earlier regular file; `target` is that file's normalised path.
    Hardlink { target: String },
}

/// One entry of a volume or an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Normalised path: relative, no leading `./`, no trailing `/`; the root itself is `.`.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Size in bytes of a regular file (for a hard link: of its target); 0 otherwise.
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

const EMPTY: &str = "the archive is empty: it holds no files or folders; check that the volume \
                     was mounted and that tar named it (tar czf ... -C /data .)";

/// Reads a gzip-compressed tar stream (a volume backup made with `tar czf ... -C /data .`) and
/// returns its manifest, or every problem found (each a sentence for a person).
///
/// Besides the checks of [`read_tar`], this refuses input that is not gzip, and an archive whose
/// entries all sit under one top-level folder (`data/...`) with no root entry: that holds the
/// folder, not its contents.
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
        let gz = MultiGzDecoder::new(Cursor::new(head).chain(reader));
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

/// Differences between what a volume holds and what an archive holds, as sentences.
///
/// Empty when every file, folder and symbolic link of `expected` is in `actual` with the same
/// kind, identical bytes (SHA-256) and the same link target, and, when `exact`, nothing extra is
/// in `actual`. Hard links count as regular files. The root `.` is ignored, and so are mode and
/// owner unless `compare_owner`. A missing or extra folder is one sentence, not one per file.
pub fn compare(
    expected: &Manifest,
    expected_name: &str,
    actual: &Manifest,
    actual_name: &str,
    exact: bool,
    compare_owner: bool,
) -> Vec<String> {
    let (en, an) = (expected_name, actual_name);
    let mut out = Sentences::default();
    let mut gone = BTreeSet::new(); // folders already reported as a whole
    for (path, want) in expected.iter().filter(|(p, _)| *p != ".") {
        let (s, kw) = (show(path), kind_word(&want.kind));
        let got = match actual.get(path) {
            _ if under_any(path, &gone) => continue,
            Some(got) => got,
            // A folder whose contents are there too is implied by them; else one sentence.
            None if want.kind == EntryKind::Dir => {
                if inside(actual, path).next().is_none() {
                    gone.insert(path.as_str());
                    let (n, bytes) = sums(inside(expected, path));
                    let what = format!("folder {s} ({n} files, {})", fmt_bytes(bytes));
                    out.push(format!("{what} is in {en} but missing from {an}"));
                }
                continue;
            }
            None => {
                out.push(format!("{kw} {s} is in {en} but missing from {an}"));
                continue;
            }
        };
        let kg = kind_word(&got.kind);
        let (ws, gs) = (fmt_bytes(want.size), fmt_bytes(got.size));
        let (wo, go) = (owner(want), owner(got));
        let (wm, gm) = (want.mode, got.mode);
        let says = match (&want.kind, &got.kind) {
            _ if kw != kg => format!("{s} is a {kw} in {en} but a {kg} in {an}"),
            (EntryKind::Symlink { target: tw }, EntryKind::Symlink { target: tg }) if tw != tg => {
                let (tw, tg) = (show(tw), show(tg));
                format!("link {s} points to {tw} in {en} but to {tg} in {an}")
            }
            _ if want.size != got.size => format!("file {s} differs: {ws} in {en}, {gs} in {an}"),
            _ if want.digest != got.digest => {
                format!("file {s} has different content in {an} than in {en} (same size, {ws})")
            }
            _ => String::new(),
        };
        out.push_if(!says.is_empty(), || says);
        if compare_owner && kw == kg {
            let mode_differs = wm != gm && kw != "symbolic link";
            out.push_if(mode_differs, || {
                format!("{s} has mode {wm:04o} in {en} but {gm:04o} in {an}")
            });
            out.push_if(wo != go, || {
                format!("{s} is owned by {wo} in {en} but by {go} in {an}")
            });
        }
    }
    let mut extra = BTreeSet::new();
    for (path, got) in actual.iter().filter(|(p, _)| exact && *p != ".") {
        if expected.contains_key(path) || under_any(path, &extra) {
            continue;
        }
        if got.kind == EntryKind::Dir && inside(expected, path).next().is_some() {
            continue;
        } else if got.kind == EntryKind::Dir {
            extra.insert(path.as_str());
        }
        let (kg, s) = (kind_word(&got.kind), show(path));
        out.push(format!("{kg} {s} is in {an} but not in {en}"));
    }
    out.finish("differences")
}

/// Sums for messages: number of regular files (hard links included) and their total bytes.
pub fn summary(m: &Manifest) -> (usize, u64) {
    sums(m.values())
}

fn sums<'a>(entries: impl Iterator<Item = &'a Entry>) -> (usize, u64) {
    let files = entries.filter(|e| e.digest.is_some());
    files.fold((0, 0), |(n, b), e| (n + 1, b.saturating_add(e.size)))
}

/// The entries strictly inside folder `dir`: the keys under `dir/` sort together.
fn inside<'a>(m: &'a Manifest, dir: &str) -> impl Iterator<Item = &'a Entry> + 'a {
    let prefix = format!("{dir}/");
    let from = m.range(prefix.clone()..);
    from.take_while(move |(k, _)| k.starts_with(&prefix))
        .map(|(_, e)| e)
}

fn under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

fn under_any(path: &str, dirs: &BTreeSet<&str>) -> bool {
    let mut folders = path.match_indices('/').map(|(i, _)| &path[..i]);
    folders.any(|f| dirs.contains(f))
}

fn owner(e: &Entry) -> String {
    format!("{}:{}", e.uid, e.gid)
}

fn kind_word(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::File | EntryKind::Hardlink { .. } => "file",
        EntryKind::Dir => "folder",
        EntryKind::Symlink { .. } => "symbolic link",
    }
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

/// What the byte meter saw of the stream under the tar reader.
#[derive(Default)]
struct Meter {
    read: u64,
    limit: u64,
    eof: bool,
    capped: bool,
    inner_error: Option<(io::ErrorKind, String)>,
}

/// Counts the bytes the tar reader pulls, and fails once they pass the limit.
struct Metered<R> {
    inner: R,
    meter: Rc<RefCell<Meter>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut m = self.meter.borrow_mut();
        let room = m.limit.saturating_add(1).saturating_sub(m.read);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let result = self.inner.read(&mut buf[..want]);
        match &result {
            Ok(0) => m.eof |= want > 0,
            Ok(n) => m.read += *n as u64,
            Err(e) => m.inner_error = Some((e.kind(), e.to_string())),
        }
        m.capped |= m.read > m.limit;
        if m.capped {
            return Err(io::Error::other("size limit reached"));
        }
        result
    }
}

/// Path components, without empty and `.` ones.
fn components(path: &str) -> Vec<&str> {
    let comps = path.split('/');
    comps.filter(|c| !c.is_empty() && *c != ".").collect()
}

/// Normalises an entry name (relative, root is `.`), or says why it is refused.
fn normalise(raw: &str, strip: &[&str]) -> Result<String, String> {
    let (name, comps) = (show(raw), components(raw));
    let (fix, prefix) = ("create the archive", strip.join("/"));
    match comps.strip_prefix(strip) {
        _ if raw.starts_with('/') => Err(format!(
            "entry {name} is absolute: {fix} with tar -C /data . so entries are relative to the \
             volume root"
        )),
        _ if comps.contains(&"..") => Err(format!(
            "entry {name} escapes the volume root (it has a `..` component): it is unsafe to \
             restore; {fix} again with tar -C /data ."
        )),
        None => Err(format!(
            "entry {name} is outside {prefix}/, the folder asked for"
        )),
        Some([]) => Ok(".".to_string()),
        Some(rest) => Ok(rest.join("/")),
    }
}

/// Why a symbolic link is refused: an empty or absolute target, or one that leaves the root
/// once its `..` are resolved from the link's folder.
fn link_problem(path: &str, target: &str) -> Option<String> {
    let mut depth = components(path).len().saturating_sub(1);
    let mut escapes = false;
    for c in components(target) {
        escapes |= c == ".." && depth == 0;
        depth = if c == ".." {
            depth.saturating_sub(1)
        } else {
            depth + 1
        };
    }
    let (s, t) = (show(path), show(target));
    let how = match target {
        "" => {
            return Some(format!(
                "symbolic link {s} has an empty target: the archive is corrupt"
            ))
        }
        _ if target.starts_with('/') => "an absolute path",
        _ if escapes => "a path outside the volume root",
        _ => return None,
    };
    Some(format!(
        "symbolic link {s} points to {how} ({t}): links in a volume backup must stay inside the \
         volume; fix or remove the link, then create the archive again"
    ))
}

/// The sentence refusing a device node, fifo or an entry type this module does not know.
fn special_problem(s: &str, ty: tar::EntryType) -> String {
    let what = match ty.as_byte() {
        b'3' => "character device",
        b'4' => "block device",
        b'6' => "named pipe",
        t => {
            let t = char::from(t);
            return format!(
                "entry {s} has an unsupported tar type {t:?}: create it with `tar czf`"
            );
        }
    };
    format!(
        "entry {s} is a device node ({what}): a volume backup holds only files, folders and \
         links; remove it from the volume or leave it out with tar --exclude"
    )
}

/// Why reading stopped early: the stream failed (with where: " after entry x"), or a sentence.
enum Stop {
    Io(io::Error, String),
    Said(String),
}

/// State of one pass over a tar stream.
#[derive(Default)]
struct Scan<'a> {
    manifest: Manifest,
    problems: Sentences,
    strip: Vec<&'a str>,
    count: u64,
    named: u64,
}

fn scan<R: Read>(
    reader: R,
    strip_prefix: Option<&str>,
    limits: &Limits,
    gz: bool,
) -> Result<Manifest, Vec<String>> {
    let limit = limits.max_total_bytes;
    let meter = Rc::new(RefCell::new(Meter {
        limit,
        ..Meter::default()
    }));
    let strip = strip_prefix.map(components).unwrap_or_default();
    let mut st = Scan {
        strip,
        ..Scan::default()
    };
    let inner = Metered {
        inner: reader,
        meter: Rc::clone(&meter),
    };
    let mut archive = tar::Archive::new(inner);
    let outcome = st.read_entries(&mut archive, limits).and_then(|at| {
        if st.count > 0 && meter.borrow().eof {
            // The stream ended where a header should be: the end-of-archive blocks are missing.
            return Err(Stop::Io(io::ErrorKind::UnexpectedEof.into(), at));
        }
        // Read the end padding too, so that gzip's length and checksum are verified.
        let rest = io::copy(&mut archive.into_inner(), &mut io::sink());
        rest.map_err(|e| Stop::Io(e, " after its last entry".to_string()))
    });
    let top = single_top_folder(&st.manifest).filter(|_| gz);
    let said = match outcome {
        Err(Stop::Said(s)) => s,
        Err(Stop::Io(e, at)) => stream_problem(&meter.borrow(), &e, limits, gz, &at),
        Ok(_) if st.named == 0 => EMPTY.to_string(),
        Ok(_) => match top {
            Some(top) => format!(
                "all entries are under {top}/: the archive holds the folder, not its contents; \
                 use tar -C /{top} . so the volume's files are at the root"
            ),
            None => String::new(),
        },
    };
    st.problems.push_if(!said.is_empty(), || said);
    let problems = st.problems.finish("problems");
    problems.is_empty().then_some(st.manifest).ok_or(problems)
}

/// The one top-level folder that holds every entry, when there is one and no root entry.
fn single_top_folder(m: &Manifest) -> Option<String> {
    let top = m.keys().next()?.split('/').next()?;
    let all_under = m.keys().all(|k| k == top || under(k, top));
    let is_folder = m.get(top).is_some_and(|e| e.kind == EntryKind::Dir) || m.len() > 1;
    (top != "." && all_under && is_folder).then(|| top.to_string())
}

impl Scan<'_> {
    /// Reads every entry; returns where the last one ended, for messages.
    fn read_entries<R: Read>(
        &mut self,
        archive: &mut tar::Archive<R>,
        limits: &Limits,
    ) -> Result<String, Stop> {
        let mut at = " before its first entry".to_string();
        for item in archive.entries().map_err(|e| Stop::Io(e, at.clone()))? {
            let mut entry = item.map_err(|e| Stop::Io(e, at.clone()))?;
            self.count += 1;
            if self.count > limits.max_entries {
                return Err(Stop::Said(format!(
                    "the archive has more than {} entries: refusing to read further; check that \
                     it is a backup of the right volume",
                    limits.max_entries
                )));
            }
            if entry.header().entry_type().is_pax_global_extensions() {
                continue;
            }
            self.named += 1;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let checked = match normalise(&raw, &self.strip) {
                Ok(path) => self.check(&mut entry, &raw, path),
                Err(problem) => Ok(Err(problem)),
            };
            match checked.map_err(|e| Stop::Io(e, format!(" in entry {}", show(&raw))))? {
                Ok(e) => drop(self.manifest.insert(e.path.clone(), e)),
                Err(problem) => self.problems.push(problem),
            }
            at = format!(" after entry {}", show(&raw));
        }
        Ok(at)
    }

    /// The manifest entry for one tar entry, or the sentence refusing it; `Err` when the stream
    /// itself failed.
    fn check<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        raw: &str,
        path: String,
    ) -> io::Result<Result<Entry, String>> {
        let s = show(&path);
        let (header, ty) = (entry.header(), entry.header().entry_type());
        let (Ok(mode), Ok(uid), Ok(gid)) = (header.mode(), header.uid(), header.gid()) else {
            let fix = "the archive is corrupt; create it again with `tar czf`";
            return Ok(Err(format!(
                "entry {s} has an unreadable mode or owner field: {fix}"
            )));
        };
        let link = entry.link_name_bytes().unwrap_or_default();
        let link = String::from_utf8_lossy(&link).into_owned();
        let (mut size, mut digest) = (0, None);
        let kind = if ty.is_dir() || (ty.is_file() && raw.ends_with('/')) {
            EntryKind::Dir
        } else if ty.is_file() || ty.is_contiguous() || ty.is_gnu_sparse() {
            let (n, d) = hash(entry)?;
            (size, digest) = (n, Some(d));
            EntryKind::File
        } else if ty.is_symlink() {
            if let Some(problem) = link_problem(&path, &link) {
                return Ok(Err(problem));
            }
            EntryKind::Symlink { target: link }
        } else if ty.is_hard_link() {
            let earlier = normalise(&link, &self.strip).ok();
            let target = earlier.and_then(|t| self.manifest.get(&t));
            let Some(target) = target.filter(|t| t.digest.is_some()) else {
                return Ok(Err(format!(
                    "hard link {s} points to {}, which is not an earlier file of the archive: the \
                     archive is corrupt or hostile; create it again with `tar czf`",
                    show(&link)
                )));
            };
            (size, digest) = (target.size, target.digest);
            let target = target.path.clone();
            EntryKind::Hardlink { target }
        } else {
            return Ok(Err(special_problem(&s, ty)));
        };
        let is_link = |p: &&str| {
            let entry = self.manifest.get(*p);
            entry.is_some_and(|e| matches!(e.kind, EntryKind::Symlink { .. }))
        };
        let mut folders = path.match_indices('/').map(|(i, _)| &path[..i]);
        let problem = if let Some(link) = folders.find(is_link) {
            format!(
                "entry {s} lies inside symbolic link {}: restoring it would write through the \
                 link; the archive is corrupt or hostile, create it again with `tar czf`",
                show(link)
            )
        } else if path == "." && kind != EntryKind::Dir {
            let raw = show(raw);
            format!(
                "entry {raw} stands for the volume root but is not a folder: use tar -C /data ."
            )
        } else if self.manifest.contains_key(&path) {
            format!(
                "entry {s} appears twice in the archive: it was appended to (tar -r) or tampered \
                 with; create it again in one go with `tar czf`"
            )
        } else {
            let mode = mode & 0o7777;
            return Ok(Ok(Entry {
                path,
                kind,
                size,
                mode,
                uid,
                gid,
                digest,
            }));
        };
        Ok(Err(problem))
    }
}

/// SHA-256 and length of an entry's data; a short read means the stream ended early.
fn hash<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<(u64, [u8; 32])> {
    let (expected, mut hasher) = (entry.size(), Sha256::new());
    let (mut buf, mut total) = (vec![0u8; 64 * 1024], 0u64);
    loop {
        match entry.read(&mut buf)? {
            0 if total == expected => return Ok((total, hasher.finalize().into())),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
        }
    }
}

fn truncated(gz: bool, at: &str) -> String {
    let what = if gz { "archive" } else { "tar stream" };
    format!(
        "the {what} is truncated{at}: it ends in the middle of its data, so the backup was \
         interrupted or only partly copied; create it again with `tar czf`"
    )
}

/// Turns a failed read into a sentence, using what the meter saw below the tar reader.
fn stream_problem(m: &Meter, err: &io::Error, limits: &Limits, gz: bool, at: &str) -> String {
    let max = fmt_bytes(limits.max_total_bytes);
    let after = if gz { " after decompression" } else { "" };
    match &m.inner_error {
        _ if m.capped => format!(
            "the archive is larger than {max}{after}: refusing to read further; check that it is \
             a backup of the right volume"
        ),
        Some((io::ErrorKind::UnexpectedEof, _)) => truncated(gz, at),
        Some((_, msg)) if gz => format!(
            "the gzip data is corrupt{at} ({msg}): the file was damaged; create the backup again \
             with `tar czf`"
        ),
        Some((_, msg)) => format!("reading the tar stream failed{at}: {msg}"),
        None if m.eof || err.kind() == io::ErrorKind::UnexpectedEof => truncated(gz, at),
        None => format!("the tar data is corrupt{at} ({err}): create it again with `tar czf`"),
    }
}

/// Names what a non-gzip file starts with, for the "not gzip" sentence.
fn describe_start(head: &[u8]) -> String {
    let start = &head[..head.len().min(16)];
    let hex: Vec<String> = start.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if head.get(257..262) == Some(b"ustar") {
        "an uncompressed tar header: it was made with `tar cf`, without z".to_string()
    } else if head.starts_with(b"BZh") || head.starts_with(b"\xfd7zXZ\x00") {
        "bzip2 or xz data: it was made with `tar cjf` or `tar cJf`".to_string()
    } else if start
        .iter()
        .all(|b| b.is_ascii_graphic() || b" \n".contains(b))
    {
        format!("text {:?}", String::from_utf8_lossy(start))
    } else {
        format!("bytes {}", hex.join(" "))
    }
}

/// A name fit for a message: control characters escaped, very long names shortened.
fn show(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().take(300) {
        match c.is_control() {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out.extend(name.chars().nth(300).map(|_| '…'));
    out
}

/// Bytes for people: `512 bytes`, `10 MiB`, `1.5 GiB`.
fn fmt_bytes(n: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let (mut value, mut unit) = (n as f64, 0);
    while value >= 1024.0 && unit + 1 < units.len() {
        (value, unit) = (value / 1024.0, unit + 1);
    }
    let text = format!("{value:.1}");
    let number = text.strip_suffix(".0").unwrap_or(&text);
    format!("{number} {}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;
    use tar::{Builder, EntryType, Header};

    const MIB: u64 = 1024 * 1024;

    /// A GNU header with `name` written raw (no checks), so hostile names can be built.
    fn header(name: &[u8], ty: EntryType, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(ty);
        h.set_size(size);
        h.set_mode(if ty.is_dir() { 0o755 } else { 0o644 });
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_mtime(0);
        h.set_cksum();
        h
    }

    fn file(b: &mut Builder<Vec<u8>>, name: &str, data: &[u8]) {
        let h = header(name.as_bytes(), EntryType::Regular, data.len() as u64);
        b.append(&h, data).unwrap();
    }

    fn dir(b: &mut Builder<Vec<u8>>, name: &str) {
        b.append(
            &header(name.as_bytes(), EntryType::Directory, 0),
            io::empty(),
        )
        .unwrap();
    }

    fn link(b: &mut Builder<Vec<u8>>, name: &str, ty: EntryType, target: &str) {
        let mut h = header(name.as_bytes(), ty, 0);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        b.append(&h, io::empty()).unwrap();
    }

    fn tar_of(fill: impl FnOnce(&mut Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = Builder::new(Vec::new());
        fill(&mut b);
        b.into_inner().unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn backup(fill: impl FnOnce(&mut Builder<Vec<u8>>)) -> Result<Manifest, Vec<String>> {
        read_backup(&gz(&tar_of(fill))[..], &Limits::default())
    }

    /// Problems of an archive that holds the root plus what `fill` adds.
    fn problems(fill: impl FnOnce(&mut Builder<Vec<u8>>)) -> Vec<String> {
        backup(|b| {
            dir(b, "./");
            fill(b);
        })
        .expect_err("the archive should be refused")
    }

    fn has(problems: &[String], needle: &str) -> bool {
        problems.iter().any(|p| p.contains(needle))
    }

    fn binary() -> Vec<u8> {
        (0..=255u8).cycle().take(3000).collect()
    }

    fn good_tar() -> Vec<u8> {
        tar_of(|b| {
            dir(b, "./");
            dir(b, "./models/");
            file(b, "./models/weights.bin", &binary());
            dir(b, "./models/sub/");
            file(b, "./models/sub/deep.txt", b"deep\n");
            file(b, "notes.txt", b"hello\n");
            link(b, "./latest", EntryType::Symlink, "models/weights.bin");
            link(b, "./models/sub/up", EntryType::Symlink, "../../notes.txt");
            link(
                b,
                "./models/copy.bin",
                EntryType::Link,
                "./models/weights.bin",
            );
        })
    }

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
    fn long_names_round_trip() {
        let long = format!("{}/{}.bin", "d".repeat(120), "f".repeat(75));
        assert_eq!(long.len(), 200);
        let pax_name = format!("p{}", &long[1..]);
        let m = backup(|b| {
            dir(b, "./");
            let mut h = header(b"", EntryType::Regular, 3);
            b.append_data(&mut h, &long, &b"abc"[..]).unwrap(); // GNU long name
            let body = format!(" path={pax_name}\n");
            let mut len = body.len() + 3;
            len += format!("{len}{body}").len() - len; // the length counts its own digits
            let record = format!("{len}{body}");
            assert_eq!(record.len(), len);
            let x = header(b"PaxHeaders/x", EntryType::XHeader, record.len() as u64);
            b.append(&x, record.as_bytes()).unwrap();
            file(b, "truncated-name", b"xyz");
        })
        .unwrap();
        assert_eq!(m[&long].size, 3);
        assert_eq!(m[&pax_name].path, pax_name);
        assert!(!m.contains_key("truncated-name"));
    }

    #[test]
    fn absolute_entries_are_refused() {
        let p = problems(|b| file(b, "/data/model.bin", b"x"));
        assert_eq!(
            p,
            ["entry /data/model.bin is absolute: create the archive with tar -C /data . so entries are relative to the volume root"]
        );
    }

    #[test]
    fn dot_dot_entries_are_refused() {
        let p = problems(|b| {
            file(b, "./../etc/passwd", b"x");
            file(b, "a/../../x", b"x");
            file(b, "ok/..hidden", b"fine");
        });
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("entry ./../etc/passwd escapes the volume root"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("entry a/../../x escapes the volume root"),
            "{p:?}"
        );
    }

    #[test]
    fn escaping_links_are_refused() {
        let p = problems(|b| {
            link(b, "./etc", EntryType::Symlink, "/etc/passwd");
            link(b, "./sub/up", EntryType::Symlink, "../../x");
            link(b, "./top", EntryType::Symlink, "..");
            link(b, "./sub/ok", EntryType::Symlink, "../sub/./x");
            file(b, "./early.txt", b"e");
            link(b, "./h1", EntryType::Link, "missing.txt");
            link(b, "./h2", EntryType::Link, "later.txt");
            link(b, "./h3", EntryType::Link, "early.txt");
            file(b, "./later.txt", b"l");
            file(b, "./sub/ok/file", b"written through the link");
        });
        assert_eq!(p.len(), 6, "{p:?}");
        assert!(has(
            &p,
            "entry sub/ok/file lies inside symbolic link sub/ok: restoring"
        ));
        assert!(has(
            &p,
            "symbolic link etc points to an absolute path (/etc/passwd)"
        ));
        assert!(has(
            &p,
            "symbolic link sub/up points to a path outside the volume root (../../x)"
        ));
        assert!(has(
            &p,
            "symbolic link top points to a path outside the volume root (..)"
        ));
        assert!(has(
            &p,
            "hard link h1 points to missing.txt, which is not an earlier file"
        ));
        assert!(has(
            &p,
            "hard link h2 points to later.txt, which is not an earlier file"
        ));
    }

    #[test]
    fn devices_and_fifos_are_refused() {
        let p = problems(|b| {
            file(b, "./a.txt", b"a");
            b.append(&header(b"./dev/null", EntryType::Char, 0), io::empty())
                .unwrap();
            b.append(&header(b"./dev/sda", EntryType::Block, 0), io::empty())
                .unwrap();
            b.append(&header(b"./pipe", EntryType::Fifo, 0), io::empty())
                .unwrap();
            b.append(&header(b"./tty\x1b[2J", EntryType::Char, 0), io::empty())
                .unwrap();
        });
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(
            p[3].starts_with("entry tty\\u{1b}[2J is a device node"),
            "{p:?}"
        );
        assert!(p[0].starts_with("entry dev/null is a device node (character device)"));
        assert!(p[1].starts_with("entry dev/sda is a device node (block device)"));
        assert!(p[2].starts_with("entry pipe is a device node (named pipe)"));
    }

    #[test]
    fn duplicates_are_refused() {
        let p = problems(|b| {
            file(b, "./a.txt", b"one");
            file(b, "a.txt", b"two");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("entry a.txt appears twice in the archive"));
    }

    #[test]
    fn many_problems_are_capped_with_a_count() {
        let p = problems(|b| {
            for i in 0..40 {
                file(b, &format!("/abs/{i}"), b"x");
            }
        });
        assert_eq!(p.len(), MAX_SENTENCES + 1);
        assert!(
            p[MAX_SENTENCES].starts_with("15 more problems were found"),
            "{p:?}"
        );
    }

    /// A gzip stream of `members` concatenated: decompresses to `size` zeros after `head`.
    fn bomb(head: &Header, size: u64) -> Vec<u8> {
        let mut out = gz(head.as_bytes());
        let zeros = gz(&vec![0u8; MIB as usize]);
        for _ in 0..size / MIB {
            out.extend_from_slice(&zeros);
        }
        out.extend_from_slice(&gz(&[0u8; 1024]));
        out
    }

    #[test]
    fn gzip_bomb_is_stopped_early() {
        let limits = Limits {
            max_entries: 10,
            max_total_bytes: 10 * MIB,
        };
        for ty in [EntryType::Regular, EntryType::GNULongName] {
            let name: &[u8] = if ty == EntryType::Regular {
                b"./zeros.bin"
            } else {
                b"././@LongLink"
            };
            let data = bomb(&header(name, ty, 200 * MIB), 200 * MIB);
            let mut input = Cursor::new(&data[..]);
            let p = read_backup(&mut input, &limits).unwrap_err();
            assert_eq!(
                p,
                ["the archive is larger than 10 MiB after decompression: refusing to read further; check that it is a backup of the right volume"]
            );
            // 10 of the 200 one-MiB members, plus the decoder's 32 KiB input buffer.
            assert!(
                input.position() < data.len() as u64 / 4,
                "read {} of {} bytes",
                input.position(),
                data.len()
            );
        }
    }

    #[test]
    fn too_many_entries_are_refused() {
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let data = gz(&tar_of(|b| {
            (0..10).for_each(|i| file(b, &format!("f{i}"), b"x"))
        }));
        let p = read_backup(&data[..], &limits).unwrap_err();
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("the archive has more than 3 entries: refusing to read further"));
    }

    #[test]
    fn truncated_and_corrupt_gzip() {
        let data = gz(&good_tar());
        let half = read_backup(&data[..data.len() / 2], &Limits::default()).unwrap_err();
        assert!(half[0].starts_with("the archive is truncated"), "{half:?}");
        let no_trailer = read_backup(&data[..data.len() - 4], &Limits::default()).unwrap_err();
        assert!(
            no_trailer[0].starts_with("the archive is truncated"),
            "{no_trailer:?}"
        );
        let mut bad_crc = data.clone();
        let at = bad_crc.len() - 6;
        bad_crc[at] ^= 0xff;
        let p = read_backup(&bad_crc[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the gzip data is corrupt after its last entry"),
            "{p:?}"
        );
    }

    #[test]
    fn truncated_and_corrupt_tar() {
        let tar = good_tar();
        let p = read_tar(&tar[..700], None, &Limits::default()).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("the tar stream is truncated after entry ./:"),
            "{p:?}"
        );
        let p = read_tar(&tar[..2000], None, &Limits::default()).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("the tar stream is truncated in entry ./models/weights.bin"),
            "{p:?}"
        );
        // Ends cleanly after an entry's data, but without the end-of-archive blocks.
        let cut = tar_of(|b| file(b, "a.txt", b"a"));
        let p = read_tar(&cut[..1024], None, &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the tar stream is truncated after entry a.txt"),
            "{p:?}"
        );
        let p = read_backup(&gz(&cut[..1024])[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the archive is truncated after entry a.txt"),
            "{p:?}"
        );
        let mut bad = tar.clone();
        bad[0] = b'X';
        let p = read_backup(&gz(&bad)[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the tar data is corrupt before its first entry"),
            "{p:?}"
        );
    }

    #[test]
    fn not_gzip_or_empty() {
        let p = read_backup(&good_tar()[..], &Limits::default()).unwrap_err();
        assert_eq!(p, ["the file is not gzip-compressed (it starts with an uncompressed tar header: it was made with `tar cf`, without z): create it with `tar czf`"]);
        let p = read_backup(&b"hello world\n"[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with(
                "the file is not gzip-compressed (it starts with text \"hello world\\n\")"
            ),
            "{p:?}"
        );
        let p = read_backup(&b"BZh91AY&SY"[..], &Limits::default()).unwrap_err();
        assert!(p[0].contains("(it starts with bzip2 or xz data"), "{p:?}");
        let p = read_backup(&[0u8, 1, 2, 3][..], &Limits::default()).unwrap_err();
        assert!(p[0].contains("(it starts with bytes 00 01 02 03)"), "{p:?}");
        let p = read_backup(&b""[..], &Limits::default()).unwrap_err();
        assert!(p[0].starts_with("the file is empty (0 bytes)"), "{p:?}");
        for empty in [gz(b""), gz(&[0u8; 10240])] {
            let p = read_backup(&empty[..], &Limits::default()).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].starts_with("the archive is empty"), "{p:?}");
        }
    }

    #[test]
    fn folder_instead_of_contents() {
        let p = backup(|b| {
            dir(b, "data/");
            file(b, "data/a.txt", b"a");
            dir(b, "data/sub/");
        })
        .unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("all entries are under data/: the archive holds the folder, not its contents; use tar -C /data ."));
        // A volume whose only content is one folder is fine: the root entry is there.
        backup(|b| {
            dir(b, "./");
            dir(b, "./data/");
            file(b, "./data/a.txt", b"a");
        })
        .unwrap();
        // read_tar never makes this a problem.
        let t = tar_of(|b| file(b, "data/a.txt", b"a"));
        assert!(read_tar(&t[..], None, &Limits::default()).is_ok());
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

    fn entry(path: &str, kind: EntryKind, data: &[u8]) -> (String, Entry) {
        let is_file = matches!(kind, EntryKind::File | EntryKind::Hardlink { .. });
        let e = Entry {
            path: path.to_string(),
            size: if is_file { data.len() as u64 } else { 0 },
            digest: is_file.then(|| Sha256::digest(data).into()),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
        };
        (path.to_string(), e)
    }

    fn volume() -> Manifest {
        Manifest::from([
            entry(".", EntryKind::Dir, b""),
            entry("models", EntryKind::Dir, b""),
            entry("models/a.bin", EntryKind::File, b"aaaa"),
            entry("models/b.bin", EntryKind::File, b"bb"),
            entry("models-old", EntryKind::File, b"old"),
            entry("notes.txt", EntryKind::File, b"hello"),
            entry(
                "link",
                EntryKind::Symlink {
                    target: "notes.txt".into(),
                },
                b"",
            ),
        ])
    }

    const V: &str = "volume ml-data";
    const A: &str = "ml-data-backup.tar.gz";

    #[test]
    fn compare_identical_is_empty() {
        let mut other = volume();
        other.get_mut(".").unwrap().mode = 0o700;
        let hard = EntryKind::Hardlink {
            target: "models/a.bin".into(),
        };
        other.insert("models-old".into(), entry("models-old", hard, b"old").1);
        assert!(compare(&volume(), V, &other, A, true, false).is_empty());
        assert_eq!(summary(&volume()), (4, 14));
    }

    #[test]
    fn compare_reports_missing_differing_and_extra() {
        let mut got = volume();
        got.remove("notes.txt");
        got.insert(
            "models/a.bin".into(),
            entry("models/a.bin", EntryKind::File, b"aaaaa").1,
        );
        got.insert(
            "models/b.bin".into(),
            entry("models/b.bin", EntryKind::File, b"BB").1,
        );
        got.insert(
            "extra.txt".into(),
            entry("extra.txt", EntryKind::File, b"x").1,
        );
        got.insert(
            "models-old".into(),
            entry("models-old", EntryKind::Dir, b"").1,
        );
        got.insert(
            "models-old/x".into(),
            entry("models-old/x", EntryKind::File, b"x").1,
        );
        let d = compare(&volume(), V, &got, A, false, false);
        assert_eq!(
            d,
            [
                "models-old is a file in volume ml-data but a folder in ml-data-backup.tar.gz",
                "file models/a.bin differs: 4 bytes in volume ml-data, 5 bytes in ml-data-backup.tar.gz",
                "file models/b.bin has different content in ml-data-backup.tar.gz than in volume ml-data (same size, 2 bytes)",
                "file notes.txt is in volume ml-data but missing from ml-data-backup.tar.gz",
            ]
        );
        let d = compare(&volume(), V, &got, A, true, false);
        assert_eq!(d.len(), 6, "{d:?}");
        assert_eq!(
            d[4],
            "file extra.txt is in ml-data-backup.tar.gz but not in volume ml-data"
        );
        assert_eq!(
            d[5],
            "file models-old/x is in ml-data-backup.tar.gz but not in volume ml-data"
        );
    }

    #[test]
    fn compare_collapses_missing_folders_and_checks_links_and_owner() {
        let mut got = volume();
        got.retain(|k, _| !k.starts_with("models/") && k != "models");
        got.insert(
            "link".into(),
            entry("link", EntryKind::Symlink { target: "x".into() }, b"").1,
        );
        got.get_mut("notes.txt").unwrap().uid = 1000;
        got.get_mut("models-old").unwrap().mode = 0o600;
        let d = compare(&volume(), V, &got, A, true, false);
        assert_eq!(
            d,
            [
                "link link points to notes.txt in volume ml-data but to x in ml-data-backup.tar.gz",
                "folder models (2 files, 6 bytes) is in volume ml-data but missing from ml-data-backup.tar.gz",
            ]
        );
        let d = compare(&volume(), V, &got, A, true, true);
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(d.contains(
            &"models-old has mode 0644 in volume ml-data but 0600 in ml-data-backup.tar.gz"
                .to_string()
        ));
        assert!(d.contains(
            &"notes.txt is owned by 0:0 in volume ml-data but by 1000:0 in ml-data-backup.tar.gz"
                .to_string()
        ));
    }

    #[test]
    fn compare_folders_implied_by_their_files_and_extra_folders() {
        let mut got = volume();
        got.remove("models"); // no folder entry, but its files are there
        for (p, k) in [("new", EntryKind::Dir), ("new/a", EntryKind::File)] {
            got.insert(p.into(), entry(p, k, b"a").1);
        }
        got.insert("new/b".into(), entry("new/b", EntryKind::File, b"b").1);
        assert!(compare(&volume(), V, &got, A, false, false).is_empty());
        let d = compare(&volume(), V, &got, A, true, false);
        assert_eq!(
            d,
            ["folder new is in ml-data-backup.tar.gz but not in volume ml-data"]
        );
    }

    #[test]
    fn names_and_sizes_for_people() {
        assert_eq!(fmt_bytes(10 * MIB), "10 MiB");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(2 * 1024 * MIB), "2 GiB");
        assert_eq!(show("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }
}
