//! `load`: a checked bundle streamed to the daemon, then the lab images verified.

use crate::util::error::Result;
use std::collections::HashMap;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use bollard::query_parameters::{ImportImageOptionsBuilder, RemoveImageOptions};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use indicatif::ProgressBar;

use super::inspect::{check_archive, has_lab_label, make_hint, Counting};
use super::{bar, say, Direction, Format, Report, CHUNK, TRANSFER_TIMEOUT};
use crate::docker::engine::{describe, failed, is_not_found};
use crate::docker::images;
use crate::docker::labels;

fn open_bundle(path: &Path) -> Result<(std::fs::File, u64)> {
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
        .map_err(|e| crate::util::error::Error::io(format!("cannot read {shown}"), e))?;
    if meta.is_dir() {
        return Err(format!(
            "{shown} is a folder: give the bundle file, e.g. `--load {}`",
            path.join("workbook-images.tar.gz").display()
        )
        .into());
    }
    Ok((file, meta.len()))
}

/// Loads a bundle written by `save` (see the module doc) and verifies the lab images.
pub async fn load(docker: &Docker, path: &Path) -> Result<Report> {
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

    // The extra images (lesson 12's PostgreSQL) the bundle holds are loaded and checked too.
    let tags: Vec<&'static str> = images::ALL
        .iter()
        .chain(images::EXTRA.iter())
        .copied()
        .filter(|t| images::ALL.contains(t) || contents.recipes.contains_key(*t))
        .collect();

    // 2. Never replace up-to-date lab images with other ones.
    let before = lab_state(docker).await?;
    if images::stale_of(docker, &tags).await?.is_empty() {
        let differing: Vec<&str> = tags
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
            )
            .into());
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
        )
        .into());
    }
    if let Some(e) = refused {
        return Err(format!(
            "{}.\nThe archive itself is complete. Check the daemon's free space (`docker system \
             df`) and that `docker info` works, then try again",
            describe(&format!("loading {shown}"), &e)
        )
        .into());
    }

    // 4. Verify: the lab images are there, are the workbook's, and are up to date.
    let after = lab_state(docker).await?;
    for &tag in &tags {
        match after.get(tag) {
            None => {
                return Err(format!(
                    "{shown} was loaded, but {tag} is still missing: it was not a complete \
                     workbook bundle. {}",
                    make_hint()
                )
                .into())
            }
            Some(s) if !s.lab => {
                return Err(format!(
                    "{shown} is not a workbook bundle: the {tag} it held is not a workbook lab \
                     image (no label {}=true). Rebuild the lab images with \
                     `workbook setup --force`",
                    labels::LAB_IMAGE
                )
                .into())
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
    let stale = images::stale_of(docker, &tags).await?;
    if !stale.is_empty() {
        return Err(format!(
            "{shown} was loaded, but {} {} out of date for this version of workbook (the bundle \
             was made by another version). Rebuild with `workbook setup` (offline: \
             `workbook setup --offline`, which needs busybox-static), or make a bundle with this \
             version",
            stale.join(", "),
            if stale.len() == 1 { "is" } else { "are" }
        )
        .into());
    }
    Ok(Report::lab_images(
        Direction::Loaded,
        path,
        &tags,
        (size, contents.tar_bytes),
        contents.format,
        started,
    ))
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
async fn lab_state(docker: &Docker) -> Result<HashMap<String, LabState>> {
    let mut out = HashMap::new();
    for tag in images::ALL.iter().chain(images::EXTRA.iter()) {
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
            Err(e) => return Err(failed(&format!("inspecting image {tag}"), e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::bundle::testkit::*;
    use std::io::Write;

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
        assert!(
            err.to_string()
                .contains("the Docker daemon refused loading"),
            "{err}"
        );
        assert!(err.to_string().contains("no space left on device"), "{err}");
        assert!(err.to_string().contains("docker system df"), "{err}");
    }
}
