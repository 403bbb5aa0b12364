//! Entry names: bytes to [`Entry::path`](super::Entry::path), normalising, and the sentences
//! refusing a name, a link target or a special file.

use super::{show, MAX_NAME};
use crate::util::error::Result;

/// The part of `bytes` before the first NUL: how tar reads a name.
pub(super) fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|b| *b == 0)
        .map_or(bytes, |i| &bytes[..i])
}

/// A name's bytes as the `String` of [`Entry::path`](super::Entry::path): valid UTF-8 as it is, each other byte as
/// NUL and two hex digits.
pub(super) fn name_of(raw: &[u8]) -> String {
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
pub(super) fn components(path: &str) -> Vec<&str> {
    let comps = path.split('/');
    comps.filter(|c| !c.is_empty() && *c != ".").collect()
}

/// Normalises an entry name (relative, root is `.`), or says why it is refused.
pub(super) fn normalise(raw: &str, strip: &[&str]) -> Result<String> {
    let (name, comps) = (show(raw), components(raw));
    let (fix, prefix) = ("create the archive", strip.join("/"));
    match comps.strip_prefix(strip) {
        _ if raw.starts_with('/') => Err(format!(
            "entry {name} is absolute: {fix} with tar -C /data . so entries are relative to the \
             volume root"
        )
        .into()),
        _ if comps.contains(&"..") => Err(format!(
            "entry {name} escapes the volume root (it has a `..` component): it is unsafe to \
             restore; {fix} again with tar -C /data ."
        )
        .into()),
        None => Err(format!("entry {name} is outside {prefix}/, the folder asked for").into()),
        Some([]) => Ok(".".to_string()),
        Some(rest) => Ok(rest.join("/")),
    }
}

/// Why a symbolic link is refused: an empty or absolute target, or one that leaves the root
/// once its `..` are resolved from the link's folder (the links it goes through are followed
/// later, on the whole archive: [`Scan::resolve_links`](super::scan::Scan::resolve_links)).
pub(super) fn link_problem(path: &str, target: &str) -> Option<String> {
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
pub(super) fn special_problem(s: &str, ty: tar::EntryType) -> String {
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
pub(super) fn name_too_long(what: &str, n: u64, kind: &str, at: &str) -> String {
    format!(
        "the archive holds a {what} of {n} bytes (a {kind}{at}): names on Linux are at most \
         {MAX_NAME} bytes (PATH_MAX); the archive is corrupt or hostile, create it again with \
         `tar czf`"
    )
}

#[cfg(test)]
mod tests {
    use crate::archive::testkit::*;
    use crate::archive::{compare, read_backup, read_tar, Limits};
    use std::io::{self, Cursor};
    use tar::EntryType;

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
}
