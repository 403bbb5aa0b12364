//! The learner's workspace: a self-contained folder with one sub-folder per exercise (its
//! starter files) and the progress state in `.workbook/`.

use crate::util::error::Result;
use std::path::{Path, PathBuf};

use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::learner::progress::Progress;

pub const DEFAULT_DIR: &str = "docker-volumes-workbook";
pub const STATE_DIR: &str = ".workbook";
const PROGRESS_FILE: &str = "progress.json";
const HISTORY_FILE: &str = "volume-history.json";

/// Held while a command reads, changes and writes the progress state: two `workbook`
/// processes in one workspace take turns instead of overwriting each other's progress.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

/// How long a command waits for another one to finish with the workspace.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    /// The workspace to use: `explicit` (the `--workspace` flag or `WORKBOOK_WORKSPACE`), else the
    /// nearest folder above the current one holding `.workbook/`, else `./docker-volumes-workbook`
    /// when it exists. `Ok(None)` when there is none yet.
    pub fn find(explicit: Option<&Path>) -> Result<Option<Workspace>> {
        if let Some(dir) = explicit {
            return if dir.join(STATE_DIR).is_dir() {
                Ok(Some(Workspace::at(dir)))
            } else if dir.exists()
                && dir
                    .read_dir()
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false)
            {
                Err(format!(
                    "{} is not a workbook workspace (it has no {STATE_DIR}/ folder); create one with `workbook init DIR`",
                    dir.display()
                ).into())
            } else {
                Ok(None)
            };
        }
        let cwd = std::env::current_dir()
            .map_err(|e| crate::util::error::Error::io("cannot read the current folder", e))?;
        for dir in cwd.ancestors() {
            if dir.join(STATE_DIR).join(PROGRESS_FILE).is_file()
                || dir.join(STATE_DIR).join("workspace").is_file()
            {
                return Ok(Some(Workspace::at(dir)));
            }
        }
        let default = cwd.join(DEFAULT_DIR);
        if default.join(STATE_DIR).is_dir() {
            return Ok(Some(Workspace::at(&default)));
        }
        Ok(None)
    }

    fn at(dir: &Path) -> Workspace {
        Workspace {
            root: crate::checks::snapshot::canonical(dir),
        }
    }

    /// Creates (or completes) a workspace at `root`: never overwrites a learner's file.
    /// Returns the workspace and the paths it wrote.
    pub fn init(root: &Path, catalog: &Catalog) -> Result<(Workspace, Vec<PathBuf>)> {
        let exercises: &[Exercise] = catalog.exercises()?;
        let io = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
        std::fs::create_dir_all(root.join(STATE_DIR)).map_err(|e| io(root, e))?;
        let ws = Workspace::at(root);
        let mut written = Vec::new();
        let marker = ws.root.join(STATE_DIR).join("workspace");
        if !marker.exists() {
            std::fs::write(
                &marker,
                format!(
                    "workbook workspace, created by workbook {}\n",
                    env!("CARGO_PKG_VERSION")
                ),
            )
            .map_err(|e| io(&marker, e))?;
        }
        for ex in exercises {
            let dir = ws.exercise_dir(&ex.slug);
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            for f in catalog.starter_files(&ex.slug) {
                let path = dir.join(&f.path);
                if std::fs::symlink_metadata(&path).is_ok() {
                    continue;
                }
                if let Some(real) = ws.link_out(&path) {
                    eprintln!(
                        "warning: {} was not written: a link takes it out of the workspace, to {}",
                        path.display(),
                        real.display()
                    );
                    continue;
                }
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                }
                std::fs::write(&path, &f.contents).map_err(|e| io(&path, e))?;
                written.push(path);
            }
        }
        let readme = ws.root.join("README.md");
        if std::fs::symlink_metadata(&readme).is_err() {
            std::fs::write(&readme, WORKSPACE_README).map_err(|e| io(&readme, e))?;
            written.push(readme);
        }
        if !ws.progress_path().exists() {
            Progress::default().save(&ws.progress_path())?;
        }
        Ok((ws, written))
    }

    pub fn exercise_dir(&self, slug: &str) -> PathBuf {
        self.root.join(slug)
    }

    /// The exercise whose folder in this workspace the current folder is, or is inside of:
    /// `check`, `hint`, `lesson`... with no EXERCISE mean that one there.
    pub fn exercise_here<'s, S: AsRef<str>>(&self, slugs: &'s [S]) -> Option<&'s str> {
        let cwd = crate::checks::snapshot::canonical(&std::env::current_dir().ok()?);
        let first = cwd.strip_prefix(&self.root).ok()?.components().next()?;
        let first = first.as_os_str().to_str()?;
        slugs.iter().map(AsRef::as_ref).find(|s| *s == first)
    }

    /// Where writing or deleting `path` (inside the workspace) would really land, when a
    /// symbolic link on the way takes it out of the workspace (`data -> ~/datasets`): the
    /// workbook never writes or deletes through such a link. `None` when it stays inside.
    pub fn link_out(&self, path: &Path) -> Option<PathBuf> {
        // The deepest part of the path that exists (a dangling link counts: it exists as a link).
        let mut existing = path;
        while std::fs::symlink_metadata(existing).is_err() {
            existing = existing.parent()?;
        }
        let real = match std::fs::canonicalize(existing) {
            Ok(real) => real,
            // A dangling link: where it points.
            Err(_) => {
                let target = std::fs::read_link(existing).ok()?;
                let base = existing.parent().unwrap_or(Path::new("/"));
                lexical(&base.join(target))
            }
        };
        (!real.starts_with(&self.root)).then_some(real)
    }

    /// The workspace's lock if no other workbook command holds it now; `Ok(None)` when one
    /// does (`watch` records its verdicts later instead of freezing while it waits).
    pub fn try_lock(&self) -> Result<Option<Lock>> {
        let (path, file) = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Lock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", path.display()).into())
            }
        }
    }

    fn lock_file(&self) -> Result<(PathBuf, std::fs::File)> {
        let path = self.root.join(STATE_DIR).join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                crate::util::error::Error::io(
                    format!("cannot open the workspace lock {}", path.display()),
                    e,
                )
            })?;
        Ok((path, file))
    }

    /// Takes the workspace's lock, waiting up to 15 s for another workbook command to finish.
    pub fn lock(&self) -> Result<Lock> {
        let (path, file) = self.lock_file()?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(format!(
                    "another workbook command has been working in {} for over {} s (it holds {}); \
                         wait for it to finish, or stop it, then run this again",
                    self.root.display(),
                    LOCK_WAIT.as_secs(),
                    path.display()
                )
                    .into())
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!("cannot lock {}: {e}", path.display()).into())
                }
            }
        }
    }

    pub fn progress_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join(PROGRESS_FILE)
    }

    /// Where the volume removals the workbook has seen are kept (see [`crate::checks::history`]).
    pub fn history_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join(HISTORY_FILE)
    }

    /// A grading memory that starts from what this workspace has seen of the daemon at `endpoint`.
    pub fn grading_memory(&self, endpoint: &str) -> crate::grading::gather::Memory {
        crate::grading::gather::Memory::with_history(crate::learner::volume_history::load(
            &self.history_path(),
            endpoint,
        ))
    }

    /// Keeps what `memory` has learnt of the daemon's volume history. The caller holds the lock.
    /// Only evidence for later gradings: failing to keep it is a warning, never an error.
    pub fn keep_history(&self, endpoint: &str, memory: &crate::grading::gather::Memory) {
        let history = memory.history();
        if history == crate::checks::history::VolumeHistory::default() {
            return;
        }
        if let Err(e) =
            crate::learner::volume_history::save(&self.history_path(), endpoint, &history)
        {
            eprintln!("warning: {e}");
        }
    }

    /// Starter files of an exercise that are missing or changed: (relative path, bytes).
    pub fn starter_changes(&self, catalog: &Catalog, slug: &str) -> Vec<(String, Vec<u8>)> {
        let dir = self.exercise_dir(slug);
        catalog
            .starter_files(slug)
            .into_iter()
            .filter(|f| {
                std::fs::read(dir.join(&f.path))
                    .map(|b| b[..] != f.contents[..])
                    .unwrap_or(true)
            })
            .map(|f| (f.path, f.contents.into_owned()))
            .collect()
    }
}

/// `path` with `.` and `..` taken out, without looking at the disk.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

const WORKSPACE_README: &str = "# Docker volumes workbook\n\n\
One folder per exercise. Work in the folder of the current exercise and run:\n\n\
- `workbook next`: the lesson and your next task (it grades what you did first)\n\
- `workbook check`: grade the current exercise on your Docker daemon\n\
- `workbook hint`: a hint for the step you are on\n\
- `workbook list`: every exercise and your progress\n\
- `workbook reset`: start the current exercise again (it lists what it removes and asks first)\n\n\
Your progress is in `.workbook/progress.json`.\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(STATE_DIR)).unwrap();
        let ws = Workspace::at(dir.path());
        let held = ws.lock().unwrap();
        let path = ws.root.join(STATE_DIR).join("lock");
        let other = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        assert!(other.try_lock().is_ok());
    }
}
