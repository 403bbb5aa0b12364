//! `workbook dev check [DIR]`: lints exercise data for authors, with no Docker daemon.
//!
//! It reads a folder of exercises laid out as in this repository (`DIR/NN-slug/exercise.toml`,
//! lessons in `DIR/../lessons/`, solutions in `DIR/../solutions/SLUG/solve.sh`), or the catalog
//! embedded in the binary, and reports every problem it finds (not only the first), each with
//! its file and, where there is one, its line: `exercises/02-bind-mounts/exercise.toml:45: ...`.
//!
//! The TOML is read twice: strictly, into the same types as [`Exercise::parse`](crate::curriculum::exercise::Exercise::parse) (so unknown
//! keys and wrong types are the loader's own errors), and loosely, with spans, so that the
//! semantic lints can point at the line of the id or key at fault. An exercise with no lint
//! problem is finally loaded by [`Exercise::parse`](crate::curriculum::exercise::Exercise::parse) itself, so `dev check` never passes data
//! that the workbook would refuse.

use crate::util::error::Result;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::ui::output::outln;

mod lints;
mod spans;

use lints::{exercise_number, lint_exercise, slug_problem};
use spans::Source;

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
pub fn check_dir(dir: &Path) -> Result<Vec<Problem>> {
    check(&Source::Folder(dir))
}

/// Lints the exercises, lessons and solutions built into this binary.
pub fn check_embedded() -> Vec<Problem> {
    check(&Source::Embedded).unwrap_or_else(|e| {
        vec![Problem {
            file: PathBuf::from("exercises"),
            line: None,
            warning: false,
            message: e.to_string(),
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
pub fn run(dir: Option<&Path>) -> Result<i32> {
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

fn check(source: &Source) -> Result<Vec<Problem>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
