//! `kind = "volume-unused"`: no container, running or stopped, mounts the volume.

use crate::util::error::Result;
use serde::Deserialize;

use bollard::models::ContainerSummary;

use super::target::{names, COMPOSE_SERVICE, COMPOSE_WORKDIR};
use super::{did_you_mean, Judged, Kind, Verdict, VolumeRef};
use crate::checks::snapshot::{fetched, Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeUnused {
    pub name: Option<String>,
    pub compose_volume: Option<String>,
}

impl Kind for VolumeUnused {
    fn validate(&self) -> Result<()> {
        VolumeRef::from_keys(&self.name, &self.compose_volume).map(|_| ())
    }

    fn needs(&self, _needs: &mut Needs) {}

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = VolumeRef::from_keys(&self.name, &self.compose_volume).map_err(Verdict::error)?;
        let name = match r.resolve(snap)? {
            Some(v) => &v.name,
            None => return Ok(gone(&r, snap)),
        };
        let containers = fetched(&snap.containers)?;
        let users: Vec<&ContainerSummary> = containers
            .iter()
            .filter(|c| {
                c.mounts.iter().flatten().any(|m| {
                    m.typ.as_deref() == Some("volume") && m.name.as_deref() == Some(name.as_str())
                })
            })
            .collect();
        if users.is_empty() {
            return Ok(Verdict::pass(format!("no container uses {name}")));
        }
        let shown: Vec<String> = users
            .iter()
            .map(|c| {
                let n = names(c).next().unwrap_or("?");
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                format!("{n} ({state})")
            })
            .collect();
        let who = if users.len() == 1 {
            format!("container {} still uses", shown[0])
        } else {
            format!("containers {} still use", shown.join(", "))
        };
        Ok(Verdict::fail(
            format!("no container, running or stopped, using volume {name}"),
            format!("{who} {name}"),
            remove_users(&users, snap),
        ))
    }
}

/// The commands that remove `users` and keep their volumes: `docker compose rm -sf SERVICE`
/// for the exercise's compose containers (Compose would start them again on `up` otherwise),
/// `docker rm` (`-f` when one runs) for the others.
fn remove_users(users: &[&ContainerSummary], snap: &Snapshot) -> String {
    fn label<'c>(c: &'c ContainerSummary, k: &str) -> Option<&'c str> {
        c.labels.as_ref()?.get(k).map(String::as_str)
    }
    let mut services: Vec<&str> = Vec::new();
    let mut plain: Vec<&str> = Vec::new();
    let mut running = false;
    for c in users {
        let here = label(c, COMPOSE_WORKDIR).is_some_and(|d| snap.is_exercise_dir(d));
        match label(c, COMPOSE_SERVICE) {
            Some(svc) if here => services.push(svc),
            _ => {
                plain.push(names(c).next().unwrap_or("?"));
                running |= c.state.map(|s| s.to_string()).as_deref() == Some("running");
            }
        }
    }
    services.sort_unstable();
    services.dedup();
    let mut steps = Vec::new();
    if !services.is_empty() {
        steps.push(format!(
            "`docker compose rm -sf {}` in {}",
            services.join(" "),
            snap.exercise_dir.display()
        ));
    }
    if !plain.is_empty() {
        let rm = if running { "docker rm -f" } else { "docker rm" };
        steps.push(format!("`{rm} {}`", plain.join(" ")));
    }
    format!(
        "{}   (this removes the container{}, not the volume)",
        steps.join(", then "),
        if users.len() == 1 { "" } else { "s" }
    )
}

/// The volume is gone: the data of the steps before went with it. Removing a container never
/// removes a named volume (`docker rm -v` removes only anonymous ones): a volume command did.
fn gone(r: &VolumeRef, snap: &Snapshot) -> Verdict {
    let (name, create) = match r {
        VolumeRef::Named(n) => (n.clone(), format!("`docker volume create {n}`")),
        VolumeRef::Compose(key) => (
            format!("the compose volume {key}"),
            format!(
                "`docker compose up --no-start` in {} (Compose creates its volumes)",
                snap.exercise_dir.display()
            ),
        ),
    };
    let never = match r {
        VolumeRef::Named(n) => format!("`docker volume rm {n}` or `docker volume prune`"),
        VolumeRef::Compose(_) => {
            "`docker compose down -v`, `docker volume rm` or `docker volume prune`".to_string()
        }
    };
    let near = match r {
        VolumeRef::Named(n) => did_you_mean(crate::util::suggest::closest(n, snap.volume_names())),
        VolumeRef::Compose(_) => String::new(),
    };
    Verdict::fail(
        format!("volume {r} to exist, unused"),
        format!(
            "no volume {r}{near}: it was removed, and what the steps before wrote into it went \
             with it"
        ),
        format!(
            "create {name} again ({create}) and do the steps before this one again (`workbook \
             check` shows which fail now); then remove only the containers: removing a container \
             never removes a named volume, {never} does"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn unused_passes_used_fails_with_rm_command() {
        let mut snap = snapshot_with_volumes(&[volume("ml-data", "local", &[], &[])]);
        let c = VolumeUnused {
            name: Some("ml-data".into()),
            compose_volume: None,
        };
        assert!(c.evaluate(&snap).is_pass());
        snap.containers = Ok(vec![summary(
            "ml-writer",
            "exited",
            &[("volume", "ml-data", "/app/data")],
            &[],
        )]);
        let v = c.evaluate(&snap);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("ml-writer (exited)"), "{}", v.message);
        assert!(v.message.contains("docker rm ml-writer"), "{}", v.message);
    }

    #[test]
    fn removed_volume_fails() {
        let snap = snapshot_with_volumes(&[]);
        let v = VolumeUnused {
            name: Some("ml-data".into()),
            compose_volume: None,
        }
        .evaluate(&snap);
        assert!(v.message.contains("it was removed"), "{}", v.message);
        assert!(
            v.message.contains("do the steps before this one again")
                && v.message.contains("`docker volume create ml-data`")
                && v.message
                    .contains("removing a container never removes a named volume"),
            "{}",
            v.message
        );
        assert!(!v.message.contains("docker rm -v"), "{}", v.message);
    }

    #[test]
    fn compose_users_are_removed_with_compose_the_others_with_docker_rm() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = crate::checks::snapshot::Snapshot::new(dir.path());
        snap.volumes = Ok(vec![volume("ml-data", "local", &[], &[])]);
        let here = dir.path().to_string_lossy().to_string();
        snap.containers = Ok(vec![
            summary(
                "ex-trainer-1",
                "running",
                &[("volume", "ml-data", "/data")],
                &[
                    (super::COMPOSE_SERVICE, "trainer"),
                    (super::COMPOSE_WORKDIR, &here),
                ],
            ),
            summary("peek", "exited", &[("volume", "ml-data", "/data")], &[]),
        ]);
        let v = VolumeUnused {
            name: Some("ml-data".into()),
            compose_volume: None,
        }
        .evaluate(&snap);
        assert!(
            v.message.contains("`docker compose rm -sf trainer` in")
                && v.message.contains("then `docker rm peek`")
                && v.message.contains("removes the containers, not the volume"),
            "{}",
            v.message
        );
    }
}
