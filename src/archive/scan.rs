//! One pass over a tar stream: headers read block by block into the [`Manifest`].

use crate::util::error::Result;
use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use super::compare::under;
use super::names::{
    components, link_problem, name_of, name_too_long, normalise, special_problem, until_nul,
};
use super::pathset::PathSet;
use super::pax::{parse_pax, Pax, MAX_PAX};
use super::sparse::{digest, gnu_sparse, pax_sparse};
use super::stream::{
    check_sum, corrupt, padding, stream_problem, too_large, Input, Meter, Metered,
};
use super::{show, Entry, EntryKind, Limits, Manifest, Sentences, MAX_NAME};

pub(super) const EMPTY: &str =
    "the archive is empty: it holds no files or folders; check that the volume \
                     was mounted and that tar named it (tar czf ... -C /data .)";

/// Why reading stopped early: the stream failed (with where: " after entry x"), or a sentence.
pub(super) enum Stop {
    Io(io::Error, String),
    Said(String),
}

/// What the extension headers before an entry said about it.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) long_name: Option<Vec<u8>>,
    pub(super) long_link: Option<Vec<u8>>,
    pub(super) pax: Option<Vec<u8>>,
}

impl Pending {
    pub(super) fn any(&self) -> bool {
        self.long_name.is_some() || self.long_link.is_some() || self.pax.is_some()
    }
}

/// The fields of one entry that [`Scan::check`] judges.
pub(super) struct Fields {
    pub(super) ty: tar::EntryType,
    /// The name in the form of [`Entry::path`], before normalising.
    pub(super) raw: String,
    pub(super) link: String,
    /// The size of a regular file (a sparse file's real size).
    pub(super) size: u64,
    pub(super) mode: io::Result<u32>,
    pub(super) uid: io::Result<u64>,
    pub(super) gid: io::Result<u64>,
}

/// State of one pass over a tar stream.
#[derive(Default)]
pub(super) struct Scan<'a> {
    pub(super) manifest: Manifest,
    pub(super) problems: Sentences,
    pub(super) strip: Vec<&'a str>,
    pub(super) count: u64,
    pub(super) named: u64,
    /// The symbolic links accepted so far: path -> index in `link_list` (path, target).
    pub(super) links: PathSet<usize>,
    pub(super) link_list: Vec<(String, String)>,
}

pub(super) fn scan<R: Read>(
    reader: R,
    strip_prefix: Option<&str>,
    limits: &Limits,
    gz: bool,
) -> Result<Manifest, Vec<String>> {
    let limit = limits.max_total_bytes;
    let meter = Rc::new(RefCell::new(Meter {
        limit,
        ..Meter::default()
    }));
    let strip = strip_prefix.map(components).unwrap_or_default();
    let mut st = Scan {
        strip,
        ..Scan::default()
    };
    let mut input = Input {
        inner: Metered {
            inner: reader,
            meter: Rc::clone(&meter),
        },
        buf: vec![0; 64 << 10],
    };
    let outcome = st.read_entries(&mut input, limits, gz).and_then(|_| {
        // Read the end padding and whatever follows too, so that gzip's lengths and checksums
        // are verified (a second archive after the end blocks is read through, not listed, as
        // `tar xzf` does).
        let rest = io::copy(&mut input.inner, &mut io::sink());
        rest.map_err(|e| Stop::Io(e, " after its last entry".to_string()))
    });
    for problem in st.resolve_links() {
        st.problems.push(problem);
    }
    let top = single_top_folder(&st.manifest).filter(|_| gz);
    let said = match outcome {
        Err(Stop::Said(s)) => s,
        Err(Stop::Io(e, at)) => stream_problem(&meter.borrow(), &e, limits, gz, &at),
        Ok(_) if st.named == 0 => EMPTY.to_string(),
        Ok(_) => match top {
            Some(top) => format!(
                "all entries are under {top}/: the archive holds the folder, not its contents; \
                 use tar -C /{top} . so the volume's files are at the root"
            ),
            None => String::new(),
        },
    };
    st.problems.push_if(!said.is_empty(), || said);
    let problems = st.problems.finish("problems");
    problems.is_empty().then_some(st.manifest).ok_or(problems)
}

/// The one top-level folder that holds every entry, when there is one and no root entry.
pub(super) fn single_top_folder(m: &Manifest) -> Option<String> {
    let top = m.keys().next()?.split('/').next()?;
    let all_under = m.keys().all(|k| k == top || under(k, top));
    let is_folder = m.get(top).is_some_and(|e| e.kind == EntryKind::Dir) || m.len() > 1;
    (top != "." && all_under && is_folder).then(|| top.to_string())
}

impl Scan<'_> {
    /// Reads every entry up to the end blocks; returns where the last one ended, for messages.
    pub(super) fn read_entries<R: Read>(
        &mut self,
        input: &mut Input<R>,
        limits: &Limits,
        gz: bool,
    ) -> Result<String, Stop> {
        let mut at = " before its first entry".to_string();
        let mut pending = Pending::default();
        loop {
            let Some(block) = input.block().map_err(|e| Stop::Io(e, at.clone()))? else {
                // The stream ended where a header should be: the end blocks are missing.
                if self.count > 0 || pending.any() {
                    return Err(Stop::Io(io::ErrorKind::UnexpectedEof.into(), at));
                }
                return Ok(at);
            };
            if block.iter().all(|b| *b == 0) {
                if pending.any() {
                    let e = corrupt("extension headers describe an entry that is not there");
                    return Err(Stop::Io(e, at));
                }
                return Ok(at);
            }
            let header = tar::Header::from_byte_slice(&block);
            check_sum(&block, header).map_err(|e| Stop::Io(e, at.clone()))?;
            let ty = header.entry_type();
            if ty.is_gnu_longname() || ty.is_gnu_longlink() || ty.is_pax_local_extensions() {
                self.extension(input, header, &mut pending, &at, limits, gz)?;
                continue;
            }
            self.count += 1;
            if self.count > limits.max_entries {
                return Err(Stop::Said(format!(
                    "the archive has more than {} entries: refusing to read further; check that \
                     it is a backup of the right volume",
                    limits.max_entries
                )));
            }
            let pending = std::mem::take(&mut pending);
            if ty.is_pax_global_extensions() {
                let size = header.entry_size().map_err(|e| Stop::Io(e, at.clone()))?;
                room(input, size, limits, gz)?;
                let skipped = input.pass(size + padding(size), None);
                skipped.map_err(|e| Stop::Io(e, at.clone()))?;
                continue;
            }
            self.named += 1;
            at = self.entry(input, header, &pending, &at, limits, gz)?;
        }
    }

    /// Reads a GNU long name or link, or a pax header, into `pending`: measured first.
    pub(super) fn extension<R: Read>(
        &mut self,
        input: &mut Input<R>,
        header: &tar::Header,
        pending: &mut Pending,
        at: &str,
        limits: &Limits,
        gz: bool,
    ) -> Result<(), Stop> {
        let ty = header.entry_type();
        let io_at = |e: io::Error| Stop::Io(e, at.to_string());
        let size = header.entry_size().map_err(io_at)?;
        room(input, size, limits, gz)?;
        let (slot, cap) = if ty.is_pax_local_extensions() {
            if size > MAX_PAX {
                return Err(Stop::Said(format!(
                    "the archive holds a pax extended header of {}{at}: more than the {} the \
                     workbook reads; the archive is corrupt or hostile, create it again with \
                     `tar czf`",
                    crate::ui::bytes::human(size),
                    crate::ui::bytes::human(MAX_PAX)
                )));
            }
            (&mut pending.pax, MAX_PAX)
        } else if ty.is_gnu_longname() {
            (&mut pending.long_name, MAX_NAME as u64 + 1)
        } else {
            (&mut pending.long_link, MAX_NAME as u64 + 1)
        };
        if size > cap {
            let (what, kind) = match ty.is_gnu_longname() {
                true => ("name", "GNU long name"),
                false => ("link target", "GNU long link"),
            };
            return Err(Stop::Said(name_too_long(what, size, kind, at)));
        }
        if slot.is_some() {
            return Err(io_at(corrupt(
                "two extension headers of one kind describe one entry",
            )));
        }
        let mut data = vec![0; size as usize];
        input.exact(&mut data).map_err(io_at)?;
        input.pass(padding(size), None).map_err(io_at)?;
        *slot = Some(data);
        Ok(())
    }

    /// Reads one entry (its data too) into the manifest or the problems; returns where it
    /// ended, for messages.
    pub(super) fn entry<R: Read>(
        &mut self,
        input: &mut Input<R>,
        header: &tar::Header,
        pending: &Pending,
        at: &str,
        limits: &Limits,
        gz: bool,
    ) -> Result<String, Stop> {
        let io_at = |e: io::Error| Stop::Io(e, at.to_string());
        let pax = match pending.pax.as_deref() {
            Some(data) => parse_pax(data).map_err(io_at)?,
            None => Pax::default(),
        };
        let ty = header.entry_type();
        let size = match pax.size {
            Some(size) => size,
            None => header.entry_size().map_err(io_at)?,
        };
        let sparse_pax = pax_sparse(&pax.sparse).map_err(io_at)?;
        let header_name = header.path_bytes();
        let (name, kind) = match (&sparse_pax, pax.sparse.name) {
            (Some(_), Some(name)) => (name, "pax sparse name"),
            _ => match (pending.long_name.as_deref(), pax.path) {
                (Some(long), _) => (long, "GNU long name"),
                (None, Some(path)) => (path, "pax path"),
                (None, None) => (&header_name[..], "tar header"),
            },
        };
        let header_link = header.link_name_bytes().unwrap_or_default();
        let link = match (pending.long_link.as_deref(), pax.linkpath) {
            (Some(long), _) => long,
            (None, Some(path)) => path,
            (None, None) => &header_link[..],
        };
        let (name, link) = (until_nul(name), until_nul(link));
        if name.len() > MAX_NAME {
            return Err(Stop::Said(name_too_long(
                "name",
                name.len() as u64,
                kind,
                at,
            )));
        } else if link.len() > MAX_NAME {
            let n = link.len() as u64;
            return Err(Stop::Said(name_too_long(
                "link target",
                n,
                "pax linkpath",
                at,
            )));
        }
        let raw = name_of(name);
        let in_entry = format!(" in entry {}", show(&raw));
        let io_in = |e: io::Error| Stop::Io(e, in_entry.clone());
        let sparse = match ty.is_gnu_sparse() {
            true => Some(gnu_sparse(input, header).map_err(io_in)?),
            false => sparse_pax.filter(|_| ty.is_file() || ty.is_contiguous()),
        };
        room(input, size, limits, gz)?;
        if let Some(sp) = sparse.as_ref().filter(|sp| sp.real > input.room()) {
            let name = normalise(&raw, &self.strip).unwrap_or_else(|_| raw.clone());
            return Err(Stop::Said(format!(
                "entry {} is a sparse file of {} (its real size, though it takes {} in the \
                 archive): the archive would hold more than the {} the workbook reads from an \
                 archive; refusing to read further; check that it is a backup of the right volume",
                show(&name),
                crate::ui::bytes::human(sp.real),
                crate::ui::bytes::human(size),
                crate::ui::bytes::human(limits.max_total_bytes)
            )));
        }
        let uid = pax.uid.map_or_else(|| header.uid(), Ok);
        let gid = pax.gid.map_or_else(|| header.gid(), Ok);
        let real = sparse.as_ref().map_or(size, |sp| sp.real);
        let fields = Fields {
            ty,
            raw,
            link: name_of(link),
            size: real,
            mode: header.mode(),
            uid,
            gid,
        };
        let verdict = match normalise(&fields.raw, &self.strip) {
            Ok(path) => self.check(&fields, path),
            Err(problem) => Err(problem),
        };
        match verdict {
            Ok(mut e) if e.kind == EntryKind::File => {
                let digest = digest(input, size, sparse).map_err(io_in)?;
                e.digest = Some(digest);
                drop(self.manifest.insert(e.path.clone(), e));
            }
            Ok(e) => {
                input.pass(size + padding(size), None).map_err(io_in)?;
                if let EntryKind::Symlink { target } = &e.kind {
                    self.links.insert(&e.path, self.link_list.len());
                    self.link_list.push((e.path.clone(), target.clone()));
                }
                drop(self.manifest.insert(e.path.clone(), e));
            }
            Err(problem) => {
                input.pass(size + padding(size), None).map_err(io_in)?;
                self.problems.push(problem.to_string());
            }
        }
        Ok(format!(" after entry {}", show(&fields.raw)))
    }

    /// The manifest entry for one tar entry (a regular file's digest not taken yet), or the
    /// sentence refusing it.
    pub(super) fn check(&self, f: &Fields, path: String) -> Result<Entry> {
        let (s, ty) = (show(&path), f.ty);
        let (Ok(mode), Ok(uid), Ok(gid)) = (&f.mode, &f.uid, &f.gid) else {
            let fix = "the archive is corrupt; create it again with `tar czf`";
            return Err(format!("entry {s} has an unreadable mode or owner field: {fix}").into());
        };
        let (mut size, mut digest) = (0, None);
        let kind = if ty.is_dir() || (ty.is_file() && f.raw.ends_with('/')) {
            EntryKind::Dir
        } else if ty.is_file() || ty.is_contiguous() || ty.is_gnu_sparse() {
            size = f.size;
            EntryKind::File
        } else if ty.is_symlink() {
            if let Some(problem) = link_problem(&path, &f.link) {
                return Err(problem.into());
            }
            EntryKind::Symlink {
                target: f.link.clone(),
            }
        } else if ty.is_hard_link() {
            let earlier = normalise(&f.link, &self.strip).ok();
            let target = earlier.and_then(|t| self.manifest.get(&t));
            let Some(target) = target.filter(|t| t.digest.is_some()) else {
                return Err(format!(
                    "hard link {s} points to {}, which is not an earlier file of the archive: the \
                     archive is corrupt or hostile; create it again with `tar czf`",
                    show(&f.link)
                )
                .into());
            };
            (size, digest) = (target.size, target.digest);
            let target = target.path.clone();
            EntryKind::Hardlink { target }
        } else {
            return Err(special_problem(&s, ty).into());
        };
        let problem = if let Some(link) = self.links.folder_of(&path) {
            format!(
                "entry {s} lies inside symbolic link {}: restoring it would write through the \
                 link; the archive is corrupt or hostile, create it again with `tar czf`",
                show(link)
            )
        } else if path == "." && kind != EntryKind::Dir {
            let raw = show(&f.raw);
            format!(
                "entry {raw} stands for the volume root but is not a folder: use tar -C /data ."
            )
        } else if self.manifest.contains_key(&path) {
            format!(
                "entry {s} appears twice in the archive: it was appended to (tar -r) or tampered \
                 with; create it again in one go with `tar czf`"
            )
        } else if let Some(first) = self.first_inside(&path).filter(|_| kind != EntryKind::Dir) {
            format!(
                "entry {s} would replace folder {s}, which earlier entries are in ({}): \
                 restoring it would not give what the archive lists; the archive is corrupt or \
                 hostile, create it again with `tar czf`",
                show(first)
            )
        } else {
            let mode = mode & 0o7777;
            return Ok(Entry {
                path,
                kind,
                size,
                mode,
                uid: *uid,
                gid: *gid,
                digest,
            });
        };
        Err(problem.into())
    }

    /// The first entry so far inside folder `path`.
    pub(super) fn first_inside(&self, path: &str) -> Option<&str> {
        let prefix = format!("{path}/");
        let (first, _) = self.manifest.range(prefix.clone()..).next()?;
        first.starts_with(&prefix).then_some(first.as_str())
    }
}

/// Refuses, before reading them, `size` bytes of data (and their padding) that would pass the
/// cap.
pub(super) fn room<R: Read>(
    input: &Input<R>,
    size: u64,
    limits: &Limits,
    gz: bool,
) -> Result<(), Stop> {
    match size.saturating_add(padding(size)) > input.room() {
        true => Err(Stop::Said(too_large(limits, gz))),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::archive::testkit::*;
    use crate::archive::{read_backup, read_tar, Limits, MAX_SENTENCES};
    use std::io;
    use tar::EntryType;

    #[test]
    fn absolute_entries_are_refused() {
        let p = problems(|b| file(b, "/data/model.bin", b"x"));
        assert_eq!(
            p,
            ["entry /data/model.bin is absolute: create the archive with tar -C /data . so entries are relative to the volume root"]
        );
    }

    #[test]
    fn dot_dot_entries_are_refused() {
        let p = problems(|b| {
            file(b, "./../etc/passwd", b"x");
            file(b, "a/../../x", b"x");
            file(b, "ok/..hidden", b"fine");
        });
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("entry ./../etc/passwd escapes the volume root"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("entry a/../../x escapes the volume root"),
            "{p:?}"
        );
    }

    #[test]
    fn devices_and_fifos_are_refused() {
        let p = problems(|b| {
            file(b, "./a.txt", b"a");
            b.append(&header(b"./dev/null", EntryType::Char, 0), io::empty())
                .unwrap();
            b.append(&header(b"./dev/sda", EntryType::Block, 0), io::empty())
                .unwrap();
            b.append(&header(b"./pipe", EntryType::Fifo, 0), io::empty())
                .unwrap();
            b.append(&header(b"./tty\x1b[2J", EntryType::Char, 0), io::empty())
                .unwrap();
        });
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(
            p[3].starts_with("entry tty\\u{1b}[2J is a device node"),
            "{p:?}"
        );
        assert!(p[0].starts_with("entry dev/null is a device node (character device)"));
        assert!(p[1].starts_with("entry dev/sda is a device node (block device)"));
        assert!(p[2].starts_with("entry pipe is a device node (named pipe)"));
    }

    #[test]
    fn duplicates_are_refused() {
        let p = problems(|b| {
            file(b, "./a.txt", b"one");
            file(b, "a.txt", b"two");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("entry a.txt appears twice in the archive"));
    }

    #[test]
    fn many_problems_are_capped_with_a_count() {
        let p = problems(|b| {
            for i in 0..40 {
                file(b, &format!("/abs/{i}"), b"x");
            }
        });
        assert_eq!(p.len(), MAX_SENTENCES + 1);
        assert!(
            p[MAX_SENTENCES].starts_with("15 more problems were found"),
            "{p:?}"
        );
    }

    #[test]
    fn too_many_entries_are_refused() {
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let data = gz(&tar_of(|b| {
            (0..10).for_each(|i| file(b, &format!("f{i}"), b"x"))
        }));
        let p = read_backup(&data[..], &limits).unwrap_err();
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("the archive has more than 3 entries: refusing to read further"));
    }

    #[test]
    fn folder_instead_of_contents() {
        let p = backup(|b| {
            dir(b, "data/");
            file(b, "data/a.txt", b"a");
            dir(b, "data/sub/");
        })
        .unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("all entries are under data/: the archive holds the folder, not its contents; use tar -C /data ."));
        // A volume whose only content is one folder is fine: the root entry is there.
        backup(|b| {
            dir(b, "./");
            dir(b, "./data/");
            file(b, "./data/a.txt", b"a");
        })
        .unwrap();
        // read_tar never makes this a problem.
        let t = tar_of(|b| file(b, "data/a.txt", b"a"));
        assert!(read_tar(&t[..], None, &Limits::default()).is_ok());
    }

    #[test]
    fn a_link_or_file_replacing_an_earlier_folder_is_refused() {
        let p = problems(|b| {
            file(b, "./d/f.txt", b"f");
            link(b, "./d", EntryType::Symlink, "elsewhere");
            file(b, "./e/g.txt", b"g");
            file(b, "./e", b"now a file");
        });
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with(
                "entry d would replace folder d, which earlier entries are in (d/f.txt)"
            ),
            "{p:?}"
        );
        assert!(p[1].starts_with("entry e would replace folder e"), "{p:?}");
    }
}
