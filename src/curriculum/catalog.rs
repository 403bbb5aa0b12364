//! The curriculum: embedded in the binary (exercises, lessons and solutions, so an installed
//! `workbook` works far from this checkout), or a community pack read from a folder in the same
//! layout (`exercises/`, `lessons/`, `solutions/`).

use crate::util::error::{Error, Result};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{include_dir, Dir};

use crate::curriculum::exercise::{bounds, check_slug, Exercise};
use crate::ui::safe_text;

/// The exercise folders as built in (also read by `dev check`).
pub(crate) static EXERCISES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/exercises");
static LESSONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/lessons");
static SOLUTIONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/solutions");

/// A starter file of an exercise: path relative to the exercise folder, and bytes.
pub struct StarterFile {
    pub path: String,
    pub contents: Cow<'static, [u8]>,
}

/// Where exercises come from: the binary, or a pack folder (`--pack DIR`).
///
/// The built-in exercises are parsed when first asked for: a command about one exercise
/// (`check 02`, `hint`) parses that one only, a sixth of its run time otherwise. A pack is
/// parsed whole when it is loaded, so that a broken pack is refused before anything runs.
#[derive(Debug)]
pub struct Catalog {
    /// Folder names (`NN-slug`), in order.
    slugs: Vec<String>,
    /// The `exercise.toml` of each, in the same order.
    sources: Vec<Cow<'static, str>>,
    /// Each exercise parsed alone, when only it was needed.
    one: Vec<OnceLock<std::result::Result<Exercise, String>>>,
    /// Every exercise parsed.
    all: OnceLock<std::result::Result<Vec<Exercise>, String>>,
    pack: Option<PathBuf>,
    /// The pack folder with links resolved: every file read from the pack must be inside it.
    pack_root: Option<PathBuf>,
}

impl Catalog {
    pub fn embedded() -> Result<Catalog> {
        let mut dirs: Vec<&Dir> = EXERCISES.dirs().collect();
        dirs.sort_by_key(|d| d.path());
        let (slugs, sources) = dirs
            .into_iter()
            .filter_map(|d| {
                let slug = d.path().file_name()?.to_str()?.to_string();
                let toml = d.get_file(d.path().join("exercise.toml"))?;
                Some((
                    slug,
                    Cow::Borrowed(toml.contents_utf8().unwrap_or_default()),
                ))
            })
            .unzip();
        Ok(Catalog::from_sources(slugs, sources, None))
    }

    fn from_sources(
        slugs: Vec<String>,
        sources: Vec<Cow<'static, str>>,
        pack: Option<PathBuf>,
    ) -> Catalog {
        Catalog {
            one: slugs.iter().map(|_| OnceLock::new()).collect(),
            slugs,
            sources,
            all: OnceLock::new(),
            pack_root: pack.as_deref().and_then(|p| p.canonicalize().ok()),
            pack,
        }
    }

    /// A community pack: `DIR/exercises/NN-slug/exercise.toml` (+ starter files),
    /// `DIR/lessons/`, `DIR/solutions/NN-slug/solve.sh`.
    ///
    /// Refused when it loads, naming the file: a folder name that is not a slug, a file or a
    /// link leading out of the pack (exercise folders, starter files, lessons, solutions), a
    /// file or a number of files over the bounds of the format ([`bounds`]).
    pub fn pack(dir: &Path) -> Result<Catalog> {
        let root = dir.join("exercises");
        let entries = std::fs::read_dir(&root).map_err(|e| {
            format!("{} is not an exercise pack: cannot read {}: {e} (a pack has exercises/, lessons/ and solutions/)", dir.display(), root.display())
        })?;
        let pack_root = dir
            .canonicalize()
            .map_err(|e| Error::io(format!("cannot read the pack {}", dir.display()), e))?;
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("exercise.toml").is_file())
            .collect();
        dirs.sort();
        if dirs.is_empty() {
            return Err(format!(
                "the pack {} has no exercises (no exercises/*/exercise.toml)",
                dir.display()
            )
            .into());
        }
        if dirs.len() > bounds::EXERCISES {
            return Err(format!(
                "the pack {} has {} exercises: a pack holds at most {}",
                dir.display(),
                dirs.len(),
                bounds::EXERCISES
            )
            .into());
        }
        let mut slugs = Vec::new();
        let mut sources = Vec::new();
        for d in dirs {
            let slug = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            check_slug(&slug).map_err(|e| format!("{}/{e}", dir.display()))?;
            inside(&pack_root, &d)?;
            let toml = d.join("exercise.toml");
            let text = read_bounded(&pack_root, &toml, bounds::EXERCISE_FILE)?;
            slugs.push(slug);
            sources.push(Cow::Owned(text));
        }
        let catalog = Catalog::from_sources(slugs, sources, Some(dir.to_path_buf()));
        for ex in catalog.exercises()? {
            let lesson = dir.join("lessons").join(&ex.data.lesson);
            if std::fs::symlink_metadata(&lesson).is_ok() {
                read_bounded(&pack_root, &lesson, bounds::LESSON_FILE)?;
            }
            let solution = dir.join("solutions").join(&ex.slug).join("solve.sh");
            if std::fs::symlink_metadata(&solution).is_ok() {
                read_bounded(&pack_root, &solution, bounds::SOLUTION_FILE)?;
            }
            let base = dir.join("exercises").join(&ex.slug);
            let mut count = (0usize, 0u64);
            check_starter(&pack_root, &base, &mut count)?;
        }
        Ok(catalog)
    }

    /// Every exercise, in order.
    pub fn exercises(&self) -> Result<&[Exercise]> {
        self.all
            .get_or_init(|| {
                self.slugs
                    .iter()
                    .zip(&self.sources)
                    .map(|(slug, text)| Exercise::parse(slug, text))
                    .collect::<Result<_>>()
                    .map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|e| e.clone().into())
    }

    /// Every exercise's slug (`NN-name`), in order; nothing is parsed.
    pub fn slugs(&self) -> &[String] {
        &self.slugs
    }

    /// The exercise with this exact slug, parsing only it unless all are parsed already.
    pub fn get(&self, slug: &str) -> Result<&Exercise> {
        let i = self
            .slugs
            .iter()
            .position(|s| s == slug)
            .ok_or_else(|| format!("no exercise `{slug}` in this workbook"))?;
        if let Some(Ok(all)) = self.all.get() {
            return Ok(&all[i]);
        }
        self.one[i]
            .get_or_init(|| {
                Exercise::parse(&self.slugs[i], &self.sources[i]).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| e.clone().into())
    }

    /// The exercise with this exact slug, if there is one and it parses.
    pub fn find_exact(&self, slug: &str) -> Option<&Exercise> {
        self.get(slug).ok()
    }

    /// Finds an exercise by slug, number (`2`, `02`), a word or part of its name or title (any
    /// case), parsing only it ([`find_slug`]).
    pub fn find(&self, wanted: &str) -> Result<&Exercise> {
        let slug = find_slug(&self.slugs, || self.titles(), wanted)?;
        self.get(slug)
    }

    /// Every exercise's title, in order, read without parsing the exercises (unless they are).
    pub fn titles(&self) -> Vec<String> {
        if let Some(Ok(all)) = self.all.get() {
            return all.iter().map(|e| e.title().to_string()).collect();
        }
        self.sources.iter().map(|s| title_of(s)).collect()
    }

    /// The pack folder, when this is a pack.
    pub fn pack_dir(&self) -> Option<&Path> {
        self.pack.as_deref()
    }

    /// The lesson file's text; for a pack, only from inside it, and within its bound.
    pub fn lesson(&self, file: &str) -> Option<Cow<'static, str>> {
        match (&self.pack, &self.pack_root) {
            (None, _) => lesson(file).map(Cow::Borrowed),
            (Some(dir), Some(root)) => {
                read_bounded(root, &dir.join("lessons").join(file), bounds::LESSON_FILE)
                    .ok()
                    .map(Cow::Owned)
            }
            (Some(_), None) => None,
        }
    }

    /// The reference solution as it runs (byte for byte: it is neutralised only where shown).
    pub fn solution(&self, slug: &str) -> Option<Cow<'static, str>> {
        match (&self.pack, &self.pack_root) {
            (None, _) => solution(slug).map(Cow::Borrowed),
            (Some(dir), Some(root)) => read_bounded(
                root,
                &dir.join("solutions").join(slug).join("solve.sh"),
                bounds::SOLUTION_FILE,
            )
            .ok()
            .map(Cow::Owned),
            (Some(_), None) => None,
        }
    }

    pub fn starter_files(&self, slug: &str) -> Vec<StarterFile> {
        match &self.pack {
            None => starter_files(slug),
            Some(dir) => {
                let base = dir.join("exercises").join(slug);
                let mut out = Vec::new();
                collect_folder(&base, &base, &mut out);
                out.sort_by(|a, b| a.path.cmp(&b.path));
                out
            }
        }
    }
}

/// `path` (links resolved) is inside the pack, else the refusal naming it.
fn inside(pack_root: &Path, path: &Path) -> Result<PathBuf> {
    let shown = || safe_text::line(&path.display().to_string()).into_owned();
    let real = path.canonicalize().map_err(|e| {
        format!(
            "{}: cannot be read ({e}); a link whose target is missing, or outside the pack, is refused",
            shown()
        )
    })?;
    if !real.starts_with(pack_root) {
        return Err(format!(
            "{} leads to {}, outside the pack: a pack's files (exercise folders, starter files, \
             lessons, solutions) must be inside its folder",
            shown(),
            safe_text::line(&real.display().to_string())
        )
        .into());
    }
    Ok(real)
}

/// A text file of the pack: inside it, at most `max` bytes, UTF-8.
fn read_bounded(pack_root: &Path, path: &Path, max: u64) -> Result<String> {
    use std::io::Read;
    let real = inside(pack_root, path)?;
    let shown = || safe_text::line(&path.display().to_string()).into_owned();
    let file = std::fs::File::open(&real).map_err(|e| Error::io(shown(), e))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(shown(), e))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{}: the file is over {max} bytes, the most such a file may hold",
            shown()
        )
        .into());
    }
    String::from_utf8(bytes)
        .map_err(|_| format!("{}: is not UTF-8 text", shown()))
        .map_err(Into::into)
}

/// The starter files of a pack's exercise: no link leading out of the pack, names without
/// control characters, and within the bounds (`count`: entries and bytes so far).
fn check_starter(pack_root: &Path, dir: &Path, count: &mut (usize, u64)) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::io(
            format!("{}", safe_text::line(&dir.display().to_string())),
            e,
        )
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let shown = || safe_text::line(&path.display().to_string()).into_owned();
        let name = entry.file_name();
        if !safe_text::is_inert(&name.to_string_lossy()) || name.to_string_lossy().contains('\n') {
            return Err(format!(
                "{}: a starter file's name holds control characters",
                shown()
            )
            .into());
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        count.0 += 1;
        if count.0 > bounds::STARTER_ENTRIES {
            return Err(format!(
                "{}: the exercise has more than {} starter files and folders",
                safe_text::line(&dir.display().to_string()),
                bounds::STARTER_ENTRIES
            )
            .into());
        }
        if meta.file_type().is_symlink() {
            // Links are never copied into a workspace; one leading out of the pack is refused.
            inside(pack_root, &path)?;
        } else if meta.is_dir() {
            check_starter(pack_root, &path, count)?;
        } else if meta.is_file() {
            count.1 += meta.len();
            if count.1 > bounds::STARTER_BYTES {
                return Err(format!(
                    "{}: the exercise's starter files hold more than {} bytes together",
                    shown(),
                    bounds::STARTER_BYTES
                )
                .into());
            }
        }
    }
    Ok(())
}

fn collect_folder(base: &Path, dir: &Path, out: &mut Vec<StarterFile>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        // Never follow links out of a pack.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect_folder(base, &path, out);
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if rel == "exercise.toml" {
                continue;
            }
            if let Ok(bytes) = std::fs::read(&path) {
                out.push(StarterFile {
                    path: rel,
                    contents: Cow::Owned(bytes),
                });
            }
        }
    }
}

/// Every built-in exercise, in order (by folder name, `NN-slug`), parsed.
pub fn exercises() -> Result<Vec<Exercise>> {
    Ok(Catalog::embedded()?.exercises()?.to_vec())
}

/// Finds a slug, case-insensitively: by itself, its number (`2`, `02`), its name without the
/// number (`tmpfs`), whole words of its slug or title (`permissions`, `Backup`), else a part of
/// them that only one exercise has (`permission`, `bind-mount`). `titles` gives the titles in
/// the order of `slugs`; it is called only when the slug alone does not decide. Two or more
/// matches are an error listing them; none, an error with a did-you-mean over slugs and titles.
pub fn find_slug<'a>(
    slugs: &'a [String],
    titles: impl FnOnce() -> Vec<String>,
    wanted: &str,
) -> Result<&'a str> {
    let w = wanted.trim().trim_start_matches("./").trim_end_matches('/');
    if let Some(s) = slugs.iter().find(|s| s.eq_ignore_ascii_case(w)) {
        return Ok(s);
    }
    let number = |s: &str| s.split('-').next().and_then(|p| p.parse::<u32>().ok());
    if let Ok(n) = w.parse::<u32>() {
        if let Some(s) = slugs.iter().find(|s| number(s) == Some(n)) {
            return Ok(s);
        }
        let numbers: Vec<u32> = slugs.iter().filter_map(|s| number(s)).collect();
        let range = match (numbers.iter().min(), numbers.iter().max()) {
            (Some(lo), Some(hi)) => format!(": they are numbered {lo:02} to {hi:02}"),
            _ => String::new(),
        };
        return Err(
            format!("no exercise number {n}{range}. `workbook list` shows them all.").into(),
        );
    }
    let name = |s: &'a String| s.split_once('-').map_or(s.as_str(), |(_, rest)| rest);
    if let Some(s) = slugs.iter().find(|s| name(s).eq_ignore_ascii_case(w)) {
        return Ok(s);
    }
    let titles = titles();
    let title = |i: usize| titles.get(i).map_or("", String::as_str);
    let key = words(w);
    if key.is_empty() {
        return Err(not_found(slugs, &titles, wanted, None));
    }
    // Whole words: `volume` is a word of three titles; `permission` of none.
    let whole: Vec<usize> = (0..slugs.len())
        .filter(|&i| {
            contains_words(&words(&slugs[i]), &key) || contains_words(&words(title(i)), &key)
        })
        .collect();
    // Parts of words: `permission` is in `permissions`, `bind-mount` in `bind-mounts`.
    let joined = key.join(" ");
    let part: Vec<usize> = (0..slugs.len())
        .filter(|&i| {
            words(&slugs[i]).join(" ").contains(&joined)
                || words(title(i)).join(" ").contains(&joined)
        })
        .collect();
    let found = if whole.is_empty() { part } else { whole };
    match found.as_slice() {
        [i] => Ok(&slugs[*i]),
        [] => {
            // A typo: the closest slug, name, title or word of a title.
            let mut candidates: Vec<(String, usize)> = Vec::new();
            for (i, slug) in slugs.iter().enumerate() {
                candidates.push((slug.clone(), i));
                candidates.push((name(slug).to_string(), i));
                candidates.push((title(i).to_string(), i));
                for word in words(title(i)).into_iter().chain(words(name(slug))) {
                    if word.chars().count() >= 4 {
                        candidates.push((word, i));
                    }
                }
            }
            let close =
                crate::util::suggest::closest(w, candidates.iter().map(|(c, _)| c.as_str()))
                    .and_then(|c| candidates.iter().find(|(s, _)| s == c))
                    .map(|(_, i)| *i);
            Err(not_found(slugs, &titles, wanted, close))
        }
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|&i| described(&slugs[i], title(i)))
                .collect();
            let example = number(&slugs[many[0]])
                .map(|n| format!("{n:02}"))
                .unwrap_or_else(|| slugs[many[0]].clone());
            Err(format!(
                "`{wanted}` matches {} exercises: {}. Name one of them: its number (e.g. `{example}`) or its slug.",
                many.len(),
                list.join(", ")
            )
            .into())
        }
    }
}

/// The lowercase words of `text` (letters and digits; everything else separates).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `key` appears in `hay` as consecutive whole words.
fn contains_words(hay: &[String], key: &[String]) -> bool {
    hay.windows(key.len()).any(|window| window == key)
}

/// `03-tmpfs (tmpfs mounts)`; the slug alone when the title says nothing more.
fn described(slug: &str, title: &str) -> String {
    if title.is_empty() {
        slug.to_string()
    } else {
        format!("{slug} ({title})")
    }
}

fn not_found(slugs: &[String], titles: &[String], wanted: &str, close: Option<usize>) -> Error {
    let title = |i: usize| titles.get(i).map_or("", String::as_str);
    let suggestion = close
        .map(|i| match title(i) {
            "" => format!(" Did you mean `{}`?", slugs[i]),
            t => format!(" Did you mean `{}` ({t})?", slugs[i]),
        })
        .unwrap_or_default();
    format!(
        "no exercise `{wanted}`.{suggestion} The exercises are: {}. (`workbook list` shows them with their titles.)",
        slugs.join(", ")
    )
    .into()
}

/// The `title` of an `exercise.toml`, read without parsing the rest of the exercise.
fn title_of(source: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Title {
        #[serde(default)]
        title: String,
    }
    toml::from_str::<Title>(source)
        .map(|t| safe_text::line(&t.title).into_owned())
        .unwrap_or_default()
}

/// The Markdown of a lesson file under `lessons/`.
pub fn lesson(file: &str) -> Option<&'static str> {
    LESSONS.get_file(file).and_then(|f| f.contents_utf8())
}

/// The reference solution script of an exercise.
pub fn solution(slug: &str) -> Option<&'static str> {
    SOLUTIONS
        .get_file(format!("{slug}/solve.sh"))
        .and_then(|f| f.contents_utf8())
}

/// The files a learner starts from (everything in the exercise folder but `exercise.toml`).
pub fn starter_files(slug: &str) -> Vec<StarterFile> {
    let Some(dir) = EXERCISES.get_dir(slug) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect(dir, slug, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn collect(dir: &'static Dir<'static>, slug: &str, out: &mut Vec<StarterFile>) {
    for f in dir.files() {
        let rel = f.path().strip_prefix(slug).unwrap_or(f.path());
        if rel.as_os_str() == "exercise.toml" {
            continue;
        }
        out.push(StarterFile {
            path: rel.to_string_lossy().into_owned(),
            contents: Cow::Borrowed(f.contents()),
        });
    }
    for d in dir.dirs() {
        collect(d, slug, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_exercise_is_found_and_parsed_alone() {
        let cat = Catalog::embedded().unwrap();
        assert!(cat.slugs().len() >= 11);
        for (wanted, slug) in [
            ("02", "02-bind-mounts"),
            ("2", "02-bind-mounts"),
            ("tmpfs", "03-tmpfs"),
        ] {
            assert_eq!(cat.find(wanted).unwrap().slug, slug);
        }
        // Only what was asked for is parsed.
        assert!(cat.all.get().is_none());
        assert_eq!(cat.one.iter().filter(|o| o.get().is_some()).count(), 2);
        // Once all are parsed, the same exercise comes from the whole list.
        let all = cat.exercises().unwrap();
        assert_eq!(all.len(), cat.slugs().len());
        assert!(std::ptr::eq(cat.get("03-tmpfs").unwrap(), &all[2]));
    }

    #[test]
    fn an_unknown_exercise_is_named_with_a_suggestion() {
        let cat = Catalog::embedded().unwrap();
        let err = cat.find("03-tnpfs").unwrap_err();
        assert!(err.to_string().contains("no exercise `03-tnpfs`"), "{err}");
        assert!(
            err.to_string()
                .contains("Did you mean `03-tmpfs` (tmpfs mounts)?"),
            "{err}"
        );
        assert!(
            err.to_string().contains("01-named-volumes, 02-bind-mounts"),
            "{err}"
        );
        assert!(cat.get("99-nothing").is_err());
    }

    #[test]
    fn selection_ignores_case_and_matches_words_of_titles() {
        let cat = Catalog::embedded().unwrap();
        for (wanted, slug) in [
            ("TMPFS", "03-tmpfs"),
            ("Tmpfs", "03-tmpfs"),
            ("03-TMPFS", "03-tmpfs"),
            ("./03-tmpfs/", "03-tmpfs"),
            ("Bind-Mounts", "02-bind-mounts"),
            ("bind mount", "02-bind-mounts"),
            // Words of a title, whole or begun.
            ("permissions", "09-permissions"),
            ("permission", "09-permissions"),
            ("PERMISSION", "09-permissions"),
            ("disaster", "11-capstone"),
            ("Disaster Recovery", "11-capstone"),
            ("backup", "07-backup-restore"),
            ("checkpoints", "04-checkpoints"),
            ("serving", "05-shared-models"),
            ("drivers", "10-volume-drivers"),
        ] {
            assert_eq!(
                cat.find(wanted).map(|e| e.slug.as_str()).ok(),
                Some(slug),
                "{wanted}"
            );
        }
        // Titles are read without parsing the exercises.
        assert!(cat.all.get().is_none());
    }

    #[test]
    fn an_ambiguous_word_lists_the_candidates() {
        let cat = Catalog::embedded().unwrap();
        let err = cat.find("volume").unwrap_err().to_string();
        assert!(err.contains("`volume` matches 3 exercises"), "{err}");
        for candidate in [
            "06-volume-lifecycle (Volume commands)",
            "09-permissions (Manage volume permissions)",
            "10-volume-drivers (Volume drivers)",
        ] {
            assert!(err.contains(candidate), "{err}");
        }
        assert!(err.contains("e.g. `06`"), "{err}");
        let err = cat.find("MOUNTS").unwrap_err().to_string();
        assert!(err.contains("02-bind-mounts (Bind mounts)"), "{err}");
        assert!(err.contains("03-tmpfs (tmpfs mounts)"), "{err}");
    }

    #[test]
    fn a_typo_gets_a_did_you_mean_against_slugs_and_titles() {
        let cat = Catalog::embedded().unwrap();
        for (typo, meant) in [
            ("tmpsf", "03-tmpfs` (tmpfs mounts"),
            ("TMFPS", "03-tmpfs` (tmpfs mounts"),
            ("permisions", "09-permissions` (Manage volume permissions"),
            ("capstnoe", "11-capstone` (Capstone: disaster recovery"),
            ("perfomance", "08-performance` (Performance optimization"),
            (
                "chekpoints",
                "04-checkpoints` (Training with persistent checkpoints",
            ),
        ] {
            let err = cat.find(typo).unwrap_err().to_string();
            assert!(err.contains(&format!("no exercise `{typo}`")), "{err}");
            assert!(
                err.contains(&format!("Did you mean `{meant})?")),
                "{typo}: {err}"
            );
        }
        let err = cat.find("kubernetes").unwrap_err().to_string();
        assert!(!err.contains("Did you mean"), "{err}");
        let err = cat.find("13").unwrap_err().to_string();
        assert!(
            err.contains("no exercise number 13: they are numbered 01 to 12"),
            "{err}"
        );
        assert!(cat.find("").is_err() && cat.find(" / ").is_err());
    }
}
