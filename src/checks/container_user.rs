//! `kind = "container-user"`: the user a container runs as (`--user` / `user:`), as uid and
//! optionally gid. Names are refused in exercise data: a uid is what owns files in a volume.

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Target, Verdict};
use crate::checks::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerUser {
    pub container: Option<String>,
    pub service: Option<String>,
    pub uid: u64,
    pub gid: Option<u64>,
}

impl Kind for ContainerUser {
    fn validate(&self) -> Result<()> {
        Target::from_keys(&self.container, &self.service).map(|_| ())
    }

    fn needs(&self, needs: &mut Needs) {
        Target::need_inspect(&self.container, &self.service, needs);
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let (target, info) = Target::inspect_from_keys(&self.container, &self.service, snap)?;
        let user = info
            .config
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        let want = match self.gid {
            Some(g) => format!("{}:{g}", self.uid),
            None => self.uid.to_string(),
        };
        let expected = format!("{target} running as user {want}");
        let fix = match &target {
            Target::Container(name) => format!(
                "the user is fixed when a container is created: `docker rm -f {name}`, then the \
                 task's `docker run --name {name} ...` again with `--user {want}` (a number, not \
                 a name); files it already wrote as another user keep that owner"
            ),
            Target::Service(svc) => format!(
                "in compose.yaml, service `{svc}`: `user: \"{want}\"` (a number, quoted); then \
                 `docker compose up -d` (it re-creates the container)"
            ),
        };
        if user.is_empty() {
            let given = match &target {
                Target::Container(_) => "no --user was given",
                Target::Service(_) => "its service in compose.yaml has no `user:`",
            };
            return Ok(Verdict::fail(
                expected,
                format!("it runs as root ({given}, and the image sets none)"),
                fix,
            ));
        }
        let mut parts = user.splitn(2, ':');
        let (u, g) = (parts.next().unwrap_or(""), parts.next());
        let Ok(uid) = u.parse::<u64>() else {
            return Ok(Verdict::fail(
                expected,
                format!("it runs as `{user}`, a name: the uid it maps to depends on the image's /etc/passwd"),
                fix,
            ));
        };
        if uid != self.uid {
            return Ok(Verdict::fail(
                expected,
                format!("it runs as uid {uid}"),
                fix,
            ));
        }
        if let Some(want_gid) = self.gid {
            match g.map(str::parse::<u64>) {
                Some(Ok(gid)) if gid == want_gid => {}
                Some(Ok(gid)) => {
                    return Ok(Verdict::fail(
                        expected,
                        format!("it runs as {uid}:{gid}"),
                        fix,
                    ))
                }
                _ => {
                    return Ok(Verdict::fail(
                        expected,
                        format!("it runs as `{user}` (the group is not given as a number)"),
                        fix,
                    ))
                }
            }
        }
        Ok(Verdict::pass(format!("{target} runs as {user}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn uid_and_gid() {
        let dir = tempfile::tempdir().unwrap();
        let with_user = |u: &str| {
            let mut info = inspect_json(&[], &[]);
            info["Config"]["User"] = serde_json::json!(u);
            snapshot_with_inspect(dir.path(), "writer", &info)
        };
        let c: ContainerUser = toml::from_str("container='writer'\nuid=1000\ngid=1000").unwrap();
        assert!(c.evaluate(&with_user("1000:1000")).is_pass());
        let v = c.evaluate(&with_user(""));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("runs as root") && v.message.contains("--user 1000:1000"),
            "{}",
            v.message
        );
        assert!(c.evaluate(&with_user("0")).message.contains("uid 0"));
        assert!(c
            .evaluate(&with_user("1000"))
            .message
            .contains("group is not given"));
        assert!(c.evaluate(&with_user("learner")).message.contains("a name"));
        let c: ContainerUser = toml::from_str("container='writer'\nuid=1000").unwrap();
        assert!(c.evaluate(&with_user("1000")).is_pass());
    }

    #[test]
    fn the_fix_is_in_the_words_of_how_it_was_made() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot_with_inspect(dir.path(), "writer", &inspect_json(&[], &[]));
        let c: ContainerUser = toml::from_str("container='writer'\nuid=1000").unwrap();
        let v = c.evaluate(&snap);
        assert!(
            v.message.contains(
                "`docker rm -f writer`, then the task's `docker run --name writer ...` again with `--user 1000`"
            ),
            "{}",
            v.message
        );
        assert!(!v.message.contains("user: "), "{}", v.message);
        let mut snap = snap;
        let here = dir.path().to_string_lossy().to_string();
        snap.containers = Ok(vec![summary(
            "writer",
            "running",
            &[],
            &[
                ("com.docker.compose.service", "app"),
                ("com.docker.compose.project.working_dir", &here),
            ],
        )]);
        let c: ContainerUser = toml::from_str("service='app'\nuid=1000\ngid=1000").unwrap();
        let v = c.evaluate(&snap);
        assert!(
            v.message.contains("service `app`: `user: \"1000:1000\"`")
                && v.message.contains("docker compose up -d")
                && !v.message.contains("--user"),
            "{}",
            v.message
        );
    }
}
