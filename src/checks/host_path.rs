//! The host folder an engine-reported path stands for, whatever spelled it.
//!
//! A bind mount's `Mounts[].Source` is the path *the engine* mounted. On a Linux engine that is
//! the learner's path; Docker Desktop's engine runs in a VM and reports the VM's path for it:
//!
//! | the learner's folder | what Docker Desktop reports |
//! |---|---|
//! | macOS `/Users/me/ws` | `/host_mnt/Users/me/ws` (its file sharing) |
//! | Windows `C:\Users\me\ws` | `/run/desktop/mnt/host/c/Users/me/ws` (older Hyper-V releases: `/host_mnt/c/Users/me/ws`) |
//! | WSL 2 `/mnt/c/Users/me/ws` (a Windows drive) | the Windows form above |
//! | WSL 2 `/mnt/wsl/X` (the distros' shared folder) | `/run/desktop/mnt/host/wsl/X` |
//! | WSL 2 `/home/me/ws` (a distro's own folder) | `/run/desktop/mnt/host/wsl/docker-desktop-bind-mounts/DISTRO/HASH`: no way back to the path |
//!
//! [`engine_forms`] maps a reported path to the host paths it may be; the client's own path,
//! which the engine echoes in `HostConfig.Binds` / `HostConfig.Mounts[].Source`
//! ([`bind_source`]), covers the form with no way back. Examples of each, with their sources,
//! are in `tests/fixtures/docker-desktop/`.
//!
//! Case: a Windows drive letter matches in either case (Windows says `C:`, Docker Desktop `c`);
//! every other part of every path matches exactly. Case-folding the rest would make a
//! different folder pass on a case-sensitive file system (APFS can be, ext4 in WSL is, and
//! NTFS folders can be made so), so a path typed in another case fails, showing both.
//!
//! Pure: strings in, strings out; the caller compares them with the exercise folder.

use std::path::{Path, PathBuf};

/// Docker Desktop's VM path of macOS's (and old Windows releases') shared host folders.
const HOST_MNT: &str = "/host_mnt/";
/// Docker Desktop's (WSL 2 and Hyper-V) VM path of the Windows host.
const DESKTOP_HOST: &str = "/run/desktop/mnt/host/";
/// Where WSL mounts Windows drives in a distro (`/mnt/c`), by default.
const WSL_DRIVES: &str = "/mnt/";
/// The folder every WSL 2 distro shares, which Docker Desktop sees at `DESKTOP_HOST` + `wsl/`.
const WSL_SHARED: &str = "/mnt/wsl/";
/// Docker Desktop's own bind of a distro's folder: named by a hash, not by the path.
const WSL_BIND_MOUNTS: &str = "docker-desktop-bind-mounts/";

/// A host path in a form that compares across operating systems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPath {
    /// A path of a POSIX host (macOS, Linux, a WSL distro), absolute or not, as given.
    Posix(PathBuf),
    /// A Windows drive path: the drive letter (lower case) and the parts after it.
    Drive { letter: char, parts: Vec<String> },
}

impl HostPath {
    /// `C:\a\b`, `c:/a/b` and `\\?\C:\a\b` are drive paths; anything else is a POSIX path.
    pub fn parse(path: &str) -> HostPath {
        let bare = path.strip_prefix(r"\\?\").unwrap_or(path);
        match drive_prefix(bare) {
            Some(letter) => HostPath::Drive {
                letter,
                parts: split_parts(&bare[2..]),
            },
            None => HostPath::Posix(PathBuf::from(path)),
        }
    }

    pub fn is_absolute(&self) -> bool {
        match self {
            HostPath::Posix(p) => p.is_absolute(),
            HostPath::Drive { .. } => true,
        }
    }

    /// The same folder as `other`, or a folder inside it (`within`), by their spelling alone.
    /// POSIX paths are compared as the caller gives them (resolve links first).
    pub fn is_in(&self, other: &HostPath, within: bool) -> bool {
        match (self, other) {
            (HostPath::Posix(a), HostPath::Posix(b)) => {
                if within {
                    a.starts_with(b)
                } else {
                    a.components().eq(b.components())
                }
            }
            (
                HostPath::Drive {
                    letter: a,
                    parts: pa,
                },
                HostPath::Drive {
                    letter: b,
                    parts: pb,
                },
            ) => a == b && (pa == pb || within && pa.starts_with(pb)),
            _ => false,
        }
    }
}

/// `C:` at the start of `path`, followed by a separator or nothing: the drive letter, lower case.
fn drive_prefix(path: &str) -> Option<char> {
    let bytes = path.as_bytes();
    let letter = *bytes.first()?;
    let separated = matches!(bytes.get(2), None | Some(b'\\') | Some(b'/'));
    (letter.is_ascii_alphabetic() && bytes.get(1) == Some(&b':') && separated)
        .then(|| (letter as char).to_ascii_lowercase())
}

/// The non-empty parts of a path split at either separator (`.` parts dropped).
fn split_parts(path: &str) -> Vec<String> {
    path.split(['\\', '/'])
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
        .collect()
}

/// Every host path an engine-reported path may stand for: the path itself, then the host paths
/// of Docker Desktop's VM forms. `exists_here`: the reported path is a real path on this
/// machine; it is then that path and nothing else (a folder that happens to be called
/// `/host_mnt/...` on a Linux host is not the learner's `/...`).
pub fn engine_forms(reported: &str, exists_here: bool) -> Vec<HostPath> {
    let mut out = vec![HostPath::parse(reported)];
    if exists_here {
        return out;
    }
    if let Some(rest) = reported.strip_prefix(DESKTOP_HOST) {
        if let Some(shared) = rest.strip_prefix("wsl/") {
            // A hash names Docker Desktop's bind of a distro folder: only the client path helps.
            if !shared.starts_with(WSL_BIND_MOUNTS) {
                out.push(HostPath::Posix(PathBuf::from(format!(
                    "{WSL_SHARED}{shared}"
                ))));
            }
        } else {
            out.extend(drive_forms(rest));
        }
    } else if let Some(rest) = reported.strip_prefix(HOST_MNT) {
        // macOS: `/host_mnt/Users/me` is `/Users/me`. Hyper-V releases: `/host_mnt/c/...` is `C:\...`.
        out.push(HostPath::Posix(PathBuf::from(format!("/{rest}"))));
        out.extend(drive_forms(rest));
    }
    out
}

/// `c/Users/me` (a drive letter, then the path) as `C:\Users\me` and as WSL's `/mnt/c/Users/me`.
fn drive_forms(rest: &str) -> Vec<HostPath> {
    let (letter, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let mut chars = letter.chars();
    let (Some(l), None) = (chars.next(), chars.next()) else {
        return Vec::new();
    };
    if !l.is_ascii_alphabetic() {
        return Vec::new();
    }
    let l = l.to_ascii_lowercase();
    vec![
        HostPath::Drive {
            letter: l,
            parts: split_parts(tail),
        },
        HostPath::Posix(Path::new(WSL_DRIVES).join(l.to_string()).join(tail)),
    ]
}

/// Trailing slashes do not matter to a mount path.
pub fn same_path(a: &str, b: &str) -> bool {
    let trim = |s: &str| {
        let t = s.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    trim(a) == trim(b)
}

/// The source of a `HostConfig.Binds` entry (`SRC:DEST[:OPTIONS]`) when its destination is
/// `destination`: the path the client gave. A Windows source keeps its drive colon
/// (`C:\ws\data:/app/data:ro`).
pub fn bind_source<'a>(entry: &'a str, destination: &str) -> Option<&'a str> {
    let split_at = if drive_prefix(entry).is_some() { 2 } else { 0 };
    let colon = split_at + entry[split_at..].find(':')?;
    let (source, rest) = (&entry[..colon], &entry[colon + 1..]);
    let dest = rest.split(':').next().unwrap_or_default();
    same_path(dest, destination).then_some(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posix(p: &str) -> HostPath {
        HostPath::Posix(PathBuf::from(p))
    }

    fn drive(letter: char, parts: &[&str]) -> HostPath {
        HostPath::Drive {
            letter,
            parts: parts.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn docker_desktop_forms_map_to_the_host_paths() {
        assert_eq!(
            engine_forms("/host_mnt/Users/me/ws/data", false),
            vec![
                posix("/host_mnt/Users/me/ws/data"),
                posix("/Users/me/ws/data")
            ]
        );
        let win = engine_forms("/run/desktop/mnt/host/c/Users/me/ws/data", false);
        assert_eq!(
            win[1..],
            [
                drive('c', &["Users", "me", "ws", "data"]),
                posix("/mnt/c/Users/me/ws/data")
            ]
        );
        // Hyper-V releases of Docker Desktop for Windows said /host_mnt/c.
        let old = engine_forms("/host_mnt/c/Users/me/ws", false);
        assert!(old.contains(&drive('c', &["Users", "me", "ws"])), "{old:?}");
        assert_eq!(
            engine_forms("/run/desktop/mnt/host/wsl/shared/ws", false)[1..],
            [posix("/mnt/wsl/shared/ws")]
        );
        // A hashed bind of a distro folder, a bare drive, a Linux path: nothing but themselves.
        for path in [
            "/run/desktop/mnt/host/wsl/docker-desktop-bind-mounts/Ubuntu/4d9e39410bba78dc",
            "/run/desktop/mnt/host/cd/Users",
            "/home/me/ws/data",
            "/var/lib/docker/volumes/x/_data",
        ] {
            assert_eq!(engine_forms(path, false), vec![posix(path)], "{path}");
        }
    }

    #[test]
    fn a_path_that_exists_here_is_only_itself() {
        assert_eq!(
            engine_forms("/host_mnt/Users/me/ws", true),
            vec![posix("/host_mnt/Users/me/ws")]
        );
    }

    #[test]
    fn drive_paths_match_the_letter_in_any_case_and_the_rest_exactly() {
        let host = HostPath::parse(r"C:\Users\me\ws\data");
        assert_eq!(host, drive('c', &["Users", "me", "ws", "data"]));
        for same in [
            r"c:\Users\me\ws\data\",
            "C:/Users/me/ws/data",
            r"\\?\C:\Users\me\ws\data",
            r"C:\Users\me\.\ws\data",
        ] {
            assert!(HostPath::parse(same).is_in(&host, false), "{same}");
        }
        for other in [
            r"C:\Users\Me\ws\data",
            r"D:\Users\me\ws\data",
            r"C:\Users\me\ws",
            r"C:\Users\me\ws\data2",
        ] {
            assert!(!HostPath::parse(other).is_in(&host, false), "{other}");
        }
        let ws = HostPath::parse(r"C:\Users\me\ws");
        assert!(host.is_in(&ws, true));
        assert!(!ws.is_in(&host, true));
        assert!(!HostPath::parse(r"C:\Users\me\ws2\data").is_in(&ws, true));
        // Not drive paths: a one-letter relative folder, a volume name.
        assert_eq!(HostPath::parse("c:data"), posix("c:data"));
        assert!(!HostPath::parse("c").is_absolute());
        assert!(!posix("/mnt/c/Users/me/ws/data").is_in(&host, false));
    }

    #[test]
    fn the_client_path_of_a_bind_entry() {
        assert_eq!(
            bind_source("/Users/me/ws/data:/app/data:ro", "/app/data/"),
            Some("/Users/me/ws/data")
        );
        assert_eq!(
            bind_source(r"C:\Users\me\ws\data:/app/data", "/app/data"),
            Some(r"C:\Users\me\ws\data")
        );
        assert_eq!(
            bind_source("c:/ws/models:/app/models:ro,z", "/app/models"),
            Some("c:/ws/models")
        );
        assert_eq!(bind_source("/Users/me/ws/data:/app/data", "/app"), None);
        assert_eq!(bind_source("ml-data:/data", "/data"), Some("ml-data"));
        assert_eq!(bind_source("nocolon", "/data"), None);
    }
}
