//! Checking a bundle before the daemon sees it: a complete Docker image archive that holds
//! every lab image.

use crate::util::error::Result;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use super::{human_size, sniff, Format, CHUNK, KEEP_ENTRY, KEEP_TOTAL};
use crate::docker::images;
use crate::docker::labels;

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

pub(super) fn has_lab_label(labels: Option<&HashMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(labels::LAB_IMAGE))
        .is_some_and(|v| v == "true")
}

pub(super) fn make_hint() -> &'static str {
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
pub fn check_archive<R: Read>(mut file: R, name: &str, on_read: &dyn Fn(u64)) -> Result<Contents> {
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| crate::util::error::Error::io(format!("cannot read {name}"), e))?;
    if head.is_empty() {
        return Err(format!(
            "{name} is empty: it is not a workbook bundle. {}",
            make_hint()
        )
        .into());
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
) -> Result<Contents> {
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
        return Err(read_problem(name, &e, source.failed, position(&source.inner)).into());
    }
    let tar_bytes = source.count;

    let Some(manifest) = kept.get("manifest.json") else {
        return Err(if entries_seen.is_empty() {
            format!(
                "{name} is not a workbook bundle: it is an empty archive. {}",
                make_hint()
            )
            .into()
        } else if entries_seen
            .iter()
            .any(|e| e.ends_with("layer.tar") || e.starts_with("blobs/"))
        {
            format!(
                "{name} is truncated or damaged: it has image layers but no manifest.json, the \
                 list of its images (written last): nothing was loaded. Copy it again, or make a \
                 new one with `workbook setup --save FILE`"
            )
            .into()
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
            .into()
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
                )
                .into());
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
        )
        .into());
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
pub(super) struct Counting<'a, R: Read> {
    pub(super) inner: R,
    pub(super) count: u64,
    pub(super) on_read: &'a dyn Fn(u64),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::bundle::testkit::*;

    fn check(bytes: &[u8]) -> Result<Contents> {
        check_archive(bytes, "FILE", &|_| {})
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
                err.to_string().contains("truncated")
                    || err.to_string().contains("not a workbook bundle"),
                "cut {cut}: {err}"
            );
        }
        // Tar cuts up to the end of the last entry; the end-of-archive blocks carry nothing.
        let manifest_end = tar.len() - 1024;
        for cut in (300..manifest_end).step_by(97).chain([manifest_end - 1]) {
            let err = check(&tar[..cut]).unwrap_err();
            assert!(err.to_string().contains("truncated"), "cut {cut}: {err}");
        }
        let err = check(&gz[..gz.len() / 2]).unwrap_err();
        assert!(
            err.to_string().contains("FILE is truncated or damaged"),
            "{err}"
        );
        assert!(err.to_string().contains("nothing was loaded"), "{err}");
    }

    #[test]
    fn foreign_files_are_not_bundles() {
        let err = check(b"").unwrap_err();
        assert!(err.to_string().contains("FILE is empty"), "{err}");
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
        assert!(
            err.to_string().contains("neither a gzip nor a tar"),
            "{err}"
        );
        // A gzip of noise: a complete gzip, but not a tar.
        let err = check(&gzip(&noise)).unwrap_err();
        assert!(err.to_string().contains("not a workbook bundle"), "{err}");
        // A tar of something else.
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(&mut header(5), "notes.txt", &b"hello"[..])
            .unwrap();
        let err = check(&b.into_inner().unwrap()).unwrap_err();
        assert!(err.to_string().contains("not of Docker images"), "{err}");
        // Docker images, but not the workbook's.
        let err = check(&gzip(&fake_archive(false))).unwrap_err();
        assert!(err.to_string().contains("not a workbook bundle"), "{err}");
        assert!(err.to_string().contains("busybox:1.36"), "{err}");
        assert!(err.to_string().contains(images::TOOLS_IMAGE), "{err}");
    }
}
