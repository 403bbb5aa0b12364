//! The curriculum: embedded in the binary (exercises, lessons and solutions, so an installed
//! `workbook` works far from this checkout), or a community pack read from a folder in the same
//! layout (`exercises/`, `lessons/`, `solutions/`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::exercise::Exercise;

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
#[derive(Debug, Clone)]
pub struct Catalog {
    pub exercises: Vec<Exercise>,
    pack: Option<PathBuf>,
}

impl Catalog {
    pub fn embedded() -> Result<Catalog, String> {
        Ok(Catalog {
            exercises: exercises()?,
            pack: None,
        })
    }

    /// A community pack: `DIR/exercises/NN-slug/exercise.toml` (+ starter files),
    /// `DIR/lessons/`, `DIR/solutions/NN-slug/solve.sh`.
    pub fn pack(dir: &Path) -> Result<Catalog, String> {
        let root = dir.join("exercises");
        let entries = std::fs::read_dir(&root).map_err(|e| {
            format!("{} is not an exercise pack: cannot read {}: {e} (a pack has exercises/, lessons/ and solutions/)", dir.display(), root.display())
        })?;
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
            ));
        }
        let mut exercises = Vec::new();
        for d in dirs {
            let slug = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(d.join("exercise.toml"))
                .map_err(|e| format!("{}: {e}", d.display()))?;
            exercises.push(Exercise::parse(&slug, &text)?);
        }
        Ok(Catalog {
            exercises,
            pack: Some(dir.to_path_buf()),
        })
    }

    /// The pack folder, when this is a pack.
    pub fn pack_dir(&self) -> Option<&Path> {
        self.pack.as_deref()
    }

    pub fn lesson(&self, file: &str) -> Option<Cow<'static, str>> {
        match &self.pack {
            None => lesson(file).map(Cow::Borrowed),
            Some(dir) => std::fs::read_to_string(dir.join("lessons").join(file))
                .ok()
                .map(Cow::Owned),
        }
    }

    pub fn solution(&self, slug: &str) -> Option<Cow<'static, str>> {
        match &self.pack {
            None => solution(slug).map(Cow::Borrowed),
            Some(dir) => std::fs::read_to_string(dir.join("solutions").join(slug).join("solve.sh"))
                .ok()
                .map(Cow::Owned),
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

/// Every exercise, in order (by folder name, `NN-slug`).
pub fn exercises() -> Result<Vec<Exercise>, String> {
    let mut dirs: Vec<&Dir> = EXERCISES.dirs().collect();
    dirs.sort_by_key(|d| d.path());
    dirs.into_iter()
        .filter_map(|d| {
            let slug = d.path().file_name()?.to_str()?.to_string();
            let toml = d.get_file(d.path().join("exercise.toml"))?;
            Some(Exercise::parse(
                &slug,
                toml.contents_utf8().unwrap_or_default(),
            ))
        })
        .collect()
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
