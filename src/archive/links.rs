//! Resolving the symbolic links of an archive through one another, as the kernel will.

use super::pathset::PathSet;
use super::scan::Scan;
use super::show;

/// Most symbolic links followed resolving one link: Linux's limit (past it, `ELOOP`).
pub(super) const MAX_FOLLOWS: usize = 40;

/// Where a link's resolution stands: a normalised path (empty for the root) and, for each of
/// its components, the length and hash of the path before it (so `..` costs nothing).
#[derive(Default)]
pub(super) struct Location {
    pub(super) path: String,
    pub(super) hash: u64,
    pub(super) marks: Vec<(usize, u64)>,
}

impl Location {
    pub(super) fn push<T>(&mut self, set: &PathSet<T>, name: &str) {
        self.marks.push((self.path.len(), self.hash));
        if !self.path.is_empty() {
            self.path.push('/');
            self.hash = set.extend(self.hash, b"/");
        }
        self.path.push_str(name);
        self.hash = set.extend(self.hash, name.as_bytes());
    }

    /// Goes up one folder; `false` at the root.
    pub(super) fn pop(&mut self) -> bool {
        let Some((len, hash)) = self.marks.pop() else {
            return false;
        };
        self.path.truncate(len);
        self.hash = hash;
        true
    }
}

impl Scan<'_> {
    /// Resolves every accepted symbolic link through the links of the whole archive, as the
    /// kernel resolves it once the archive is restored (a link to a folder makes the paths
    /// through it land where it points); the sentences refusing those that lead outside the
    /// root or through more than [`MAX_FOLLOWS`] links. The work is capped in proportion to
    /// the links' length, so hostile chains cost a bounded time.
    pub(super) fn resolve_links(&self) -> Vec<String> {
        let (set, list) = (&self.links, &self.link_list);
        let weight: usize = list.iter().map(|(p, t)| p.len() + t.len()).sum();
        let mut budget = (1usize << 22).saturating_add(weight.saturating_mul(16));
        let mut out = Vec::new();
        for (path, target) in list {
            let mut at = Location::default();
            let folders = path.split('/').collect::<Vec<_>>();
            for name in &folders[..folders.len() - 1] {
                at.push(set, name);
            }
            let (mut frames, mut via) = (vec![target.split('/')], Vec::new());
            let outcome = loop {
                let Some(frame) = frames.last_mut() else {
                    break None;
                };
                let Some(c) = frame.next() else {
                    frames.pop();
                    continue;
                };
                let Some(left) = budget.checked_sub(1) else {
                    out.push(format!(
                        "the archive's symbolic links lead through one another too many times to \
                         check (from {}): the archive is corrupt or hostile; remove the chains \
                         of links, then create the archive again",
                        show(path)
                    ));
                    return out;
                };
                budget = left;
                match c {
                    "" | "." => {}
                    ".." if !at.pop() => break Some(false),
                    ".." => {}
                    name => {
                        at.push(set, name);
                        if let Some(&j) = set.get_hashed(at.hash, &at.path) {
                            via.push(j);
                            if via.len() > MAX_FOLLOWS {
                                break Some(true);
                            }
                            at.pop();
                            frames.push(list[j].1.split('/'));
                        }
                    }
                }
            };
            let (s, t) = (show(path), show(target));
            let fix = "fix or remove the link, then create the archive again";
            match outcome {
                None => {}
                Some(false) => {
                    let (links, chain) = chain(list, &via);
                    out.push(format!(
                        "symbolic link {s} points outside the volume root through {links} \
                         {chain}: its target {t} ends above the root once they are followed; \
                         links in a volume backup must stay inside the volume; {fix}"
                    ));
                }
                Some(true) => {
                    let (_, chain) = chain(list, &via);
                    let distinct = via.iter().collect::<std::collections::BTreeSet<_>>().len();
                    let what = if distinct < via.len() {
                        "a loop"
                    } else {
                        "a chain"
                    };
                    out.push(format!(
                        "symbolic link {s} ({t}) never resolves: it leads through more than \
                         {MAX_FOLLOWS} links ({what}: {chain}): the archive is corrupt or \
                         hostile; {fix}"
                    ));
                }
            }
        }
        out
    }
}

/// The links `via` went through, each once, for a message: ("symbolic links", "a (-> b), ...").
pub(super) fn chain(list: &[(String, String)], via: &[usize]) -> (&'static str, String) {
    let mut seen: Vec<usize> = Vec::new();
    for j in via {
        if !seen.contains(j) {
            seen.push(*j);
        }
        if seen.len() > 3 {
            break;
        }
    }
    let shown = seen.iter().take(3).map(|j| {
        let (p, t) = &list[*j];
        format!("{} (-> {})", show(p), show(t))
    });
    let mut text = shown.collect::<Vec<_>>().join(", ");
    text.push_str(if seen.len() > 3 { ", ..." } else { "" });
    let links = if seen.len() == 1 {
        "symbolic link"
    } else {
        "symbolic links"
    };
    (links, text)
}

#[cfg(test)]
mod tests {
    use crate::archive::names::link_problem;
    use crate::archive::testkit::*;
    use crate::archive::{read_tar, Limits};
    use std::collections::BTreeMap;
    use tar::EntryType;

    #[test]
    fn escaping_links_are_refused() {
        let p = problems(|b| {
            link(b, "./etc", EntryType::Symlink, "/etc/passwd");
            link(b, "./sub/up", EntryType::Symlink, "../../x");
            link(b, "./top", EntryType::Symlink, "..");
            link(b, "./sub/ok", EntryType::Symlink, "../sub/./x");
            file(b, "./early.txt", b"e");
            link(b, "./h1", EntryType::Link, "missing.txt");
            link(b, "./h2", EntryType::Link, "later.txt");
            link(b, "./h3", EntryType::Link, "early.txt");
            file(b, "./later.txt", b"l");
            file(b, "./sub/ok/file", b"written through the link");
        });
        assert_eq!(p.len(), 6, "{p:?}");
        assert!(has(
            &p,
            "entry sub/ok/file lies inside symbolic link sub/ok: restoring"
        ));
        assert!(has(
            &p,
            "symbolic link etc points to an absolute path (/etc/passwd)"
        ));
        assert!(has(
            &p,
            "symbolic link sub/up points to a path outside the volume root (../../x)"
        ));
        assert!(has(
            &p,
            "symbolic link top points to a path outside the volume root (..)"
        ));
        assert!(has(
            &p,
            "hard link h1 points to missing.txt, which is not an earlier file"
        ));
        assert!(has(
            &p,
            "hard link h2 points to later.txt, which is not an earlier file"
        ));
    }

    #[test]
    fn links_through_earlier_links_are_resolved() {
        // sub/up -> .. is the root; sub/esc -> up/../etc is then ../etc: outside.
        let p = problems(|b| {
            dir(b, "./sub/");
            link(b, "./sub/up", EntryType::Symlink, "..");
            link(b, "./sub/esc", EntryType::Symlink, "up/../etc");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("symbolic link sub/esc points outside the volume root through symbolic link sub/up (-> ..)"),
            "{p:?}"
        );
        // A link through a link through a link: a/l1 -> .. (the root); a/b/l2 -> ../l1 (the
        // root); a/b/c/l3 -> ../l2/../x: the root's parent.
        let p = problems(|b| {
            for d in ["./a/", "./a/b/", "./a/b/c/"] {
                dir(b, d);
            }
            link(b, "./a/l1", EntryType::Symlink, "..");
            link(b, "./a/b/l2", EntryType::Symlink, "../l1");
            link(b, "./a/b/c/l3", EntryType::Symlink, "../l2/../x");
            link(b, "./a/b/c/fine", EntryType::Symlink, "../l2/a/b");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("symbolic link a/b/c/l3 points outside the volume root through symbolic links a/b/l2 (-> ../l1), a/l1 (-> ..)"), "{p:?}");
        // A link declared later changes what an earlier one means: checked on the whole archive.
        let p = problems(|b| {
            dir(b, "./sub/");
            link(b, "./sub/esc", EntryType::Symlink, "up/../../x");
            link(b, "./sub/up", EntryType::Symlink, "..");
        });
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("symbolic link sub/esc points outside"),
            "{p:?}"
        );
        // Links through links that stay inside are fine.
        let m = backup(|b| {
            dir(b, "./");
            dir(b, "./a/");
            dir(b, "./a/b/");
            file(b, "./a/b/data.txt", b"d");
            link(b, "./a/top", EntryType::Symlink, "..");
            link(b, "./a/b/via", EntryType::Symlink, "../top/a/b/data.txt");
            link(b, "./a/b/again", EntryType::Symlink, "via");
        })
        .unwrap();
        assert_eq!(m.len(), 7);
    }

    #[test]
    fn link_loops_end_and_are_refused() {
        let p = within(20, || {
            backup(|b| {
                dir(b, "./");
                link(b, "./one", EntryType::Symlink, "two/x");
                link(b, "./two", EntryType::Symlink, "one/y");
                link(b, "./me", EntryType::Symlink, "me/me");
                file(b, "./ok.txt", b"ok");
            })
        })
        .unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].starts_with("symbolic link one (two/x) never resolves: it leads through more than 40 links (a loop: two (-> one/y), one (-> two/x)"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("symbolic link two (one/y) never resolves"),
            "{p:?}"
        );
        assert!(
            p[2].starts_with("symbolic link me (me/me) never resolves"),
            "{p:?}"
        );
    }

    /// Resolves `target` of the link at `path` over `links` (path -> target) the plain way:
    /// recursion, no hashing; `None` when it leads through more than 40 links.
    fn model_inside(links: &BTreeMap<String, String>, path: &str, target: &str) -> Option<bool> {
        fn walk(
            links: &BTreeMap<String, String>,
            at: &mut Vec<String>,
            target: &str,
            follows: &mut usize,
        ) -> Option<bool> {
            for c in target.split('/') {
                match c {
                    "" | "." => {}
                    ".." if at.is_empty() => return Some(false),
                    ".." => drop(at.pop()),
                    name => {
                        at.push(name.to_string());
                        if let Some(t) = links.get(&at.join("/")) {
                            *follows += 1;
                            if *follows > 40 {
                                return None;
                            }
                            at.pop();
                            if !walk(links, at, t, follows)? {
                                return Some(false);
                            }
                        }
                    }
                }
            }
            Some(true)
        }
        let mut at: Vec<String> = path.split('/').map(String::from).collect();
        at.pop();
        walk(links, &mut at, target, &mut 0)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Archives of folders and links whose targets mix `..`, `.` and names of other links:
        /// an accepted archive never holds a link that a plain resolver finds leaving the root
        /// or looping; and one whose links all stay inside (textually too) is accepted.
        #[test]
        fn accepted_links_resolve_inside(
            links in proptest::collection::vec((
                proptest::sample::select(vec!["a", "b", "a/c", "b/d", "a/c/e"]),
                proptest::collection::vec(
                    proptest::sample::select(vec!["..", ".", "a", "b", "c", "l0", "l1", "l2"]), 1..5),
            ), 1..6),
        ) {
            let mut declared = BTreeMap::new();
            let tar = tar_of(|b| {
                dir(b, "./");
                for d in ["a", "b", "a/c", "b/d", "a/c/e"] {
                    dir(b, &format!("./{d}/"));
                }
                for (i, (folder, target)) in links.iter().enumerate() {
                    let (path, target) = (format!("{folder}/l{i}"), target.join("/"));
                    link(b, &path, EntryType::Symlink, &target);
                    declared.insert(path, target);
                }
            });
            let textual = declared.iter().all(|(p, t)| link_problem(p, t).is_none());
            let verdicts: Vec<Option<bool>> =
                declared.iter().map(|(p, t)| model_inside(&declared, p, t)).collect();
            match read_tar(&tar[..], None, &Limits::default()) {
                Ok(_) => proptest::prop_assert!(
                    verdicts.iter().all(|v| *v == Some(true)),
                    "accepted, but the model says {verdicts:?} for {declared:?}"
                ),
                Err(p) => proptest::prop_assert!(
                    !textual || verdicts.iter().any(|v| *v != Some(true)),
                    "refused {p:?}, but every link of {declared:?} stays inside"
                ),
            }
        }
    }
}
