//! Facts of files from what the daemon gives: a stat header, or a tar archive of the volume.

use crate::util::error::Result;
use std::collections::HashMap;
use std::io::Read;

use super::CONTENT_LIMIT;
use crate::checks::snapshot::{Fetched, FileFact, FileKind};

/// A [`FileFact`] (without owner or bytes) from a Go `os.FileMode` and a size, as the daemon
/// reports them in `X-Docker-Container-Path-Stat`.
pub fn fact_of_stat(go_mode: u32, size: i64) -> FileFact {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const NAMED_PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR_DEVICE: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    const IRREGULAR: u32 = 1 << 19;
    let kind = if go_mode & DIR != 0 {
        FileKind::Dir
    } else if go_mode & SYMLINK != 0 {
        FileKind::Symlink
    } else if go_mode & (DEVICE | NAMED_PIPE | SOCKET | CHAR_DEVICE | IRREGULAR) != 0 {
        FileKind::Other
    } else {
        FileKind::File
    };
    let mut mode = go_mode & 0o777;
    for (go, unix) in [(SETUID, 0o4000), (SETGID, 0o2000), (STICKY, 0o1000)] {
        if go_mode & go != 0 {
            mode |= unix;
        }
    }
    FileFact {
        kind,
        uid: None,
        gid: None,
        mode,
        size: size.max(0) as u64,
        content: None,
    }
}

/// Takes from an archive of the volume root the facts of the `wanted` paths it holds and,
/// when the archive is `complete`, returns (and takes out of `wanted`) the paths it does not
/// hold: probably absent, but the daemon's archive silently leaves out what it cannot read, so
/// the caller confirms that. What is left in `wanted` must be read alone: paths past the end
/// of a cut-short archive, hard links (read alone, they are regular files with bytes) and
/// paths through a symbolic link (the daemon follows those).
pub fn take_entries(
    buf: &[u8],
    mut complete: bool,
    wanted: &mut Vec<String>,
    files: &mut HashMap<String, Fetched<Option<FileFact>>>,
) -> Vec<String> {
    let mut archive = tar::Archive::new(buf);
    let Ok(entries) = archive.entries() else {
        return Vec::new();
    };
    let mut alone: Vec<String> = Vec::new();
    let mut links: Vec<String> = Vec::new();
    for entry in entries {
        if wanted.is_empty() {
            return Vec::new();
        }
        let Ok(mut entry) = entry else {
            complete = false;
            break;
        };
        let name = match entry.path() {
            Ok(p) => crate::checks::snapshot::normalise_path(&p.to_string_lossy()),
            Err(_) => {
                complete = false;
                break;
            }
        };
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::Symlink {
            links.push(format!("{name}/"));
        }
        let Some(i) = wanted.iter().position(|w| *w == name) else {
            continue;
        };
        if kind == tar::EntryType::Link {
            alone.push(name);
            continue;
        }
        match fact_of(&mut entry) {
            Ok(fact) => {
                files.insert(wanted.remove(i), Ok(Some(fact)));
            }
            // Cut short inside this entry.
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    let mut not_held = Vec::new();
    if complete {
        wanted.retain(|w| {
            let keep = alone.contains(w) || links.iter().any(|l| w.starts_with(l.as_str()));
            if !keep {
                not_held.push(w.clone());
            }
            keep
        });
    }
    not_held
}

/// The first entry of a (possibly cut short) tar stream.
pub fn first_entry(buf: &[u8]) -> Result<FileFact> {
    let mut archive = tar::Archive::new(buf);
    let mut entries = archive.entries().map_err(|e| e.to_string())?;
    let mut entry = match entries.next() {
        Some(e) => e.map_err(|e| e.to_string())?,
        None => return Err("it was empty".into()),
    };
    fact_of(&mut entry)
}

/// Kind, owner, mode, size and (for a small regular file) the bytes of a tar entry.
fn fact_of<R: Read>(entry: &mut tar::Entry<R>) -> Result<FileFact> {
    let header = entry.header();
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => FileKind::File,
        tar::EntryType::Directory => FileKind::Dir,
        tar::EntryType::Symlink => FileKind::Symlink,
        _ => FileKind::Other,
    };
    let mut fact = FileFact {
        kind,
        uid: Some(header.uid().map_err(|e| e.to_string())?),
        gid: Some(header.gid().map_err(|e| e.to_string())?),
        mode: header.mode().map_err(|e| e.to_string())? & 0o7777,
        size: header.size().map_err(|e| e.to_string())?,
        content: None,
    };
    if kind == FileKind::File && fact.size <= CONTENT_LIMIT {
        let mut content = Vec::with_capacity(fact.size as usize);
        entry.read_to_end(&mut content).map_err(|e| e.to_string())?;
        if content.len() as u64 != fact.size {
            return Err("the archive was cut short".into());
        }
        fact.content = Some(content);
    }
    Ok(fact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8], u32, u64)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data, mode, uid) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_uid(*uid);
            h.set_gid(*uid);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_the_first_entry_with_owner_mode_and_bytes() {
        let tar = archive(&[
            ("hello.txt", b"persisted\n", 0o600, 1000),
            ("other", b"x", 0o644, 0),
        ]);
        let fact = first_entry(&tar).unwrap();
        assert_eq!(fact.kind, FileKind::File);
        assert_eq!(
            (fact.uid, fact.gid, fact.mode),
            (Some(1000), Some(1000), 0o600)
        );
        assert_eq!(fact.content.as_deref(), Some(&b"persisted\n"[..]));
    }

    #[test]
    fn one_archive_of_the_root_serves_every_path() {
        // A header of that kind, mode and owner (uid = gid); append_* set path and checksum.
        let header = |kind: tar::EntryType, size: u64, mode: u32, owner: u64| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(size);
            h.set_mode(mode);
            h.set_uid(owner);
            h.set_gid(owner);
            h
        };
        use tar::EntryType::{Directory, Link, Regular, Symlink};
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = header(Directory, 0, 0o755, 1000);
        b.append_data(&mut dir.clone(), "./", &b""[..]).unwrap();
        b.append_data(&mut dir, "./sub/", &b""[..]).unwrap();
        let mut file = header(Regular, 3, 0o600, 1000);
        b.append_data(&mut file, "./sub/key", &b"abc"[..]).unwrap();
        let mut link = header(Symlink, 0, 0o777, 0);
        b.append_link(&mut link, "./ln", "sub").unwrap();
        let mut hard = header(Link, 0, 0o600, 1000);
        b.append_link(&mut hard, "./hard", "./sub/key").unwrap();
        let tar = b.into_inner().unwrap();

        let wanted = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut files = HashMap::new();
        let mut rest = wanted(&[".", "sub/key", "gone", "ln/key", "hard"]);
        let not_held = take_entries(&tar, true, &mut rest, &mut files);
        let root = files["."].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            (root.kind, root.uid, root.mode),
            (FileKind::Dir, Some(1000), 0o755)
        );
        let key = files["sub/key"].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(key.content.as_deref(), Some(&b"abc"[..]));
        // Not in the archive: returned for a stat to confirm, not said absent.
        assert_eq!(not_held, wanted(&["gone"]));
        assert!(!files.contains_key("gone"));
        // Through a symbolic link, and a hard link: read alone.
        assert_eq!(rest, wanted(&["ln/key", "hard"]));

        // Cut short: nothing is said absent.
        let mut files = HashMap::new();
        let mut rest = wanted(&["sub/key", "gone"]);
        let not_held = take_entries(&tar[..1024 + 100], false, &mut rest, &mut files);
        assert!(not_held.is_empty());
        assert!(!files.contains_key("gone"));
        assert!(rest.contains(&"gone".to_string()));
    }

    #[test]
    fn a_daemon_stat_becomes_kind_mode_and_size() {
        // Go's os.FileMode, as the daemon sends it: type bits high, permissions low.
        let file = fact_of_stat(0o644, 12);
        assert_eq!(
            (file.kind, file.mode, file.size),
            (FileKind::File, 0o644, 12)
        );
        assert_eq!((file.uid, file.gid, file.content), (None, None, None));
        let dir = fact_of_stat((1 << 31) | 0o755, 4096);
        assert_eq!((dir.kind, dir.mode), (FileKind::Dir, 0o755));
        let link = fact_of_stat((1 << 27) | 0o777, 3);
        assert_eq!(link.kind, FileKind::Symlink);
        let pipe = fact_of_stat((1 << 25) | 0o600, 0);
        assert_eq!(pipe.kind, FileKind::Other);
        // setuid, setgid and sticky are separate bits in Go, 0o7000 in a unix mode.
        let special = fact_of_stat((1 << 31) | (1 << 22) | (1 << 20) | 0o775, 0);
        assert_eq!(special.mode, 0o3775);
        assert_eq!(fact_of_stat((1 << 23) | 0o755, 1).mode, 0o4755);
        assert_eq!(fact_of_stat(0o600, -1).size, 0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(first_entry(b"").is_err());
        assert!(first_entry(&[7u8; 1024]).is_err());
    }
}
