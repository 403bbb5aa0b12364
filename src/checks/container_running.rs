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
    /// Known causes in the log of a container that stopped: the first whose text is in the
    /// last lines of its log gives the fix.
    #[serde(default)]
    pub diagnoses: Vec<LogDiagnosis>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogDiagnosis {
    /// Text of a line the container prints when this happens.
    pub log_contains: String,
    /// What it means and what to do (Markdown).
    pub means: String,
}

impl Kind for ContainerRunning {
    fn validate(&self) -> Result<()> {
        Target::from_keys(&self.container, &self.service).map(|_| ())
    }

    fn needs(&self, needs: &mut Needs) {
        if let Ok(t) = Target::from_keys(&self.container, &self.service) {
            needs.log_if_stopped(t);
        }
    }

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
        let log =
            c.id.as_ref()
                .and_then(|id| snap.logs.get(id))
                .and_then(|l| l.as_ref().ok());
        let known = log.and_then(|text| {
            self.diagnoses
                .iter()
                .find(|d| text.contains(&d.log_contains))
        });
        let mut found = format!("it is {state} ({})", c.status.as_deref().unwrap_or(""));
        if let Some(line) = log.and_then(|text| telling_line(text)) {
            found.push_str(&format!("; its log ends with: {line}"));
        }
        let up = format!("cd {} && docker compose up -d", snap.exercise_dir.display());
        let fix = match (&target, state.as_str()) {
            _ if known.is_some() => known.map(|d| d.means.clone()).unwrap_or_default(),
            (Target::Service(svc), "exited")
                if exit_code(c.status.as_deref())
                    .is_some_and(|n| n != 0 && n != 137 && n != 143) =>
            {
                format!(
                    "it failed as it started: `docker compose logs {svc}` shows its whole log. \
                     Fix what it says in compose.yaml (or in the folders it mounts), then `{up}`"
                )
            }
            (Target::Service(_), _) => up,
            (_, "paused") => format!("docker unpause {name}"),
            (_, "exited") => exited_fix(&name, c.status.as_deref(), c.command.as_deref()),
            _ => format!("docker start {name}"),
        };
        Ok(Verdict::fail(format!("{target} running"), found, fix))
    }
}

/// The line of a log that says most about why the container stopped: the last that speaks of
/// an error, else the last one; inert and at most 300 characters.
fn telling_line(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let loud = |l: &&&str| {
        let l = l.to_ascii_lowercase();
        [
            "error",
            "fatal",
            "panic",
            "denied",
            "not permitted",
            "cannot",
            "could not",
        ]
        .iter()
        .any(|w| l.contains(w))
    };
    let line = lines.iter().rev().find(loud).or(lines.last())?;
    let mut shown: String = crate::ui::safe_text::line(line).into_owned();
    if shown.chars().count() > 300 {
        shown = shown.chars().take(300).collect::<String>() + "…";
    }
    Some(format!("`{}`", shown.replace('`', "'")))
}

/// The exit code in a status such as `Exited (1) 3 seconds ago`.
fn exit_code(status: Option<&str>) -> Option<i64> {
    status
        .and_then(|s| s.strip_prefix("Exited ("))
        .and_then(|s| s.split(')').next())
        .and_then(|c| c.trim().parse::<i64>().ok())
}

/// What brings back an exited container. Stopped from outside (`docker stop`, a kill: exit
/// code 137 or 143), `docker start` runs its command again. Ended by itself, its command did
/// all it had to do: started again, it ends again, so the container must be made anew with a
/// command that keeps running.
fn exited_fix(name: &str, status: Option<&str>, command: Option<&str>) -> String {
    let code = exit_code(status);
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
    fn a_stopped_service_says_what_its_log_says() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = crate::checks::snapshot::Snapshot::new(dir.path());
        let here = dir.path().to_string_lossy().to_string();
        let mut db = summary(
            "ex_db_1",
            "exited",
            &[],
            &[
                ("com.docker.compose.service", "db"),
                ("com.docker.compose.project.working_dir", &here),
            ],
        );
        db.status = Some("Exited (1) 2 seconds ago".into());
        let id = db.id.clone().unwrap();
        snap.containers = Ok(vec![db]);
        snap.logs.insert(
            id,
            Ok("starting\nError: Database is uninitialized and superuser password is not specified.\n       You must specify POSTGRES_PASSWORD\n".into()),
        );
        let mut c = ContainerRunning {
            container: None,
            service: Some("db".into()),
            diagnoses: Vec::new(),
        };
        let v = c.evaluate(&snap);
        assert!(
            v.message
                .contains("its log ends with: `Error: Database is uninitialized"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("docker compose logs db"),
            "{}",
            v.message
        );
        c.diagnoses.push(LogDiagnosis {
            log_contains: "POSTGRES_PASSWORD".into(),
            means: "set POSTGRES_PASSWORD".into(),
        });
        let v = c.evaluate(&snap);
        assert!(v.message.contains("set POSTGRES_PASSWORD"), "{}", v.message);
        // Escape sequences in a log never reach the terminal.
        assert_eq!(
            telling_line("ok\nfatal: \x1b[31mred\n").unwrap(),
            "`fatal: \\x1b[31mred`"
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
            diagnoses: Vec::new(),
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
            diagnoses: Vec::new(),
        };
        assert!(c.evaluate(&snap).is_pass());
        let c = ContainerRunning {
            container: None,
            service: Some("api-1".into()),
            diagnoses: Vec::new(),
        };
        assert!(c
            .evaluate(&snap)
            .message
            .contains("services trainer but no `api-1`"));
    }
}
