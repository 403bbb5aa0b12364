//! Builders of tar and gzip streams for the archive module's tests, hostile ones too.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use tar::{Builder, EntryType, Header};

use sha2::{Digest, Sha256};

use super::{read_backup, Entry, EntryKind, Limits, Manifest};

pub(super) const MIB: u64 = 1024 * 1024;

/// A GNU header with `name` written raw (no checks), so hostile names can be built.
pub(super) fn header(name: &[u8], ty: EntryType, size: u64) -> Header {
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

pub(super) fn file(b: &mut Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let h = header(name.as_bytes(), EntryType::Regular, data.len() as u64);
    b.append(&h, data).unwrap();
}

pub(super) fn dir(b: &mut Builder<Vec<u8>>, name: &str) {
    b.append(
        &header(name.as_bytes(), EntryType::Directory, 0),
        io::empty(),
    )
    .unwrap();
}

pub(super) fn link(b: &mut Builder<Vec<u8>>, name: &str, ty: EntryType, target: &str) {
    let mut h = header(name.as_bytes(), ty, 0);
    h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
    h.set_cksum();
    b.append(&h, io::empty()).unwrap();
}

pub(super) fn tar_of(fill: impl FnOnce(&mut Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    fill(&mut b);
    b.into_inner().unwrap()
}

pub(super) fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub(super) fn backup(fill: impl FnOnce(&mut Builder<Vec<u8>>)) -> Result<Manifest, Vec<String>> {
    read_backup(&gz(&tar_of(fill))[..], &Limits::default())
}

/// Problems of an archive that holds the root plus what `fill` adds.
pub(super) fn problems(fill: impl FnOnce(&mut Builder<Vec<u8>>)) -> Vec<String> {
    backup(|b| {
        dir(b, "./");
        fill(b);
    })
    .expect_err("the archive should be refused")
}

pub(super) fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

pub(super) fn binary() -> Vec<u8> {
    (0..=255u8).cycle().take(3000).collect()
}

pub(super) fn good_tar() -> Vec<u8> {
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

/// Runs `f` on a thread and waits at most `secs` for it: a hang fails the test instead of
/// hanging the suite (the thread is left behind).
pub(super) fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || drop(tx.send(f())));
    let wait = std::time::Duration::from_secs(secs);
    rx.recv_timeout(wait)
        .unwrap_or_else(|_| panic!("did not end within {secs} s"))
}

pub(super) fn padded(mut v: Vec<u8>) -> Vec<u8> {
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

/// A tar of raw pieces (headers and padded data) after a root entry, with its end blocks.
pub(super) fn raw_tar(pieces: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header(b"./", EntryType::Directory, 0).as_bytes().to_vec();
    pieces.iter().for_each(|p| out.extend_from_slice(p));
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A pax record `LEN key=value\n`, the length counting its own digits.
pub(super) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = [b" ", key.as_bytes(), b"=", value, b"\n"].concat();
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    [format!("{len}").into_bytes(), body].concat()
}

/// A POSIX (ustar) header, as `tar --format=posix` writes around pax records (GNU tar
/// reads a pax sparse map only after a ustar header, not after a GNU one).
pub(super) fn ustar(name: &[u8], ty: EntryType, size: u64) -> Vec<u8> {
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

pub(super) fn pax_header(records: &[(&str, &[u8])]) -> Vec<u8> {
    let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
    let h = ustar(b"./PaxHeaders/x", EntryType::XHeader, data.len() as u64);
    [h, padded(data)].concat()
}

pub(super) fn entry(path: &str, kind: EntryKind, data: &[u8]) -> (String, Entry) {
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

pub(super) fn volume() -> Manifest {
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

pub(super) const V: &str = "volume ml-data";

pub(super) const A: &str = "ml-data-backup.tar.gz";
