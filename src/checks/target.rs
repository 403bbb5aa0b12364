//! Which container a check looks at: one named by the learner, or a compose service of the
//! project whose working directory is the exercise folder (found by compose labels, never by
//! name, since Compose v1 and v2 name containers differently).

use crate::util::error::Result;
use std::fmt;

use bollard::models::{ContainerInspectResponse, ContainerSummary};

use crate::checks::snapshot::{fetched, Needs, Snapshot};

use super::{did_you_mean, Verdict};

pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
pub const COMPOSE_WORKDIR: &str = "com.docker.compose.project.working_dir";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Container(String),
    Service(String),
}

impl Target {
    /// From a check's `container` / `service` keys: exactly one must be given.
    pub fn from_keys(container: &Option<String>, service: &Option<String>) -> Result<Target> {
        match (container, service) {
            (Some(c), None) => Ok(Target::Container(c.clone())),
            (None, Some(s)) => Ok(Target::Service(s.clone())),
            (Some(_), Some(_)) => Err("give either `container` or `service`, not both".into()),
            (None, None) => {
                Err("give `container` (a name) or `service` (a compose service)".into())
            }
        }
    }

    /// Asks for the inspect of the container a check's keys name (nothing when they are wrong:
    /// `validate` says so).
    pub fn need_inspect(container: &Option<String>, service: &Option<String>, needs: &mut Needs) {
        if let Ok(t) = Target::from_keys(container, service) {
            needs.inspect(t);
        }
    }

    /// The target named by a check's keys and its full inspect, or the verdict to report.
    pub fn inspect_from_keys<'s>(
        container: &Option<String>,
        service: &Option<String>,
        snap: &'s Snapshot,
    ) -> Result<(Target, &'s ContainerInspectResponse), Verdict> {
        let target = Target::from_keys(container, service).map_err(Verdict::error)?;
        let info = target.resolve(snap).and_then(|c| snap.inspect(c))?;
        Ok((target, info))
    }

    /// The target's container, or the verdict to report when there is none.
    pub fn resolve<'s>(&self, snap: &'s Snapshot) -> Result<&'s ContainerSummary, Verdict> {
        let all = fetched(&snap.containers)?;
        // With several matches (a scaled service, a stale copy), a running one speaks for it.
        let mut matching = all.iter().filter(|c| self.matches(c, snap));
        let first = matching.next();
        let running = first
            .into_iter()
            .chain(matching)
            .find(|c| c.state.map(|s| s.to_string()).as_deref() == Some("running"));
        let found = running.or(first);
        found.ok_or_else(|| self.missing(all, snap))
    }

    fn matches(&self, c: &ContainerSummary, snap: &Snapshot) -> bool {
        match self {
            Target::Container(name) => names(c).any(|n| n == name),
            Target::Service(svc) => {
                let labels = c.labels.as_ref();
                let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
                // `docker compose run` one-off containers are not the service.
                label(COMPOSE_SERVICE) == Some(svc.as_str())
                    && label("com.docker.compose.oneoff") != Some("True")
                    && label(COMPOSE_WORKDIR).is_some_and(|dir| snap.is_exercise_dir(dir))
            }
        }
    }

    fn missing(&self, all: &[ContainerSummary], snap: &Snapshot) -> Verdict {
        match self {
            Target::Container(name) => {
                let suggestion = crate::util::suggest::closest(name, all.iter().flat_map(names));
                Verdict::fail(
                    format!("a container named {name}"),
                    format!("no container named {name}{}", did_you_mean(suggestion)),
                    format!(
                        "run it as the task says, named with `--name {name}` and without `--rm` \
                         (which removes a container as soon as it exits): `docker run --name \
                         {name} ...`; `docker ps -a` lists your containers, stopped ones too"
                    ),
                )
            }
            Target::Service(svc) => {
                let here: Vec<&str> = all
                    .iter()
                    .filter(|c| {
                        c.labels
                            .as_ref()
                            .and_then(|l| l.get(COMPOSE_WORKDIR))
                            .is_some_and(|d| snap.is_exercise_dir(d))
                    })
                    .filter_map(|c| c.labels.as_ref()?.get(COMPOSE_SERVICE).map(String::as_str))
                    .collect();
                let dir = snap.exercise_dir.display();
                let mut services: Vec<&str> = here.clone();
                services.sort_unstable();
                services.dedup();
                let near = crate::util::suggest::closest(svc, services.iter().copied());
                let (found, fix) = if services.is_empty() {
                    (
                        format!("no compose containers from {dir}"),
                        format!("cd {dir} && docker compose up -d"),
                    )
                } else {
                    let fix = match near {
                        Some(old) => format!(
                            "if compose.yaml calls it `{old}`, rename that service to `{svc}` \
                             under `services:`, then `docker compose up -d --remove-orphans` in \
                             {dir} (it also removes the container of the old name); if `{svc}` \
                             is there already, `docker compose up -d` in {dir} starts it"
                        ),
                        None => format!(
                            "add the service `{svc}` under `services:` in compose.yaml (`docker \
                             compose config --services` lists what Compose reads there), then \
                             `docker compose up -d` in {dir}"
                        ),
                    };
                    (
                        format!(
                            "services {} but no `{svc}`{}",
                            services.join(", "),
                            did_you_mean(near)
                        ),
                        fix,
                    )
                };
                Verdict::fail(
                    format!(
                        "a container of compose service `{svc}` started from this exercise folder"
                    ),
                    found,
                    fix,
                )
            }
        }
    }
}

/// A container's names without the leading slash.
pub fn names(c: &ContainerSummary) -> impl Iterator<Item = &str> {
    c.names.iter().flatten().map(|n| n.trim_start_matches('/'))
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Container(name) => write!(f, "container {name}"),
            Target::Service(svc) => write!(f, "compose service {svc}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn compose(dir: &std::path::Path, name: &str, svc: &str) -> ContainerSummary {
        let here = dir.to_string_lossy().to_string();
        summary(
            name,
            "running",
            &[],
            &[(COMPOSE_SERVICE, svc), (COMPOSE_WORKDIR, &here)],
        )
    }

    #[test]
    fn a_missing_container_is_told_the_run_without_rm() {
        let snap = snapshot_with_volumes(&[]);
        let v = Target::Container("writer".into())
            .resolve(&snap)
            .unwrap_err();
        assert!(
            v.message.contains("no container named writer")
                && v.message.contains("without `--rm`")
                && v.message.contains("`docker run --name writer ...`"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_missing_service_is_told_to_rename_or_add_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = Snapshot::new(dir.path());
        snap.containers = Ok(vec![
            compose(dir.path(), "ex-trainer-1", "trainer"),
            compose(dir.path(), "ex-api1-1", "api1"),
        ]);
        let v = Target::Service("api-1".into()).resolve(&snap).unwrap_err();
        assert!(
            v.message.contains("services api1, trainer but no `api-1`")
                && v.message.contains("rename that service to `api-1`")
                && v.message.contains("docker compose up -d --remove-orphans"),
            "{}",
            v.message
        );
        let v = Target::Service("cache".into()).resolve(&snap).unwrap_err();
        assert!(
            v.message
                .contains("add the service `cache` under `services:`"),
            "{}",
            v.message
        );
        snap.containers = Ok(vec![]);
        let v = Target::Service("trainer".into())
            .resolve(&snap)
            .unwrap_err();
        assert!(
            v.message.contains("no compose containers from"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("&& docker compose up -d"),
            "{}",
            v.message
        );
    }
}
