//! `workbook dev check [DIR]`: lints exercise data for authors, with no Docker daemon.
//!
//! It reads a folder of exercises laid out as in this repository (`DIR/NN-slug/exercise.toml`,
//! lessons in `DIR/../lessons/`, solutions in `DIR/../solutions/SLUG/solve.sh`), or the catalog
//! embedded in the binary, and reports every problem it finds (not only the first), each with
//! its file and, where there is one, its line: `exercises/02-bind-mounts/exercise.toml:45: ...`.
//!
//! The TOML is read twice: strictly, into the same types as [`Exercise::parse`] (so unknown
//! keys and wrong types are the loader's own errors), and loosely, with spans, so that the
//! semantic lints can point at the line of the id or key at fault. An exercise with no lint
//! problem is finally loaded by [`Exercise::parse`] itself, so `dev check` never passes data
//! that the workbook would refuse.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use include_dir::Dir;

use crate::curriculum::catalog::EXERCISES as EMBEDDED;
use serde::Deserialize;
use toml::{Spanned, Value};

use crate::curriculum::catalog;
use crate::curriculum::exercise::{Exercise, ExerciseFile, FORMAT_VERSION};
use crate::ui::output::outln;

const STEP_MARKER: &str = "<!-- workbook:step ";
const END_MARKER: &str = "<!-- workbook:end -->";

/// One problem: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is about the file as a whole (e.g. a missing file).
    pub line: Option<usize>,
    /// A warning is shown, but does not make the data fail (e.g. an exec command that looks
    /// like it writes).
    pub warning: bool,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warning = if self.warning { "warning: " } else { "" };
        match self.line {
            Some(line) => write!(
                f,
                "{}:{line}: {warning}{}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {warning}{}", self.file.display(), self.message),
        }
    }
}

/// Lints every exercise in `dir` (a folder of `NN-slug/` folders). `Err` when `dir` cannot be
/// read at all; otherwise the problems found (empty: clean).
pub fn check_dir(dir: &Path) -> Result<Vec<Problem>, String> {
    check(&Source::Folder(dir))
}

/// Lints the exercises, lessons and solutions built into this binary.
pub fn check_embedded() -> Vec<Problem> {
    check(&Source::Embedded).unwrap_or_else(|e| {
        vec![Problem {
            file: PathBuf::from("exercises"),
            line: None,
            warning: false,
            message: e,
        }]
    })
}

/// The checkout's `exercises/` when the current folder is inside this repository (a folder
/// above it holds `Cargo.toml`, `exercises/` and `lessons/`), as a path relative to it.
pub fn checkout_exercises() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let root = cwd.ancestors().find(|d| {
        d.join("Cargo.toml").is_file() && d.join("exercises").is_dir() && d.join("lessons").is_dir()
    })?;
    let depth = cwd.strip_prefix(root).ok()?.components().count();
    let mut rel = PathBuf::new();
    for _ in 0..depth {
        rel.push("..");
    }
    Some(rel.join("exercises"))
}

/// `workbook dev check [DIR]`: 0 clean, 1 problems found; `Err` (exit 2) when DIR cannot be read.
pub fn run(dir: Option<&Path>) -> Result<i32, String> {
    let (what, problems) = match dir {
        Some(d) => (d.display().to_string(), check_dir(d)?),
        None => match checkout_exercises() {
            Some(d) => (d.display().to_string(), check_dir(&d)?),
            None => ("the embedded catalog".to_string(), check_embedded()),
        },
    };
    for p in &problems {
        // Messages quote the data (ids, names, the TOML parser's words): shown inert.
        outln(&crate::ui::safe_text::text(&p.to_string()));
    }
    let warnings = problems.iter().filter(|p| p.warning).count();
    let errors = problems.len() - warnings;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let and_warnings = match warnings {
        0 => String::new(),
        n => format!(" ({})", plural(n, "warning")),
    };
    if errors == 0 {
        outln(&format!("{what}: no problems found{and_warnings}."));
        Ok(0)
    } else {
        outln(&format!(
            "{what}: {} found{and_warnings}.",
            plural(errors, "problem")
        ));
        Ok(1)
    }
}

// ---------------------------------------------------------------- where the data comes from

enum Source<'a> {
    Folder(&'a Path),
    Embedded,
}

/// One exercise folder as read.
struct Input {
    slug: String,
    folder: PathBuf,
    toml_file: PathBuf,
    text: String,
}

/// The starter files of an exercise (relative, `/`-separated), and the folders holding them.
#[derive(Default)]
struct Starter {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

impl Starter {
    fn from_files(files: impl IntoIterator<Item = String>) -> Starter {
        let mut s = Starter::default();
        for f in files {
            let mut parent = f.as_str();
            while let Some((p, _)) = parent.rsplit_once('/') {
                s.dirs.insert(p.to_string());
                parent = p;
            }
            s.files.insert(f);
        }
        s
    }

    fn has_file(&self, p: &str) -> bool {
        self.files.contains(p)
    }

    fn has_dir(&self, p: &str) -> bool {
        p.is_empty() || self.dirs.contains(p)
    }
}

/// `dir`'s sibling folder `name` (`exercises` -> `lessons`), written the short way.
fn sibling(dir: &Path, name: &str) -> PathBuf {
    match (dir.file_name(), dir.parent()) {
        (Some(_), Some(parent)) => parent.join(name),
        _ => dir.join("..").join(name),
    }
}

impl Source<'_> {
    /// The exercise folders, sorted; problems for folders that are not exercises.
    fn inputs(&self, problems: &mut Vec<Problem>) -> Result<Vec<Input>, String> {
        let mut inputs = Vec::new();
        match self {
            Source::Folder(dir) => {
                let entries = std::fs::read_dir(dir).map_err(|e| {
                    format!(
                        "cannot read {}: {e}. Give the folder that holds the exercise folders, \
                         e.g. `workbook dev check exercises`",
                        dir.display()
                    )
                })?;
                let mut folders = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && entry.path().is_dir() {
                        folders.push(name);
                    }
                }
                folders.sort();
                for slug in folders {
                    let folder = dir.join(&slug);
                    let toml_file = folder.join("exercise.toml");
                    if !toml_file.is_file() {
                        problems.push(Problem {
                            file: folder,
                            line: None,
                            warning: false,
                            message: "no exercise.toml in this folder: the workbook skips it; \
                                      add one, or move the folder out"
                                .to_string(),
                        });
                        continue;
                    }
                    match std::fs::read_to_string(&toml_file) {
                        Ok(text) => inputs.push(Input {
                            slug,
                            folder,
                            toml_file,
                            text,
                        }),
                        Err(e) => problems.push(Problem {
                            file: toml_file,
                            line: None,
                            warning: false,
                            message: format!("cannot read it: {e}"),
                        }),
                    }
                }
            }
            Source::Embedded => {
                let mut dirs: Vec<&Dir> = EMBEDDED.dirs().collect();
                dirs.sort_by_key(|d| d.path());
                for d in dirs {
                    let slug = d
                        .path()
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let folder = Path::new("exercises").join(&slug);
                    let toml_file = folder.join("exercise.toml");
                    match d.get_file(d.path().join("exercise.toml")) {
                        Some(f) => match f.contents_utf8() {
                            Some(text) => inputs.push(Input {
                                slug,
                                folder,
                                toml_file,
                                text: text.to_string(),
                            }),
                            None => problems.push(Problem {
                                file: toml_file,
                                line: None,
                                warning: false,
                                message: "is not UTF-8 text".to_string(),
                            }),
                        },
                        None => problems.push(Problem {
                            file: folder,
                            line: None,
                            warning: false,
                            message: "no exercise.toml in this folder: the workbook skips it"
                                .to_string(),
                        }),
                    }
                }
            }
        }
        Ok(inputs)
    }

    /// Where a lesson file is, and its text when it exists.
    fn lesson(&self, file: &str) -> (PathBuf, Result<String, String>) {
        match self {
            Source::Folder(dir) => {
                let path = sibling(dir, "lessons").join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        "does not exist".to_string()
                    } else {
                        format!("cannot be read: {e}")
                    }
                });
                (path, text)
            }
            Source::Embedded => (
                Path::new("lessons").join(file),
                catalog::lesson(file)
                    .map(str::to_string)
                    .ok_or_else(|| "does not exist (or is not UTF-8 text)".to_string()),
            ),
        }
    }

    /// Where the reference solution is, and whether it exists.
    fn solution(&self, slug: &str) -> (PathBuf, bool) {
        match self {
            Source::Folder(dir) => {
                let path = sibling(dir, "solutions").join(slug).join("solve.sh");
                let exists = path.is_file();
                (path, exists)
            }
            Source::Embedded => (
                Path::new("solutions").join(slug).join("solve.sh"),
                catalog::solution(slug).is_some(),
            ),
        }
    }

    /// The starter files: everything in the exercise folder but `exercise.toml` (as `init` writes them).
    fn starter(&self, input: &Input) -> Starter {
        match self {
            Source::Folder(_) => {
                let mut files = Vec::new();
                walk(&input.folder, "", &mut files);
                Starter::from_files(files.into_iter().filter(|f| f != "exercise.toml"))
            }
            Source::Embedded => Starter::from_files(
                catalog::starter_files(&input.slug)
                    .into_iter()
                    .map(|f| f.path.replace('\\', "/")),
            ),
        }
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // As `init` and packs do: real folders and regular files, never links.
        match entry.file_type() {
            Ok(ft) if ft.is_dir() => walk(&entry.path(), &rel, out),
            Ok(ft) if ft.is_file() => out.push(rel),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------- the lints

fn check(source: &Source) -> Result<Vec<Problem>, String> {
    let mut problems = Vec::new();
    let inputs = source.inputs(&mut problems)?;
    if inputs.is_empty() && problems.is_empty() {
        let file = match source {
            Source::Folder(dir) => dir.to_path_buf(),
            Source::Embedded => PathBuf::from("exercises"),
        };
        problems.push(Problem {
            file,
            line: None,
            warning: false,
            message: "no exercises here: expected folders NN-slug/ holding an exercise.toml"
                .to_string(),
        });
    }
    let mut numbers: HashMap<u32, String> = HashMap::new();
    for input in &inputs {
        if let Some(message) = slug_problem(&input.slug) {
            problems.push(Problem {
                file: input.folder.clone(),
                line: None,
                warning: false,
                message,
            });
        } else if let Some(n) = exercise_number(&input.slug) {
            if let Some(first) = numbers.get(&n) {
                problems.push(Problem {
                    file: input.folder.clone(),
                    line: None,
                    warning: false,
                    message: format!(
                        "exercise number {n} is also used by `{first}`: `workbook check {n}` could only pick one; \
                         renumber one of them"
                    ),
                });
            } else {
                numbers.insert(n, input.slug.clone());
            }
        }
        let mut found = lint_exercise(source, input);
        // By file, then line (problems about a whole file last).
        found.sort_by(|a, b| {
            (&a.file, a.line.unwrap_or(usize::MAX)).cmp(&(&b.file, b.line.unwrap_or(usize::MAX)))
        });
        problems.extend(found);
    }
    Ok(problems)
}

fn exercise_number(slug: &str) -> Option<u32> {
    slug.split('-').next()?.parse().ok()
}

fn slug_problem(slug: &str) -> Option<String> {
    let ok = slug.split_once('-').is_some_and(|(n, rest)| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
            && !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    (!ok).then(|| {
        format!(
            "folder name `{slug}` is not `NN-slug` (a number, a dash, then lowercase letters, digits and dashes, \
             e.g. `02-bind-mounts`): learners pick exercises by that number"
        )
    })
}

/// The exercise as read loosely: every field optional, any value accepted, with spans.
#[derive(Deserialize)]
struct Loose {
    format: Option<Spanned<Value>>,
    title: Option<Spanned<Value>>,
    lesson: Option<Spanned<Value>>,
    resources: Option<Spanned<Value>>,
    setup: Option<Spanned<Value>>,
    #[serde(default)]
    steps: Vec<Spanned<LooseStep>>,
    #[serde(default)]
    variants: Vec<Spanned<LooseItem>>,
    #[serde(default)]
    mistakes: Vec<Spanned<LooseItem>>,
}

#[derive(Deserialize)]
struct LooseStep {
    id: Option<Spanned<Value>>,
    title: Option<Spanned<Value>>,
    task: Option<Spanned<Value>>,
    hint: Option<Spanned<Value>>,
    #[serde(default)]
    checks: Vec<Spanned<Value>>,
}

#[derive(Deserialize)]
struct LooseItem {
    id: Option<Spanned<Value>>,
    step: Option<Spanned<Value>>,
    run: Option<Spanned<Value>>,
    expect: Option<Spanned<Value>>,
}

/// The string value and the offset where it is written.
fn string(v: &Option<Spanned<Value>>) -> Option<(&str, usize)> {
    v.as_ref()
        .and_then(|s| s.get_ref().as_str().map(|t| (t, s.span().start)))
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line of `key = ...` in the table whose header starts at `span` (up to the next table
/// header), else the line of the header.
fn line_of_key(text: &str, span: std::ops::Range<usize>, key: &str) -> usize {
    let start = span.start.min(text.len());
    let mut offset = start;
    for (n, line) in text[start..].split_inclusive('\n').enumerate() {
        let t = line.trim_start();
        if n > 0 && t.starts_with('[') {
            break;
        }
        if let Some(rest) = t.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return line_at(text, offset + (line.len() - t.len()));
            }
        }
        offset += line.len();
    }
    line_at(text, start)
}

/// The problems of one file, found in its text.
struct Lint<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Lint<'_> {
    fn push(&mut self, line: Option<usize>, warning: bool, message: String) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            line,
            warning,
            message,
        });
    }

    fn at(&mut self, offset: Option<usize>, message: String) {
        let line = offset.map(|o| line_at(self.text, o));
        self.push(line, false, message);
    }

    fn warn_at_line(&mut self, line: usize, message: String) {
        self.push(Some(line), true, message);
    }

    fn at_line(&mut self, line: usize, message: String) {
        self.push(Some(line), false, message);
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A path that stays inside its folder: relative, with no `..`.
fn inside(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `./data/` -> `data`.
fn normalize(path: &str) -> String {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn lint_exercise(source: &Source, input: &Input) -> Vec<Problem> {
    let text = input.text.as_str();
    let mut lint = Lint {
        file: &input.toml_file,
        text,
        problems: Vec::new(),
    };

    // The loader's own reading: unknown keys, missing keys, wrong types, bad check kinds.
    let (strict, strict_error) = match toml::from_str::<ExerciseFile>(text) {
        Ok(data) => (Some(data), None),
        Err(e) => (None, Some((e.span(), one_line(e.message())))),
    };
    let loose: Loose = match toml::from_str(text) {
        Ok(l) => l,
        Err(e) => {
            match strict_error {
                Some((span, message)) => lint.at(span.map(|s| s.start), message),
                None => lint.at(e.span().map(|s| s.start), one_line(e.message())),
            }
            return lint.problems;
        }
    };
    if let Some((span, message)) = &strict_error {
        let (line, message) = locate_strict_error(text, &loose, span.clone(), message);
        lint.problems.push(Problem {
            file: input.toml_file.clone(),
            line,
            warning: false,
            message,
        });
    }

    if let Some(f) = &loose.format {
        if let Some(n) = f.get_ref().as_integer() {
            if n != i64::from(FORMAT_VERSION) {
                lint.at(
                    Some(f.span().start),
                    format!(
                        "format {n} is not supported: this workbook reads format {FORMAT_VERSION}"
                    ),
                );
            }
        }
    }
    if let Some((title, at)) = string(&loose.title) {
        if title.trim().is_empty() {
            lint.at(Some(at), "the exercise's title is empty".to_string());
        }
    }
    let steps_missing = strict_error
        .as_ref()
        .is_some_and(|(_, m)| m.contains("`steps`"));
    if loose.steps.is_empty() && !steps_missing {
        lint.at(
            None,
            "the exercise has no [[steps]]: it needs at least one".to_string(),
        );
    }

    // Steps: ids, texts, checks.
    let mut step_ids: Vec<(String, usize)> = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (i, step) in loose.steps.iter().enumerate() {
        let s = step.get_ref();
        let id = string(&s.id);
        let name = match id {
            Some((id, _)) => format!("step `{id}`"),
            None => format!("step {}", i + 1),
        };
        if let Some((id, at)) = id {
            let line = line_at(text, at);
            if !valid_id(id) {
                lint.at_line(
                    line,
                    format!(
                        "step id `{id}` must be non-empty and use only letters, digits and '-'"
                    ),
                );
            }
            if let Some(first) = first_line.get(id) {
                lint.at_line(
                    line,
                    format!(
                        "step id `{id}` is used twice (first at line {first}): progress is stored by step id, \
                         so each must be unique"
                    ),
                );
            } else {
                first_line.insert(id.to_string(), line);
                step_ids.push((id.to_string(), line));
            }
        }
        for (key, value) in [("title", &s.title), ("task", &s.task), ("hint", &s.hint)] {
            if let Some((v, at)) = string(value) {
                if v.trim().is_empty() {
                    lint.at(Some(at), format!("{name} has an empty {key}"));
                }
            }
        }
        if s.checks.is_empty() {
            let at = string(&s.id).map(|(_, at)| at).unwrap_or(step.span().start);
            lint.at(
                Some(at),
                format!("{name} has no checks: add at least one [[steps.checks]]"),
            );
        }
        // Each check as the loader sees it (only when the whole file loads, so that the
        // loader's error above is not said twice).
        if let Some(data) = &strict {
            if let Some(typed) = data.steps.get(i) {
                for (j, check) in typed.checks.iter().enumerate() {
                    if let Err(e) = check.validate() {
                        let at = s.checks.get(j).map(|c| c.span().start);
                        lint.at(at, format!("{name}: {e}"));
                    }
                }
            }
        }
    }

    // Mistakes and variants.
    let known: Vec<&str> = step_ids.iter().map(|(id, _)| id.as_str()).collect();
    let mut with_mistake: HashSet<String> = HashSet::new();
    for (what, items) in [("mistake", &loose.mistakes), ("variant", &loose.variants)] {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for item in items.iter() {
            let it = item.get_ref();
            let id = string(&it.id);
            let name = match id {
                Some((id, _)) => format!("{what} `{id}`"),
                None => format!("a {what}"),
            };
            if let Some((id, at)) = id {
                let line = line_at(text, at);
                if let Some(first) = seen.get(id) {
                    lint.at_line(
                        line,
                        format!("{what} id `{id}` is used twice (first at line {first})"),
                    );
                } else {
                    seen.insert(id.to_string(), line);
                }
            }
            if let Some((run, at)) = string(&it.run) {
                if run.trim().is_empty() {
                    lint.at(Some(at), format!("{name} has an empty run script"));
                }
            }
            if what != "mistake" {
                continue;
            }
            if let Some((expect, at)) = string(&it.expect) {
                if expect.trim().is_empty() {
                    lint.at(
                        Some(at),
                        format!("{name} has an empty expect: it would match any message"),
                    );
                }
            }
            if let Some((step, at)) = string(&it.step) {
                if known.contains(&step) {
                    with_mistake.insert(step.to_string());
                } else if !known.is_empty() {
                    let hint = crate::util::suggest::closest(step, known.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_else(|| format!(" (the steps are {})", known.join(", ")));
                    lint.at(
                        Some(at),
                        format!("{name} names step `{step}`, which does not exist{hint}"),
                    );
                }
            }
        }
    }
    for (id, line) in &step_ids {
        if !with_mistake.contains(id) {
            lint.at_line(
                *line,
                format!(
                    "step `{id}` has no mistake: add a [[mistakes]] with step = \"{id}\", a realistic \
                     wrong state that must fail this step"
                ),
            );
        }
    }

    // Files the checks read on the host.
    let starter = source.starter(input);
    let declared: Vec<String> = loose
        .resources
        .as_ref()
        .and_then(|r| r.get_ref().get("files"))
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter_map(Value::as_str)
                .map(normalize)
                .collect()
        })
        .unwrap_or_default();
    let is_declared = |p: &str| {
        declared
            .iter()
            .any(|d| p == d || p.starts_with(&format!("{d}/")))
    };
    for step in &loose.steps {
        let s = step.get_ref();
        let name = match string(&s.id) {
            Some((id, _)) => format!("step `{id}`"),
            None => "a step".to_string(),
        };
        for check in &s.checks {
            for (key, path, folder) in host_paths(check.get_ref()) {
                if !inside(&path) {
                    continue; // the loader refuses these, or they are not the exercise's
                }
                let p = normalize(&path);
                let parent = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                let ok = if folder {
                    starter.has_dir(&p) || starter.has_file(&p) || is_declared(&p)
                } else {
                    starter.has_file(&p)
                        || starter.has_dir(&p)
                        || is_declared(&p)
                        || (!parent.is_empty() && starter.has_dir(parent))
                };
                if !ok {
                    let line = line_of_key(text, check.span(), key);
                    let message = if folder {
                        format!(
                            "{name}: `{key}` names the folder `{path}`, which is not among the exercise's \
                             starter files ({}); add it (with a file in it) or fix the path",
                            input.folder.join(&p).display()
                        )
                    } else {
                        format!(
                            "{name}: `{key}` names the host file `{path}`, which is not a starter file, not in a \
                             starter folder, and not declared in [resources] files (so `workbook reset` would \
                             not remove it)"
                        )
                    };
                    lint.at_line(line, message);
                }
            }
        }
    }

    // Exec checks: only in the exercise's own containers, and commands that only read.
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut own = names(
        loose
            .resources
            .as_ref()
            .and_then(|r| r.get_ref().get("containers")),
    );
    if let Some(list) = loose
        .setup
        .as_ref()
        .and_then(|s| s.get_ref().get("containers"))
        .and_then(Value::as_array)
    {
        own.extend(
            list.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    for step in &loose.steps {
        let s = step.get_ref();
        let name = match string(&s.id) {
            Some((id, _)) => format!("step `{id}`"),
            None => "a step".to_string(),
        };
        for check in &s.checks {
            let c = check.get_ref();
            if c.get("kind").and_then(Value::as_str) != Some("exec") {
                continue;
            }
            if let Some(container) = c.get("container").and_then(Value::as_str) {
                if !own.iter().any(|o| o == container) {
                    lint.at_line(
                        line_of_key(text, check.span(), "container"),
                        format!(
                            "{name}: `container = \"{container}\"` is not a container of this exercise: an exec \
                             check runs only in a container the exercise declares ([resources].containers) or \
                             sets up ([[setup.containers]]), or in a compose `service` of the exercise folder"
                        ),
                    );
                }
            }
            let argv = names(c.get("command"));
            if let Some(why) = crate::curriculum::exercise::looks_like_write(&argv) {
                lint.warn_at_line(
                    line_of_key(text, check.span(), "command"),
                    format!(
                        "{name}: `command` looks like it writes ({why}): an exec check runs at every grading \
                         (check, next, each watch re-grade), so it should only read"
                    ),
                );
            }
        }
    }

    // The lesson and its step markers.
    if let Some((file, at)) = string(&loose.lesson) {
        if let Err(e) = crate::curriculum::exercise::check_lesson_name(file) {
            lint.at(Some(at), e);
        } else {
            let (path, lesson) = source.lesson(file);
            match lesson {
                Err(why) => lint.at(Some(at), format!("lesson file {} {why}", path.display())),
                Ok(md) => {
                    let (in_toml, in_lesson) = lint_markers(&md, &path, &step_ids);
                    for (line, message) in in_toml {
                        lint.at_line(line, message);
                    }
                    lint.problems.extend(in_lesson);
                }
            }
        }
    }

    // The reference solution.
    let (solution, exists) = source.solution(&input.slug);
    if !exists {
        lint.at(
            None,
            format!(
                "no reference solution: {} does not exist (every exercise needs one; the tests run it)",
                solution.display()
            ),
        );
    }

    // Whatever else the loader refuses (setup containers, resource paths...).
    if lint.problems.iter().all(|p| p.warning) {
        if let Err(e) = Exercise::parse(&input.slug, text) {
            let prefix = format!("exercises/{}/exercise.toml: ", input.slug);
            let message = one_line(e.strip_prefix(&prefix).unwrap_or(&e));
            let line = message
                .split('`')
                .nth(1)
                .and_then(|token| text.find(&format!("\"{token}\"")))
                .map(|at| line_at(text, at));
            lint.problems.push(Problem {
                file: input.toml_file.clone(),
                line,
                warning: false,
                message,
            });
        }
    }
    lint.problems
}

/// The loader's error made precise: the line of an unknown key rather than of its table, and
/// the step (and check) a table-level error is about.
fn locate_strict_error(
    text: &str,
    loose: &Loose,
    span: Option<std::ops::Range<usize>>,
    message: &str,
) -> (Option<usize>, String) {
    let Some(span) = span else {
        return (None, message.to_string());
    };
    let line = match message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(key) => line_of_key(text, span.clone(), key),
        None => line_at(text, span.start),
    };
    for (i, step) in loose.steps.iter().enumerate() {
        let s = step.get_ref();
        let name = match string(&s.id) {
            Some((id, _)) => format!("step `{id}`"),
            None => format!("step {}", i + 1),
        };
        if step.span().start == span.start {
            return (Some(line), format!("{name}: {message}"));
        }
        if let Some(j) = s.checks.iter().position(|c| c.span().start == span.start) {
            return (Some(line), format!("{name}, check {}: {message}", j + 1));
        }
    }
    (Some(line), message.to_string())
}

/// Host paths a check reads: (key, path, whether it names a folder the exercise ships).
fn host_paths(check: &Value) -> Vec<(&'static str, String, bool)> {
    let get = |k: &str| check.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    match check.get("kind").and_then(Value::as_str).unwrap_or("") {
        "host-file" if check.get("exists").and_then(Value::as_bool) != Some(false) => {
            out.extend(get("path").map(|p| ("path", p, false)));
        }
        "backup-archive" => out.extend(get("path").map(|p| ("path", p, false))),
        "volume-matches-archive" => out.extend(get("archive").map(|p| ("archive", p, false))),
        "volume-created-after" => out.extend(get("host_file").map(|p| ("host_file", p, false))),
        "mount" if check.get("type").and_then(Value::as_str) == Some("bind") => {
            out.extend(get("source").map(|p| ("source", p, true)));
        }
        "volume" => {
            if let Some(t) = check.get("option_host_path").and_then(Value::as_table) {
                for v in t.values().filter_map(Value::as_str) {
                    out.push(("option_host_path", v.to_string(), true));
                }
            }
        }
        _ => {}
    }
    out
}

/// The markers of a lesson against the step ids: problems to report in the exercise.toml (at a
/// step's line) and problems in the lesson itself.
fn lint_markers(
    md: &str,
    lesson: &Path,
    steps: &[(String, usize)],
) -> (Vec<(usize, String)>, Vec<Problem>) {
    let mut in_toml = Vec::new();
    let mut in_lesson = Vec::new();
    let mut problem = |line: usize, message: String| {
        in_lesson.push(Problem {
            file: lesson.to_path_buf(),
            line: Some(line),
            warning: false,
            message,
        })
    };
    let ids: Vec<&str> = steps.iter().map(|(id, _)| id.as_str()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<(String, usize)> = Vec::new();
    for (n, raw) in md.lines().enumerate() {
        let line = n + 1;
        let t = raw.trim();
        if let Some(rest) = t.strip_prefix(STEP_MARKER) {
            if !rest.ends_with("-->") {
                problem(
                    line,
                    "a step marker must end with `-->` on its line: `<!-- workbook:step ID -->`"
                        .to_string(),
                );
            }
            let id = rest.trim_end_matches("-->").trim();
            if let Some(first) = seen.get(id) {
                problem(
                    line,
                    format!(
                        "second marker for step `{id}` (the first is at line {first}): only the first part is shown"
                    ),
                );
                continue;
            }
            seen.insert(id.to_string(), line);
            if ids.contains(&id) {
                order.push((id.to_string(), line));
            } else {
                let hint = match crate::util::suggest::closest(id, ids.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if ids.is_empty() => "it has no steps".to_string(),
                    None => format!("the steps are {}", ids.join(", ")),
                };
                problem(
                    line,
                    format!("marker for step `{id}`, which the exercise does not have ({hint})"),
                );
            }
        } else if t != END_MARKER && t.contains("<!--") && t.contains("workbook:") {
            problem(
                line,
                format!(
                    "`{t}` is not a marker the workbook reads: write `<!-- workbook:step ID -->` or \
                     `<!-- workbook:end -->` alone on a line"
                ),
            );
        }
    }
    let mut missing = false;
    for (id, line) in steps {
        if !seen.contains_key(id) {
            missing = true;
            in_toml.push((
                *line,
                format!(
                    "step `{id}` has no part in {}: add `<!-- workbook:step {id} -->` before its text",
                    lesson.display()
                ),
            ));
        }
    }
    if !missing {
        let expected = steps.iter().map(|(id, _)| id);
        if let Some(((id, line), want)) = order
            .iter()
            .zip(expected)
            .find(|((got, _), want)| got != *want)
        {
            in_lesson.push(Problem {
                file: lesson.to_path_buf(),
                line: Some(*line),
                warning: false,
                message: format!(
                    "the part of step `{id}` comes where the part of `{want}` should: keep the parts in \
                     the order of the steps (`workbook lesson` shows them in that order)"
                ),
            });
        }
    }
    (in_toml, in_lesson)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_offsets_and_keys() {
        let text = "a = 1\n[[x]]\n  path = \"p\"\n";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 6), 2);
        assert_eq!(line_of_key(text, 6..11, "path"), 3);
        assert_eq!(line_of_key(text, 6..11, "nope"), 2);
        let two = "[[x]]\na = 1\n[[x]]\npath = 2\n";
        assert_eq!(line_of_key(two, 0..5, "path"), 1);
    }

    #[test]
    fn slugs_and_paths() {
        assert!(slug_problem("02-bind-mounts").is_none());
        assert!(slug_problem("bind-mounts").is_some());
        assert!(slug_problem("02_Bind").is_some());
        assert_eq!(normalize("./data/"), "data");
        assert!(inside("data/x.txt"));
        assert!(!inside("../x"));
        assert!(!inside("/etc/passwd"));
        assert_eq!(
            sibling(Path::new("exercises"), "lessons"),
            Path::new("lessons")
        );
        assert_eq!(
            sibling(Path::new("/r/exercises/"), "lessons"),
            Path::new("/r/lessons")
        );
    }

    #[test]
    fn the_embedded_catalog_is_clean() {
        let problems = check_embedded();
        assert!(
            problems.is_empty(),
            "{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[test]
    fn markers_missing_unknown_duplicate_and_out_of_order() {
        let steps = vec![("a".to_string(), 10), ("b".to_string(), 20)];
        let lesson = Path::new("lessons/x.md");
        let (toml, md) = lint_markers(
            "intro\n<!-- workbook:step a -->\n<!-- workbook:step zz -->\n<!-- workbook:step a -->\n",
            lesson,
            &steps,
        );
        assert_eq!(toml.len(), 1);
        assert_eq!(toml[0].0, 20);
        assert!(toml[0].1.contains("step `b` has no part"), "{:?}", toml);
        let lines: Vec<_> = md.iter().map(|p| p.line.unwrap()).collect();
        assert_eq!(lines, vec![3, 4], "{md:?}");
        let (toml, md) = lint_markers(
            "<!-- workbook:step b -->\n<!-- workbook:step a -->\n<!--workbook:end-->\n",
            lesson,
            &steps,
        );
        assert!(toml.is_empty());
        assert_eq!(md.len(), 2, "{md:?}");
        assert!(md[0].message.contains("not a marker"), "{md:?}");
        assert!(md[1].message.contains("order"), "{md:?}");
    }
}
