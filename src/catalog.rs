//! The curriculum embedded in the binary: exercises, lessons and solutions, so an installed
//! `workbook` works far from this checkout.

use include_dir::{include_dir, Dir};

use crate::exercise::Exercise;

static EXERCISES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/exercises");
static LESSONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/lessons");
static SOLUTIONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/solutions");

/// A starter file of an exercise: path relative to the exercise folder, and bytes.
pub struct StarterFile {
    pub path: String,
    pub contents: &'static [u8],
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
            contents: f.contents(),
        });
    }
    for d in dir.dirs() {
        collect(d, slug, out);
    }
}
