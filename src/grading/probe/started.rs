//! Reading a volume through a started helper, for engines whose archive endpoint cannot give
//! what grading needs: Podman 4.3 reports every file as owned by 0:0, and a container that was
//! never started has not mounted a volume with driver options (`type=none,o=bind`, tmpfs, nfs),
//! so the probe would see an empty folder.
//!
//! The helper is a probe that runs once: the volume read-only at `/probe`, no network, every
//! capability dropped but `DAC_READ_SEARCH` (to read files of any owner, as the archive endpoint
//! does), and a shell script of busybox's `stat`, `base64` and `tar` that prints, in order:
//! - per wanted path: `F <hex mode> <uid> <gid> <size>`, the bytes of a small regular file as
//!   base64 lines, then `E`; or `N` when there is no such path; `!` when stat failed;
//! - when the whole listing is wanted: `T`, a tar of the volume's root as base64 lines, `E`.
//!
//! Base64 lines are a multiple of four characters long, so the one-letter marker lines cannot
//! be mistaken for data. The output is read back through the logs endpoint, then the helper is
//! removed like every probe.

use bollard::errors::Error as DockerError;
use bollard::models::HostConfig;
use bollard::query_parameters::StartContainerOptions;
use bollard::Docker;

use super::{VolumeRead, Wanted, CONTENT_LIMIT, MOUNT_POINT, TREE_LIMIT};
use crate::checks::snapshot::{Fetched, FileFact, FileKind};
use crate::docker::engine::{describe, failed, is_not_found};
use crate::docker::helpers::{self, helper_body};
use crate::docker::images::TOOLS_IMAGE;
use crate::docker::labels;

/// The script; its arguments: the content limit, `1` when the listing is wanted, the tree
/// limit, then the paths (relative to the volume root).
const SCRIPT: &str = r#"cd /probe || exit 3
limit=$1; tree=$2; tlimit=$3; shift 3
for p in "$@"; do
  p="./$p"
  if [ -e "$p" ] || [ -L "$p" ]; then
    s=$(stat -c '%f %u %g %s' "$p") || { echo '!'; continue; }
    echo "F $s"
    size=${s##* }
    if [ -f "$p" ] && [ ! -L "$p" ] && [ "$size" -le "$limit" ]; then
      base64 "$p" || echo '!'
    fi
    echo E
  else
    echo N
  fi
done
if [ "$tree" = 1 ]; then
  echo T
  tar -cf - . | head -c "$tlimit" | base64
  echo E
fi
"#;

/// Reads `wanted` of volume `volume` through a started helper.
pub async fn read(docker: &Docker, volume: &str, wanted: &Wanted) -> Fetched<VolumeRead> {
    let paths: Vec<String> = wanted.full.iter().chain(&wanted.stat).cloned().collect();
    let mut cmd = vec![
        "sh".to_string(),
        "-c".to_string(),
        SCRIPT.to_string(),
        "sh".to_string(),
        CONTENT_LIMIT.to_string(),
        if wanted.tree { "1" } else { "0" }.to_string(),
        (TREE_LIMIT + 1).to_string(),
    ];
    cmd.extend(paths.iter().cloned());
    let host = HostConfig {
        binds: Some(vec![format!("{volume}:{MOUNT_POINT}:ro")]),
        cap_add: Some(vec!["DAC_READ_SEARCH".to_string()]),
        readonly_rootfs: Some(true),
        ..Default::default()
    };
    let mut body = helper_body(TOOLS_IMAGE, labels::ROLE_PROBE, cmd, host);
    body.user = Some("0:0".to_string());
    let id = match helpers::create(docker, body).await {
        Ok(id) => id,
        Err(e) if is_not_found(&e) => {
            return Err(format!(
                "the lab image {TOOLS_IMAGE} is missing, so volume {volume} cannot be read: run \
                 `workbook setup`"
            ))
        }
        Err(e) => {
            return Err(failed(&format!("creating a probe for volume {volume}"), e).to_string())
        }
    };
    let ran = run(docker, &id, volume).await;
    helpers::remove(docker, &id).await;
    let text = match ran {
        Ok(text) => text,
        Err(Ran::Unmountable(message)) => {
            return Ok(VolumeRead {
                unmountable: Some(message),
                named: true,
                ..VolumeRead::default()
            })
        }
        Err(Ran::Failed(e)) => return Err(e),
    };
    let parsed = parse(&text, &paths, wanted.tree)
        .map_err(|e| format!("reading volume {volume} through a helper: {e}"))?;
    let mut out = VolumeRead {
        named: true,
        ..VolumeRead::default()
    };
    for (path, fact) in paths.iter().zip(parsed.facts) {
        let fact = fact.map(|f| {
            f.map(|mut f| {
                // Asked for a stat only: owner and bytes are not part of the answer, as with
                // the archive endpoint's stat.
                if !wanted.full.contains(path) {
                    f.uid = None;
                    f.gid = None;
                    f.content = None;
                }
                if f.kind != FileKind::File {
                    // As in a tar entry, which a read through the archive endpoint gives:
                    // only files have a size.
                    f.size = 0;
                }
                f
            })
        });
        out.files.insert(path.clone(), fact);
    }
    if let Some(tar) = parsed.tree {
        out.tree = Some(super::manifest_of(&tar, volume));
    }
    Ok(out)
}

enum Ran {
    /// The engine could not mount the volume (a missing `device` folder, an unreachable
    /// server): the learner's to fix.
    Unmountable(String),
    Failed(String),
}

/// Starts the helper, waits for it and returns what it printed.
async fn run(docker: &Docker, id: &str, volume: &str) -> Result<String, Ran> {
    if let Err(e) = docker
        .start_container(id, None::<StartContainerOptions>)
        .await
    {
        return Err(match &e {
            DockerError::DockerResponseServerError { message, .. }
                if message.contains("mount") || message.contains("no such file") =>
            {
                Ran::Unmountable(message.clone())
            }
            _ => Ran::Failed(describe(
                &format!("starting the probe of volume {volume}"),
                &e,
            )),
        });
    }
    let waited = async {
        helpers::wait_exit(docker, id)
            .await
            .map_err(|e| describe(&format!("waiting for the probe of volume {volume}"), &e))
    };
    let budget = super::download_budget(TREE_LIMIT as usize);
    let exit = tokio::time::timeout(budget, waited)
        .await
        .map_err(|_| {
            Ran::Failed(format!(
                "reading volume {volume}: the probe did not finish within {} s; is the engine \
                 overloaded? Try the check again",
                budget.as_secs()
            ))
        })?
        .map_err(Ran::Failed)?;
    let (stdout, stderr) = logs(docker, id, volume).await.map_err(Ran::Failed)?;
    if exit != 0 {
        let why = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(Ran::Failed(format!(
            "reading volume {volume}: the probe stopped with exit code {exit}{}",
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        )));
    }
    Ok(stdout)
}

async fn logs(docker: &Docker, id: &str, volume: &str) -> Result<(String, String), String> {
    crate::docker::logs::read(docker, id, None)
        .await
        .map_err(|e| describe(&format!("reading the probe of volume {volume}"), &e))
}

/// What the helper printed, read back.
#[derive(Debug)]
struct Parsed {
    /// One per path asked, in order.
    facts: Vec<Fetched<Option<FileFact>>>,
    /// The tar of the volume root, when asked.
    tree: Option<Vec<u8>>,
}

/// Reads the helper's output (see the module's documentation) for `paths`, in order.
fn parse(text: &str, paths: &[String], tree: bool) -> Result<Parsed, String> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let mut facts = Vec::with_capacity(paths.len());
    for path in paths {
        let line = lines
            .next()
            .ok_or_else(|| format!("its output ended before {path}"))?;
        if line == "N" {
            facts.push(Ok(None));
            continue;
        }
        if line == "!" {
            facts.push(Err(format!("{path} could not be stat'ed in the volume")));
            continue;
        }
        let stat = line
            .strip_prefix("F ")
            .ok_or_else(|| format!("unexpected line {line:?} for {path}"))?;
        let mut fact =
            fact_of_stat_line(stat).ok_or_else(|| format!("unreadable stat {stat:?}"))?;
        let mut b64 = String::new();
        let mut failed = false;
        loop {
            match lines.next() {
                Some("E") => break,
                Some("!") => failed = true,
                Some(data) => b64.push_str(data),
                None => return Err(format!("its output ended inside {path}")),
            }
        }
        if failed {
            facts.push(Err(format!("{path} could not be read in the volume")));
            continue;
        }
        if fact.kind == FileKind::File && fact.size <= CONTENT_LIMIT {
            let bytes = decode(&b64).ok_or_else(|| format!("unreadable bytes of {path}"))?;
            if bytes.len() as u64 != fact.size {
                // Changed between the stat and the read: what was read is the truth now.
                fact.size = bytes.len() as u64;
            }
            fact.content = Some(bytes);
        }
        facts.push(Ok(Some(fact)));
    }
    let tree = if tree {
        match lines.next() {
            Some("T") => {}
            other => return Err(format!("expected the listing, got {other:?}")),
        }
        let mut b64 = String::new();
        loop {
            match lines.next() {
                Some("E") => break,
                Some(data) => b64.push_str(data),
                None => return Err("its output ended inside the listing".to_string()),
            }
        }
        Some(decode(&b64).ok_or("the listing was not valid base64")?)
    } else {
        None
    };
    Ok(Parsed { facts, tree })
}

/// `81a4 1000 1000 12` (busybox `stat -c '%f %u %g %s'`: the raw mode in hex) → a fact.
fn fact_of_stat_line(line: &str) -> Option<FileFact> {
    let mut parts = line.split_whitespace();
    let raw = u32::from_str_radix(parts.next()?, 16).ok()?;
    let uid = parts.next()?.parse().ok()?;
    let gid = parts.next()?.parse().ok()?;
    let size = parts.next()?.parse().ok()?;
    let kind = match raw & 0o170000 {
        0o100000 => FileKind::File,
        0o040000 => FileKind::Dir,
        0o120000 => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Some(FileFact {
        kind,
        uid: Some(uid),
        gid: Some(gid),
        mode: raw & 0o7777,
        size,
        content: None,
    })
}

/// Standard base64 (padding required), `None` on anything else.
fn decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, quad) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"persisted\n",
            &[0, 255, 7, 128],
        ] {
            assert_eq!(decode(&encode(data)).as_deref(), Some(data));
        }
        // What busybox's `base64` printed for "hi\n".
        assert_eq!(decode("aGkK").as_deref(), Some(&b"hi\n"[..]));
        assert_eq!(decode("aGk"), None);
        assert_eq!(decode("a=Gk"), None);
        assert_eq!(decode("aG!K"), None);
    }

    #[test]
    fn the_helpers_output_gives_owner_mode_bytes_and_absence() {
        let paths: Vec<String> = ["hello.txt", "missing", "sub", "ln", "locked"]
            .map(String::from)
            .to_vec();
        // As busybox printed it (`stat -c '%f %u %g %s'`, `base64`).
        let text = "F 8180 1000 1000 3\naGkK\nE\nN\nF 41ed 33 33 4096\nE\nF a1ff 0 0 9\nE\n!\n";
        let p = parse(text, &paths, false).unwrap();
        let file = p.facts[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            (file.kind, file.uid, file.gid, file.mode, file.size),
            (FileKind::File, Some(1000), Some(1000), 0o600, 3)
        );
        assert_eq!(file.content.as_deref(), Some(&b"hi\n"[..]));
        assert_eq!(p.facts[1], Ok(None));
        let dir = p.facts[2].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            (dir.kind, dir.uid, dir.mode),
            (FileKind::Dir, Some(33), 0o755)
        );
        let link = p.facts[3].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(link.kind, FileKind::Symlink);
        assert!(p.facts[4].is_err());
        assert!(p.tree.is_none());
    }

    #[test]
    fn a_setgid_folder_and_the_listing_are_read() {
        let paths = vec!["shared".to_string()];
        let tar = b"not really a tar, but bytes".to_vec();
        let text = format!("F 45fd 0 1000 4096\nE\nT\n{}\nE\n", encode(&tar));
        let p = parse(&text, &paths, true).unwrap();
        assert_eq!(p.facts[0].as_ref().unwrap().as_ref().unwrap().mode, 0o2775);
        assert_eq!(p.tree.as_deref(), Some(&tar[..]));
    }

    #[test]
    fn output_cut_short_is_an_error_not_a_guess() {
        let paths = vec!["a".to_string(), "b".to_string()];
        assert!(parse("N\n", &paths, false).is_err());
        assert!(parse("F 8180 0 0 3\naGkK\n", &paths[..1], false).is_err());
        assert!(parse("N\n", &paths[..1], true).is_err());
        assert!(parse("garbage\n", &paths[..1], false).is_err());
    }
}
