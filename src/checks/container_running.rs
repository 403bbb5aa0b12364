//! `kind = "container-running"`: a container (by name or compose service) is running.

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Target, Verdict};
use crate::checks::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRunning {
    pub container: Option<String>,
    pub service: Option<String>,
}

impl Kind for ContainerRunning {
    fn validate(&self) -> Result<()> {
        Target::from_keys(&self.container, &self.service).map(|_| ())
    }

    fn needs(&self, _needs: &mut Needs) {}

    fn judge(&self, snap: &Snapshot) -> Judged {
        let target = Target::from_keys(&self.container, &self.service).map_err(Verdict::error)?;
        let c = target.resolve(snap)?;
        let state = c
            .state
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".into());
        if state == "running" {
            return Ok(Verdict::pass(format!("{target} is running")));
        }
        let name = super::target::names(c).next().unwrap_or("?").to_string();
        let fix = match (&target, state.as_str()) {
            (Target::Service(_), _) => {
                format!("cd {} && docker compose up -d", snap.exercise_dir.display())
            }
            (_, "paused") => format!("docker unpause {name}"),
            (_, "exited") => exited_fix(&name, c.status.as_deref(), c.command.as_deref()),
            _ => format!("docker start {name}"),
        };
        Ok(Verdict::fail(
            format!("{target} running"),
            format!("it is {state} ({})", c.status.as_deref().unwrap_or("")),
            fix,
        ))
    }
}

/// What brings back an exited container. Stopped from outside (`docker stop`, a kill: exit
/// code 137 or 143), `docker start` runs its command again. Ended by itself, its command did
/// all it had to do: started again, it ends again, so the container must be made anew with a
/// command that keeps running.
fn exited_fix(name: &str, status: Option<&str>, command: Option<&str>) -> String {
    let code = status
        .and_then(|s| s.strip_prefix("Exited ("))
        .and_then(|s| s.split(')').next())
        .and_then(|c| c.trim().parse::<i64>().ok());
    match code {
        Some(137 | 143) => format!(
            "it was stopped: `docker start {name}` runs it again (`docker logs {name}` shows what it did)"
        ),
        _ => {
            let what = command
                .map(|c| format!("its command (`{c}`)"))
                .unwrap_or_else(|| "its command".to_string());
            let how = match code {
                Some(0) => "finished".to_string(),
                Some(n) => format!("failed with exit code {n} (`docker logs {name}` says why)"),
                None => "ended".to_string(),
            };
            format!(
                "{what} {how}, and a container runs only as long as its command: `docker start` \
                 would end the same way. Remove it (`docker rm {name}`) and run it again with a \
                 command that keeps running, e.g. ending in `sleep 3600`"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn an_exited_container_gets_the_fix_that_can_work() {
        let finished = exited_fix("cache", Some("Exited (0) 5 seconds ago"), Some("true"));
        assert!(
            finished.contains("its command (`true`) finished"),
            "{finished}"
        );
        assert!(finished.contains("docker rm cache") && finished.contains("sleep 3600"));
        let failed = exited_fix("cache", Some("Exited (2) 1 minute ago"), None);
        assert!(failed.contains("failed with exit code 2") && failed.contains("docker logs cache"));
        let stopped = exited_fix(
            "cache",
            Some("Exited (137) 3 seconds ago"),
            Some("sleep 3600"),
        );
        assert!(
            stopped.starts_with("it was stopped: `docker start cache`"),
            "{stopped}"
        );
    }

    #[test]
    fn running_created_missing() {
        let mut snap = snapshot_with_volumes(&[]);
        snap.containers = Ok(vec![
            summary("scratch", "running", &[], &[]),
            summary("cache", "created", &[], &[]),
        ]);
        let by = |n: &str| ContainerRunning {
            container: Some(n.into()),
            service: None,
        };
        assert!(by("scratch").evaluate(&snap).is_pass());
        let v = by("cache").evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("docker start cache"), "{}", v.message);
        let v = by("scrach").evaluate(&snap);
        assert!(
            v.message.contains("did you mean `scratch`"),
            "{}",
            v.message
        );
    }

    #[test]
    fn compose_service_found_by_labels_in_this_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = crate::checks::snapshot::Snapshot::new(dir.path());
        let here = dir.path().to_string_lossy().to_string();
        snap.containers = Ok(vec![
            summary(
                "other_trainer_1",
                "running",
                &[],
                &[
                    ("com.docker.compose.service", "trainer"),
                    ("com.docker.compose.project.working_dir", "/elsewhere"),
                ],
            ),
            summary(
                "ex_trainer_1",
                "running",
                &[],
                &[
                    ("com.docker.compose.service", "trainer"),
                    ("com.docker.compose.project.working_dir", &here),
                ],
            ),
        ]);
        let c = ContainerRunning {
            container: None,
            service: Some("trainer".into()),
        };
        assert!(c.evaluate(&snap).is_pass());
        let c = ContainerRunning {
            container: None,
            service: Some("api-1".into()),
        };
        assert!(c
            .evaluate(&snap)
            .message
            .contains("services trainer but no `api-1`"));
    }
}
