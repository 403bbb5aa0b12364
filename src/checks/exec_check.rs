//! `kind = "exec"`: a command run inside a running container (by name or compose service)
//! exits as expected and prints the expected output. Exercises declare only commands that
//! read (`cat`, `wget -qO-` to the container's own port), so grading changes nothing.

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Target, Verdict, VolumeRef};
use crate::checks::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    pub container: Option<String>,
    pub service: Option<String>,
    pub command: Vec<String>,
    #[serde(default)]
    pub exit_code: i64,
    pub stdout_contains: Option<String>,
    /// Standard output (trimmed) must equal the content (trimmed) of this file in a volume.
    pub stdout_equals_file: Option<VolumePath>,
    /// What the command looks at, in words, shown instead of the command itself ("the
    /// trainer's first log line"): the learner never typed it.
    pub describe: Option<String>,
    /// Known wrong outputs and what they mean: the first whose text the output (standard
    /// output or error) holds gives the fix, for a wrong exit code or a wrong output.
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    /// Standard output is a time (Unix seconds, `1764680000.25`) before the container was
    /// created: what the command reads was written by an earlier container, so this one was
    /// made anew on the same data (`down`, then `up`), not restarted.
    #[serde(default)]
    pub time_before_created: bool,
}

/// A wrong output the exercise knows the cause of.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    pub stdout_contains: String,
    /// What it means and what to do (Markdown).
    pub means: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumePath {
    pub volume: Option<String>,
    pub compose_volume: Option<String>,
    pub path: String,
    /// What writes the file, so that "does not exist" says why it is not there yet.
    pub written_by: Option<super::volume_file::Writer>,
}

impl VolumePath {
    fn volume_ref(&self) -> Result<VolumeRef> {
        VolumeRef::from_keys(&self.volume, &self.compose_volume)
    }
}

impl ExecCheck {
    fn target(&self) -> Result<Target> {
        Target::from_keys(&self.container, &self.service)
    }
}

impl Kind for ExecCheck {
    fn validate(&self) -> Result<()> {
        self.target()?;
        if self.command.is_empty() {
            return Err("`command` must name a program".into());
        }
        if let Some(f) = &self.stdout_equals_file {
            f.volume_ref()?;
        }
        Ok(())
    }

    fn needs(&self, needs: &mut Needs) {
        if let Ok(t) = self.target() {
            needs.exec(t.clone(), &self.command);
            if self.time_before_created {
                needs.inspect(t);
            }
        }
        if let Some(f) = &self.stdout_equals_file {
            if let Ok(r) = f.volume_ref() {
                needs.file(&r, &f.path);
            }
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let target = self.target().map_err(Verdict::error)?;
        let shown = match &self.describe {
            Some(d) => d.clone(),
            None => format!("`{}`", self.command.join(" ")),
        };
        let c = target.resolve(snap)?;
        let state = c.state.map(|s| s.to_string()).unwrap_or_default();
        let name = super::target::names(c).next().unwrap_or("?").to_string();
        if state != "running" {
            return Ok(Verdict::fail(
                format!("{shown} to succeed in {target}"),
                format!("{target} is {state}, so nothing can run in it"),
                "start it (see `docker ps -a` and `docker logs`)",
            ));
        }
        // What the command must print, read first: without it the command's failure says little.
        let expected_file = match &self.stdout_equals_file {
            None => None,
            Some(f) => {
                let r = f.volume_ref().map_err(Verdict::error)?;
                r.existing(snap, &format!("{} in volume {r}", f.path))?;
                let Some(fact) = snap.file(&r, &f.path)? else {
                    return Ok(Verdict::fail(
                        format!("{} in volume {r}", f.path),
                        format!("{} does not exist in {r}", f.path),
                        f.written_by
                            .as_ref()
                            .and_then(|w| w.why_missing(snap, &f.path))
                            .unwrap_or_else(|| {
                                "publish it first (let the trainer finish, or write it into the volume)"
                                    .to_string()
                            }),
                    ));
                };
                let want = String::from_utf8_lossy(fact.content.as_deref().unwrap_or_default());
                Some((r, want.trim().to_string()))
            }
        };
        let result = snap.exec(&target, &self.command)?;
        let out = result.stdout.trim();
        let first_err = result.stderr.lines().next().unwrap_or("").trim();
        let known = self
            .diagnoses
            .iter()
            .find(|d| {
                out.contains(d.stdout_contains.as_str())
                    || result.stderr.contains(d.stdout_contains.as_str())
            })
            .map(|d| d.means.clone());
        if result.exit_code != self.exit_code {
            return Ok(Verdict::fail(
                format!("{shown} in {target} to exit with {}", self.exit_code),
                format!(
                    "it exited with {}{}",
                    result.exit_code,
                    if first_err.is_empty() { String::new() } else { format!(": {first_err}") }
                ),
                known.unwrap_or_else(|| format!("look at what the container sees (`docker exec {name} ls -la PATH`) and its log (`docker logs {name}`)")),
            ));
        }
        if let Some(want) = &self.stdout_contains {
            if !out.contains(want.as_str()) {
                let fix = known
                    .clone()
                    .unwrap_or_else(|| "check what the container serves or reads".to_string());
                return Ok(Verdict::fail(
                    format!("{shown} in {target} to print `{want}`"),
                    format!("it printed `{}`", short(out)),
                    fix,
                ));
            }
        }
        if let (Some(f), Some((r, want))) = (&self.stdout_equals_file, &expected_file) {
            if out != want.as_str() {
                return Ok(Verdict::fail(
                    format!("{target} to serve `{want}` (the {} in volume {r})", f.path),
                    format!("{shown} printed `{}`", short(out)),
                    format!("is {target} mounting the same volume {r}? `docker inspect` shows its mounts"),
                ));
            }
        }
        if self.time_before_created {
            let created = snap.inspect(c)?.created;
            if let Some(v) = self.judge_time(&target, &shown, out, created, known) {
                return Ok(v);
            }
        }
        Ok(Verdict::pass(format!(
            "{shown} in {target}: `{}`",
            short(out)
        )))
    }
}

impl ExecCheck {
    /// [`ExecCheck::time_before_created`]: a failing verdict, or `None` when the time printed
    /// is before the container's creation.
    fn judge_time(
        &self,
        target: &Target,
        shown: &str,
        out: &str,
        created: Option<chrono::DateTime<chrono::Utc>>,
        known: Option<String>,
    ) -> Option<Verdict> {
        let expected = format!("{target} created after {shown}: a new container on the same data");
        let Ok(at) = out.trim().parse::<f64>() else {
            return Some(Verdict::fail(
                expected,
                format!("{shown} is not a time: it printed `{}`", short(out)),
                known.unwrap_or_else(|| "do the step before first".to_string()),
            ));
        };
        let created = created?;
        let made = created.timestamp() as f64 + f64::from(created.timestamp_subsec_nanos()) / 1e9;
        if at < made {
            return None;
        }
        let when = |secs: f64| {
            chrono::DateTime::from_timestamp(secs as i64, 0)
                .map(|t| t.format("%H:%M:%S UTC").to_string())
                .unwrap_or_else(|| format!("{secs}"))
        };
        let up = match target {
            Target::Service(svc) => format!(
                "`docker compose down` (without `-v`: it keeps the volume), then `docker compose up -d`: \
                 Compose makes a new {svc} container on the same volume"
            ),
            Target::Container(name) => format!(
                "`docker rm -f {name}`, then run it again with the same volume"
            ),
        };
        Some(Verdict::fail(
            expected,
            format!(
                "{target} was created at {}, before {shown} ({}): it is the container that wrote \
                 it, only restarted (a restart keeps the container)",
                when(made),
                when(at)
            ),
            format!("prove that the data outlives the container: {up}"),
        ))
    }
}

fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    let mut t: String = line.chars().take(80).collect();
    if t.len() < s.len() {
        t.push_str("...");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;
    use crate::docker::exec::ExecResult;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn a_service_is_only_one_of_the_exercise_folders_project() {
        // A container of compose service `api-1` of another folder's project is never the
        // target: the exec does not run there (the command is not even looked up).
        let dir = tempfile::tempdir().unwrap();
        let mut snap = snapshot_with_inspect(dir.path(), "other-api-1", &inspect_json(&[], &[]));
        snap.containers = Ok(vec![summary(
            "other-api-1",
            "running",
            &[],
            &[
                ("com.docker.compose.service", "api-1"),
                ("com.docker.compose.project.working_dir", "/somewhere/else"),
            ],
        )]);
        let target = Target::Service("api-1".into());
        assert!(target.resolve(&snap).is_err());
        let mut needs = Needs::default();
        let c: ExecCheck = toml::from_str("service='api-1'\ncommand=['cat','/x']").unwrap();
        c.needs(&mut needs);
        let v = c.evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("compose service `api-1`"),
            "{}",
            v.message
        );
        // The same service started from the exercise folder is.
        let here = dir.path().to_string_lossy().into_owned();
        snap.containers = Ok(vec![summary(
            "x-api-1",
            "running",
            &[],
            &[
                ("com.docker.compose.service", "api-1"),
                ("com.docker.compose.project.working_dir", &here),
            ],
        )]);
        assert!(target.resolve(&snap).is_ok());
    }

    #[test]
    fn container_output_is_shown_inert() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = snapshot_with_inspect(dir.path(), "api", &inspect_json(&[], &[]));
        let cmd = argv(&["cat", "/x"]);
        let c: ExecCheck =
            toml::from_str("container='api'\ncommand=['cat','/x']\nstdout_contains='ok'").unwrap();
        let printed = ExecResult {
            exit_code: 0,
            stdout: "out\x1b]0;owned\x07\x1b[2K\r\u{9b}\n".into(),
            stderr: String::new(),
        };
        snap.execs
            .insert((Target::Container("api".into()), cmd), Ok(printed));
        let v = c.evaluate(&snap);
        assert!(
            v.message
                .contains("out\\x1b]0;owned\\x07\\x1b[2K\\r\\u{9b}"),
            "{}",
            v.message
        );
        assert!(crate::ui::safe_text::is_inert(&v.message));
    }

    #[test]
    fn exit_code_and_output_against_a_volume_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = snapshot_with_inspect(dir.path(), "api-1", &inspect_json(&[], &[]));
        snap.volumes = Ok(vec![volume("models", "local", &[], &[])]);
        snap.files.insert(
            (VolumeRef::Named("models".into()), "VERSION".into()),
            Ok(Some(file(b"v5\n", 0, 0o644))),
        );
        let cmd = vec!["cat".to_string(), "/app/models/VERSION".to_string()];
        let target = Target::Container("api-1".into());
        let c: ExecCheck = toml::from_str(
            "container='api-1'\ncommand=['cat','/app/models/VERSION']\nstdout_equals_file={volume='models', path='VERSION'}",
        )
        .unwrap();
        let ok = ExecResult {
            exit_code: 0,
            stdout: "v5\n".into(),
            stderr: String::new(),
        };
        snap.execs.insert((target.clone(), cmd.clone()), Ok(ok));
        assert!(c.evaluate(&snap).is_pass());
        let old = ExecResult {
            exit_code: 0,
            stdout: "v1\n".into(),
            stderr: String::new(),
        };
        snap.execs.insert((target.clone(), cmd.clone()), Ok(old));
        let v = c.evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("to serve `v5`") && v.message.contains("printed `v1`"),
            "{}",
            v.message
        );
        let failed = ExecResult {
            exit_code: 1,
            stdout: String::new(),
            stderr: "cat: can't open '/app/models/VERSION'\n".into(),
        };
        snap.execs.insert((target, cmd), Ok(failed));
        assert!(c
            .evaluate(&snap)
            .message
            .contains("exited with 1: cat: can't open"));
    }
}
