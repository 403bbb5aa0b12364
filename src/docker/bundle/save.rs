//! `save`: the lab images, exported by the daemon, into FILE.

use crate::util::error::Result;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::Docker;
use futures_util::StreamExt;

use super::inspect::has_lab_label;
use super::{
    bar, format_for_path, interactive, say, Direction, Format, Report, CHUNK, TRANSFER_TIMEOUT,
};
use crate::docker::engine::{describe, failed};
use crate::docker::images::{self, SetupOptions};
use crate::docker::labels;

/// Writes every lab image into FILE (see the module doc), building missing ones first.
pub async fn save(docker: &Docker, path: &Path) -> Result<Report> {
    let opts = SetupOptions {
        offline: false,
        force: false,
        quiet: !interactive(),
        extra: images::EXTRA.to_vec(),
    };
    save_with(docker, path, &opts).await
}

/// `save`, building the images with these options when they are missing or out of date (or
/// always, with `force`).
pub async fn save_with(docker: &Docker, path: &Path, opts: &SetupOptions) -> Result<Report> {
    let started = Instant::now();
    let format = format_for_path(path);
    // Fail on an unwritable FILE before building or exporting anything.
    let temp = temp_beside(path)?;
    let mut stale = images::stale(docker).await?;
    stale.extend(images::stale_of(docker, &opts.extra).await?);
    if opts.force || !stale.is_empty() {
        images::setup(docker, opts).await?;
    }
    // The extra images (lesson 12's PostgreSQL) go in when they are here and up to date: a
    // bundle made where one cannot be built still serves every other exercise.
    let fresh_extra = images::stale_of(docker, &opts.extra).await?;
    let mut tags: Vec<&'static str> = images::ALL.to_vec();
    for &tag in &opts.extra {
        if fresh_extra.contains(&tag) {
            say(&format!(
                "{tag} is not in the bundle: it could not be made here (`workbook doctor` says why)"
            ));
        } else {
            tags.push(tag);
        }
    }
    for &tag in &tags {
        let img = docker
            .inspect_image(tag)
            .await
            .map_err(|e| failed(&format!("inspecting image {tag}"), e))?;
        if !has_lab_label(img.config.and_then(|c| c.labels).as_ref()) {
            return Err(format!(
                "{tag} is not a workbook lab image (it lacks the label {}=true): something else \
                 was tagged with its name. Rebuild it with `workbook setup --force`",
                labels::LAB_IMAGE
            )
            .into());
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
        tags.join(", "),
        path.display()
    ));
    let pb = bar(None, "writing");
    let long = docker.clone().with_timeout(TRANSFER_TIMEOUT);
    let mut stream = long.export_images(&tags);
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
                )
                .into());
            }
        };
        tar_bytes += chunk.len() as u64;
        if let Err(e) = sink.write_all(&chunk) {
            pb.finish_and_clear();
            return Err(write_problem(path, &e).into());
        }
        pb.set_position(sink.written());
    }
    pb.finish_and_clear();
    // The gzip trailer, then the file on disk, before it takes FILE's name.
    let bytes = sink.finish().map_err(|e| write_problem(path, &e))?;
    if tar_bytes == 0 {
        return Err(format!(
            "the Docker daemon sent an empty archive for {}; nothing was written to {}",
            tags.join(", "),
            path.display()
        )
        .into());
    }
    temp.persist(path)
        .map_err(|e| write_problem(path, &e.error))?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(bytes);
    Ok(Report::lab_images(
        Direction::Saved,
        path,
        &tags,
        (bytes, tar_bytes),
        format,
        started,
    ))
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
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!(
            "{shown} is a folder: give a file name, e.g. `--save {}`",
            path.join("workbook-images.tar.gz").display()
        )
        .into());
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
        )
        .into());
    }
    if !dir.is_dir() {
        return Err(format!("cannot write {shown}: {} is not a folder", dir.display()).into());
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
        .map_err(Into::into)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::bundle::inspect::check_archive;

    #[test]
    fn unwritable_targets_are_refused_before_anything_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let err = temp_beside(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
        let err = temp_beside(&dir.path().join("no/such/x.tar.gz")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let t = temp_beside(&dir.path().join("x.tar.gz")).unwrap();
        assert_eq!(t.path().parent(), Some(dir.path()));
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
        // The extra images go in when they are built (never built here: read-only).
        let extra = images::stale_of(&engine.docker, &images::EXTRA)
            .await
            .is_ok_and(|s| s.is_empty());
        let mut want = images::ALL.to_vec();
        if extra {
            want.extend(images::EXTRA);
        }
        let opts = SetupOptions {
            offline: true,
            force: false,
            quiet: true,
            extra: if extra {
                images::EXTRA.to_vec()
            } else {
                Vec::new()
            },
        };
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.tar.gz", "b.tar"] {
            let path = dir.path().join(name);
            let report = save_with(&engine.docker, &path, &opts).await.unwrap();
            assert_eq!(report.images, want);
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
