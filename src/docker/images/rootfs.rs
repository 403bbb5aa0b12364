//! The root file system layer of `workbook/tools`: the users and folders the exercises expect
//! and, when no registry answers, a static busybox from the host with its applet links.

use crate::util::error::Result;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{GROUP, PASSWD};

/// Applets linked when `busybox --list` cannot be asked.
const FALLBACK_APPLETS: &[&str] = &[
    "sh",
    "ash",
    "awk",
    "basename",
    "cat",
    "chgrp",
    "chmod",
    "chown",
    "cp",
    "cut",
    "date",
    "dd",
    "df",
    "dirname",
    "du",
    "echo",
    "env",
    "false",
    "find",
    "grep",
    "gunzip",
    "gzip",
    "head",
    "hostname",
    "httpd",
    "id",
    "kill",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mv",
    "printf",
    "ps",
    "pwd",
    "readlink",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "sync",
    "tail",
    "tar",
    "tee",
    "test",
    "touch",
    "tr",
    "true",
    "uname",
    "wc",
    "wget",
    "whoami",
    "xargs",
    "zcat",
    "[",
];

/// A static busybox on the host: `WORKBOOK_BUSYBOX`, `/bin/busybox` or `/usr/bin/busybox`.
pub fn host_busybox() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("WORKBOOK_BUSYBOX") {
        candidates.push(PathBuf::from(p));
    }
    candidates.extend(["/bin/busybox", "/usr/bin/busybox"].map(PathBuf::from));
    let mut problems = Vec::new();
    for path in candidates {
        match is_static_elf(&path) {
            Ok(true) => return Ok(path),
            Ok(false) => problems.push(format!("{} is dynamically linked", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    let found = if problems.is_empty() {
        "no busybox was found".to_string()
    } else {
        problems.join("; ")
    };
    Err(format!(
        "no registry answered and no static busybox is on this machine to build the lab images from ({found}).\n\
         Install one: `sudo apt-get install busybox-static` (Debian/Ubuntu), or set WORKBOOK_BUSYBOX to a \
         static busybox binary, or load images saved on another machine"
    ).into())
}

/// True for an ELF executable without a program interpreter (PT_INTERP).
fn is_static_elf(path: &Path) -> std::io::Result<bool> {
    let mut head = Vec::new();
    std::fs::File::open(path)?
        .take(64 * 1024)
        .read_to_end(&mut head)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an ELF executable");
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[5] != 1 {
        return Err(bad());
    }
    let is64 = head[4] == 2;
    let u16_at = |o: usize| u16::from_le_bytes([head[o], head[o + 1]]) as usize;
    let u32_at =
        |o: usize| u32::from_le_bytes(head[o..o + 4].try_into().unwrap_or([0; 4])) as usize;
    let (phoff, phentsize, phnum) = if is64 {
        (u32_at(0x20), u16_at(0x36), u16_at(0x38))
    } else {
        (u32_at(0x1c), u16_at(0x2a), u16_at(0x2c))
    };
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        if at + 4 > head.len() {
            return Err(bad());
        }
        if u32_at(at) == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `busybox --list` from the host binary, or a fixed list.
fn applets(busybox: &Path) -> Vec<String> {
    std::process::Command::new(busybox)
        .arg("--list")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty() && !l.contains('/'))
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| FALLBACK_APPLETS.iter().map(|s| s.to_string()).collect())
}

/// The root file system layer: users, folders and, offline, busybox with its applet links.
pub(super) fn rootfs(busybox: Option<&Path>) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let err = |e: std::io::Error| crate::util::error::Error::io("assembling the lab image", e);
    for (path, mode, uid) in [
        ("bin", 0o755, 0),
        ("etc", 0o755, 0),
        ("root", 0o700, 0),
        ("tmp", 0o1777, 0),
        ("home", 0o755, 0),
        ("home/learner", 0o755, 1000),
        ("usr", 0o755, 0),
        ("usr/bin", 0o755, 0),
        ("usr/local", 0o755, 0),
        ("usr/local/bin", 0o755, 0),
    ] {
        append_dir(&mut b, path, mode, uid).map_err(err)?;
    }
    for (path, text) in [("etc/passwd", PASSWD), ("etc/group", GROUP)] {
        let mut h = file_header(text.len() as u64, 0o644);
        b.append_data(&mut h, path, text.as_bytes()).map_err(err)?;
    }
    if let Some(bb) = busybox {
        let bytes = std::fs::read(bb)
            .map_err(|e| crate::util::error::Error::io(format!("reading {}", bb.display()), e))?;
        let mut h = file_header(bytes.len() as u64, 0o755);
        b.append_data(&mut h, "bin/busybox", &bytes[..])
            .map_err(err)?;
        for applet in applets(bb) {
            if applet == "busybox" {
                continue;
            }
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, format!("bin/{applet}"), "/bin/busybox")
                .map_err(err)?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, "usr/bin/env", "/bin/busybox")
            .map_err(err)?;
    }
    b.into_inner().map_err(err)
}

/// Appends folder `path` owned by `uid` (and the group of that number) with `mode`.
pub(super) fn append_dir(
    b: &mut tar::Builder<Vec<u8>>,
    path: &str,
    mode: u32,
    uid: u64,
) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_size(0);
    h.set_cksum();
    b.append_data(&mut h, path, std::io::empty())
}

pub(super) fn file_header(size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_elf_detection() {
        assert!(is_static_elf(Path::new("/nonexistent/busybox")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("script");
        std::fs::write(&f, "#!/bin/sh\necho hi\n").unwrap();
        assert!(is_static_elf(&f).is_err());
        // The test runner itself is dynamically linked on glibc targets.
        if let Ok(me) = std::env::current_exe() {
            if cfg!(all(target_os = "linux", target_env = "gnu")) {
                assert_eq!(is_static_elf(&me).ok(), Some(false));
            }
        }
    }

    #[test]
    fn offline_rootfs_links_applets_to_busybox() {
        let Ok(bb) = host_busybox() else { return };
        let tar_bytes = rootfs(Some(&bb)).unwrap();
        let mut a = tar::Archive::new(&tar_bytes[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "bin/busybox",
            "bin/sh",
            "bin/tar",
            "bin/chown",
            "etc/passwd",
            "tmp",
        ] {
            assert!(
                names.iter().any(|n| n.trim_end_matches('/') == want),
                "{want} missing"
            );
        }
    }
}
