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

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

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

/// Largest pax extended header read (its records: long names, times, attributes, sparse maps).
const MAX_PAX: u64 = 1 << 20;

/// Most chunks in the map of one sparse file (16 bytes each in memory).
const MAX_SPARSE_CHUNKS: usize = 1 << 20;

/// Most symbolic links followed resolving one link: Linux's limit (past it, `ELOOP`).
const MAX_FOLLOWS: usize = 40;

/// A tar block.
const BLOCK: u64 = 512;

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

const EMPTY: &str = "the archive is empty: it holds no files or folders; check that the volume \
                     was mounted and that tar named it (tar czf ... -C /data .)";

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
    let mut gone = PathSet::default(); // folders already reported as a whole
    for (path, want) in expected.iter().filter(|(p, _)| *p != ".") {
        let (s, kw) = (show(path), kind_word(&want.kind));
        let got = match actual.get(path) {
            _ if gone.folder_of(path).is_some() => continue,
            Some(got) => got,
            // A folder whose contents are there too is implied by them; else one sentence.
            None if want.kind == EntryKind::Dir => {
                if inside(actual, path).next().is_none() {
                    gone.insert(path, ());
                    let (n, bytes) = sums(inside(expected, path));
                    let what =
                        format!("folder {s} ({n} files, {})", crate::ui::bytes::human(bytes));
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
        let (ws, gs) = (
            crate::ui::bytes::human(want.size),
            crate::ui::bytes::human(got.size),
        );
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
    let mut extra = PathSet::default();
    for (path, got) in actual.iter().filter(|(p, _)| exact && *p != ".") {
        if expected.contains_key(path) || extra.folder_of(path).is_some() {
            continue;
        }
        if got.kind == EntryKind::Dir && inside(expected, path).next().is_some() {
            continue;
        } else if got.kind == EntryKind::Dir {
            extra.insert(path, ());
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

/// The Mersenne prime 2^61 - 1, modulus of [`PathSet`]'s hashes.
const MERSENNE: u64 = (1 << 61) - 1;

/// Normalised paths that answer "is this path, or one of its folders, in the set?" in time
/// linear in the path's length, however deep it is: each prefix's hash extends the one before
/// (a polynomial hash modulo 2^61 - 1 with a random base for each set, so no archive can aim at
/// collisions), and a hit is confirmed by comparing the bytes. A map lookup for each folder
/// would compare the whole prefix each time: quadratic in the depth.
struct PathSet<T> {
    base: u64,
    map: HashMap<u64, Vec<(String, T)>>,
}

impl<T> Default for PathSet<T> {
    fn default() -> Self {
        let seed = RandomState::new().hash_one(0x5eed_u64);
        PathSet {
            base: seed % (MERSENNE - 1024) + 512,
            map: HashMap::new(),
        }
    }
}

impl<T> PathSet<T> {
    /// The hash `h` (of some prefix) extended by `bytes`; the empty path hashes to 0.
    fn extend(&self, mut h: u64, bytes: &[u8]) -> u64 {
        for b in bytes {
            let x = u128::from(h) * u128::from(self.base);
            let folded = (x as u64 & MERSENNE) + (x >> 61) as u64;
            h = (folded % MERSENNE + u64::from(*b) + 1) % MERSENNE;
        }
        h
    }

    fn insert(&mut self, path: &str, value: T) {
        let h = self.extend(0, path.as_bytes());
        self.map
            .entry(h)
            .or_default()
            .push((path.to_string(), value));
    }

    /// The value of `path`, whose hash is `h`.
    fn get_hashed(&self, h: u64, path: &str) -> Option<&T> {
        let bucket = self.map.get(&h)?;
        bucket.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }

    /// The folder of `path` (a prefix ending before one of its `/`) that is in the set.
    fn folder_of<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.map.is_empty() {
            return None;
        }
        let mut h = 0;
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' && self.get_hashed(h, &path[..i]).is_some() {
                return Some(&path[..i]);
            }
            h = self.extend(h, &[b]);
        }
        None
    }
}

/// Where a link's resolution stands: a normalised path (empty for the root) and, for each of
/// its components, the length and hash of the path before it (so `..` costs nothing).
#[derive(Default)]
struct Location {
    path: String,
    hash: u64,
    marks: Vec<(usize, u64)>,
}

impl Location {
    fn push<T>(&mut self, set: &PathSet<T>, name: &str) {
        self.marks.push((self.path.len(), self.hash));
        if !self.path.is_empty() {
            self.path.push('/');
            self.hash = set.extend(self.hash, b"/");
        }
        self.path.push_str(name);
        self.hash = set.extend(self.hash, name.as_bytes());
    }

    /// Goes up one folder; `false` at the root.
    fn pop(&mut self) -> bool {
        let Some((len, hash)) = self.marks.pop() else {
            return false;
        };
        self.path.truncate(len);
        self.hash = hash;
        true
    }
}

/// What the byte meter saw of the stream under the tar reader.
#[derive(Default)]
struct Meter {
    read: u64,
    limit: u64,
    eof: bool,
    capped: bool,
    trailing: bool,
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
            Err(e) => {
                m.trailing |= e.get_ref().is_some_and(|e| e.is::<TrailingData>());
                m.inner_error = Some((e.kind(), e.to_string()));
            }
        }
        m.capped |= m.read > m.limit;
        if m.capped {
            return Err(io::Error::other("size limit reached"));
        }
        result
    }
}

/// Bytes after the last gzip member that are neither another member nor zero padding.
#[derive(Debug)]
struct TrailingData;

impl std::fmt::Display for TrailingData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("trailing data after the gzip stream")
    }
}

impl std::error::Error for TrailingData {}

/// The members of a gzip file as one stream, as `gzip -d` reads them (`cat a.gz b.gz`, or a
/// compressor writing several members): after a member comes another one, the end, or zero
/// padding to the end (at most `padding` bytes: gzip ignores it, and so does `tar xzf`);
/// anything else is [`TrailingData`], on which `tar xzf` fails.
struct Members<R> {
    gz: Option<GzDecoder<R>>,
    padding: u64,
}

impl<R: BufRead> Members<R> {
    fn new(input: R, padding: u64) -> Self {
        Members {
            gz: Some(GzDecoder::new(input)),
            padding,
        }
    }

    fn after_member(&mut self, mut input: R) -> io::Result<()> {
        let next = match input.fill_buf()? {
            [] => None,
            [0x1f] | [0x1f, 0x8b, ..] => Some(true),
            [0, ..] => Some(false),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingData)),
        };
        match next {
            None => Ok(()),
            Some(true) => {
                self.gz = Some(GzDecoder::new(input));
                Ok(())
            }
            Some(false) => loop {
                let chunk = input.fill_buf()?;
                let n = chunk.len();
                if n == 0 {
                    return Ok(());
                }
                if chunk.iter().any(|b| *b != 0) || n as u64 > self.padding {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingData));
                }
                self.padding -= n as u64;
                input.consume(n);
            },
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(gz) = self.gz.as_mut() {
            let n = gz.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if let Some(done) = self.gz.take() {
                self.after_member(done.into_inner())?;
            }
        }
        Ok(0)
    }
}

/// The tar stream, read in blocks, through the meter.
struct Input<R> {
    inner: Metered<R>,
    buf: Vec<u8>,
}

/// The padding after `size` bytes of entry data, to the next block.
fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

impl<R: Read> Input<R> {
    /// The next block, or `None` where the stream ends cleanly.
    fn block(&mut self) -> io::Result<Option<[u8; 512]>> {
        let (mut block, mut got) = ([0u8; 512], 0);
        while got < block.len() {
            match self.inner.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match got {
            0 => Ok(None),
            512 => Ok(Some(block)),
            _ => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)
    }

    /// Reads `n` bytes and feeds them to `sink` (a hasher) if there is one.
    fn pass(&mut self, n: u64, mut sink: Option<&mut Sha256>) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let want = usize::try_from(left).map_or(self.buf.len(), |l| l.min(self.buf.len()));
            match self.inner.read(&mut self.buf[..want]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(got) => {
                    if let Some(h) = sink.as_deref_mut() {
                        h.update(&self.buf[..got]);
                    }
                    left -= got as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// What is left of the cap.
    fn room(&self) -> u64 {
        let m = self.inner.meter.borrow();
        m.limit.saturating_sub(m.read)
    }
}

/// An invalid-data error: the archive is corrupt.
fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The checksum of a header block, as tar computes it (the checksum field counted as spaces).
fn check_sum(block: &[u8; 512], header: &tar::Header) -> io::Result<()> {
    let fields = block[..148].iter().chain(&block[156..]);
    let sum = fields.map(|b| u32::from(*b)).sum::<u32>() + 8 * 32;
    match header.cksum()? == sum {
        true => Ok(()),
        false => Err(corrupt("archive header checksum mismatch")),
    }
}

/// The pax records this reader acts on.
#[derive(Default)]
struct Pax<'a> {
    path: Option<&'a [u8]>,
    linkpath: Option<&'a [u8]>,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
    sparse: SparsePax<'a>,
}

/// The `GNU.sparse.*` records of a pax header (GNU tar's sparse formats 0.0, 0.1 and 1.0).
#[derive(Default)]
struct SparsePax<'a> {
    major: Option<u64>,
    name: Option<&'a [u8]>,
    realsize: Option<u64>,
    size: Option<u64>,
    map: Option<&'a [u8]>,
    offsets: Vec<u64>,
    numbytes: Vec<u64>,
}

/// A decimal number of a pax record or sparse map.
fn decimal(text: &[u8]) -> io::Result<u64> {
    let digits = !text.is_empty() && text.len() <= 20 && text.iter().all(u8::is_ascii_digit);
    let n = digits.then(|| std::str::from_utf8(text).ok()?.parse().ok());
    n.flatten()
        .ok_or_else(|| corrupt("a number in a pax header is malformed"))
}

/// Parses pax records, `LEN key=value\n`, each measured by its length (a value may hold a
/// newline, so splitting at newlines would read another name than tar does). A malformed
/// record is an error: the archive is corrupt.
fn parse_pax(data: &[u8]) -> io::Result<Pax<'_>> {
    let (mut pax, mut rest) = (Pax::default(), data);
    let bad = || corrupt("a pax header record is malformed");
    while rest.first().is_some_and(|b| *b != 0) {
        let space = rest.iter().position(|b| *b == b' ').ok_or_else(bad)?;
        let len = usize::try_from(decimal(&rest[..space])?).map_err(|_| bad())?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..len - 1];
        rest = &rest[len..];
        let eq = record.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        let s = &mut pax.sparse;
        match key {
            b"path" => pax.path = Some(value),
            b"linkpath" => pax.linkpath = Some(value),
            b"size" => pax.size = Some(decimal(value)?),
            b"uid" => pax.uid = Some(decimal(value)?),
            b"gid" => pax.gid = Some(decimal(value)?),
            b"GNU.sparse.major" => s.major = Some(decimal(value)?),
            b"GNU.sparse.name" => s.name = Some(value),
            b"GNU.sparse.realsize" => s.realsize = Some(decimal(value)?),
            b"GNU.sparse.size" => s.size = Some(decimal(value)?),
            b"GNU.sparse.map" => s.map = Some(value),
            b"GNU.sparse.offset" => s.offsets.push(decimal(value)?),
            b"GNU.sparse.numbytes" => s.numbytes.push(decimal(value)?),
            _ => {}
        }
    }
    Ok(pax)
}

/// A sparse file: its real size and, unless they are at the start of its data (format 1.0),
/// the (offset, length) chunks of data stored, in order; the rest reads as zeros.
struct Sparse {
    real: u64,
    chunks: Option<Vec<(u64, u64)>>,
}

/// The map of a GNU sparse (`S`) entry: in its header, then in the extension blocks after it.
fn gnu_sparse<R: Read>(input: &mut Input<R>, header: &tar::Header) -> io::Result<Sparse> {
    let gnu = header
        .as_gnu()
        .ok_or_else(|| corrupt("a sparse entry has no GNU header"))?;
    let mut chunks = Vec::new();
    let add = |chunks: &mut Vec<(u64, u64)>, slots: &[tar::GnuSparseHeader]| {
        for slot in slots.iter().filter(|s| !s.is_empty()) {
            chunks.push((slot.offset()?, slot.length()?));
        }
        io::Result::Ok(())
    };
    add(&mut chunks, &gnu.sparse)?;
    let mut extended = gnu.is_extended();
    while extended {
        if chunks.len() > MAX_SPARSE_CHUNKS {
            return Err(corrupt("a sparse map has more than a million chunks"));
        }
        let block = input.block()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let mut ext = tar::GnuExtSparseHeader::new();
        ext.as_mut_bytes().copy_from_slice(&block);
        add(&mut chunks, ext.sparse())?;
        extended = ext.is_extended();
    }
    Ok(Sparse {
        real: gnu.real_size()?,
        chunks: Some(chunks),
    })
}

/// The sparse file that pax records describe, if they describe one.
fn pax_sparse(s: &SparsePax<'_>) -> io::Result<Option<Sparse>> {
    let missing = || corrupt("a pax sparse file has no real size");
    let pairs = |numbers: Vec<u64>| {
        let pairs: Vec<(u64, u64)> = numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        numbers
            .len()
            .is_multiple_of(2)
            .then_some(pairs)
            .ok_or_else(|| corrupt("a pax sparse map is not made of pairs"))
    };
    let chunks = match s.major {
        Some(1) => None,
        Some(0) | None if s.map.is_some() => {
            let text = s.map.unwrap_or_default();
            let numbers = text.split(|b| *b == b',').map(decimal);
            Some(pairs(numbers.collect::<io::Result<_>>()?)?)
        }
        Some(0) | None if !s.offsets.is_empty() || !s.numbytes.is_empty() => {
            if s.offsets.len() != s.numbytes.len() {
                return Err(corrupt("a pax sparse map is not made of pairs"));
            }
            Some(
                s.offsets
                    .iter()
                    .copied()
                    .zip(s.numbytes.iter().copied())
                    .collect(),
            )
        }
        Some(0) | None => return Ok(None),
        Some(_) => {
            return Err(corrupt(
                "a pax sparse file has a format this reader does not know",
            ))
        }
    };
    let real = match chunks {
        None => s.realsize,
        Some(_) => s.size.or(s.realsize),
    };
    Ok(Some(Sparse {
        real: real.ok_or_else(missing)?,
        chunks,
    }))
}

/// Reads the map that a 1.0 pax sparse file keeps at the start of its data (`size` bytes):
/// decimal numbers, one a line (the count, then each chunk's offset and length), padded to a
/// block. Returns the chunks and the bytes the map took.
fn read_sparse_map<R: Read>(input: &mut Input<R>, size: u64) -> io::Result<(Vec<(u64, u64)>, u64)> {
    let (mut block, mut at, mut taken) = ([0u8; 512], 512, 0u64);
    let mut number = |input: &mut Input<R>| -> io::Result<u64> {
        let mut text = Vec::new();
        loop {
            if at == block.len() {
                if taken + BLOCK > size {
                    return Err(corrupt("a sparse map is longer than its entry"));
                }
                input.exact(&mut block)?;
                (at, taken) = (0, taken + BLOCK);
            }
            let b = block[at];
            at += 1;
            match b {
                b'\n' => return decimal(&text),
                _ if text.len() < 20 => text.push(b),
                _ => return Err(corrupt("a sparse map holds a malformed number")),
            }
        }
    };
    let n = number(input)?;
    if n > MAX_SPARSE_CHUNKS as u64 {
        return Err(corrupt("a sparse map has more than a million chunks"));
    }
    let mut chunks = Vec::with_capacity(n as usize);
    for _ in 0..n {
        chunks.push((number(input)?, number(input)?));
    }
    Ok((chunks, taken))
}

/// Checks that `chunks` lay out `stored` bytes of data in a file of `real` bytes (in order, not
/// overlapping, each starting on a block of the data as GNU tar writes them, ending at the real
/// size); returns the bytes of holes.
fn check_map(chunks: &[(u64, u64)], stored: u64, real: u64) -> io::Result<u64> {
    let (mut end, mut used) = (0u64, 0u64);
    for &(offset, length) in chunks {
        if length != 0 && !used.is_multiple_of(BLOCK) {
            return Err(corrupt(
                "a chunk of a sparse file does not start on a block",
            ));
        } else if offset < end {
            return Err(corrupt(
                "the chunks of a sparse file are out of order or overlap",
            ));
        }
        end = offset
            .checked_add(length)
            .ok_or_else(|| corrupt("a sparse chunk ends past 2^64"))?;
        used = used.saturating_add(length);
    }
    if used != stored {
        return Err(corrupt(
            "the map of a sparse file does not match the data stored",
        ));
    } else if end != real {
        return Err(corrupt(
            "the map of a sparse file does not match its real size",
        ));
    }
    Ok(real - used)
}

static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Feeds `n` zero bytes (a hole of a sparse file) to `hasher`.
fn hash_zeros(hasher: &mut Sha256, mut n: u64) {
    while n > 0 {
        let k = usize::try_from(n).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
        hasher.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// The part of `bytes` before the first NUL: how tar reads a name.
fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|b| *b == 0)
        .map_or(bytes, |i| &bytes[..i])
}

/// A name's bytes as the `String` of [`Entry::path`]: valid UTF-8 as it is, each other byte as
/// NUL and two hex digits.
fn name_of(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push('\0');
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
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
/// once its `..` are resolved from the link's folder (the links it goes through are followed
/// later, on the whole archive: [`Scan::resolve_links`]).
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

/// The sentence refusing a name longer than [`MAX_NAME`].
fn name_too_long(what: &str, n: u64, kind: &str, at: &str) -> String {
    format!(
        "the archive holds a {what} of {n} bytes (a {kind}{at}): names on Linux are at most \
         {MAX_NAME} bytes (PATH_MAX); the archive is corrupt or hostile, create it again with \
         `tar czf`"
    )
}

/// Why reading stopped early: the stream failed (with where: " after entry x"), or a sentence.
enum Stop {
    Io(io::Error, String),
    Said(String),
}

/// What the extension headers before an entry said about it.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

impl Pending {
    fn any(&self) -> bool {
        self.long_name.is_some() || self.long_link.is_some() || self.pax.is_some()
    }
}

/// The fields of one entry that [`Scan::check`] judges.
struct Fields {
    ty: tar::EntryType,
    /// The name in the form of [`Entry::path`], before normalising.
    raw: String,
    link: String,
    /// The size of a regular file (a sparse file's real size).
    size: u64,
    mode: io::Result<u32>,
    uid: io::Result<u64>,
    gid: io::Result<u64>,
}

/// State of one pass over a tar stream.
#[derive(Default)]
struct Scan<'a> {
    manifest: Manifest,
    problems: Sentences,
    strip: Vec<&'a str>,
    count: u64,
    named: u64,
    /// The symbolic links accepted so far: path -> index in `link_list` (path, target).
    links: PathSet<usize>,
    link_list: Vec<(String, String)>,
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
    let mut input = Input {
        inner: Metered {
            inner: reader,
            meter: Rc::clone(&meter),
        },
        buf: vec![0; 64 << 10],
    };
    let outcome = st.read_entries(&mut input, limits, gz).and_then(|_| {
        // Read the end padding and whatever follows too, so that gzip's lengths and checksums
        // are verified (a second archive after the end blocks is read through, not listed, as
        // `tar xzf` does).
        let rest = io::copy(&mut input.inner, &mut io::sink());
        rest.map_err(|e| Stop::Io(e, " after its last entry".to_string()))
    });
    for problem in st.resolve_links() {
        st.problems.push(problem);
    }
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
    /// Reads every entry up to the end blocks; returns where the last one ended, for messages.
    fn read_entries<R: Read>(
        &mut self,
        input: &mut Input<R>,
        limits: &Limits,
        gz: bool,
    ) -> Result<String, Stop> {
        let mut at = " before its first entry".to_string();
        let mut pending = Pending::default();
        loop {
            let Some(block) = input.block().map_err(|e| Stop::Io(e, at.clone()))? else {
                // The stream ended where a header should be: the end blocks are missing.
                if self.count > 0 || pending.any() {
                    return Err(Stop::Io(io::ErrorKind::UnexpectedEof.into(), at));
                }
                return Ok(at);
            };
            if block.iter().all(|b| *b == 0) {
                if pending.any() {
                    let e = corrupt("extension headers describe an entry that is not there");
                    return Err(Stop::Io(e, at));
                }
                return Ok(at);
            }
            let header = tar::Header::from_byte_slice(&block);
            check_sum(&block, header).map_err(|e| Stop::Io(e, at.clone()))?;
            let ty = header.entry_type();
            if ty.is_gnu_longname() || ty.is_gnu_longlink() || ty.is_pax_local_extensions() {
                self.extension(input, header, &mut pending, &at, limits, gz)?;
                continue;
            }
            self.count += 1;
            if self.count > limits.max_entries {
                return Err(Stop::Said(format!(
                    "the archive has more than {} entries: refusing to read further; check that \
                     it is a backup of the right volume",
                    limits.max_entries
                )));
            }
            let pending = std::mem::take(&mut pending);
            if ty.is_pax_global_extensions() {
                let size = header.entry_size().map_err(|e| Stop::Io(e, at.clone()))?;
                room(input, size, limits, gz)?;
                let skipped = input.pass(size + padding(size), None);
                skipped.map_err(|e| Stop::Io(e, at.clone()))?;
                continue;
            }
            self.named += 1;
            at = self.entry(input, header, &pending, &at, limits, gz)?;
        }
    }

    /// Reads a GNU long name or link, or a pax header, into `pending`: measured first.
    fn extension<R: Read>(
        &mut self,
        input: &mut Input<R>,
        header: &tar::Header,
        pending: &mut Pending,
        at: &str,
        limits: &Limits,
        gz: bool,
    ) -> Result<(), Stop> {
        let ty = header.entry_type();
        let io_at = |e: io::Error| Stop::Io(e, at.to_string());
        let size = header.entry_size().map_err(io_at)?;
        room(input, size, limits, gz)?;
        let (slot, cap) = if ty.is_pax_local_extensions() {
            if size > MAX_PAX {
                return Err(Stop::Said(format!(
                    "the archive holds a pax extended header of {}{at}: more than the {} the \
                     workbook reads; the archive is corrupt or hostile, create it again with \
                     `tar czf`",
                    crate::ui::bytes::human(size),
                    crate::ui::bytes::human(MAX_PAX)
                )));
            }
            (&mut pending.pax, MAX_PAX)
        } else if ty.is_gnu_longname() {
            (&mut pending.long_name, MAX_NAME as u64 + 1)
        } else {
            (&mut pending.long_link, MAX_NAME as u64 + 1)
        };
        if size > cap {
            let (what, kind) = match ty.is_gnu_longname() {
                true => ("name", "GNU long name"),
                false => ("link target", "GNU long link"),
            };
            return Err(Stop::Said(name_too_long(what, size, kind, at)));
        }
        if slot.is_some() {
            return Err(io_at(corrupt(
                "two extension headers of one kind describe one entry",
            )));
        }
        let mut data = vec![0; size as usize];
        input.exact(&mut data).map_err(io_at)?;
        input.pass(padding(size), None).map_err(io_at)?;
        *slot = Some(data);
        Ok(())
    }

    /// Reads one entry (its data too) into the manifest or the problems; returns where it
    /// ended, for messages.
    fn entry<R: Read>(
        &mut self,
        input: &mut Input<R>,
        header: &tar::Header,
        pending: &Pending,
        at: &str,
        limits: &Limits,
        gz: bool,
    ) -> Result<String, Stop> {
        let io_at = |e: io::Error| Stop::Io(e, at.to_string());
        let pax = match pending.pax.as_deref() {
            Some(data) => parse_pax(data).map_err(io_at)?,
            None => Pax::default(),
        };
        let ty = header.entry_type();
        let size = match pax.size {
            Some(size) => size,
            None => header.entry_size().map_err(io_at)?,
        };
        let sparse_pax = pax_sparse(&pax.sparse).map_err(io_at)?;
        let header_name = header.path_bytes();
        let (name, kind) = match (&sparse_pax, pax.sparse.name) {
            (Some(_), Some(name)) => (name, "pax sparse name"),
            _ => match (pending.long_name.as_deref(), pax.path) {
                (Some(long), _) => (long, "GNU long name"),
                (None, Some(path)) => (path, "pax path"),
                (None, None) => (&header_name[..], "tar header"),
            },
        };
        let header_link = header.link_name_bytes().unwrap_or_default();
        let link = match (pending.long_link.as_deref(), pax.linkpath) {
            (Some(long), _) => long,
            (None, Some(path)) => path,
            (None, None) => &header_link[..],
        };
        let (name, link) = (until_nul(name), until_nul(link));
        if name.len() > MAX_NAME {
            return Err(Stop::Said(name_too_long(
                "name",
                name.len() as u64,
                kind,
                at,
            )));
        } else if link.len() > MAX_NAME {
            let n = link.len() as u64;
            return Err(Stop::Said(name_too_long(
                "link target",
                n,
                "pax linkpath",
                at,
            )));
        }
        let raw = name_of(name);
        let in_entry = format!(" in entry {}", show(&raw));
        let io_in = |e: io::Error| Stop::Io(e, in_entry.clone());
        let sparse = match ty.is_gnu_sparse() {
            true => Some(gnu_sparse(input, header).map_err(io_in)?),
            false => sparse_pax.filter(|_| ty.is_file() || ty.is_contiguous()),
        };
        room(input, size, limits, gz)?;
        if let Some(sp) = sparse.as_ref().filter(|sp| sp.real > input.room()) {
            let name = normalise(&raw, &self.strip).unwrap_or_else(|_| raw.clone());
            return Err(Stop::Said(format!(
                "entry {} is a sparse file of {} (its real size, though it takes {} in the \
                 archive): the archive would hold more than the {} the workbook reads from an \
                 archive; refusing to read further; check that it is a backup of the right volume",
                show(&name),
                crate::ui::bytes::human(sp.real),
                crate::ui::bytes::human(size),
                crate::ui::bytes::human(limits.max_total_bytes)
            )));
        }
        let uid = pax.uid.map_or_else(|| header.uid(), Ok);
        let gid = pax.gid.map_or_else(|| header.gid(), Ok);
        let real = sparse.as_ref().map_or(size, |sp| sp.real);
        let fields = Fields {
            ty,
            raw,
            link: name_of(link),
            size: real,
            mode: header.mode(),
            uid,
            gid,
        };
        let verdict = match normalise(&fields.raw, &self.strip) {
            Ok(path) => self.check(&fields, path),
            Err(problem) => Err(problem),
        };
        match verdict {
            Ok(mut e) if e.kind == EntryKind::File => {
                let digest = digest(input, size, sparse).map_err(io_in)?;
                e.digest = Some(digest);
                drop(self.manifest.insert(e.path.clone(), e));
            }
            Ok(e) => {
                input.pass(size + padding(size), None).map_err(io_in)?;
                if let EntryKind::Symlink { target } = &e.kind {
                    self.links.insert(&e.path, self.link_list.len());
                    self.link_list.push((e.path.clone(), target.clone()));
                }
                drop(self.manifest.insert(e.path.clone(), e));
            }
            Err(problem) => {
                input.pass(size + padding(size), None).map_err(io_in)?;
                self.problems.push(problem);
            }
        }
        Ok(format!(" after entry {}", show(&fields.raw)))
    }

    /// The manifest entry for one tar entry (a regular file's digest not taken yet), or the
    /// sentence refusing it.
    fn check(&self, f: &Fields, path: String) -> Result<Entry, String> {
        let (s, ty) = (show(&path), f.ty);
        let (Ok(mode), Ok(uid), Ok(gid)) = (&f.mode, &f.uid, &f.gid) else {
            let fix = "the archive is corrupt; create it again with `tar czf`";
            return Err(format!(
                "entry {s} has an unreadable mode or owner field: {fix}"
            ));
        };
        let (mut size, mut digest) = (0, None);
        let kind = if ty.is_dir() || (ty.is_file() && f.raw.ends_with('/')) {
            EntryKind::Dir
        } else if ty.is_file() || ty.is_contiguous() || ty.is_gnu_sparse() {
            size = f.size;
            EntryKind::File
        } else if ty.is_symlink() {
            if let Some(problem) = link_problem(&path, &f.link) {
                return Err(problem);
            }
            EntryKind::Symlink {
                target: f.link.clone(),
            }
        } else if ty.is_hard_link() {
            let earlier = normalise(&f.link, &self.strip).ok();
            let target = earlier.and_then(|t| self.manifest.get(&t));
            let Some(target) = target.filter(|t| t.digest.is_some()) else {
                return Err(format!(
                    "hard link {s} points to {}, which is not an earlier file of the archive: the \
                     archive is corrupt or hostile; create it again with `tar czf`",
                    show(&f.link)
                ));
            };
            (size, digest) = (target.size, target.digest);
            let target = target.path.clone();
            EntryKind::Hardlink { target }
        } else {
            return Err(special_problem(&s, ty));
        };
        let problem = if let Some(link) = self.links.folder_of(&path) {
            format!(
                "entry {s} lies inside symbolic link {}: restoring it would write through the \
                 link; the archive is corrupt or hostile, create it again with `tar czf`",
                show(link)
            )
        } else if path == "." && kind != EntryKind::Dir {
            let raw = show(&f.raw);
            format!(
                "entry {raw} stands for the volume root but is not a folder: use tar -C /data ."
            )
        } else if self.manifest.contains_key(&path) {
            format!(
                "entry {s} appears twice in the archive: it was appended to (tar -r) or tampered \
                 with; create it again in one go with `tar czf`"
            )
        } else if let Some(first) = self.first_inside(&path).filter(|_| kind != EntryKind::Dir) {
            format!(
                "entry {s} would replace folder {s}, which earlier entries are in ({}): \
                 restoring it would not give what the archive lists; the archive is corrupt or \
                 hostile, create it again with `tar czf`",
                show(first)
            )
        } else {
            let mode = mode & 0o7777;
            return Ok(Entry {
                path,
                kind,
                size,
                mode,
                uid: *uid,
                gid: *gid,
                digest,
            });
        };
        Err(problem)
    }

    /// The first entry so far inside folder `path`.
    fn first_inside(&self, path: &str) -> Option<&str> {
        let prefix = format!("{path}/");
        let (first, _) = self.manifest.range(prefix.clone()..).next()?;
        first.starts_with(&prefix).then_some(first.as_str())
    }

    /// Resolves every accepted symbolic link through the links of the whole archive, as the
    /// kernel resolves it once the archive is restored (a link to a folder makes the paths
    /// through it land where it points); the sentences refusing those that lead outside the
    /// root or through more than [`MAX_FOLLOWS`] links. The work is capped in proportion to
    /// the links' length, so hostile chains cost a bounded time.
    fn resolve_links(&self) -> Vec<String> {
        let (set, list) = (&self.links, &self.link_list);
        let weight: usize = list.iter().map(|(p, t)| p.len() + t.len()).sum();
        let mut budget = (1usize << 22).saturating_add(weight.saturating_mul(16));
        let mut out = Vec::new();
        for (path, target) in list {
            let mut at = Location::default();
            let folders = path.split('/').collect::<Vec<_>>();
            for name in &folders[..folders.len() - 1] {
                at.push(set, name);
            }
            let (mut frames, mut via) = (vec![target.split('/')], Vec::new());
            let outcome = loop {
                let Some(frame) = frames.last_mut() else {
                    break None;
                };
                let Some(c) = frame.next() else {
                    frames.pop();
                    continue;
                };
                let Some(left) = budget.checked_sub(1) else {
                    out.push(format!(
                        "the archive's symbolic links lead through one another too many times to \
                         check (from {}): the archive is corrupt or hostile; remove the chains \
                         of links, then create the archive again",
                        show(path)
                    ));
                    return out;
                };
                budget = left;
                match c {
                    "" | "." => {}
                    ".." if !at.pop() => break Some(false),
                    ".." => {}
                    name => {
                        at.push(set, name);
                        if let Some(&j) = set.get_hashed(at.hash, &at.path) {
                            via.push(j);
                            if via.len() > MAX_FOLLOWS {
                                break Some(true);
                            }
                            at.pop();
                            frames.push(list[j].1.split('/'));
                        }
                    }
                }
            };
            let (s, t) = (show(path), show(target));
            let fix = "fix or remove the link, then create the archive again";
            match outcome {
                None => {}
                Some(false) => {
                    let (links, chain) = chain(list, &via);
                    out.push(format!(
                        "symbolic link {s} points outside the volume root through {links} \
                         {chain}: its target {t} ends above the root once they are followed; \
                         links in a volume backup must stay inside the volume; {fix}"
                    ));
                }
                Some(true) => {
                    let (_, chain) = chain(list, &via);
                    let distinct = via.iter().collect::<std::collections::BTreeSet<_>>().len();
                    let what = if distinct < via.len() {
                        "a loop"
                    } else {
                        "a chain"
                    };
                    out.push(format!(
                        "symbolic link {s} ({t}) never resolves: it leads through more than \
                         {MAX_FOLLOWS} links ({what}: {chain}): the archive is corrupt or \
                         hostile; {fix}"
                    ));
                }
            }
        }
        out
    }
}

/// The links `via` went through, each once, for a message: ("symbolic links", "a (-> b), ...").
fn chain(list: &[(String, String)], via: &[usize]) -> (&'static str, String) {
    let mut seen: Vec<usize> = Vec::new();
    for j in via {
        if !seen.contains(j) {
            seen.push(*j);
        }
        if seen.len() > 3 {
            break;
        }
    }
    let shown = seen.iter().take(3).map(|j| {
        let (p, t) = &list[*j];
        format!("{} (-> {})", show(p), show(t))
    });
    let mut text = shown.collect::<Vec<_>>().join(", ");
    text.push_str(if seen.len() > 3 { ", ..." } else { "" });
    let links = if seen.len() == 1 {
        "symbolic link"
    } else {
        "symbolic links"
    };
    (links, text)
}

/// Refuses, before reading them, `size` bytes of data (and their padding) that would pass the
/// cap.
fn room<R: Read>(input: &Input<R>, size: u64, limits: &Limits, gz: bool) -> Result<(), Stop> {
    match size.saturating_add(padding(size)) > input.room() {
        true => Err(Stop::Said(too_large(limits, gz))),
        false => Ok(()),
    }
}

/// SHA-256 of a regular file's data (`size` bytes in the archive, then its padding); a sparse
/// file's holes read as zeros, their bytes counted against the cap first.
fn digest<R: Read>(
    input: &mut Input<R>,
    size: u64,
    sparse: Option<Sparse>,
) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let Some(sparse) = sparse else {
        input.pass(size, Some(&mut hasher))?;
        input.pass(padding(size), None)?;
        return Ok(hasher.finalize().into());
    };
    let (chunks, map_bytes) = match sparse.chunks {
        Some(chunks) => (chunks, 0),
        None => read_sparse_map(input, size)?,
    };
    let holes = check_map(&chunks, size - map_bytes, sparse.real)?;
    {
        let mut m = input.inner.meter.borrow_mut();
        m.limit = m.limit.saturating_sub(holes);
    }
    let mut end = 0;
    for (offset, length) in chunks {
        hash_zeros(&mut hasher, offset - end);
        input.pass(length, Some(&mut hasher))?;
        end = offset + length;
    }
    input.pass(padding(size), None)?;
    Ok(hasher.finalize().into())
}

fn truncated(gz: bool, at: &str) -> String {
    let what = if gz { "archive" } else { "tar stream" };
    format!(
        "the {what} is truncated{at}: it ends in the middle of its data, so the backup was \
         interrupted or only partly copied; create it again with `tar czf`"
    )
}

fn too_large(limits: &Limits, gz: bool) -> String {
    let max = crate::ui::bytes::human(limits.max_total_bytes);
    let after = if gz { " after decompression" } else { "" };
    format!(
        "the archive is larger than {max}{after}: refusing to read further; check that it is a \
         backup of the right volume"
    )
}

/// Turns a failed read into a sentence, using what the meter saw below the tar reader.
fn stream_problem(m: &Meter, err: &io::Error, limits: &Limits, gz: bool, at: &str) -> String {
    match &m.inner_error {
        _ if m.capped => too_large(limits, gz),
        _ if m.trailing => "the archive has trailing data after the gzip stream: what follows \
                            the compressed data is neither another gzip member nor zero padding, \
                            so the file was appended to or damaged (`tar xzf` stops with an error \
                            there); create the backup again with `tar czf`"
            .to_string(),
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
        assert_eq!(crate::ui::bytes::human(10 * MIB), "10 MiB");
        assert_eq!(crate::ui::bytes::human(1536), "1.5 KiB");
        assert_eq!(crate::ui::bytes::human(2 * 1024 * MIB), "2 GiB");
        assert_eq!(show("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    // ---- Hostile archives: links through links, sparse files, long names, odd names, gzip.

    /// Runs `f` on a thread and waits at most `secs` for it: a hang fails the test instead of
    /// hanging the suite (the thread is left behind).
    fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || drop(tx.send(f())));
        let wait = std::time::Duration::from_secs(secs);
        rx.recv_timeout(wait)
            .unwrap_or_else(|_| panic!("did not end within {secs} s"))
    }

    #[test]
    fn links_through_earlier_links_are_resolved() {
        // sub/up -> .. is the root; sub/esc -> up/../etc is then ../etc: outside.
        let p = problems(|b| {
            dir(b, "./sub/");
            link(b, "./sub/up", EntryType::Symlink, "..");
            link(b, "./sub/esc", EntryType::Symlink, "up/../etc");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("symbolic link sub/esc points outside the volume root through symbolic link sub/up (-> ..)"),
            "{p:?}"
        );
        // A link through a link through a link: a/l1 -> .. (the root); a/b/l2 -> ../l1 (the
        // root); a/b/c/l3 -> ../l2/../x: the root's parent.
        let p = problems(|b| {
            for d in ["./a/", "./a/b/", "./a/b/c/"] {
                dir(b, d);
            }
            link(b, "./a/l1", EntryType::Symlink, "..");
            link(b, "./a/b/l2", EntryType::Symlink, "../l1");
            link(b, "./a/b/c/l3", EntryType::Symlink, "../l2/../x");
            link(b, "./a/b/c/fine", EntryType::Symlink, "../l2/a/b");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("symbolic link a/b/c/l3 points outside the volume root through symbolic links a/b/l2 (-> ../l1), a/l1 (-> ..)"), "{p:?}");
        // A link declared later changes what an earlier one means: checked on the whole archive.
        let p = problems(|b| {
            dir(b, "./sub/");
            link(b, "./sub/esc", EntryType::Symlink, "up/../../x");
            link(b, "./sub/up", EntryType::Symlink, "..");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("symbolic link sub/esc points outside"),
            "{p:?}"
        );
        // Links through links that stay inside are fine.
        let m = backup(|b| {
            dir(b, "./");
            dir(b, "./a/");
            dir(b, "./a/b/");
            file(b, "./a/b/data.txt", b"d");
            link(b, "./a/top", EntryType::Symlink, "..");
            link(b, "./a/b/via", EntryType::Symlink, "../top/a/b/data.txt");
            link(b, "./a/b/again", EntryType::Symlink, "via");
        })
        .unwrap();
        assert_eq!(m.len(), 7);
    }

    #[test]
    fn link_loops_end_and_are_refused() {
        let p = within(20, || {
            backup(|b| {
                dir(b, "./");
                link(b, "./one", EntryType::Symlink, "two/x");
                link(b, "./two", EntryType::Symlink, "one/y");
                link(b, "./me", EntryType::Symlink, "me/me");
                file(b, "./ok.txt", b"ok");
            })
        })
        .unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].starts_with("symbolic link one (two/x) never resolves: it leads through more than 40 links (a loop: two (-> one/y), one (-> two/x)"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("symbolic link two (one/y) never resolves"),
            "{p:?}"
        );
        assert!(
            p[2].starts_with("symbolic link me (me/me) never resolves"),
            "{p:?}"
        );
    }

    #[test]
    fn a_link_or_file_replacing_an_earlier_folder_is_refused() {
        let p = problems(|b| {
            file(b, "./d/f.txt", b"f");
            link(b, "./d", EntryType::Symlink, "elsewhere");
            file(b, "./e/g.txt", b"g");
            file(b, "./e", b"now a file");
        });
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with(
                "entry d would replace folder d, which earlier entries are in (d/f.txt)"
            ),
            "{p:?}"
        );
        assert!(p[1].starts_with("entry e would replace folder e"), "{p:?}");
    }

    /// Resolves `target` of the link at `path` over `links` (path -> target) the plain way:
    /// recursion, no hashing; `None` when it leads through more than 40 links.
    fn model_inside(links: &BTreeMap<String, String>, path: &str, target: &str) -> Option<bool> {
        fn walk(
            links: &BTreeMap<String, String>,
            at: &mut Vec<String>,
            target: &str,
            follows: &mut usize,
        ) -> Option<bool> {
            for c in target.split('/') {
                match c {
                    "" | "." => {}
                    ".." if at.is_empty() => return Some(false),
                    ".." => drop(at.pop()),
                    name => {
                        at.push(name.to_string());
                        if let Some(t) = links.get(&at.join("/")) {
                            *follows += 1;
                            if *follows > 40 {
                                return None;
                            }
                            at.pop();
                            if !walk(links, at, t, follows)? {
                                return Some(false);
                            }
                        }
                    }
                }
            }
            Some(true)
        }
        let mut at: Vec<String> = path.split('/').map(String::from).collect();
        at.pop();
        walk(links, &mut at, target, &mut 0)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Archives of folders and links whose targets mix `..`, `.` and names of other links:
        /// an accepted archive never holds a link that a plain resolver finds leaving the root
        /// or looping; and one whose links all stay inside (textually too) is accepted.
        #[test]
        fn accepted_links_resolve_inside(
            links in proptest::collection::vec((
                proptest::sample::select(vec!["a", "b", "a/c", "b/d", "a/c/e"]),
                proptest::collection::vec(
                    proptest::sample::select(vec!["..", ".", "a", "b", "c", "l0", "l1", "l2"]), 1..5),
            ), 1..6),
        ) {
            let mut declared = BTreeMap::new();
            let tar = tar_of(|b| {
                dir(b, "./");
                for d in ["a", "b", "a/c", "b/d", "a/c/e"] {
                    dir(b, &format!("./{d}/"));
                }
                for (i, (folder, target)) in links.iter().enumerate() {
                    let (path, target) = (format!("{folder}/l{i}"), target.join("/"));
                    link(b, &path, EntryType::Symlink, &target);
                    declared.insert(path, target);
                }
            });
            let textual = declared.iter().all(|(p, t)| link_problem(p, t).is_none());
            let verdicts: Vec<Option<bool>> =
                declared.iter().map(|(p, t)| model_inside(&declared, p, t)).collect();
            match read_tar(&tar[..], None, &Limits::default()) {
                Ok(_) => proptest::prop_assert!(
                    verdicts.iter().all(|v| *v == Some(true)),
                    "accepted, but the model says {verdicts:?} for {declared:?}"
                ),
                Err(p) => proptest::prop_assert!(
                    !textual || verdicts.iter().any(|v| *v != Some(true)),
                    "refused {p:?}, but every link of {declared:?} stays inside"
                ),
            }
        }
    }

    /// A GNU sparse ('S') header for `name`: `chunks` (offset, length) of `real` bytes, the first
    /// four in the header and the rest in extension headers, which are returned after it.
    fn sparse_headers(name: &[u8], chunks: &[(u64, u64)], real: u64) -> Vec<u8> {
        let stored: u64 = chunks.iter().map(|c| c.1).sum();
        let mut h = header(name, EntryType::GNUSparse, stored);
        let gnu = h.as_gnu_mut().unwrap();
        for (slot, (off, len)) in gnu.sparse.iter_mut().zip(chunks) {
            slot.set_offset(*off);
            slot.set_length(*len);
        }
        gnu.set_real_size(real);
        gnu.set_is_extended(chunks.len() > 4);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        let rest: Vec<&[(u64, u64)]> = chunks.get(4..).unwrap_or(&[]).chunks(21).collect();
        for (i, group) in rest.iter().enumerate() {
            let mut ext = tar::GnuExtSparseHeader::new();
            for (slot, (off, len)) in ext.sparse_mut().iter_mut().zip(group.iter()) {
                slot.set_offset(*off);
                slot.set_length(*len);
            }
            ext.set_is_extended(i + 1 < rest.len());
            out.extend_from_slice(ext.as_bytes());
        }
        out
    }

    fn padded(mut v: Vec<u8>) -> Vec<u8> {
        v.resize(v.len().div_ceil(512) * 512, 0);
        v
    }

    /// A tar of raw pieces (headers and padded data) after a root entry, with its end blocks.
    fn raw_tar(pieces: &[Vec<u8>]) -> Vec<u8> {
        let mut out = header(b"./", EntryType::Directory, 0).as_bytes().to_vec();
        pieces.iter().for_each(|p| out.extend_from_slice(p));
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    /// A pax record `LEN key=value\n`, the length counting its own digits.
    fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
        let body = [b" ", key.as_bytes(), b"=", value, b"\n"].concat();
        let mut len = body.len() + 1;
        while format!("{len}").len() + body.len() != len {
            len += 1;
        }
        [format!("{len}").into_bytes(), body].concat()
    }

    /// A POSIX (ustar) header, as `tar --format=posix` writes around pax records (GNU tar
    /// reads a pax sparse map only after a ustar header, not after a GNU one).
    fn ustar(name: &[u8], ty: EntryType, size: u64) -> Vec<u8> {
        let mut h = Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(ty);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_mtime(0);
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn pax_header(records: &[(&str, &[u8])]) -> Vec<u8> {
        let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        let h = ustar(b"./PaxHeaders/x", EntryType::XHeader, data.len() as u64);
        [h, padded(data)].concat()
    }

    /// Chunks of a sparse test file: four whole blocks, one short chunk, the end: 10 000 bytes.
    const CHUNKS: [(u64, u64); 6] = [
        (0, 512),
        (1024, 512),
        (2048, 512),
        (3072, 512),
        (8192, 300),
        (10_000, 0),
    ];

    fn sparse_data() -> (Vec<u8>, Vec<u8>) {
        let mut real = vec![0u8; 10_000];
        let mut stored = Vec::new();
        for (i, (off, len)) in CHUNKS.iter().enumerate() {
            let bytes = vec![b'a' + i as u8; *len as usize];
            real[*off as usize..(*off + *len) as usize].copy_from_slice(&bytes);
            stored.extend_from_slice(&bytes);
        }
        (real, stored)
    }

    fn assert_holds_the_sparse_file(m: &Manifest, real: &[u8]) {
        let e = &m["hole.bin"];
        assert_eq!(e.kind, EntryKind::File);
        assert_eq!(e.size, 10_000);
        assert_eq!(e.digest, Some(Sha256::digest(real).into()));
        assert_eq!(m.len(), 2, "{:?}", m.keys().collect::<Vec<_>>());
    }

    #[test]
    fn gnu_sparse_files_are_read_as_their_real_bytes() {
        let (real, stored) = sparse_data();
        let tar = raw_tar(&[
            sparse_headers(b"./hole.bin", &CHUNKS, 10_000),
            padded(stored),
        ]);
        let m = read_backup(&gz(&tar)[..], &Limits::default()).unwrap();
        assert_holds_the_sparse_file(&m, &real);
    }

    #[test]
    fn pax_sparse_files_are_read_as_their_real_bytes() {
        let (real, stored) = sparse_data();
        let map: Vec<String> = CHUNKS
            .iter()
            .flat_map(|(o, l)| [o.to_string(), l.to_string()])
            .collect();
        let n = CHUNKS.len().to_string();
        let data_header = |name: &[u8], size: usize| ustar(name, EntryType::Regular, size as u64);
        // 1.0: the map at the start of the data, one number a line, padded to a block.
        let text = format!("{n}\n{}\n", map.join("\n"));
        let data = [padded(text.into_bytes()), stored.clone()].concat();
        let v10 = raw_tar(&[
            pax_header(&[
                ("GNU.sparse.major", b"1"),
                ("GNU.sparse.minor", b"0"),
                ("GNU.sparse.name", b"./hole.bin"),
                ("GNU.sparse.realsize", b"10000"),
            ]),
            data_header(b"./GNUSparseFile.7/hole.bin", data.len()),
            padded(data),
        ]);
        // 0.1: the map in one record.
        let v01 = raw_tar(&[
            pax_header(&[
                ("GNU.sparse.size", b"10000"),
                ("GNU.sparse.numblocks", n.as_bytes()),
                ("GNU.sparse.name", b"./hole.bin"),
                ("GNU.sparse.map", map.join(",").as_bytes()),
            ]),
            data_header(b"./GNUSparseFile.7/hole.bin", stored.len()),
            padded(stored.clone()),
        ]);
        // 0.0: one offset and one numbytes record a chunk.
        let mut records: Vec<(&str, Vec<u8>)> = vec![
            ("GNU.sparse.size", b"10000".to_vec()),
            ("GNU.sparse.numblocks", n.clone().into_bytes()),
        ];
        for (o, l) in CHUNKS {
            records.push(("GNU.sparse.offset", o.to_string().into_bytes()));
            records.push(("GNU.sparse.numbytes", l.to_string().into_bytes()));
        }
        let records: Vec<(&str, &[u8])> = records.iter().map(|(k, v)| (*k, &v[..])).collect();
        let v00 = raw_tar(&[
            pax_header(&records),
            data_header(b"./hole.bin", stored.len()),
            padded(stored),
        ]);
        for tar in [v10, v01, v00] {
            let m = read_backup(&gz(&tar)[..], &Limits::default()).unwrap();
            assert_holds_the_sparse_file(&m, &real);
        }
    }

    #[test]
    fn a_sparse_file_counts_its_real_size_and_is_refused_at_once() {
        for real in [8 << 30, 1u64 << 62] {
            let tar = raw_tar(&[sparse_headers(b"./big.bin", &[(real, 0)], real)]);
            let p = within(20, move || read_backup(&gz(&tar)[..], &Limits::default())).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(
                p[0].starts_with("entry big.bin is a sparse file of ")
                    && p[0].contains("more than the 2 GiB the workbook reads from an archive"),
                "{p:?}"
            );
        }
        let tar = raw_tar(&[
            pax_header(&[
                ("GNU.sparse.major", b"1"),
                ("GNU.sparse.minor", b"0"),
                ("GNU.sparse.name", b"./big.bin"),
                ("GNU.sparse.realsize", b"4611686018427387904"),
            ]),
            ustar(b"./GNUSparseFile.1/big.bin", EntryType::Regular, 512),
            padded(b"1\n4611686018427387904\n0\n".to_vec()),
        ]);
        let p = within(20, move || read_backup(&gz(&tar)[..], &Limits::default())).unwrap_err();
        assert!(
            p[0].starts_with("entry big.bin is a sparse file of 4 EiB"),
            "{p:?}"
        );
        // Real sizes add up: two of 600 KiB in a 1 MiB cap.
        let limits = Limits {
            max_total_bytes: MIB,
            ..Limits::default()
        };
        let one = |name: &[u8]| sparse_headers(name, &[(600 << 10, 0)], 600 << 10);
        let tar = raw_tar(&[one(b"./a.bin"), one(b"./b.bin")]);
        let p = read_backup(&gz(&tar)[..], &limits).unwrap_err();
        assert!(
            p[0].starts_with("entry b.bin is a sparse file of 600 KiB"),
            "{p:?}"
        );
        let tar = raw_tar(&[one(b"./a.bin")]);
        let m = read_backup(&gz(&tar)[..], &limits).unwrap();
        assert_eq!(m["a.bin"].size, 600 << 10);
    }

    #[test]
    fn corrupt_sparse_maps_are_refused() {
        let bad = [
            // Out of order.
            (vec![(1024, 512), (0, 512)], 2048),
            // Overlapping.
            (vec![(0, 1024), (512, 512)], 2048),
            // Ends before the real size.
            (vec![(0, 512)], 2048),
            // A chunk past the real size.
            (vec![(0, 512), (4096, 512)], 2048),
        ];
        for (chunks, real) in bad {
            let stored: u64 = chunks.iter().map(|c| c.1).sum();
            let tar = raw_tar(&[
                sparse_headers(b"./s.bin", &chunks, real),
                vec![b'x'; stored as usize],
            ]);
            let p = read_backup(&gz(&tar)[..], &Limits::default()).unwrap_err();
            assert!(
                p[0].starts_with("the tar data is corrupt in entry ./s.bin"),
                "{chunks:?}: {p:?}"
            );
        }
    }

    /// A GNU long name ('L') or link ('K') entry of `n` bytes.
    fn long_entry(ty: EntryType, name: &[u8]) -> Vec<u8> {
        let data = [name, b"\0"].concat();
        let h = header(b"././@LongLink", ty, data.len() as u64);
        [h.as_bytes().to_vec(), padded(data)].concat()
    }

    #[test]
    fn long_names_are_capped_before_they_are_read() {
        let huge: Vec<u8> = b"a/".iter().copied().cycle().take(8 << 20).collect();
        for ty in [EntryType::GNULongName, EntryType::GNULongLink] {
            let tar = raw_tar(&[
                long_entry(ty, &huge),
                header(b"./x", EntryType::Symlink, 0).as_bytes().to_vec(),
            ]);
            let mut input = Cursor::new(&tar[..]);
            let p = read_tar(&mut input, None, &Limits::default()).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            let (what, kind) = match ty == EntryType::GNULongName {
                true => ("name", "GNU long name"),
                false => ("link target", "GNU long link"),
            };
            assert!(
                p[0].starts_with(&format!("the archive holds a {what} of 8388609 bytes (a {kind} after entry ./): names on Linux are at most 4096 bytes (PATH_MAX)")),
                "{p:?}"
            );
            assert!(
                input.position() < 64 << 10,
                "read {} bytes",
                input.position()
            );
        }
        // In a pax header: the path record is longer than 4096 bytes.
        let long: Vec<u8> = vec![b'p'; 5000];
        let tar = raw_tar(&[
            pax_header(&[("path", &long)]),
            header(b"./short", EntryType::Regular, 0)
                .as_bytes()
                .to_vec(),
        ]);
        let p = read_tar(&tar[..], None, &Limits::default()).unwrap_err();
        assert!(p[0].contains("a name of 5000 bytes (a pax path"), "{p:?}");
        // A pax header bigger than 1 MiB is refused before it is read.
        let h = header(b"./PaxHeaders/x", EntryType::XHeader, 64 << 20);
        let tar = raw_tar(&[h.as_bytes().to_vec(), vec![b'9'; 2 << 20]]);
        let mut input = Cursor::new(&tar[..]);
        let p = read_tar(&mut input, None, &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the archive holds a pax extended header of 64 MiB"),
            "{p:?}"
        );
        assert!(
            input.position() < 64 << 10,
            "read {} bytes",
            input.position()
        );
        // 4096 bytes is fine.
        let name = format!("{}/{}", "d".repeat(2000), "f".repeat(2095));
        assert_eq!(name.len(), 4096);
        let tar = raw_tar(&[
            long_entry(EntryType::GNULongName, name.as_bytes()),
            header(b"./x", EntryType::Regular, 0).as_bytes().to_vec(),
        ]);
        let m = read_tar(&tar[..], None, &Limits::default()).unwrap();
        assert!(m.contains_key(&name));
    }

    #[test]
    fn long_names_with_a_common_prefix_end_quickly() {
        let mut pieces = Vec::new();
        for last in ["x", "y"] {
            let name = format!("{}{last}", "d/".repeat(1 << 20));
            pieces.push(long_entry(EntryType::GNULongName, name.as_bytes()));
            pieces.push(
                header(b"placeholder", EntryType::Regular, 0)
                    .as_bytes()
                    .to_vec(),
            );
        }
        let tar = raw_tar(&pieces);
        let p = within(20, move || read_backup(&gz(&tar)[..], &Limits::default())).unwrap_err();
        assert!(
            p[0].contains("names on Linux are at most 4096 bytes"),
            "{p:?}"
        );
        // Deep names within the cap: many, all through the same folders.
        let deep = "d/".repeat(2000);
        let t = tar_of(|b| {
            dir(b, "./");
            link(b, "./d/d/link", EntryType::Symlink, "..");
            for i in 0..500 {
                let mut h = header(b"", EntryType::Regular, 1);
                b.append_data(&mut h, format!("{deep}{i}"), &b"x"[..])
                    .unwrap();
            }
        });
        let m = within(20, move || read_tar(&t[..], None, &Limits::default())).unwrap();
        assert_eq!(m.len(), 502);
    }

    #[test]
    fn names_that_are_not_utf8_are_compared_as_bytes() {
        // Latin-1 names, as `tar czf` stores them from a folder written on an old system.
        let m = backup(|b| {
            dir(b, "./");
            file(b, "./caf\u{e9}.txt", b"utf-8");
            b.append(&header(b"./caf\xe9.txt", EntryType::Regular, 1), &b"1"[..])
                .unwrap();
            b.append(&header(b"./caf\xe8.txt", EntryType::Regular, 1), &b"2"[..])
                .unwrap();
        })
        .unwrap();
        assert_eq!(m.len(), 4, "{:?}", m.keys().collect::<Vec<_>>());
        assert!(m.contains_key("café.txt"));
        let p = problems(|b| {
            b.append(&header(b"/abs/caf\xe9", EntryType::Regular, 0), io::empty())
                .unwrap();
        });
        assert!(p[0].starts_with("entry /abs/caf\\xe9 is absolute"), "{p:?}");
        let one = |name: &[u8]| {
            let t = tar_of(|b| {
                b.append(&header(name, EntryType::Regular, 1), &b"1"[..])
                    .unwrap()
            });
            read_tar(&t[..], None, &Limits::default()).unwrap()
        };
        let d = compare(
            &one(b"caf\xe9.txt"),
            V,
            &one(b"caf\xe8.txt"),
            A,
            true,
            false,
        );
        assert_eq!(
            d,
            [
                "file caf\\xe9.txt is in volume ml-data but missing from ml-data-backup.tar.gz",
                "file caf\\xe8.txt is in ml-data-backup.tar.gz but not in volume ml-data",
            ]
        );
    }

    #[test]
    fn what_follows_the_gzip_stream() {
        let data = gz(&good_tar());
        // Zeros after the last member (a copy padded to a block size): accepted, like gzip.
        let padded = [data.clone(), vec![0u8; 10_000]].concat();
        assert!(read_backup(&padded[..], &Limits::default()).is_ok());
        // Anything else: trailing data, not a truncation.
        for tail in [&b"garbage\n"[..], b"\0\0\0\0x", b"\x1f\x00 not gzip"] {
            let bad = [data.clone(), tail.to_vec()].concat();
            let p = read_backup(&bad[..], &Limits::default()).unwrap_err();
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(
                p[0].starts_with("the archive has trailing data after the gzip stream"),
                "{tail:?}: {p:?}"
            );
        }
        // One tar in two members (as split and cat, or some compressors, write it).
        let tar = good_tar();
        let two = [gz(&tar[..1500]), gz(&tar[1500..])].concat();
        let m = read_backup(&two[..], &Limits::default()).unwrap();
        assert_eq!(m.len(), 9);
        // Two archives concatenated (cat a.tar.gz b.tar.gz): like GNU tar, the first one's
        // end blocks end it; the second is read through (checksums verified) but not listed.
        let other = gz(&tar_of(|b| {
            dir(b, "./");
            file(b, "./other.txt", b"o");
        }));
        let both = [data.clone(), other.clone()].concat();
        let m = read_backup(&both[..], &Limits::default()).unwrap();
        assert_eq!(m.len(), 9);
        assert!(!m.contains_key("other.txt"));
        let mut broken = [data, other].concat();
        let at = broken.len() - 6;
        broken[at] ^= 0xff;
        let p = read_backup(&broken[..], &Limits::default()).unwrap_err();
        assert!(
            p[0].starts_with("the gzip data is corrupt after its last entry"),
            "{p:?}"
        );
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
