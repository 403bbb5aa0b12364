//! Comparing two manifests: what a volume holds against what an archive holds.

use super::pathset::PathSet;
use super::{show, Entry, EntryKind, Manifest, Sentences};

/// Differences between what a volume holds and what an archive holds, as sentences.
///
/// Empty when every file, folder and symbolic link of `expected` is in `actual` with the same
/// kind, identical bytes (SHA-256) and the same link target, and, when `exact`, nothing extra is
/// in `actual`. Hard links count as regular files. The root `.` is ignored, and so are mode and
/// owner unless `compare_owner`. A missing or extra folder is one sentence, not one per file.
pub fn compare(
    expected: &Manifest,
    expected_name: &str,
    actual: &Manifest,
    actual_name: &str,
    exact: bool,
    compare_owner: bool,
) -> Vec<String> {
    let (en, an) = (expected_name, actual_name);
    let mut out = Sentences::default();
    let mut gone = PathSet::default(); // folders already reported as a whole
    for (path, want) in expected.iter().filter(|(p, _)| *p != ".") {
        let (s, kw) = (show(path), kind_word(&want.kind));
        let got = match actual.get(path) {
            _ if gone.folder_of(path).is_some() => continue,
            Some(got) => got,
            // A folder whose contents are there too is implied by them; else one sentence.
            None if want.kind == EntryKind::Dir => {
                if inside(actual, path).next().is_none() {
                    gone.insert(path, ());
                    let (n, bytes) = sums(inside(expected, path));
                    let what = format!(
                        "folder {s} ({}, {})",
                        crate::ui::count::count(n as u64, "file"),
                        crate::ui::bytes::human(bytes)
                    );
                    out.push(format!("{what} is in {en} but missing from {an}"));
                }
                continue;
            }
            None => {
                out.push(format!("{kw} {s} is in {en} but missing from {an}"));
                continue;
            }
        };
        let kg = kind_word(&got.kind);
        let (ws, gs) = (
            crate::ui::bytes::human(want.size),
            crate::ui::bytes::human(got.size),
        );
        let (wo, go) = (owner(want), owner(got));
        let (wm, gm) = (want.mode, got.mode);
        let says = match (&want.kind, &got.kind) {
            _ if kw != kg => format!("{s} is a {kw} in {en} but a {kg} in {an}"),
            (EntryKind::Symlink { target: tw }, EntryKind::Symlink { target: tg }) if tw != tg => {
                let (tw, tg) = (show(tw), show(tg));
                format!("link {s} points to {tw} in {en} but to {tg} in {an}")
            }
            _ if want.size != got.size => format!("file {s} differs: {ws} in {en}, {gs} in {an}"),
            _ if want.digest != got.digest => {
                format!("file {s} has different content in {an} than in {en} (same size, {ws})")
            }
            _ => String::new(),
        };
        out.push_if(!says.is_empty(), || says);
        if compare_owner && kw == kg {
            let mode_differs = wm != gm && kw != "symbolic link";
            out.push_if(mode_differs, || {
                format!("{s} has mode {wm:04o} in {en} but {gm:04o} in {an}")
            });
            out.push_if(wo != go, || {
                format!("{s} is owned by {wo} in {en} but by {go} in {an}")
            });
        }
    }
    let mut extra = PathSet::default();
    for (path, got) in actual.iter().filter(|(p, _)| exact && *p != ".") {
        if expected.contains_key(path) || extra.folder_of(path).is_some() {
            continue;
        }
        if got.kind == EntryKind::Dir && inside(expected, path).next().is_some() {
            continue;
        } else if got.kind == EntryKind::Dir {
            extra.insert(path, ());
        }
        let (kg, s) = (kind_word(&got.kind), show(path));
        out.push(format!("{kg} {s} is in {an} but not in {en}"));
    }
    out.finish("differences")
}

pub(super) fn sums<'a>(entries: impl Iterator<Item = &'a Entry>) -> (usize, u64) {
    let files = entries.filter(|e| e.digest.is_some());
    files.fold((0, 0), |(n, b), e| (n + 1, b.saturating_add(e.size)))
}

/// The entries strictly inside folder `dir`: the keys under `dir/` sort together.
pub(super) fn inside<'a>(m: &'a Manifest, dir: &str) -> impl Iterator<Item = &'a Entry> + 'a {
    let prefix = format!("{dir}/");
    let from = m.range(prefix.clone()..);
    from.take_while(move |(k, _)| k.starts_with(&prefix))
        .map(|(_, e)| e)
}

pub(super) fn under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

pub(super) fn owner(e: &Entry) -> String {
    format!("{}:{}", e.uid, e.gid)
}

pub(super) fn kind_word(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::File | EntryKind::Hardlink { .. } => "file",
        EntryKind::Dir => "folder",
        EntryKind::Symlink { .. } => "symbolic link",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::summary;
    use crate::archive::testkit::*;

    #[test]
    fn compare_identical_is_empty() {
        let mut other = volume();
        other.get_mut(".").unwrap().mode = 0o700;
        let hard = EntryKind::Hardlink {
            target: "models/a.bin".into(),
        };
        other.insert("models-old".into(), entry("models-old", hard, b"old").1);
        assert!(compare(&volume(), V, &other, A, true, false).is_empty());
        assert_eq!(summary(&volume()), (4, 14));
    }

    #[test]
    fn compare_reports_missing_differing_and_extra() {
        let mut got = volume();
        got.remove("notes.txt");
        got.insert(
            "models/a.bin".into(),
            entry("models/a.bin", EntryKind::File, b"aaaaa").1,
        );
        got.insert(
            "models/b.bin".into(),
            entry("models/b.bin", EntryKind::File, b"BB").1,
        );
        got.insert(
            "extra.txt".into(),
            entry("extra.txt", EntryKind::File, b"x").1,
        );
        got.insert(
            "models-old".into(),
            entry("models-old", EntryKind::Dir, b"").1,
        );
        got.insert(
            "models-old/x".into(),
            entry("models-old/x", EntryKind::File, b"x").1,
        );
        let d = compare(&volume(), V, &got, A, false, false);
        assert_eq!(
            d,
            [
                "models-old is a file in volume ml-data but a folder in ml-data-backup.tar.gz",
                "file models/a.bin differs: 4 bytes in volume ml-data, 5 bytes in ml-data-backup.tar.gz",
                "file models/b.bin has different content in ml-data-backup.tar.gz than in volume ml-data (same size, 2 bytes)",
                "file notes.txt is in volume ml-data but missing from ml-data-backup.tar.gz",
            ]
        );
        let d = compare(&volume(), V, &got, A, true, false);
        assert_eq!(d.len(), 6, "{d:?}");
        assert_eq!(
            d[4],
            "file extra.txt is in ml-data-backup.tar.gz but not in volume ml-data"
        );
        assert_eq!(
            d[5],
            "file models-old/x is in ml-data-backup.tar.gz but not in volume ml-data"
        );
    }

    #[test]
    fn compare_collapses_missing_folders_and_checks_links_and_owner() {
        let mut got = volume();
        got.retain(|k, _| !k.starts_with("models/") && k != "models");
        got.insert(
            "link".into(),
            entry("link", EntryKind::Symlink { target: "x".into() }, b"").1,
        );
        got.get_mut("notes.txt").unwrap().uid = 1000;
        got.get_mut("models-old").unwrap().mode = 0o600;
        let d = compare(&volume(), V, &got, A, true, false);
        assert_eq!(
            d,
            [
                "link link points to notes.txt in volume ml-data but to x in ml-data-backup.tar.gz",
                "folder models (2 files, 6 bytes) is in volume ml-data but missing from ml-data-backup.tar.gz",
            ]
        );
        let d = compare(&volume(), V, &got, A, true, true);
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(d.contains(
            &"models-old has mode 0644 in volume ml-data but 0600 in ml-data-backup.tar.gz"
                .to_string()
        ));
        assert!(d.contains(
            &"notes.txt is owned by 0:0 in volume ml-data but by 1000:0 in ml-data-backup.tar.gz"
                .to_string()
        ));
    }

    #[test]
    fn compare_folders_implied_by_their_files_and_extra_folders() {
        let mut got = volume();
        got.remove("models"); // no folder entry, but its files are there
        for (p, k) in [("new", EntryKind::Dir), ("new/a", EntryKind::File)] {
            got.insert(p.into(), entry(p, k, b"a").1);
        }
        got.insert("new/b".into(), entry("new/b", EntryKind::File, b"b").1);
        assert!(compare(&volume(), V, &got, A, false, false).is_empty());
        let d = compare(&volume(), V, &got, A, true, false);
        assert_eq!(
            d,
            ["folder new is in ml-data-backup.tar.gz but not in volume ml-data"]
        );
    }
}
