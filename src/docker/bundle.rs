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

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::query_parameters::{ImportImageOptionsBuilder, RemoveImageOptions};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::docker::engine::{describe, is_not_found};
use crate::docker::images::{self, SetupOptions};
use crate::docker::labels;

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

/// What `save` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    pub path: PathBuf,
    /// The image tags in the bundle.
    pub images: Vec<String>,
    /// The size of FILE.
    pub bytes: u64,
    /// The size of the uncompressed archive the daemon sent.
    pub tar_bytes: u64,
    pub format: Format,
    pub seconds: f64,
}

impl SaveReport {
    /// "saved 3 images (5.8 MiB) to FILE in 1.2 s".
    pub fn summary(&self) -> String {
        format!(
            "saved {} images ({}) to {} in {:.1} s",
            self.images.len(),
            human_size(self.bytes),
            self.path.display(),
            self.seconds
        )
    }
}

/// What `load` loaded and verified.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub path: PathBuf,
    /// The lab image tags, all present and up to date.
    pub images: Vec<String>,
    /// The size of FILE.
    pub bytes: u64,
    /// The size of the uncompressed archive sent to the daemon.
    pub tar_bytes: u64,
    pub format: Format,
    pub seconds: f64,
}

impl LoadReport {
    /// "loaded 3 images (5.8 MiB) from FILE in 0.9 s: ...".
    pub fn summary(&self) -> String {
        format!(
            "loaded {} images ({}) from {} in {:.1} s: {} present and up to date",
            self.images.len(),
            human_size(self.bytes),
            self.path.display(),
            self.seconds,
            self.images.join(", ")
        )
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

// ---------------------------------------------------------------------------------------------
// save

/// Writes every lab image into FILE (see the module doc), building missing ones first.
pub async fn save(docker: &Docker, path: &Path) -> Result<SaveReport, String> {
    let opts = SetupOptions {
        offline: false,
        force: false,
        quiet: !interactive(),
    };
    save_with(docker, path, &opts).await
}

/// `save`, building the images with these options when they are missing or out of date (or
/// always, with `force`).
pub async fn save_with(
    docker: &Docker,
    path: &Path,
    opts: &SetupOptions,
) -> Result<SaveReport, String> {
    let started = Instant::now();
    let format = format_for_path(path);
    // Fail on an unwritable FILE before building or exporting anything.
    let temp = temp_beside(path)?;
    if opts.force || !images::stale(docker).await?.is_empty() {
        images::setup(docker, opts).await?;
    }
    for tag in images::ALL {
        let img = docker
            .inspect_image(tag)
            .await
            .map_err(|e| describe(&format!("inspecting image {tag}"), &e))?;
        if !has_lab_label(img.config.and_then(|c| c.labels).as_ref()) {
            return Err(format!(
                "{tag} is not a workbook lab image (it lacks the label {}=true): something else \
                 was tagged with its name. Rebuild it with `workbook setup --force`",
                labels::LAB_IMAGE
            ));
        }
    }

    let file = temp
        .as_file()
        .try_clone()
        .map_err(|e| write_problem(path, &e))?;
    let counting = CountingWriter {
        inner: BufWriter::with_capacity(CHUNK, file),
        count: 0,
    };
    let mut sink = match format {
        Format::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
            counting,
            flate2::Compression::default(),
        )),
        Format::Tar => Sink::Tar(counting),
    };

    say(&format!(
        "exporting {} to {}",
        images::ALL.join(", "),
        path.display()
    ));
    let pb = bar(None, "writing");
    let long = docker.clone().with_timeout(TRANSFER_TIMEOUT);
    let mut stream = long.export_images(&images::ALL);
    let mut tar_bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                pb.finish_and_clear();
                return Err(format!(
                    "{}.\nNothing was written to {}. Check that `docker info` works, then try \
                     again",
                    describe("exporting the lab images", &e),
                    path.display()
                ));
            }
        };
        tar_bytes += chunk.len() as u64;
        if let Err(e) = sink.write_all(&chunk) {
            pb.finish_and_clear();
            return Err(write_problem(path, &e));
        }
        pb.set_position(sink.written());
    }
    pb.finish_and_clear();
    // The gzip trailer, then the file on disk, before it takes FILE's name.
    let bytes = sink.finish().map_err(|e| write_problem(path, &e))?;
    if tar_bytes == 0 {
        return Err(format!(
            "the Docker daemon sent an empty archive for {}; nothing was written to {}",
            images::ALL.join(", "),
            path.display()
        ));
    }
    temp.persist(path)
        .map_err(|e| write_problem(path, &e.error))?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(bytes);
    Ok(SaveReport {
        path: path.to_path_buf(),
        images: images::ALL.iter().map(|s| s.to_string()).collect(),
        bytes,
        tar_bytes,
        format,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Counts what reaches the file (after compression).
struct CountingWriter<W: Write> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type FileWriter = CountingWriter<BufWriter<std::fs::File>>;

/// Where the exported archive goes: compressed or not.
enum Sink {
    Gzip(flate2::write::GzEncoder<FileWriter>),
    Tar(FileWriter),
}

impl Sink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Gzip(w) => w.write_all(buf),
            Sink::Tar(w) => w.write_all(buf),
        }
    }

    /// The bytes that reached the file so far.
    fn written(&self) -> u64 {
        match self {
            Sink::Gzip(w) => w.get_ref().count,
            Sink::Tar(w) => w.count,
        }
    }

    /// Ends the gzip stream, flushes, and waits for the data to reach the disk; returns the
    /// size of the file.
    fn finish(self) -> io::Result<u64> {
        let mut w = match self {
            Sink::Gzip(w) => w.finish()?,
            Sink::Tar(w) => w,
        };
        w.flush()?;
        w.inner.get_ref().sync_all()?;
        Ok(w.count)
    }
}

/// A temporary file in FILE's folder, so the final rename stays on one file system.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!(
            "{shown} is a folder: give a file name, e.g. `--save {}`",
            path.join("workbook-images.tar.gz").display()
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            format!("{shown} is not a file name: give one, e.g. `--save workbook-images.tar.gz`")
        })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        return Err(format!(
            "cannot write {shown}: the folder {} does not exist. Create it (`mkdir -p {}`) or \
             choose another place",
            dir.display(),
            dir.display()
        ));
    }
    if !dir.is_dir() {
        return Err(format!(
            "cannot write {shown}: {} is not a folder",
            dir.display()
        ));
    }
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(&dir)
        .map_err(|e| write_problem(path, &e))
}

fn write_problem(path: &Path, e: &io::Error) -> String {
    let shown = path.display();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "cannot write {shown}: you may not create files in {} ({}). Choose a folder you can \
             write to, e.g. `--save ~/workbook-images.tar.gz`",
            dir.display(),
            without_path(e)
        ),
        io::ErrorKind::ReadOnlyFilesystem => format!(
            "cannot write {shown}: {} is on a read-only file system. Choose another place",
            dir.display()
        ),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => format!(
            "cannot write {shown}: no space left ({}). Free some space or choose another disk; \
             {shown} was left as it was",
            without_path(e)
        ),
        _ => format!(
            "cannot write {shown}: cannot create a file in {}: {}",
            dir.display(),
            without_path(e)
        ),
    }
}

/// The error without the path that tempfile adds (the temporary file's, not FILE's).
fn without_path(e: &io::Error) -> String {
    let text = e.to_string();
    match text.split_once(" at path \"") {
        Some((head, _)) => head.to_string(),
        None => text,
    }
}

// ---------------------------------------------------------------------------------------------
// checking an archive

/// What a checked archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    pub format: Format,
    /// Every tag in the archive.
    pub tags: Vec<String>,
    /// The workbook recipe digest of each lab image in it, by tag.
    pub recipes: HashMap<String, String>,
    /// The size of the (uncompressed) tar stream.
    pub tar_bytes: u64,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// "docker.io/library/x:1" and "docker.io/a/b:1" as the daemon shows them: "x:1", "a/b:1".
fn short_tag(tag: &str) -> &str {
    tag.strip_prefix("docker.io/library/")
        .or_else(|| tag.strip_prefix("docker.io/"))
        .unwrap_or(tag)
}

fn entry_name(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.trim_start_matches("./").trim_end_matches('/').to_string()
}

fn has_lab_label(labels: Option<&HashMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(labels::LAB_IMAGE))
        .is_some_and(|v| v == "true")
}

fn make_hint() -> &'static str {
    "Make a bundle with `workbook setup --save FILE` on a machine that has the lab images (or \
     can build them)"
}

fn damaged(name: &str, e: &io::Error, at: u64) -> String {
    format!(
        "{name} is truncated or damaged ({e}, after {} of it): nothing was loaded. Copy it again \
         from the machine that made it, or make a new one there with `workbook setup --save FILE`",
        human_size(at)
    )
}

/// Reads the whole archive (gzip or tar) and checks that it is a complete Docker image archive
/// holding every lab image. `on_read` is told how many bytes were taken from the file so far
/// (for progress); `name` is FILE, for messages.
pub fn check_archive<R: Read>(
    mut file: R,
    name: &str,
    on_read: &dyn Fn(u64),
) -> Result<Contents, String> {
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if head.is_empty() {
        return Err(format!(
            "{name} is empty: it is not a workbook bundle. {}",
            make_hint()
        ));
    }
    let format = sniff(&head).ok_or_else(|| {
        format!(
            "{name} is not a workbook bundle: it is neither a gzip nor a tar archive. {}",
            make_hint()
        )
    })?;
    let raw = Counting {
        inner: io::Cursor::new(head).chain(file),
        count: 0,
        on_read,
    };
    let at = |r: &Counting<'_, _>| r.count;
    match format {
        Format::Gzip => {
            let gz = flate2::read::GzDecoder::new(BufReader::with_capacity(CHUNK, raw));
            check_tar(gz, name, format, |gz| at(gz.get_ref().get_ref()))
        }
        Format::Tar => check_tar(raw, name, format, at),
    }
}

fn check_tar<R: Read>(
    reader: R,
    name: &str,
    format: Format,
    position: impl Fn(&R) -> u64,
) -> Result<Contents, String> {
    let mut source = Source {
        inner: reader,
        count: 0,
        failed: false,
    };
    let mut entries_seen = HashSet::new();
    let mut kept: HashMap<String, Vec<u8>> = HashMap::new();
    let mut kept_total = 0u64;
    let mut scan = || -> io::Result<()> {
        let mut archive = tar::Archive::new(&mut source);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry_name(&entry.path()?);
            let size = entry.size();
            if entry.header().entry_type().is_file()
                && size <= KEEP_ENTRY
                && (kept_total + size <= KEEP_TOTAL || path == "manifest.json")
            {
                let mut buf = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut buf)?;
                if (buf.len() as u64) < size {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "unexpected end of file",
                    ));
                }
                kept_total += size;
                kept.insert(path.clone(), buf);
            }
            entries_seen.insert(path);
        }
        // Read to the very end: the gzip trailer's checksum catches a damaged or cut tail.
        io::copy(&mut source, &mut io::sink())?;
        Ok(())
    };
    if let Err(e) = scan() {
        return Err(read_problem(
            name,
            &e,
            source.failed,
            position(&source.inner),
        ));
    }
    let tar_bytes = source.count;

    let Some(manifest) = kept.get("manifest.json") else {
        return Err(if entries_seen.is_empty() {
            format!(
                "{name} is not a workbook bundle: it is an empty archive. {}",
                make_hint()
            )
        } else if entries_seen
            .iter()
            .any(|e| e.ends_with("layer.tar") || e.starts_with("blobs/"))
        {
            format!(
                "{name} is truncated or damaged: it has image layers but no manifest.json, the \
                 list of its images (written last): nothing was loaded. Copy it again, or make a \
                 new one with `workbook setup --save FILE`"
            )
        } else {
            format!(
                "{name} is not a workbook bundle: it is a {} archive, but not of Docker images \
                 (no manifest.json). {}",
                if format == Format::Gzip {
                    "tar.gz"
                } else {
                    "tar"
                },
                make_hint()
            )
        });
    };
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(manifest).map_err(|e| {
        format!(
            "{name} is not a workbook bundle: its manifest.json is not a Docker image manifest \
             ({e}). {}",
            make_hint()
        )
    })?;
    let mut tags = Vec::new();
    let mut recipes = HashMap::new();
    let mut lab_tags = HashSet::new();
    for m in &manifest {
        for piece in std::iter::once(&m.config).chain(m.layers.iter()) {
            if !entries_seen.contains(&entry_name(Path::new(piece))) {
                return Err(format!(
                    "{name} is truncated or damaged: it lacks {piece}, which its manifest lists: \
                     nothing was loaded. Copy it again, or make a new one with \
                     `workbook setup --save FILE`"
                ));
            }
        }
        let labels = kept
            .get(&entry_name(Path::new(&m.config)))
            .and_then(|c| serde_json::from_slice::<serde_json::Value>(c).ok())
            .and_then(|v| {
                serde_json::from_value::<HashMap<String, String>>(v["config"]["Labels"].clone())
                    .ok()
            });
        let is_lab = has_lab_label(labels.as_ref());
        for tag in m.repo_tags.iter().flatten() {
            let tag = short_tag(tag).to_string();
            if is_lab {
                lab_tags.insert(tag.clone());
                if let Some(r) = labels.as_ref().and_then(|l| l.get(labels::RECIPE)) {
                    recipes.insert(tag.clone(), r.clone());
                }
            }
            tags.push(tag);
        }
    }
    let missing: Vec<&str> = images::ALL
        .iter()
        .copied()
        .filter(|t| !lab_tags.contains(*t))
        .collect();
    if !missing.is_empty() {
        let holds = if tags.is_empty() {
            "no tagged image".to_string()
        } else {
            tags.join(", ")
        };
        return Err(format!(
            "{name} is not a workbook bundle: it holds {holds}; it lacks the lab image(s) {} \
             (labelled {}=true). Nothing was loaded. {}",
            missing.join(", "),
            labels::LAB_IMAGE,
            make_hint()
        ));
    }
    Ok(Contents {
        format,
        tags,
        recipes,
        tar_bytes,
    })
}

/// A problem met while reading an archive, for people. `in_source`: the file or its gzip layer
/// failed (rather than the tar format).
fn read_problem(name: &str, e: &io::Error, in_source: bool, at: u64) -> String {
    let text = e.to_string();
    let cut = e.kind() == io::ErrorKind::UnexpectedEof
        || text.contains("unexpected EOF")
        || text.contains("unexpected end of file")
        || text.contains("failed to read entire block");
    if in_source
        && !cut
        && !matches!(
            e.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput
        )
    {
        format!("cannot read {name}: {e}")
    } else if in_source || cut {
        damaged(name, e, at)
    } else {
        format!(
            "{name} is not a workbook bundle, or is damaged: it is not a valid tar archive \
             ({e}). {}",
            make_hint()
        )
    }
}

/// Counts the bytes read from the file, for progress and messages.
struct Counting<'a, R: Read> {
    inner: R,
    count: u64,
    on_read: &'a dyn Fn(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        (self.on_read)(self.count);
        Ok(n)
    }
}

/// The tar stream: counts its bytes and remembers whether reading it (the file, or gunzipping
/// it) failed, as opposed to the tar format.
struct Source<R: Read> {
    inner: R,
    count: u64,
    failed: bool,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// load

fn open_bundle(path: &Path) -> Result<(std::fs::File, u64), String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!(
            "{shown} does not exist. Give the path of a bundle made with \
             `workbook setup --save FILE`"
        ),
        io::ErrorKind::PermissionDenied => {
            format!("cannot read {shown}: permission denied ({e})")
        }
        _ => format!("cannot read {shown}: {e}"),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!(
            "{shown} is a folder: give the bundle file, e.g. `--load {}`",
            path.join("workbook-images.tar.gz").display()
        ));
    }
    Ok((file, meta.len()))
}

/// Loads a bundle written by `save` (see the module doc) and verifies the lab images.
pub async fn load(docker: &Docker, path: &Path) -> Result<LoadReport, String> {
    let started = Instant::now();
    let shown = path.display().to_string();
    let (file, size) = open_bundle(path)?;

    // 1. Check the whole archive before the daemon sees it.
    let pb = bar(Some(size), "checking");
    let contents = {
        let pb = pb.clone();
        let name = shown.clone();
        tokio::task::spawn_blocking(move || {
            let on_read = |n: u64| pb.set_position(n);
            check_archive(BufReader::with_capacity(CHUNK, file), &name, &on_read)
        })
        .await
        .map_err(|e| format!("checking {shown} failed: {e}"))?
    };
    pb.finish_and_clear();
    let contents = contents?;

    // 2. Never replace up-to-date lab images with other ones.
    let before = lab_state(docker).await?;
    if images::stale(docker).await?.is_empty() {
        let differing: Vec<&str> = images::ALL
            .iter()
            .copied()
            .filter(|t| contents.recipes.get(*t) != before.get(*t).and_then(|s| s.recipe.as_ref()))
            .collect();
        if !differing.is_empty() {
            return Err(format!(
                "{shown} holds other versions of {} than this workbook's, and the lab images \
                 here are already up to date: nothing was loaded. Make a bundle with this \
                 version of workbook (`workbook setup --save FILE`)",
                differing.join(", ")
            ));
        }
    }

    // 3. Stream it to the daemon.
    say(&format!("loading {} into the Docker daemon", shown));
    let pb = bar(Some(size), "loading");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
    let reader = {
        let pb = pb.clone();
        let path = path.to_path_buf();
        let format = contents.format;
        tokio::task::spawn_blocking(move || feed(&path, format, &tx, &pb))
    };
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let long = docker.clone().with_timeout(TRANSFER_TIMEOUT);
    let options = ImportImageOptionsBuilder::default().quiet(true).build();
    let mut stream = long.import_image(options, bollard::body_try_stream(body), None);
    let mut refused = None;
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            refused = Some(e);
            break;
        }
    }
    drop(stream);
    pb.finish_and_clear();
    let fed = reader
        .await
        .map_err(|e| format!("reading {shown} failed: {e}"))?;
    if let Err(e) = fed {
        return Err(format!(
            "reading {shown} failed while loading it ({e}): it may have changed since it was \
             checked. Try again; if it fails again, copy it again"
        ));
    }
    if let Some(e) = refused {
        return Err(format!(
            "{}.\nThe archive itself is complete. Check the daemon's free space (`docker system \
             df`) and that `docker info` works, then try again",
            describe(&format!("loading {shown}"), &e)
        ));
    }

    // 4. Verify: the lab images are there, are the workbook's, and are up to date.
    let after = lab_state(docker).await?;
    for tag in images::ALL {
        match after.get(tag) {
            None => {
                return Err(format!(
                    "{shown} was loaded, but {tag} is still missing: it was not a complete \
                     workbook bundle. {}",
                    make_hint()
                ))
            }
            Some(s) if !s.lab => {
                return Err(format!(
                    "{shown} is not a workbook bundle: the {tag} it held is not a workbook lab \
                     image (no label {}=true). Rebuild the lab images with \
                     `workbook setup --force`",
                    labels::LAB_IMAGE
                ))
            }
            Some(_) => {}
        }
    }
    // Lab images that lost their tag to the loaded ones are ours to remove (as a rebuild does).
    for (tag, old) in &before {
        if old.lab && after.get(tag).map(|s| &s.id) != Some(&old.id) {
            let _ = docker
                .remove_image(&old.id, None::<RemoveImageOptions>, None)
                .await;
        }
    }
    let stale = images::stale(docker).await?;
    if !stale.is_empty() {
        return Err(format!(
            "{shown} was loaded, but {} {} out of date for this version of workbook (the bundle \
             was made by another version). Rebuild with `workbook setup` (offline: \
             `workbook setup --offline`, which needs busybox-static), or make a bundle with this \
             version",
            stale.join(", "),
            if stale.len() == 1 { "is" } else { "are" }
        ));
    }
    Ok(LoadReport {
        path: path.to_path_buf(),
        images: images::ALL.iter().map(|s| s.to_string()).collect(),
        bytes: size,
        tar_bytes: contents.tar_bytes,
        format: contents.format,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads FILE (gunzipping it) in chunks into the request body; returns the tar bytes sent.
fn feed(
    path: &Path,
    format: Format,
    tx: &tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    pb: &ProgressBar,
) -> io::Result<u64> {
    let file = std::fs::File::open(path)?;
    let on_read = |n: u64| pb.set_position(n);
    let raw = Counting {
        inner: file,
        count: 0,
        on_read: &on_read,
    };
    let mut reader: Box<dyn Read> = match format {
        Format::Gzip => Box::new(flate2::read::GzDecoder::new(BufReader::with_capacity(
            CHUNK, raw,
        ))),
        Format::Tar => Box::new(BufReader::with_capacity(CHUNK, raw)),
    };
    let mut sent = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(sent),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // The daemon must not take a cut stream for a whole one.
                let _ = tx.blocking_send(Err(io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
        };
        sent += n as u64;
        if tx
            .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
            .is_err()
        {
            // The request ended (the daemon answered or refused): stop reading.
            return Ok(sent);
        }
    }
}

#[derive(Debug, Clone)]
struct LabState {
    id: String,
    lab: bool,
    recipe: Option<String>,
}

/// The present lab image tags: id, whether labelled as lab image, recipe digest.
async fn lab_state(docker: &Docker) -> Result<HashMap<String, LabState>, String> {
    let mut out = HashMap::new();
    for tag in images::ALL {
        match docker.inspect_image(tag).await {
            Ok(img) => {
                let labels = img.config.and_then(|c| c.labels);
                out.insert(
                    tag.to_string(),
                    LabState {
                        id: img.id.unwrap_or_default(),
                        lab: has_lab_label(labels.as_ref()),
                        recipe: labels.and_then(|l| l.get(labels::RECIPE).cloned()),
                    },
                );
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(describe(&format!("inspecting image {tag}"), &e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        h
    }

    /// A Docker-save-like archive of the lab images (labelled `lab`), or of `busybox`.
    fn fake_archive(lab: bool) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let layer = vec![7u8; 3000];
        b.append_data(&mut header(layer.len() as u64), "aaa/layer.tar", &layer[..])
            .unwrap();
        let mut manifest = Vec::new();
        let tags: Vec<&str> = if lab {
            images::ALL.to_vec()
        } else {
            vec!["busybox:1.36"]
        };
        for (i, tag) in tags.iter().enumerate() {
            let labels = if lab {
                serde_json::json!({labels::LAB_IMAGE: "true", labels::RECIPE: format!("r{i}")})
            } else {
                serde_json::Value::Null
            };
            let config =
                serde_json::to_vec(&serde_json::json!({"config": {"Labels": labels}})).unwrap();
            let name = format!("cfg{i}.json");
            b.append_data(&mut header(config.len() as u64), &name, &config[..])
                .unwrap();
            manifest.push(serde_json::json!({
                "Config": name, "RepoTags": [tag], "Layers": ["aaa/layer.tar"]
            }));
        }
        let m = serde_json::to_vec(&manifest).unwrap();
        b.append_data(&mut header(m.len() as u64), "manifest.json", &m[..])
            .unwrap();
        b.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn check(bytes: &[u8]) -> Result<Contents, String> {
        check_archive(bytes, "FILE", &|_| {})
    }

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
    fn complete_bundles_pass_in_both_formats() {
        let tar = fake_archive(true);
        for bytes in [tar.clone(), gzip(&tar)] {
            let c = check(&bytes).unwrap();
            assert_eq!(c.tags, images::ALL.to_vec());
            assert_eq!(c.recipes.len(), 3);
            assert_eq!(c.tar_bytes, tar.len() as u64);
        }
        assert_eq!(check(&gzip(&tar)).unwrap().format, Format::Gzip);
    }

    #[test]
    fn truncated_bundles_are_refused_at_any_length() {
        let tar = fake_archive(true);
        let gz = gzip(&tar);
        // Every cut of the gzip (its checksum covers the tar's tail too).
        for cut in (1..gz.len()).step_by(7).chain([gz.len() - 1]) {
            let err = check(&gz[..cut]).unwrap_err();
            assert!(
                err.contains("truncated") || err.contains("not a workbook bundle"),
                "cut {cut}: {err}"
            );
        }
        // Tar cuts up to the end of the last entry; the end-of-archive blocks carry nothing.
        let manifest_end = tar.len() - 1024;
        for cut in (300..manifest_end).step_by(97).chain([manifest_end - 1]) {
            let err = check(&tar[..cut]).unwrap_err();
            assert!(err.contains("truncated"), "cut {cut}: {err}");
        }
        let err = check(&gz[..gz.len() / 2]).unwrap_err();
        assert!(err.contains("FILE is truncated or damaged"), "{err}");
        assert!(err.contains("nothing was loaded"), "{err}");
    }

    #[test]
    fn foreign_files_are_not_bundles() {
        let err = check(b"").unwrap_err();
        assert!(err.contains("FILE is empty"), "{err}");
        let mut noise = Vec::new();
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            noise.push((x >> 24) as u8);
        }
        noise[0] = b'R';
        let err = check(&noise).unwrap_err();
        assert!(err.contains("neither a gzip nor a tar"), "{err}");
        // A gzip of noise: a complete gzip, but not a tar.
        let err = check(&gzip(&noise)).unwrap_err();
        assert!(err.contains("not a workbook bundle"), "{err}");
        // A tar of something else.
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(&mut header(5), "notes.txt", &b"hello"[..])
            .unwrap();
        let err = check(&b.into_inner().unwrap()).unwrap_err();
        assert!(err.contains("not of Docker images"), "{err}");
        // Docker images, but not the workbook's.
        let err = check(&gzip(&fake_archive(false))).unwrap_err();
        assert!(err.contains("not a workbook bundle"), "{err}");
        assert!(err.contains("busybox:1.36"), "{err}");
        assert!(err.contains(images::TOOLS_IMAGE), "{err}");
    }

    #[test]
    fn unwritable_targets_are_refused_before_anything_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let err = temp_beside(dir.path()).unwrap_err();
        assert!(err.contains("is a folder"), "{err}");
        let err = temp_beside(&dir.path().join("no/such/x.tar.gz")).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        let t = temp_beside(&dir.path().join("x.tar.gz")).unwrap();
        assert_eq!(t.path().parent(), Some(dir.path()));
    }

    /// A stand-in daemon on the loopback: no image is present, and loading answers HTTP 500
    /// after reading the whole upload. Serves until the test ends.
    fn refusing_daemon() -> String {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming().take(50) {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 65536];
                    loop {
                        // One request: headers, then a chunked or sized body.
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            match conn.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                        let chunked = head.contains("transfer-encoding: chunked");
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        let done = |b: &[u8]| {
                            if chunked {
                                b[head_end..].ends_with(b"0\r\n\r\n")
                            } else {
                                b.len() >= head_end + length
                            }
                        };
                        while !done(&buf) {
                            match conn.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let (status, body) = if head.starts_with("post")
                            && head.contains("/images/load")
                        {
                            (
                                "500 Internal Server Error",
                                r#"{"message":"write /var/lib/docker/tmp/x: no space left on device"}"#,
                            )
                        } else {
                            ("404 Not Found", r#"{"message":"No such image"}"#)
                        };
                        let reply = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if conn.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                        buf.clear();
                    }
                });
            }
        });
        format!("tcp://{addr}")
    }

    #[tokio::test]
    async fn a_refusing_daemon_is_reported_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.tar.gz");
        std::fs::write(&path, gzip(&fake_archive(true))).unwrap();
        let docker =
            Docker::connect_with_http(&refusing_daemon(), 10, bollard::API_DEFAULT_VERSION)
                .unwrap();
        let err = load(&docker, &path).await.unwrap_err();
        assert!(err.contains("the Docker daemon refused loading"), "{err}");
        assert!(err.contains("no space left on device"), "{err}");
        assert!(err.contains("docker system df"), "{err}");
    }

    /// Runs against the real daemon (read-only for the images); skips when there is none or
    /// when the lab images are not built.
    #[tokio::test]
    async fn a_saved_bundle_passes_the_check() {
        let Ok(engine) = crate::docker::engine::connect().await else {
            eprintln!("skipped: no Docker daemon");
            return;
        };
        if !images::stale(&engine.docker)
            .await
            .is_ok_and(|s| s.is_empty())
        {
            eprintln!("skipped: the lab images are not built (`workbook setup`)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.tar.gz", "b.tar"] {
            let path = dir.path().join(name);
            let report = save(&engine.docker, &path).await.unwrap();
            assert_eq!(report.images, images::ALL.to_vec());
            assert!(report.bytes > 0 && report.tar_bytes >= report.bytes / 2);
            let file = std::fs::File::open(&path).unwrap();
            let c = check_archive(file, name, &|_| {}).unwrap();
            assert_eq!(c.format, format_for_path(&path));
            assert_eq!(c.tar_bytes, report.tar_bytes);
            eprintln!("{}", report.summary());
        }
        // Only the bundles: no temporary file is left.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["b.tar", "b.tar.gz"]);
    }
}
