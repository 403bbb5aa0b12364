//! Which volume a check looks at: one named by the learner (`name` / `volume`), or a volume
//! declared in the exercise folder's compose file (`compose_volume`), found by the compose
//! labels. Compose prefixes those with the project name, derived from the folder name:
//! v2 and v1.29 keep hyphens (`04-checkpoints`), older v1 releases drop them (`04checkpoints`).

use crate::util::error::Result;
use std::fmt;
use std::path::Path;

use bollard::models::Volume;

use super::target::{COMPOSE_PROJECT, COMPOSE_WORKDIR};
use super::{did_you_mean, Verdict};
use crate::checks::snapshot::{fetched, Snapshot};

pub const COMPOSE_VOLUME: &str = "com.docker.compose.volume";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VolumeRef {
    Named(String),
    Compose(String),
}

impl VolumeRef {
    /// From a check's keys: exactly one of a volume name and `compose_volume`.
    pub fn from_keys(name: &Option<String>, compose: &Option<String>) -> Result<VolumeRef> {
        match (name, compose) {
            (Some(n), None) => Ok(VolumeRef::Named(n.clone())),
            (None, Some(c)) => Ok(VolumeRef::Compose(c.clone())),
            (Some(_), Some(_)) => Err("give a volume name or `compose_volume`, not both".into()),
            (None, None) => {
                Err("name the volume (or give `compose_volume` for a compose volume)".into())
            }
        }
    }

    /// The short name people know it by.
    pub fn short(&self) -> &str {
        match self {
            VolumeRef::Named(n) | VolumeRef::Compose(n) => n,
        }
    }

    /// The volume, `Ok(None)` when there is none.
    pub fn resolve<'s>(&self, snap: &'s Snapshot) -> Result<Option<&'s Volume>, Verdict> {
        let all = fetched(&snap.volumes)?;
        Ok(match self {
            VolumeRef::Named(n) => all.iter().find(|v| &v.name == n),
            VolumeRef::Compose(key) => {
                let projects = compose_projects(snap);
                let mut found: Vec<&Volume> = all
                    .iter()
                    .filter(|v| v.labels.get(COMPOSE_VOLUME) == Some(key))
                    .filter(|v| {
                        v.labels
                            .get(COMPOSE_PROJECT)
                            .is_some_and(|p| projects.contains(p))
                    })
                    .collect();
                // Projects with running containers first, then the newest volume.
                found.sort_by_key(|v| {
                    let live = v
                        .labels
                        .get(COMPOSE_PROJECT)
                        .map(|p| projects.iter().position(|x| x == p));
                    (live, std::cmp::Reverse(v.created_at))
                });
                found.first().copied()
            }
        })
    }

    /// The volume, or the verdict: [`VolumeRef::missing`] with `expected` when there is none.
    pub fn existing<'s>(&self, snap: &'s Snapshot, expected: &str) -> Result<&'s Volume, Verdict> {
        self.resolve(snap)?
            .ok_or_else(|| self.missing(snap, expected))
    }

    /// The volume's real name and whole listing (declared with `Needs::tree`), or the verdict.
    pub fn tree<'s>(
        &self,
        snap: &'s Snapshot,
        expected: &str,
    ) -> Result<(String, &'s crate::archive::Manifest), Verdict> {
        let name = self.existing(snap, expected)?.name.clone();
        Ok((name, snap.tree(self)?))
    }

    /// The fail verdict for a missing volume, with a did-you-mean.
    pub fn missing(&self, snap: &Snapshot, expected: &str) -> Verdict {
        self.missing_created_with(snap, expected, "")
    }

    /// As [`VolumeRef::missing`], with `flags` (e.g. ` --label k=v`) in the create command.
    pub fn missing_created_with(&self, snap: &Snapshot, expected: &str, flags: &str) -> Verdict {
        match self {
            VolumeRef::Named(n) => Verdict::fail(
                expected,
                format!("no volume named {n}{}", did_you_mean(crate::util::suggest::closest(n, snap.volume_names()))),
                format!("docker volume create{flags} {n}"),
            ),
            VolumeRef::Compose(key) => Verdict::fail(
                expected,
                format!(
                    "no volume `{key}` of the compose project in {} (compose names it PROJECT_{key})",
                    snap.exercise_dir.display()
                ),
                format!(
                    "declare `{key}` under the top-level `volumes:` of compose.yaml, use it in a service, and run `docker compose up -d` in {}",
                    snap.exercise_dir.display()
                ),
            ),
        }
    }
}

impl fmt::Display for VolumeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeRef::Named(n) => write!(f, "{n}"),
            VolumeRef::Compose(n) => write!(f, "{n} (compose)"),
        }
    }
}

/// Compose project names the exercise folder may have: those of its containers (most
/// reliable), then the names Compose v2 and v1 derive from the folder name, unless a container
/// shows that name belongs to a project in another folder (a learner's own `04-checkpoints`).
pub fn compose_projects(snap: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut foreign: Vec<&String> = Vec::new();
    for c in snap.containers.iter().flatten() {
        let labels = c.labels.as_ref();
        let dir = labels.and_then(|l| l.get(COMPOSE_WORKDIR));
        if let (Some(dir), Some(p)) = (dir, labels.and_then(|l| l.get(COMPOSE_PROJECT))) {
            if !snap.is_exercise_dir(dir) {
                foreign.push(p);
            } else if !out.contains(p) {
                out.push(p.clone());
            }
        }
    }
    for p in derived_project_names(&snap.exercise_dir) {
        if !out.contains(&p) && !foreign.contains(&&p) {
            out.push(p);
        }
    }
    out
}

/// v2 and v1.29: lowercase, keep `a-z0-9_-`; older v1: lowercase, keep `a-z0-9`.
pub fn derived_project_names(dir: &Path) -> Vec<String> {
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let v2: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let v1: String = base.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut out = vec![v2];
    if !out.contains(&v1) {
        out.push(v1);
    }
    out.retain(|p| !p.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_of_both_compose_versions() {
        assert_eq!(
            derived_project_names(Path::new("/w/04-checkpoints")),
            vec!["04-checkpoints", "04checkpoints"]
        );
        assert_eq!(
            derived_project_names(Path::new("/w/Shared_Models")),
            vec!["shared_models", "sharedmodels"]
        );
    }
}
