//! Which volume a check looks at: one named by the learner (`name` / `volume`), or a volume
//! declared in the exercise folder's compose file (`compose_volume`), found by the compose
//! labels. Compose prefixes those with the project name. The project's containers name it
//! (their `working_dir` label is the folder); with none, the names the folder declares
//! (`COMPOSE_PROJECT_NAME` in the environment or `.env`, the compose file's `name:`), then the
//! folder name as Compose normalises it: v2 and v1.29 keep hyphens (`04-checkpoints`), older
//! v1 releases drop them (`04checkpoints`). A `-p NAME` leaves no trace in the folder: only
//! the containers tell it.

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
    let declared = snap.compose_declared.iter().cloned();
    for p in declared.chain(derived_project_names(&snap.exercise_dir)) {
        if !out.contains(&p) && !foreign.contains(&&p) {
            out.push(p);
        }
    }
    out
}

/// The project names Compose makes of the folder's name: v2 lowercases, keeps `a-z0-9_-` and
/// drops leading `_` and `-` (compose-go's `NormalizeProjectName`); v1.29 does the same
/// without the trim; older v1 releases keep only `a-z0-9`.
pub fn derived_project_names(dir: &Path) -> Vec<String> {
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut out = normalised_project_names(&base);
    let old_v1: String = base
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if !old_v1.is_empty() && !out.contains(&old_v1) {
        out.push(old_v1);
    }
    out
}

/// `name` as Compose v2 and v1.29 normalise a project name (the same, but for v2's trim of
/// leading `_` and `-`), without empty ones.
fn normalised_project_names(name: &str) -> Vec<String> {
    let v1: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let v2 = v1.trim_start_matches(['_', '-']).to_string();
    let mut out = vec![v2];
    if !out.contains(&v1) {
        out.push(v1);
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The compose files Compose v2 looks for in a folder, in its order (v1.29 reads the last two).
pub const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The project names a folder declares, in Compose's order of precedence:
/// `COMPOSE_PROJECT_NAME` from the environment (`env`), then from the folder's `.env`, then
/// the compose file's top-level `name:` (v2). Given the texts (read when grading begins);
/// a value that needs interpolation (`${...}`) is not guessed at.
pub fn declared_project_names(
    env: Option<&str>,
    dotenv: Option<&str>,
    compose_file: Option<&str>,
) -> Vec<String> {
    let from_dotenv = dotenv.and_then(|text| dotenv_value(text, "COMPOSE_PROJECT_NAME"));
    let from_file = compose_file.and_then(top_level_name);
    let mut out: Vec<String> = Vec::new();
    for name in [env.map(str::to_string), from_dotenv, from_file]
        .into_iter()
        .flatten()
        .filter(|n| !n.contains('$'))
    {
        for p in normalised_project_names(&name) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// `KEY=value` of a `.env` text (`export KEY=...`, quotes, and ` # comments` after an
/// unquoted value allowed, as Compose's dotenv reads them); the last one wins.
fn dotenv_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| unquote(v.trim()))
        })
        .next_back()
        .filter(|v| !v.is_empty())
}

/// The top-level `name: VALUE` of a compose file (a plain or quoted scalar on its line).
fn top_level_name(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("name:"))
        .map(|v| unquote(v.trim()))
        .filter(|v| !v.is_empty())
}

/// `"a"` / `'a'` → `a`; an unquoted value loses a ` # comment`.
fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q) {
            if let Some(end) = inner.find(q) {
                return inner[..end].to_string();
            }
        }
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::fixtures::{summary, volume};
    use crate::checks::snapshot::Snapshot;
    use crate::checks::target::{Target, COMPOSE_SERVICE};

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
        // Upper case, a space, dots: dropped. v2 also drops a leading `_` / `-`, v1.29 keeps it.
        assert_eq!(
            derived_project_names(Path::new("/w/ML Lab.v2")),
            vec!["mllabv2"]
        );
        assert_eq!(
            derived_project_names(Path::new("/w/_Shared-Models")),
            vec!["shared-models", "_shared-models", "sharedmodels"]
        );
        // Only ASCII letters are kept: `été` is `t`, a name of none is no name (v2 refuses it).
        assert_eq!(derived_project_names(Path::new("/w/été")), vec!["t"]);
        assert!(derived_project_names(Path::new("/w/日本")).is_empty());
    }

    /// A container of service `trainer` and its volume `checkpoints`, as Compose labels them
    /// when it names the project `project`, started from `dir`.
    fn compose_run(dir: &str, project: &str) -> (bollard::models::ContainerSummary, Volume) {
        let labels = [
            (COMPOSE_PROJECT, project),
            (COMPOSE_SERVICE, "trainer"),
            (COMPOSE_WORKDIR, dir),
            ("com.docker.compose.oneoff", "False"),
            ("com.docker.compose.version", "2.40.3"),
        ];
        let name = format!("{project}-trainer-1");
        let c = summary(&name, "running", &[], &labels);
        let v = volume(
            &format!("{project}_checkpoints"),
            "local",
            &[
                (COMPOSE_PROJECT, project),
                (COMPOSE_VOLUME, "checkpoints"),
                ("com.docker.compose.version", "2.40.3"),
            ],
            &[],
        );
        (c, v)
    }

    /// The folder's compose project as graders find it: its container, and its volume.
    fn found(snap: &Snapshot) -> (Option<String>, Option<String>) {
        let c = Target::Service("trainer".into())
            .resolve(snap)
            .ok()
            .map(|c| super::super::target::names(c).next().unwrap().to_string());
        let v = VolumeRef::Compose("checkpoints".into())
            .resolve(snap)
            .unwrap()
            .map(|v| v.name.clone());
        (c, v)
    }

    fn snapshot(dir: &str, runs: &[(&str, &str)], with_containers: bool) -> Snapshot {
        let mut snap = Snapshot::new(Path::new(dir));
        let (cs, vs): (Vec<_>, Vec<_>) = runs.iter().map(|(d, p)| compose_run(d, p)).unzip();
        snap.containers = Ok(if with_containers { cs } else { Vec::new() });
        snap.volumes = Ok(vs);
        snap
    }

    /// However Compose named the project (`-p`, `COMPOSE_PROJECT_NAME`, `.env`, `name:`, the
    /// folder's name normalised), its containers carry the folder as `working_dir`: the
    /// graders find the service and the volume by that label, not by the name.
    #[test]
    fn a_running_project_is_found_whatever_its_name() {
        for (dir, project) in [
            ("/w/ML Lab.v2", "mllabv2"),
            ("/w/_Shared-Models", "shared-models"),
            ("/w/_Shared-Models", "_shared-models"),
            ("/w/04-checkpoints", "chosen-with-p"),
            ("/w/04-checkpoints", "from_env"),
        ] {
            let snap = snapshot(dir, &[(dir, project)], true);
            assert_eq!(
                found(&snap),
                (
                    Some(format!("{project}-trainer-1")),
                    Some(format!("{project}_checkpoints"))
                ),
                "{dir} as {project}"
            );
        }
    }

    /// With the containers gone (`docker compose down`), the volume is found by the name the
    /// folder gives its project: its name normalised, or what it declares.
    #[test]
    fn a_stopped_project_is_found_by_the_name_its_folder_gives() {
        for (dir, project) in [
            ("/w/ML Lab.v2", "mllabv2"),
            ("/w/_Shared-Models", "shared-models"),
            ("/w/_Shared-Models", "_shared-models"),
        ] {
            let snap = snapshot(dir, &[(dir, project)], false);
            assert_eq!(found(&snap).1, Some(format!("{project}_checkpoints")));
        }
        let dir = "/w/04-checkpoints";
        let declared = [
            declared_project_names(Some("From_Env"), None, None),
            declared_project_names(
                None,
                Some("# mine\nexport COMPOSE_PROJECT_NAME='from_env' # x\n"),
                None,
            ),
            declared_project_names(
                None,
                None,
                Some("name: \"from_env\"\nservices:\n  trainer: {}\n"),
            ),
        ];
        for names in declared {
            let mut snap = snapshot(dir, &[(dir, "from_env")], false);
            assert_eq!(found(&snap).1, None, "nothing declared, nothing found");
            snap.compose_declared = names.clone();
            assert_eq!(
                found(&snap).1,
                Some("from_env_checkpoints".into()),
                "{names:?}"
            );
        }
        // `-p NAME` leaves no trace in the folder: with no container, it is not found.
        let snap = snapshot(dir, &[(dir, "chosen-with-p")], false);
        assert_eq!(found(&snap), (None, None));
    }

    /// Another folder's project of the same name is not this folder's, declared or derived.
    #[test]
    fn another_folders_project_of_that_name_is_not_taken() {
        let mut snap = snapshot(
            "/w/04-checkpoints",
            &[("/elsewhere/04-checkpoints", "from_env")],
            true,
        );
        snap.compose_declared = declared_project_names(Some("from_env"), None, None);
        assert_eq!(found(&snap), (None, None));
        let snap = snapshot(
            "/w/04-checkpoints",
            &[("/elsewhere/04-checkpoints", "04-checkpoints")],
            true,
        );
        assert_eq!(found(&snap), (None, None));
    }

    macro_rules! recorded {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/compose-names/",
                $name
            ))
        };
    }

    /// The recorded summaries of seven projects (tests/fixtures/compose-names/README.md): each
    /// folder's service and volume are its own, up; after `down`, found by the name the
    /// folder gives, except `-p`'s.
    #[test]
    fn recorded_projects_of_both_compose_versions() {
        let containers: Vec<bollard::models::ContainerSummary> =
            serde_json::from_str(recorded!("containers.json")).unwrap();
        let volumes: bollard::models::VolumeListResponse =
            serde_json::from_str(recorded!("volumes.json")).unwrap();
        let volumes = volumes.volumes.unwrap();
        let root = "/tmp/wbrec-4908";
        let compose = "services:\n  trainer:\n    image: workbook/tools\n";
        for (folder, project, declared, found_after_down) in [
            ("WbRec Upper.v1", "wbrecupperv1", vec![], true),
            ("WbRec Upper.v2", "wbrecupperv2", vec![], true),
            ("wbrec-folder-flag-v1", "wbrec-flag-v1", vec![], false),
            ("wbrec-folder-flag-v2", "wbrec-flag-v2", vec![], false),
            (
                "wbrec-folder-dotenv-v1",
                "wbrec-dotenv-v1",
                declared_project_names(
                    None,
                    Some("COMPOSE_PROJECT_NAME=wbrec-dotenv-v1\n"),
                    Some(compose),
                ),
                true,
            ),
            (
                "wbrec-folder-dotenv-v2",
                "wbrec-dotenv-v2",
                declared_project_names(
                    None,
                    Some("COMPOSE_PROJECT_NAME=wbrec-dotenv-v2\n"),
                    Some(compose),
                ),
                true,
            ),
            (
                "wbrec-folder-name-v2",
                "wbrec-name-v2",
                declared_project_names(
                    None,
                    None,
                    Some(&format!("name: wbrec-name-v2\n{compose}")),
                ),
                true,
            ),
        ] {
            let mut snap = Snapshot::new(&Path::new(root).join(folder));
            snap.containers = Ok(containers.clone());
            snap.volumes = Ok(volumes.clone());
            snap.compose_declared = declared;
            let (c, v) = found(&snap);
            let sep = if project.ends_with("v1") { "_" } else { "-" };
            assert_eq!(c, Some(format!("{project}{sep}trainer{sep}1")), "{folder}");
            assert_eq!(v, Some(format!("{project}_checkpoints")), "{folder}");
            snap.containers = Ok(Vec::new());
            let v = found(&snap).1;
            assert_eq!(v.is_some(), found_after_down, "{folder} after down: {v:?}");
            if let Some(v) = v {
                assert_eq!(v, format!("{project}_checkpoints"), "{folder}");
            }
        }
    }

    #[test]
    fn declared_names_in_composes_order() {
        assert_eq!(
            declared_project_names(
                Some("env"),
                Some("COMPOSE_PROJECT_NAME=dotenv\n"),
                Some("name: file\n")
            ),
            vec!["env", "dotenv", "file"]
        );
        // The last assignment wins; quotes and comments go; v1 normalises `-p`/env names too.
        assert_eq!(
            declared_project_names(
                None,
                Some("COMPOSE_PROJECT_NAME=a\nCOMPOSE_PROJECT_NAME=\"My Proj\"\n"),
                None
            ),
            vec!["myproj"]
        );
        // Interpolated, nested, or absent: nothing is guessed.
        assert!(declared_project_names(None, None, Some("name: ${PROJECT}\n")).is_empty());
        assert!(declared_project_names(
            None,
            Some("OTHER=1\n"),
            Some("services:\n  name:\n    image: x\n")
        )
        .is_empty());
        assert!(declared_project_names(None, Some("COMPOSE_PROJECT_NAME=\n"), None).is_empty());
    }
}
