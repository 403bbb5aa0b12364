//! Where the data comes from: a folder of exercises or the embedded catalog, and the TOML
//! read loosely, with spans, so that a problem can point at its line.

use crate::util::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use include_dir::Dir;
use serde::Deserialize;
use toml::{Spanned, Value};

use super::Problem;
use crate::curriculum::catalog;
use crate::curriculum::catalog::EXERCISES as EMBEDDED;

pub(super) enum Source<'a> {
    Folder(&'a Path),
    Embedded,
}

/// One exercise folder as read.
pub(super) struct Input {
    pub(super) slug: String,
    pub(super) folder: PathBuf,
    pub(super) toml_file: PathBuf,
    pub(super) text: String,
}

/// The starter files of an exercise (relative, `/`-separated), and the folders holding them.
#[derive(Default)]
pub(super) struct Starter {
    pub(super) files: BTreeSet<String>,
    pub(super) dirs: BTreeSet<String>,
}

impl Starter {
    pub(super) fn from_files(files: impl IntoIterator<Item = String>) -> Starter {
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

    pub(super) fn has_file(&self, p: &str) -> bool {
        self.files.contains(p)
    }

    pub(super) fn has_dir(&self, p: &str) -> bool {
        p.is_empty() || self.dirs.contains(p)
    }
}

/// `dir`'s sibling folder `name` (`exercises` -> `lessons`), written the short way.
pub(super) fn sibling(dir: &Path, name: &str) -> PathBuf {
    match (dir.file_name(), dir.parent()) {
        (Some(_), Some(parent)) => parent.join(name),
        _ => dir.join("..").join(name),
    }
}

impl Source<'_> {
    /// The exercise folders, sorted; problems for folders that are not exercises.
    pub(super) fn inputs(&self, problems: &mut Vec<Problem>) -> Result<Vec<Input>> {
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
                    let entry = entry
                        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
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
    pub(super) fn lesson(&self, file: &str) -> (PathBuf, Result<String>) {
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
                (path, text.map_err(Into::into))
            }
            Source::Embedded => (
                Path::new("lessons").join(file),
                catalog::lesson(file)
                    .map(str::to_string)
                    .ok_or_else(|| "does not exist (or is not UTF-8 text)".to_string())
                    .map_err(Into::into),
            ),
        }
    }

    /// Where the reference solution is, and whether it exists.
    pub(super) fn solution(&self, slug: &str) -> (PathBuf, bool) {
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
    pub(super) fn starter(&self, input: &Input) -> Starter {
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

pub(super) fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
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

/// The exercise as read loosely: every field optional, any value accepted, with spans.
#[derive(Deserialize)]
pub(super) struct Loose {
    pub(super) format: Option<Spanned<Value>>,
    pub(super) title: Option<Spanned<Value>>,
    pub(super) lesson: Option<Spanned<Value>>,
    pub(super) resources: Option<Spanned<Value>>,
    pub(super) setup: Option<Spanned<Value>>,
    #[serde(default)]
    pub(super) steps: Vec<Spanned<LooseStep>>,
    #[serde(default)]
    pub(super) variants: Vec<Spanned<LooseItem>>,
    #[serde(default)]
    pub(super) mistakes: Vec<Spanned<LooseItem>>,
}

#[derive(Deserialize)]
pub(super) struct LooseStep {
    pub(super) id: Option<Spanned<Value>>,
    pub(super) title: Option<Spanned<Value>>,
    pub(super) task: Option<Spanned<Value>>,
    pub(super) hint: Option<Spanned<Value>>,
    #[serde(default)]
    pub(super) checks: Vec<Spanned<Value>>,
}

#[derive(Deserialize)]
pub(super) struct LooseItem {
    pub(super) id: Option<Spanned<Value>>,
    pub(super) step: Option<Spanned<Value>>,
    pub(super) run: Option<Spanned<Value>>,
    pub(super) expect: Option<Spanned<Value>>,
}

/// The string value and the offset where it is written.
pub(super) fn string(v: &Option<Spanned<Value>>) -> Option<(&str, usize)> {
    v.as_ref()
        .and_then(|s| s.get_ref().as_str().map(|t| (t, s.span().start)))
}

/// 1-based line of a byte offset.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line of `key = ...` in the table whose header starts at `span` (up to the next table
/// header), else the line of the header.
pub(super) fn line_of_key(text: &str, span: std::ops::Range<usize>, key: &str) -> usize {
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

/// The loader's error made precise: the line of an unknown key rather than of its table, and
/// the step (and check) a table-level error is about.
pub(super) fn locate_strict_error(
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
}
